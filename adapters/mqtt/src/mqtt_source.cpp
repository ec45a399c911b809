#include <vitals/adapters/mqtt/mqtt_source.hpp>

#include <optional>
#include <stdexcept>

#include <vitals/adapters/common/topic_template.hpp>
#include <vitals/adapters/mqtt/json_decoder.hpp>

#include <vitals/adapters/common/subscriber.hpp>

namespace vitals::adapters::mqtt {

namespace {

decoder_options decoder_options_from(const source_options& o) {
  decoder_options d;
  d.max_payload_bytes = o.max_payload_bytes;
  d.max_future = o.max_future;
  d.device_patients = o.device_patients;
  d.directory = o.directory;
  return d;
}

/// The templates of `o`, validated (throws std::invalid_argument naming a bad one).
std::vector<common::topic_template> templates_of(const source_options& o) {
  std::vector<common::topic_template> out;
  for (const auto& t : o.topics) out.emplace_back(t);
  return out;
}

common::subscriber_options subscriber_options_from(
    const source_options& o, const std::vector<common::topic_template>& templates) {
  common::subscriber_options s;
  s.name = o.name;
  s.broker = o.broker;
  s.client_id = o.client_id;
  for (const auto& t : templates) s.filters.push_back(t.filter());
  s.qos = o.qos;
  return s;
}

}  // namespace

struct mqtt_source::impl {
  impl(source_options o, core::sample_sink& s, core::stats& st)
      : options(std::move(o)),
        sink(s),
        stats(st),
        templates(templates_of(options)),
        decoder(decoder_options_from(options), st),
        subscription(
            subscriber_options_from(options, templates),
            [this](std::string_view topic, std::string_view payload) { handle(topic, payload); }) {
    if (options.max_payload_bytes == 0)
      throw std::invalid_argument("mqtt max_payload_bytes must be above 0");
  }

  // On Paho's callback thread, one message at a time (the subscriber serialises the calls).
  void handle(std::string_view topic, std::string_view payload) {
    stats.messages_received.fetch_add(1, std::memory_order_relaxed);
    std::optional<common::topic_fields> fields;
    for (const auto& t : templates) {
      fields = t.match(topic);
      if (fields) break;
    }
    if (!fields) {
      stats.count_reject(core::reject_reason::bad_topic);
      rejects.note(core::reject_reason::bad_topic, "topic matches no template", topic, payload);
      return;
    }
    decode_context ctx{fields->patient, fields->device, fields->kind, core::now_ms()};
    samples.clear();
    const auto st = decoder.decode(payload, ctx, samples);
    if (!st.ok()) rejects.note(st.first_reason, decoder.last_error(), topic, payload);
    for (const auto& s : samples) {
      // Bounded wait inside the sink: this is the back-pressure that slows Paho and the broker.
      sink.push(s);
      stats.samples_decoded.fetch_add(1, std::memory_order_relaxed);
    }
  }

  source_options options;
  core::sample_sink& sink;
  core::stats& stats;
  std::vector<common::topic_template> templates;

  // Callback-thread state, used by handle() only.
  json_decoder decoder;
  std::vector<core::sample> samples;
  common::reject_log rejects{options.name};

  // Last member: destroyed (and stopped) first, so no message outlives the state it uses.
  common::subscriber subscription;
};

mqtt_source::mqtt_source(source_options options, core::sample_sink& sink, core::stats& stats)
    : impl_(std::make_unique<impl>(std::move(options), sink, stats)) {}

mqtt_source::~mqtt_source() {
  stop();
}

void mqtt_source::start() {
  impl_->subscription.start();
}

void mqtt_source::stop() {
  impl_->subscription.stop();
}

void mqtt_source::pause() {
  impl_->subscription.pause();
}

void mqtt_source::resume() {
  impl_->subscription.resume();
}

bool mqtt_source::connected() const noexcept {
  return impl_->subscription.connected();
}

std::string_view mqtt_source::name() const noexcept {
  return impl_->options.name;
}

core::plugin_status mqtt_source::status() const {
  const bool up = connected();
  return {up, up ? "connected" : "disconnected"};
}

}  // namespace vitals::adapters::mqtt
