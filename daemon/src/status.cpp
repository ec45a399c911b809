#include "status.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace vitals::daemon {

namespace {

using json = nlohmann::json;
namespace notify = adapters::notify;

/// Prometheus text exposition format 0.0.4.
class prometheus_text {
 public:
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  template <class V>
  void sample(std::string_view name, V value, std::string_view labels = {}) {
    if (labels.empty()) {
      out_ += fmt::format("{} {}\n", name, value);
    } else {
      out_ += fmt::format("{}{{{}}} {}\n", name, labels, value);
    }
  }
  template <class V>
  void single(std::string_view name, std::string_view type, std::string_view help, V value) {
    family(name, type, help);
    sample(name, value);
  }
  std::string take() { return std::move(out_); }

 private:
  std::string out_;
};

/// A label value with Prometheus escaping (receiver names come from the config).
std::string label(std::string_view v) {
  std::string out;
  for (const char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

status_reporter::status_reporter(const core::stats& counters,
                                 std::vector<const core::source*> sources, const core::store& store,
                                 const alert_service& alerts,
                                 std::function<std::size_t()> ring_depth)
    : counters_(counters),
      sources_(std::move(sources)),
      store_(store),
      alerts_(alerts),
      ring_depth_(std::move(ring_depth)) {}

api_response status_reporter::health() const {
  bool up = true;
  json sources = json::object();
  for (const auto* s : sources_) {
    const auto st = s->status();
    up = up && st.up;
    sources[std::string(s->name())] = st.state;
  }
  const auto alerts = alerts_.figures();
  const auto store = store_.status();
  up = up && registry_problem_.empty();
  json j{{"status", store.failing ? "failing"
                    : up          ? "ok"
                                  : "degraded"},
         {"sources", std::move(sources)},
         {"store_queued_rows", store.queued_rows},
         {"ring_depth", ring_depth_()},
         {"alerts_open", alerts.open_total},
         {"notifications_pending", alerts.notifications_pending}};
  if (store.failing) {
    // What is wrong and since when, so that whoever polls can page with the cause.
    j["store"] = json{{"failing", true},
                      {"error", store.failure},
                      {"failing_seconds", store.failing_seconds},
                      {"readings_held", true}};
  }
  if (!registry_problem_.empty()) j["registry"] = json{{"error", registry_problem_}};
  api_response r;
  r.status = up && !store.failing ? 200 : 503;
  r.body = j.dump();
  return r;
}

api_response status_reporter::metrics() const {
  const auto& c = counters_;
  const auto alerts = alerts_.figures();
  const auto store = store_.status();
  prometheus_text m;
  m.single("vitalsd_messages_received_total", "counter", "Messages seen by the sources.",
           c.messages_received.load());
  m.single("vitalsd_samples_accepted_total", "counter", "Samples that passed validation.",
           c.samples_accepted.load());
  m.family("vitalsd_samples_rejected_total", "counter", "Samples or messages rejected, by reason.");
  for (std::size_t i = 0; i < core::reject_reason_count; ++i) {
    const auto r = static_cast<core::reject_reason>(i);
    m.sample("vitalsd_samples_rejected_total", c.rejects(r),
             fmt::format("reason=\"{}\"", to_string(r)));
  }
  m.single("vitalsd_samples_duplicate_total", "counter", "Exact repeats ignored.",
           c.samples_duplicate.load());
  m.single("vitalsd_samples_late_total", "counter", "Late or backfilled samples, stored only.",
           c.samples_late.load());
  m.single("vitalsd_samples_artifact_total", "counter", "Impossible jumps, stored only.",
           c.samples_artifact.load());
  m.single("vitalsd_condition_reports_total", "counter",
           "Condition-only reports from devices (probe off, no reading, link state), never stored.",
           c.condition_reports.load());
  m.single("vitalsd_samples_stored_total", "counter", "Sample rows committed.",
           c.samples_stored.load());
  m.single("vitalsd_ring_depth", "gauge", "Samples waiting in the ring.", ring_depth_());
  m.single("vitalsd_ring_full_waits_total", "counter", "Times a producer waited for ring space.",
           c.ring_full_waits.load());
  m.single("vitalsd_ring_drops_total", "counter", "Samples dropped after the bounded wait.",
           c.ring_drops.load());
  m.family("vitalsd_detector_events_total", "counter", "Conditions raised and cleared.");
  m.sample("vitalsd_detector_events_total", c.alerts_raised.load(), "transition=\"raised\"");
  m.sample("vitalsd_detector_events_total", c.alerts_cleared.load(), "transition=\"cleared\"");
  m.family("vitalsd_alerts", "gauge", "Open alerts by state and priority.");
  const auto& counts = alerts.open;
  for (std::size_t s = 0; s < 3; ++s) {  // active, acknowledged, latched
    for (std::size_t p = 0; p < 3; ++p) {
      m.sample(
          "vitalsd_alerts", counts[s][p],
          fmt::format("state=\"{}\",priority=\"{}\"", to_string(static_cast<core::alert_state>(s)),
                      to_string(static_cast<core::priority>(p))));
    }
  }
  m.family("vitalsd_alert_commands_total", "counter", "Operator commands, by outcome.");
  m.sample("vitalsd_alert_commands_total", alerts.commands_ok, "outcome=\"done\"");
  m.sample("vitalsd_alert_commands_total", alerts.commands_refused, "outcome=\"refused\"");
  m.sample("vitalsd_alert_commands_total", alerts.mqtt_commands_invalid, "outcome=\"invalid\"");
  const auto& receivers = alerts.receivers;
  // One family per receiver counter; the first carries the receiver's kind as well.
  const auto per_receiver = [&](std::string_view name, std::string_view type, std::string_view help,
                                auto field, bool with_kind) {
    m.family(name, type, help);
    for (const auto& r : receivers) {
      m.sample(name, r.*field,
               with_kind ? fmt::format("receiver=\"{}\",kind=\"{}\"", label(r.name), label(r.kind))
                         : fmt::format("receiver=\"{}\"", label(r.name)));
    }
  };
  using rm = notify::receiver_metrics;
  per_receiver("vitalsd_notifications_sent_total", "counter", "Notifications delivered.", &rm::sent,
               true);
  per_receiver("vitalsd_notifications_skipped_total", "counter",
               "Notifications the receiver has no use for (e.g. acknowledgements to Alertmanager).",
               &rm::skipped, false);
  per_receiver("vitalsd_notifications_failed_total", "counter", "Failed delivery attempts.",
               &rm::failed_attempts, false);
  per_receiver("vitalsd_notifications_given_up_total", "counter",
               "Notifications given up (permanent error or max_attempts).", &rm::given_up, false);
  per_receiver("vitalsd_notifications_pending", "gauge", "Notifications waiting for delivery.",
               &rm::pending, false);
  m.family("vitalsd_store_commit_seconds", "summary", "Store transaction commit latency.");
  m.sample("vitalsd_store_commit_seconds_sum", store.commit_seconds_sum);
  m.sample("vitalsd_store_commit_seconds_count", store.commits);
  m.single("vitalsd_store_commit_seconds_max", "gauge", "Slowest commit since start.",
           store.commit_seconds_max);
  m.single("vitalsd_store_queued_rows", "gauge", "Rows waiting for the store's writer.",
           store.queued_rows);
  m.single("vitalsd_store_errors_total", "counter", "Failed store transactions (retried).",
           c.store_errors.load());
  m.single("vitalsd_store_failing", "gauge",
           "1 while commits fail (the sources are held back); /healthz names the error.",
           store.failing ? 1 : 0);
  m.single("vitalsd_store_failures_total", "counter", "Times the store started failing.",
           store.failures);
  m.single("vitalsd_samples_not_stored_total", "counter",
           "Readings taken from a source and never committed (given up at a stop while the "
           "store failed).",
           c.samples_not_stored.load());
  // One series per source instance, whatever its type.
  m.family("vitalsd_source_up", "gauge",
           "1 when the source is receiving (connected and subscribed, for the MQTT ones).");
  for (const auto* s : sources_) {
    m.sample("vitalsd_source_up", s->status().up ? 1 : 0,
             fmt::format("source=\"{}\"", label(s->name())));
  }
  api_response r;
  r.status = 200;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = m.take();
  return r;
}

}  // namespace vitals::daemon
