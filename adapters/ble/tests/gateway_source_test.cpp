// The BLE-to-MQTT gateway source against a real mosquitto: presets, a custom field map, rejects
// by reason, connection states and the gateway's own online state.

#include <catch2/catch.hpp>

#include <chrono>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include <vitals/adapters/ble/frame_samples.hpp>
#include <vitals/adapters/ble/gateway_source.hpp>
#include <vitals/test/collecting_sink.hpp>
#include <vitals/test/mosquitto_broker.hpp>

using namespace std::chrono_literals;
namespace ble = vitals::adapters::ble;
namespace core = vitals::core;
using core::reject_reason;
using core::vital_kind;
using vitals::test::eventually;
using vitals::test::mosquitto_broker;
using vitals::test::mqtt_publisher;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace gateway_source_test {
namespace {

using vitals::test::collecting_sink;

/// 2026-11-28T00:00:00Z plus `offset`.
core::timestamp day_start(std::chrono::milliseconds offset = 0ms) {
  return core::timestamp{
             std::chrono::sys_days{std::chrono::year{2026} / std::chrono::November / 28}} +
         offset;
}

std::string ms_text(core::timestamp t) {
  return std::to_string(t.time_since_epoch().count());
}

ble::ble_device device(std::string address, std::string patient, std::string id,
                       std::string gateway) {
  ble::ble_device d;
  d.address = std::move(address);
  d.patient = std::move(patient);
  d.device = std::move(id);
  d.gateway = std::move(gateway);
  return d;
}

/// Three gateways (generic with a status topic, Cassia-style, custom) and their devices.
ble::gateway_source_options options_for(const std::string& uri, std::uint16_t port) {
  ble::gateway_source_options o;
  o.broker.server_uri = uri;
  o.client_id = "vitalsd-ble-test-" + std::to_string(port);
  o.broker.reconnect_min = 1s;
  o.broker.reconnect_max = 2s;
  o.max_payload_bytes = 1024;

  ble::gateway_config livingroom;
  livingroom.name = "livingroom";
  livingroom.preset = ble::gateway_preset::generic;
  livingroom.fields = ble::preset_fields(ble::gateway_preset::generic);
  livingroom.topics = {"ble/livingroom/#"};
  livingroom.status_topic = "ble/livingroom/status";  // covered by the filter above

  ble::gateway_config ward;
  ward.name = "ward";
  ward.preset = ble::gateway_preset::cassia;
  ward.fields = ble::preset_fields(ble::gateway_preset::cassia);
  ward.topics = {"cassia/+/notify"};
  ward.status_topic = "cassia/ap1/status";  // subscribed on its own
  ward.online_payload = "up";
  ward.offline_payload = "down";

  ble::gateway_config bridge;
  bridge.name = "bridge";
  bridge.preset = ble::gateway_preset::custom;
  bridge.fields.type = "kind";
  bridge.fields.notification = "notify";
  bridge.fields.device = "addr";
  bridge.fields.uuid = "char";
  bridge.fields.value = "data";
  bridge.fields.time = "at";
  bridge.fields.state = "link";
  bridge.fields.session_start = "";
  bridge.topics = {"bridge/+"};

  o.gateways = {livingroom, ward, bridge};

  auto ox = device("c0-26-da-00-00-02", "p2", "", "ward");  // normalised by the source
  ox.handles = {{16, ble::characteristic::plx_continuous},
                {20, ble::characteristic::heart_rate_measurement}};
  auto crc = device("C0:26:DA:00:00:06", "p6", "p6-cgm", "livingroom");
  crc.cgm_crc = ble::crc_mode::required;
  o.devices = {
      device("C0:26:DA:00:00:01", "p1", "p1-hr", "livingroom"),
      ox,
      device("C0:26:DA:00:00:03", "p3", "p3-hr", "bridge"),
      device("C0:26:DA:00:00:04", "p4", "p4-cgm", "livingroom"),
      device("C0:26:DA:00:00:05", "p5", "p5-cgm", ""),  // any gateway
      crc,
      device("C0:26:DA:00:00:07", "p7", "p7-quiet", "livingroom"),  // never sends
  };
  return o;
}

/// A generic-preset notification.
std::string generic(std::string_view mac, std::string_view uuid, std::string_view hex,
                    std::string_view extra = "") {
  return fmt::format(R"({{"mac":"{}","uuid":"{}","hex":"{}"{}}})", mac, uuid, hex, extra);
}

/// The published messages, and waiting until the source has seen all of them.
struct feed {
  mqtt_publisher& pub;
  core::stats& stats;
  std::uint64_t sent = 0;

  void send(const std::string& topic, const std::string& payload) {
    pub.publish(topic, payload, 1);
    ++sent;
  }
  /// True once every message sent so far went through the source (in order: one publisher,
  /// one subscription, one callback thread).
  bool settled() {
    return eventually([&] { return stats.messages_received.load() >= sent; });
  }
};

void check_link(const core::sample& s, std::string_view patient, std::string_view dev,
                vital_kind kind, std::uint16_t conditions) {
  INFO(s.patient.view() << " " << s.device.view() << " " << core::to_string(s.kind));
  CHECK(s.patient.view() == patient);
  CHECK(s.device.view() == dev);
  CHECK(s.kind == kind);
  CHECK((s.quality & core::quality_no_value) != 0);
  CHECK((s.quality & core::quality_link_state) != 0);
  CHECK(s.conditions == conditions);
}

}  // namespace

TEST_CASE("gateway source: presets, field maps, rejects, connection and gateway states",
          "[gateway][integration]") {
  mosquitto_broker broker;
  collecting_sink sink;
  core::stats stats;
  ble::gateway_source source(options_for(broker.uri(), broker.port()), sink, stats);
  CHECK(source.name() == "ble-gateway");
  source.start();
  REQUIRE(eventually([&] { return source.connected(); }));
  mqtt_publisher pub(broker.uri());
  feed in{pub, stats};

  // --- generic preset: HR, PLX and CGM frames -------------------------------------------------
  const auto t1 = day_start(5min);
  in.send("ble/livingroom/p1", generic("c0:26:da:00:00:01", "2a37", "0048",
                                       R"(,"ts":)" + ms_text(t1)));  // HR u8 72
  in.send("ble/livingroom/p1", generic("C0:26:DA:00:00:01", "2A37", "0648",
                                       R"(,"ts":"2026-11-28T00:06:00Z")"));  // contact, 72
  // CGM: one record, glucose 120 mg/dL at offset 10 min; the session start from the message.
  in.send("ble/livingroom/p4", generic("C0:26:DA:00:00:04", "2aa7", "060078000a00",
                                       R"(,"session_start":"2026-11-28T00:00:00Z")"));
  // CGM through any gateway: the session start from a 0x2AAA frame (2026-11-28 00:00, UTC,
  // standard time), then a record at offset 20 min.
  in.send("ble/livingroom/p5", generic("C0:26:DA:00:00:05", "2aaa", "ea070b1c0000000000"));
  in.send("ble/livingroom/p5", generic("C0:26:DA:00:00:05", "cgm", "06 00 78 00 14 00"));
  REQUIRE(in.settled());
  REQUIRE(eventually([&] { return sink.size() >= 4; }));
  CHECK(stats.total_rejects() == 0);
  auto got = sink.take();
  REQUIRE(got.size() == 4);
  CHECK(got[0].patient.view() == "p1");
  CHECK(got[0].device.view() == "p1-hr");
  CHECK(got[0].kind == vital_kind::heart_rate);
  CHECK(got[0].value == 72.0);
  CHECK(got[0].device_time == t1);
  CHECK((got[0].quality & core::quality_no_value) == 0);
  CHECK(got[1].value == 72.0);
  CHECK(got[1].device_time == day_start(6min));
  CHECK(got[2].patient.view() == "p4");
  CHECK(got[2].device.view() == "p4-cgm");
  CHECK(got[2].kind == vital_kind::glucose);
  CHECK(got[2].value == 120.0);
  CHECK(got[2].device_time == day_start(10min));
  CHECK(got[3].patient.view() == "p5");
  CHECK(got[3].kind == vital_kind::glucose);
  CHECK(got[3].device_time == day_start(20min));

  // --- Cassia-style preset: numeric ATT handles -----------------------------------------------
  in.send("cassia/ap1/notify",
          R"({"dataType":"notification","ap":"CC:1B:E0:E0:00:01","device":"C0:26:DA:00:00:02",)"
          R"("handle":16,"value":"0061005000"})");  // PLX continuous: SpO2 97 %, PR 80
  in.send("cassia/ap1/notify",
          R"({"dataType":"notification","device":"C0:26:DA:00:00:02","handle":"20",)"
          R"("value":"0045"})");  // HR 69 (handle as text)
  in.send("cassia/ap1/notify",    // a scan result on the same topic: not ours, ignored
          R"({"dataType":"scan","device":"11:22:33:44:55:66","rssi":-60})");
  REQUIRE(in.settled());
  REQUIRE(eventually([&] { return sink.size() >= 7; }));
  got = sink.take();
  REQUIRE(got.size() == 3);
  CHECK(got[0].patient.view() == "p2");
  CHECK(got[0].device.view() == "ble-c026da000002");  // the default device id
  CHECK(got[0].kind == vital_kind::spo2);
  CHECK(got[0].value == 97.0);
  CHECK(got[0].device_time == got[0].receive_time);  // no time field: arrival
  CHECK(got[1].kind == vital_kind::heart_rate);
  CHECK(got[1].value == 80.0);
  CHECK(got[2].kind == vital_kind::heart_rate);
  CHECK(got[2].value == 69.0);
  CHECK(stats.total_rejects() == 0);

  // --- custom field map -----------------------------------------------------------------------
  in.send("bridge/x", R"({"kind":"notify","addr":"C026DA000003","char":"heart_rate_measurement",)"
                      R"("data":"0050","at":"2026-11-28T00:07:00.500Z"})");
  REQUIRE(in.settled());
  REQUIRE(eventually([&] { return sink.size() >= 8; }));
  got = sink.take();
  REQUIRE(got.size() == 1);
  CHECK(got[0].patient.view() == "p3");
  CHECK(got[0].device.view() == "p3-hr");
  CHECK(got[0].value == 80.0);
  CHECK(got[0].device_time == day_start(7min + 500ms));

  // --- rejects: each counted under its reason, nothing pushed, later frames still arrive -------
  const auto before = stats.samples_decoded.load();
  in.send("ble/livingroom/p1", generic("C0:26:DA:00:00:99", "2a37", "0048"));  // unknown_device
  in.send("ble/livingroom/p1", generic("C0:26:DA:00:00:02", "2a37", "0048"));  // bound to ward
  in.send("cassia/ap1/notify", R"({"dataType":"notification","device":"C0:26:DA:00:00:02",)"
                               R"("handle":99,"value":"0048"})");              // unknown handle
  in.send("ble/livingroom/p1", generic("C0:26:DA:00:00:01", "2a19", "64"));    // battery level
  in.send("ble/livingroom/p1", generic("C0:26:DA:00:00:01", "2a37", "0x4"));   // bad hex
  in.send("ble/livingroom/p1", generic("C0:26:DA:00:00:01", "2a37", "0148"));  // truncated u16
  in.send("ble/livingroom/p1", generic("C0:26:DA:00:00:01", "2a37", ""));      // empty
  in.send("ble/livingroom/p6", generic("C0:26:DA:00:00:06", "2aa7", "060078000a00"));      // no CRC
  in.send("ble/livingroom/p6", generic("C0:26:DA:00:00:06", "2aa7", "080078000a000000"));  // CRC
  in.send("ble/livingroom/p1", generic("C0:26:DA:00:00:01", "2a37", "0048", R"(,"ts":"soon")"));
  in.send("ble/livingroom/p1", "{\"mac\":");                                    // invalid_json
  in.send("ble/livingroom/p1", "[1,2]");                                        // wrong_type
  in.send("ble/livingroom/p1", R"({"uuid":"2a37","hex":"0048"})");              // no address
  in.send("ble/livingroom/p1", R"({"mac":"C0:26:DA:00:00:01","hex":"0048"})");  // no uuid
  in.send("ble/livingroom/p1", R"({"mac":"not a mac","uuid":"2a37","hex":"0048"})");
  in.send("ble/livingroom/p1", generic("C0:26:DA:00:00:01", "2a37", std::string(1100, '0')));
  in.send("ble/livingroom/p1", generic("C0:26:DA:00:00:01", "2a37", "004A"));  // good: HR 74
  REQUIRE(in.settled());
  REQUIRE(eventually([&] { return stats.samples_decoded.load() >= before + 1; }));
  CHECK(stats.rejects(reject_reason::unknown_device) == 2);
  CHECK(stats.rejects(reject_reason::unknown_vital) == 2);
  CHECK(stats.rejects(reject_reason::bad_frame) == 4);
  CHECK(stats.rejects(reject_reason::crc_mismatch) == 1);
  CHECK(stats.rejects(reject_reason::bad_timestamp) == 1);
  CHECK(stats.rejects(reject_reason::invalid_json) == 1);
  CHECK(stats.rejects(reject_reason::wrong_type) == 1);
  CHECK(stats.rejects(reject_reason::missing_field) == 2);
  CHECK(stats.rejects(reject_reason::bad_id) == 1);
  CHECK(stats.rejects(reject_reason::too_large) == 1);
  CHECK(stats.total_rejects() == 16);
  got = sink.take();
  REQUIRE(got.size() == 1);  // only the last, good frame
  CHECK(got[0].patient.view() == "p1");
  CHECK(got[0].value == 74.0);
  CHECK(stats.samples_decoded.load() == before + 1);

  // --- connection states ----------------------------------------------------------------------
  // Cassia: the oximeter's handles say it carries SpO2 and heart rate: one report for each.
  in.send("cassia/ap1/notify", R"({"dataType":"connection_state","device":"C0:26:DA:00:00:02",)"
                               R"("connectionState":"disconnected"})");
  // Generic: a state member makes it a connection state.
  in.send("ble/livingroom/p1", R"({"mac":"C0:26:DA:00:00:01","state":"disconnected"})");
  in.send("cassia/ap1/notify", R"({"dataType":"connection_state","device":"C0:26:DA:00:00:02",)"
                               R"("connectionState":"connected"})");
  in.send("ble/livingroom/p1", R"({"mac":"C0:26:DA:00:00:01","state":"sleeping"})");  // bad
  REQUIRE(in.settled());
  REQUIRE(eventually([&] { return sink.size() >= 14; }));
  got = sink.take();
  REQUIRE(got.size() == 5);
  check_link(got[0], "p2", "ble-c026da000002", vital_kind::heart_rate,
             core::condition_disconnected);
  check_link(got[1], "p2", "ble-c026da000002", vital_kind::spo2, core::condition_disconnected);
  check_link(got[2], "p1", "p1-hr", vital_kind::heart_rate, core::condition_disconnected);
  check_link(got[3], "p2", "ble-c026da000002", vital_kind::heart_rate, core::condition_none);
  check_link(got[4], "p2", "ble-c026da000002", vital_kind::spo2, core::condition_none);
  CHECK(stats.rejects(reject_reason::bad_value) == 1);

  // --- the gateway's own online state ---------------------------------------------------------
  // Every device behind "livingroom": p1 (heart rate seen), p4 (glucose), p5 (unbound, relayed
  // by livingroom last), p6 (bound; nothing decoded: heart rate assumed), p7 (never sent).
  in.send("ble/livingroom/status", "offline");
  REQUIRE(in.settled());
  REQUIRE(eventually([&] { return sink.size() >= 19; }));
  got = sink.take();
  REQUIRE(got.size() == 5);
  const auto off = core::condition_gateway_offline;
  check_link(got[0], "p1", "p1-hr", vital_kind::heart_rate, off);
  check_link(got[1], "p4", "p4-cgm", vital_kind::glucose, off);
  check_link(got[2], "p5", "p5-cgm", vital_kind::glucose, off);
  check_link(got[3], "p6", "p6-cgm", vital_kind::heart_rate, off);
  check_link(got[4], "p7", "p7-quiet", vital_kind::heart_rate, off);
  in.send("ble/livingroom/status", R"({"state":"online"})");
  // Cassia's own payloads, on a status topic outside its notification filter.
  in.send("cassia/ap1/status", "down");
  in.send("cassia/ap1/status", "up");
  in.send("cassia/ap1/status", "rebooting");  // neither: bad_value
  REQUIRE(in.settled());
  REQUIRE(eventually([&] { return sink.size() >= 28; }));
  got = sink.take();
  REQUIRE(got.size() == 9);
  for (std::size_t i = 0; i < 5; ++i) CHECK(got[i].conditions == core::condition_none);
  check_link(got[5], "p2", "ble-c026da000002", vital_kind::heart_rate, off);
  check_link(got[6], "p2", "ble-c026da000002", vital_kind::spo2, off);
  check_link(got[7], "p2", "ble-c026da000002", vital_kind::heart_rate, core::condition_none);
  check_link(got[8], "p2", "ble-c026da000002", vital_kind::spo2, core::condition_none);
  CHECK(stats.rejects(reject_reason::bad_value) == 2);
  CHECK(stats.samples_decoded.load() == 28);

  // After stop() nothing more reaches the sink.
  source.stop();
  CHECK_FALSE(source.connected());
  pub.publish("ble/livingroom/p1", generic("C0:26:DA:00:00:01", "2a37", "0048"), 1);
  std::this_thread::sleep_for(200ms);  // a negative check needs some time to pass
  CHECK(sink.size() == 28);
  source.stop();  // idempotent
}

TEST_CASE("gateway source: presets name the fields of their message shapes", "[gateway]") {
  const auto cassia = ble::preset_fields(ble::gateway_preset::cassia);
  CHECK(cassia.type == "dataType");
  CHECK(cassia.device == "device");
  CHECK(cassia.handle == "handle");
  CHECK(cassia.uuid.empty());
  CHECK(cassia.value == "value");
  CHECK(cassia.state == "connectionState");
  const auto generic = ble::preset_fields(ble::gateway_preset::generic);
  CHECK(generic.type.empty());
  CHECK(generic.device == "mac");
  CHECK(generic.uuid == "uuid");
  CHECK(generic.value == "hex");
  CHECK(generic.time == "ts");
  CHECK(generic.state == "state");
  CHECK(generic.session_start == "session_start");
  CHECK(ble::preset_fields(ble::gateway_preset::custom) == generic);
}

TEST_CASE("gateway source: invalid options are rejected at construction, naming the problem",
          "[gateway]") {
  collecting_sink sink;
  core::stats stats;
  auto make = [&](auto change) {
    auto o = options_for("tcp://127.0.0.1:1883", 1883);
    change(o);
    return ble::gateway_source(o, sink, stats);
  };
  using opts = ble::gateway_source_options;
  CHECK_THROWS_WITH(make([](opts& o) { o.gateways.clear(); }), Catch::Contains("no gateway"));
  CHECK_THROWS_WITH(make([](opts& o) { o.gateways[1].name = "livingroom"; }),
                    Catch::Contains("duplicate gateway name 'livingroom'"));
  CHECK_THROWS_WITH(make([](opts& o) { o.gateways[0].topics = {"ble/#/x"}; }),
                    Catch::Contains("ble/#/x"));
  CHECK_THROWS_WITH(make([](opts& o) { o.gateways[0].topics.clear(); }),
                    Catch::Contains("'livingroom': no topics"));
  CHECK_THROWS_WITH(make([](opts& o) { o.gateways[0].status_topic = "ble/+/status"; }),
                    Catch::Contains("wildcards"));
  CHECK_THROWS_WITH(make([](opts& o) { o.gateways[2].fields.value.clear(); }),
                    Catch::Contains("'bridge': the value field name is empty"));
  CHECK_THROWS_WITH(make([](opts& o) { o.devices[0].address = "C0:26:DA:00:01"; }),
                    Catch::Contains("C0:26:DA:00:01"));
  CHECK_THROWS_WITH(make([](opts& o) { o.devices[1].address = "C0:26:DA:00:00:01"; }),
                    Catch::Contains("duplicate device address"));
  CHECK_THROWS_WITH(make([](opts& o) { o.devices[0].gateway = "kitchen"; }),
                    Catch::Contains("unknown gateway 'kitchen'"));
  CHECK_THROWS_WITH(make([](opts& o) { o.devices[0].patient.clear(); }),
                    Catch::Contains("patient"));
  CHECK_THROWS_WITH(make([](opts& o) { o.qos = 3; }), Catch::Contains("qos"));
  CHECK_THROWS_WITH(make([](opts& o) { o.broker.server_uri = "nonsense://x"; }),
                    Catch::Contains("nonsense://x"));
  // A source that never started stops (and is destroyed) quietly.
  auto idle = make([](opts&) {});
  idle.stop();
}

}  // namespace gateway_source_test
