// The BlueZ source against a stand-in org.bluez (tests/support fake_bluez) on a private
// dbus-daemon: discovery through the ObjectManager, StartNotify, notifications to samples,
// rejects, disconnects and Connect() with back-off, org.bluez coming and going, stop().

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <vitals/adapters/bluez/bluez_source.hpp>
#include <vitals/test/collecting_sink.hpp>
#include <vitals/test/fake_bluez.hpp>
#include <vitals/test/mosquitto_broker.hpp>  // eventually()

using namespace std::chrono_literals;
namespace ble = vitals::adapters::ble;
namespace core = vitals::core;
using core::reject_reason;
using core::vital_kind;
using vitals::test::collecting_sink;
using vitals::test::eventually;
using vitals::test::fake_bluez;
using vitals::test::private_bus;
using vitals::test::sig_uuid;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace bluez_source_test {
namespace {

bool is_link(const core::sample& s) {
  return (s.quality & core::quality_link_state) != 0;
}

/// Readings (samples with a value) of `device`.
std::vector<core::sample> readings(const collecting_sink& sink, std::string_view device) {
  std::vector<core::sample> out;
  for (const auto& s : sink.samples())
    if (s.device.view() == device && (s.quality & core::quality_no_value) == 0) out.push_back(s);
  return out;
}

/// Link-state reports of `device`.
std::vector<core::sample> links(const collecting_sink& sink, std::string_view device) {
  std::vector<core::sample> out;
  for (const auto& s : sink.samples())
    if (s.device.view() == device && is_link(s)) out.push_back(s);
  return out;
}

bool has_reading(const collecting_sink& sink, std::string_view device, vital_kind kind,
                 double value) {
  const auto r = readings(sink, device);
  return std::any_of(r.begin(), r.end(),
                     [&](const core::sample& s) { return s.kind == kind && s.value == value; });
}

/// Heart Rate Measurement: u8 heart rate, no contact bits.
std::vector<std::uint8_t> hr_frame(std::uint8_t bpm) {
  return {0x00, bpm};
}

/// PLX Continuous: SpO2 and pulse rate as whole-number SFLOATs.
std::vector<std::uint8_t> plx_frame(std::uint8_t spo2, std::uint8_t pr) {
  return {0x00, spo2, 0x00, pr, 0x00};
}

/// One CGM record without CRC: glucose (whole mg/dL) at `offset_min` after the session start.
std::vector<std::uint8_t> cgm_frame(std::uint8_t mg_dl, std::uint8_t offset_min) {
  return {0x06, 0x00, mg_dl, 0x00, offset_min, 0x00};
}

/// CGM Session Start Time 2026-11-28T00:00:00, UTC, no DST.
const std::vector<std::uint8_t> session_start_value{0xEA, 0x07, 11, 28, 0, 0, 0, 0x00, 0x00};

core::timestamp session_start_time() {
  return core::timestamp{
      std::chrono::sys_days{std::chrono::year{2026} / std::chrono::November / 28}};
}

ble::ble_device device(std::string address, std::string patient, std::string id) {
  ble::ble_device d;
  d.address = std::move(address);
  d.patient = std::move(patient);
  d.device = std::move(id);
  return d;
}

ble::bluez_options options_for(const private_bus& bus, std::vector<ble::ble_device> devices) {
  ble::bluez_options o;
  o.bus_address = bus.address();
  o.adapter = "hci0";
  o.reconnect_min = 50ms;
  o.reconnect_max = 200ms;
  o.devices = std::move(devices);
  return o;
}

constexpr auto timeout = 20s;

}  // namespace

TEST_CASE("BlueZ source: notifications of configured devices become samples", "[bluez]") {
  private_bus bus;
  fake_bluez fake(bus.address());
  const auto hr_dev = fake.add_device("C0:26:DA:00:00:01");
  const auto hr_char = fake.add_characteristic(hr_dev, sig_uuid(0x2a37));
  const auto ox_dev = fake.add_device("C0:26:DA:00:00:02");
  const auto ox_char = fake.add_characteristic(ox_dev, sig_uuid(0x2a5f));
  const auto cgm_dev = fake.add_device("C0:26:DA:00:00:03");
  // Added first, so its ReadValue goes out (and is answered) before the CGM's StartNotify.
  const auto start_char = fake.add_characteristic(cgm_dev, sig_uuid(0x2aaa), session_start_value);
  const auto cgm_char = fake.add_characteristic(cgm_dev, sig_uuid(0x2aa7));
  // Not in the configuration.
  const auto stranger = fake.add_device("C0:26:DA:00:00:09");
  const auto stranger_char = fake.add_characteristic(stranger, sig_uuid(0x2a37));
  // Configured, but under another adapter than the source's.
  const auto other = fake.add_device("C0:26:DA:00:00:04", true, "hci1");
  const auto other_char = fake.add_characteristic(other, sig_uuid(0x2a37));

  collecting_sink sink;
  core::stats stats;
  ble::bluez_source source(options_for(bus, {device("c0:26:da:00:00:01", "p001", "p001-hr"),
                                             device("C0-26-DA-00-00-02", "p002", "p002-ox"),
                                             device("C026DA000003", "p003", "p003-cgm"),
                                             device("C0:26:DA:00:00:04", "p004", "p004-hr")}),
                           sink, stats);
  CHECK(source.name() == "bluez");
  source.start();

  REQUIRE(eventually(
      [&] {
        return fake.notifying(hr_char) && fake.notifying(ox_char) && fake.notifying(cgm_char);
      },
      timeout));
  CHECK(fake.read_value_calls(start_char) == 1);
  CHECK(eventually([&] { return source.active_devices() == 3; }, timeout));

  REQUIRE(fake.notify(hr_char, hr_frame(72)));
  REQUIRE(fake.notify(ox_char, plx_frame(98, 64)));
  REQUIRE(fake.notify(cgm_char, cgm_frame(120, 10)));
  REQUIRE(eventually(
      [&] {
        return has_reading(sink, "p001-hr", vital_kind::heart_rate, 72) &&
               has_reading(sink, "p002-ox", vital_kind::spo2, 98) &&
               has_reading(sink, "p002-ox", vital_kind::heart_rate, 64) &&
               has_reading(sink, "p003-cgm", vital_kind::glucose, 120);
      },
      timeout));

  for (const auto& s : sink.samples()) {
    INFO(s.device.view() << " kind " << static_cast<int>(s.kind) << " quality " << s.quality);
    if (s.device.view() == "p001-hr") CHECK(s.patient.view() == "p001");
    if (s.device.view() == "p002-ox") CHECK(s.patient.view() == "p002");
    if (s.device.view() == "p003-cgm") CHECK(s.patient.view() == "p003");
    CHECK(s.device.view() != "p004-hr");
    // Connected from the start: the only link reports say "connected".
    if (is_link(s)) {
      CHECK((s.quality & core::quality_no_value) != 0);
      CHECK(s.conditions == core::condition_none);
    }
  }
  // The CGM record's time comes from the session start the source read from 0x2AAA.
  const auto cgm = readings(sink, "p003-cgm");
  REQUIRE(cgm.size() == 1);
  CHECK(cgm[0].device_time == session_start_time() + 10min);
  // HR and PLX continuous carry no time of their own: receive time.
  const auto hr = readings(sink, "p001-hr");
  REQUIRE(hr.size() == 1);
  CHECK(hr[0].device_time == hr[0].receive_time);

  // Neither the unconfigured device nor the one under hci1 was asked for notifications; the
  // source listed all objects at once, so by now it would have.
  CHECK(fake.start_notify_calls(stranger_char) == 0);
  CHECK(fake.start_notify_calls(other_char) == 0);
  CHECK_FALSE(fake.notify(stranger_char, hr_frame(50)));
  CHECK_FALSE(fake.notify(other_char, hr_frame(51)));

  CHECK(stats.messages_received.load() == 3);
  CHECK(stats.samples_decoded.load() == sink.size());
  CHECK(stats.total_rejects() == 0);
  source.stop();
}

TEST_CASE("BlueZ source: a device that appears later is picked up", "[bluez]") {
  private_bus bus;
  fake_bluez fake(bus.address());
  collecting_sink sink;
  core::stats stats;
  ble::bluez_source source(options_for(bus, {device("C0:26:DA:00:00:05", "p005", "p005-hr")}), sink,
                           stats);
  source.start();
  CHECK(source.active_devices() == 0);
  // InterfacesAdded for the device, then for its characteristic.
  const auto dev = fake.add_device("C0:26:DA:00:00:05");
  const auto hr_char = fake.add_characteristic(dev, sig_uuid(0x2a37));
  REQUIRE(eventually([&] { return fake.notifying(hr_char); }, timeout));
  REQUIRE(fake.notify(hr_char, hr_frame(88)));
  CHECK(eventually([&] { return has_reading(sink, "p005-hr", vital_kind::heart_rate, 88); },
                   timeout));
}

TEST_CASE("BlueZ source: bad frames are counted and later good frames still arrive", "[bluez]") {
  private_bus bus;
  fake_bluez fake(bus.address());
  const auto dev = fake.add_device("C0:26:DA:00:00:01");
  const auto hr_char = fake.add_characteristic(dev, sig_uuid(0x2a37));
  const auto cgm_char = fake.add_characteristic(dev, sig_uuid(0x2aa7));
  collecting_sink sink;
  core::stats stats;
  auto d = device("C0:26:DA:00:00:01", "p001", "p001-x");
  d.cgm_session_start = session_start_time();
  ble::bluez_source source(options_for(bus, {d}), sink, stats);
  source.start();
  REQUIRE(eventually([&] { return fake.notifying(hr_char) && fake.notifying(cgm_char); }, timeout));

  // Flags say u16 heart rate, one byte follows.
  REQUIRE(fake.notify(hr_char, {0x01, 0x48}));
  // An empty value.
  REQUIRE(fake.notify(hr_char, {}));
  // A CGM record with a CRC that does not match (size 8 = 6 + CRC).
  REQUIRE(fake.notify(cgm_char, {0x08, 0x00, 0x78, 0x00, 0x0a, 0x00, 0x00, 0x00}));
  REQUIRE(eventually([&] { return stats.messages_received.load() == 3; }, timeout));
  REQUIRE(fake.notify(hr_char, hr_frame(80)));
  REQUIRE(fake.notify(cgm_char, cgm_frame(99, 5)));
  REQUIRE(eventually(
      [&] {
        return has_reading(sink, "p001-x", vital_kind::heart_rate, 80) &&
               has_reading(sink, "p001-x", vital_kind::glucose, 99);
      },
      timeout));
  CHECK(stats.rejects(reject_reason::bad_frame) == 2);
  CHECK(stats.rejects(reject_reason::crc_mismatch) == 1);
  CHECK(stats.total_rejects() == 3);
  CHECK(readings(sink, "p001-x").size() == 2);
  // The configured session start times the CGM record.
  CHECK(readings(sink, "p001-x").back().device_time == session_start_time() + 5min);
  CHECK(stats.messages_received.load() == 5);
}

TEST_CASE("BlueZ source: a disconnect is reported and Connect() is retried until it works",
          "[bluez]") {
  private_bus bus;
  fake_bluez fake(bus.address());
  const auto dev = fake.add_device("C0:26:DA:00:00:02");
  const auto ox_char = fake.add_characteristic(dev, sig_uuid(0x2a5f));
  collecting_sink sink;
  core::stats stats;
  ble::bluez_source source(options_for(bus, {device("C0:26:DA:00:00:02", "p002", "p002-ox")}), sink,
                           stats);
  source.start();
  REQUIRE(eventually([&] { return fake.notifying(ox_char); }, timeout));
  REQUIRE(fake.notify(ox_char, plx_frame(97, 70)));
  REQUIRE(eventually([&] { return has_reading(sink, "p002-ox", vital_kind::spo2, 97); }, timeout));
  CHECK(fake.start_notify_calls(ox_char) == 1);
  CHECK(fake.connect_calls(dev) == 0);

  // The link drops; the first two Connect() calls fail.
  fake.fail_connects(dev, 2);
  fake.set_connected(dev, false);
  REQUIRE(eventually(
      [&] {
        const auto l = links(sink, "p002-ox");
        return std::count_if(l.begin(), l.end(), [](const core::sample& s) {
                 return s.conditions == core::condition_disconnected;
               }) == 2;  // one per vital the oximeter carries
      },
      timeout));
  {
    const auto l = links(sink, "p002-ox");
    bool spo2 = false, hr = false;
    for (const auto& s : l) {
      if (s.conditions != core::condition_disconnected) continue;
      CHECK(s.patient.view() == "p002");
      CHECK((s.quality & core::quality_no_value) != 0);
      spo2 = spo2 || s.kind == vital_kind::spo2;
      hr = hr || s.kind == vital_kind::heart_rate;
    }
    CHECK(spo2);
    CHECK(hr);
  }

  // Connect() again with back-off: two failures, then the device is back and notifies again.
  REQUIRE(eventually([&] { return fake.connected(dev); }, timeout));
  REQUIRE(eventually([&] { return fake.notifying(ox_char); }, timeout));
  CHECK(fake.connect_calls(dev) == 3);
  CHECK(fake.start_notify_calls(ox_char) == 2);
  REQUIRE(eventually(
      [&] {
        const auto l = links(sink, "p002-ox");
        return !l.empty() && l.back().conditions == core::condition_none;
      },
      timeout));
  CHECK(eventually([&] { return source.active_devices() == 1; }, timeout));
  REQUIRE(fake.notify(ox_char, plx_frame(95, 71)));
  CHECK(eventually([&] { return has_reading(sink, "p002-ox", vital_kind::spo2, 95); }, timeout));
  CHECK(fake.connect_calls(dev) == 3);

  // The samples in order: readings, both "disconnected" reports, the "connected" ones, readings.
  const auto all = sink.samples();
  const auto first_down = std::find_if(all.begin(), all.end(), [](const core::sample& s) {
    return is_link(s) && s.conditions == core::condition_disconnected;
  });
  const auto back_up = std::find_if(first_down, all.end(), [](const core::sample& s) {
    return is_link(s) && s.conditions == core::condition_none;
  });
  REQUIRE(back_up != all.end());
  CHECK(std::none_of(first_down, back_up, [](const core::sample& s) {
    return (s.quality & core::quality_no_value) == 0;
  }));
}

TEST_CASE("BlueZ source: a device disconnected at start is reported and connected", "[bluez]") {
  private_bus bus;
  fake_bluez fake(bus.address());
  const auto dev = fake.add_device("C0:26:DA:00:00:01", false);
  const auto hr_char = fake.add_characteristic(dev, sig_uuid(0x2a37));
  collecting_sink sink;
  core::stats stats;
  ble::bluez_source source(options_for(bus, {device("C0:26:DA:00:00:01", "p001", "p001-hr")}), sink,
                           stats);
  source.start();
  REQUIRE(eventually([&] { return fake.notifying(hr_char); }, timeout));
  CHECK(fake.connect_calls(dev) == 1);
  const auto l = links(sink, "p001-hr");
  REQUIRE(l.size() == 2);
  CHECK(l[0].conditions == core::condition_disconnected);
  CHECK(l[0].kind == vital_kind::heart_rate);
  CHECK(l[1].conditions == core::condition_none);
}

TEST_CASE("BlueZ source: a failed StartNotify() is retried with back-off", "[bluez]") {
  private_bus bus;
  fake_bluez fake(bus.address());
  const auto dev = fake.add_device("C0:26:DA:00:00:05");
  const auto hr_char = fake.add_characteristic(dev, sig_uuid(0x2a37));
  fake.fail_start_notify(hr_char, 2);
  collecting_sink sink;
  core::stats stats;
  ble::bluez_source source(options_for(bus, {device("C0:26:DA:00:00:05", "p005", "p005-hr")}), sink,
                           stats);
  source.start();
  REQUIRE(eventually([&] { return fake.notifying(hr_char); }, timeout));
  CHECK(fake.start_notify_calls(hr_char) == 3);
  CHECK(eventually([&] { return source.active_devices() == 1; }, timeout));
  REQUIRE(fake.notify(hr_char, hr_frame(64)));
  CHECK(eventually([&] { return has_reading(sink, "p005-hr", vital_kind::heart_rate, 64); },
                   timeout));
  // The link itself never dropped.
  CHECK(fake.connect_calls(dev) == 0);
  for (const auto& s : links(sink, "p005-hr")) CHECK(s.conditions == core::condition_none);
}

TEST_CASE("BlueZ source: a connection whose services never resolve is dropped and made again",
          "[bluez]") {
  private_bus bus;
  fake_bluez fake(bus.address());
  const auto dev = fake.add_device("C0:26:DA:00:00:06", false);
  const auto hr_char = fake.add_characteristic(dev, sig_uuid(0x2a37));
  fake.stall_resolves(dev, 1);
  collecting_sink sink;
  core::stats stats;
  auto options = options_for(bus, {device("C0:26:DA:00:00:06", "p006", "p006-hr")});
  options.resolve_timeout = 300ms;
  ble::bluez_source source(options, sink, stats);
  source.start();
  // Connect() #1 leaves the device Connected without ServicesResolved; after resolve_timeout
  // the source disconnects it, Connect() #2 resolves, and notifications start.
  REQUIRE(eventually([&] { return fake.notifying(hr_char); }, timeout));
  CHECK(fake.connect_calls(dev) == 2);
  CHECK(fake.disconnect_calls(dev) == 1);
  CHECK(fake.start_notify_calls(hr_char) == 1);
  REQUIRE(fake.notify(hr_char, hr_frame(66)));
  CHECK(eventually([&] { return has_reading(sink, "p006-hr", vital_kind::heart_rate, 66); },
                   timeout));
  REQUIRE(eventually(
      [&] {
        const auto l = links(sink, "p006-hr");
        return !l.empty() && l.back().conditions == core::condition_none;
      },
      timeout));
  CHECK(links(sink, "p006-hr").front().conditions == core::condition_disconnected);
}

TEST_CASE("BlueZ source: stop() is prompt and idempotent, and nothing is pushed after it",
          "[bluez]") {
  private_bus bus;
  fake_bluez fake(bus.address());
  const auto dev = fake.add_device("C0:26:DA:00:00:01");
  const auto hr_char = fake.add_characteristic(dev, sig_uuid(0x2a37));
  collecting_sink sink;
  core::stats stats;
  ble::bluez_source source(options_for(bus, {device("C0:26:DA:00:00:01", "p001", "p001-hr")}), sink,
                           stats);
  source.stop();  // before start: nothing to do
  source.start();
  source.start();  // already running: nothing to do
  REQUIRE(eventually([&] { return fake.notifying(hr_char); }, timeout));
  REQUIRE(fake.notify(hr_char, hr_frame(60)));
  REQUIRE(eventually([&] { return has_reading(sink, "p001-hr", vital_kind::heart_rate, 60); },
                     timeout));

  source.stop();
  source.stop();
  const auto pushed = sink.size();
  // The fake still notifies (the source left without StopNotify); nobody listens any more.
  REQUIRE(fake.notify(hr_char, hr_frame(61)));
  std::this_thread::sleep_for(200ms);
  CHECK(sink.size() == pushed);
  CHECK_FALSE(has_reading(sink, "p001-hr", vital_kind::heart_rate, 61));

  // Started again, it finds the device again.
  source.start();
  REQUIRE(eventually([&] { return fake.start_notify_calls(hr_char) == 2; }, timeout));
  // StartNotify's reply may still be on its way: notify until one gets through.
  REQUIRE(eventually(
      [&] {
        fake.notify(hr_char, hr_frame(62));
        return has_reading(sink, "p001-hr", vital_kind::heart_rate, 62);
      },
      timeout));
}

TEST_CASE("BlueZ source: org.bluez absent at start, appearing, leaving and returning", "[bluez]") {
  private_bus bus;
  collecting_sink sink;
  core::stats stats;
  ble::bluez_source source(options_for(bus, {device("C0:26:DA:00:00:01", "p001", "p001-hr")}), sink,
                           stats);
  source.start();  // no org.bluez on the bus: not an error
  // Give the source time to find org.bluez missing (not needed for the outcome, which is the
  // same either way, but it is the case this test is about).
  std::this_thread::sleep_for(200ms);
  CHECK(source.active_devices() == 0);

  {
    fake_bluez fake(bus.address(), false);
    const auto dev = fake.add_device("C0:26:DA:00:00:01");
    const auto hr_char = fake.add_characteristic(dev, sig_uuid(0x2a37));
    fake.own_name();
    REQUIRE(eventually([&] { return fake.notifying(hr_char); }, timeout));
    REQUIRE(eventually(
        [&] {
          fake.notify(hr_char, hr_frame(70));
          return has_reading(sink, "p001-hr", vital_kind::heart_rate, 70);
        },
        timeout));
    CHECK(source.active_devices() == 1);
  }
  // bluetoothd went away: its devices are out of reach.
  REQUIRE(eventually(
      [&] {
        const auto l = links(sink, "p001-hr");
        return !l.empty() && l.back().conditions == core::condition_disconnected;
      },
      timeout));
  CHECK(eventually([&] { return source.active_devices() == 0; }, timeout));

  fake_bluez again(bus.address(), false);
  const auto dev = again.add_device("C0:26:DA:00:00:01");
  const auto hr_char = again.add_characteristic(dev, sig_uuid(0x2a37));
  again.own_name();
  REQUIRE(eventually([&] { return again.notifying(hr_char); }, timeout));
  REQUIRE(eventually(
      [&] {
        again.notify(hr_char, hr_frame(71));
        return has_reading(sink, "p001-hr", vital_kind::heart_rate, 71);
      },
      timeout));
  const auto l = links(sink, "p001-hr");
  REQUIRE(!l.empty());
  CHECK(l.back().conditions == core::condition_none);
}

TEST_CASE("BlueZ source: losing the bus reports the devices down and is survived", "[bluez]") {
  private_bus bus;
  fake_bluez fake(bus.address());
  const auto dev = fake.add_device("C0:26:DA:00:00:01");
  const auto hr_char = fake.add_characteristic(dev, sig_uuid(0x2a37));
  collecting_sink sink;
  core::stats stats;
  ble::bluez_source source(options_for(bus, {device("C0:26:DA:00:00:01", "p001", "p001-hr")}), sink,
                           stats);
  source.start();
  REQUIRE(eventually([&] { return fake.notifying(hr_char); }, timeout));
  REQUIRE(eventually(
      [&] {
        fake.notify(hr_char, hr_frame(66));
        return has_reading(sink, "p001-hr", vital_kind::heart_rate, 66);
      },
      timeout));

  bus.kill();
  REQUIRE(eventually(
      [&] {
        const auto l = links(sink, "p001-hr");
        return !l.empty() && l.back().conditions == core::condition_disconnected;
      },
      timeout));
  CHECK(eventually([&] { return source.active_devices() == 0; }, timeout));
  // Still trying to reach the bus, and still stoppable.
  std::this_thread::sleep_for(300ms);
  source.stop();
}

TEST_CASE("BlueZ source: options are checked and an unreachable bus fails start()", "[bluez]") {
  collecting_sink sink;
  core::stats stats;
  ble::bluez_options o;
  o.bus_address = "unix:path=/nonexistent/vitals-test-bus";
  o.devices = {device("C0:26:DA:00:00:01", "p001", "")};

  SECTION("unreachable bus") {
    ble::bluez_source source(o, sink, stats);
    CHECK_THROWS_AS(source.start(), std::runtime_error);
    source.stop();
  }
  SECTION("bad address") {
    o.devices.push_back(device("C0:26:DA:00:00", "p002", ""));
    CHECK_THROWS_AS(ble::bluez_source(o, sink, stats), std::invalid_argument);
  }
  SECTION("duplicate address") {
    o.devices.push_back(device("c0-26-da-00-00-01", "p002", ""));
    CHECK_THROWS_AS(ble::bluez_source(o, sink, stats), std::invalid_argument);
  }
  SECTION("empty patient") {
    o.devices.push_back(device("C0:26:DA:00:00:02", "", ""));
    CHECK_THROWS_AS(ble::bluez_source(o, sink, stats), std::invalid_argument);
  }
  SECTION("back-off bounds") {
    o.reconnect_min = 0ms;
    CHECK_THROWS_AS(ble::bluez_source(o, sink, stats), std::invalid_argument);
    o.reconnect_min = 2s;
    o.reconnect_max = 1s;
    CHECK_THROWS_AS(ble::bluez_source(o, sink, stats), std::invalid_argument);
  }
  SECTION("adapter name") {
    o.adapter = "hci0/dev";
    CHECK_THROWS_AS(ble::bluez_source(o, sink, stats), std::invalid_argument);
  }
}

}  // namespace bluez_source_test
