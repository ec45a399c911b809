// The BlueZ source end to end (issue 6, point 5): a private dbus-daemon started by the test, a
// stand-in org.bluez on it (tests/support fake_bluez) exporting an oximeter's Device1 and PLX
// Continuous characteristic, and the real vitalsd configured with a bluez source on that bus. Its
// notifications end up as stored samples; a disconnect raises the technical device_disconnected
// alert (link_delay_s = 0); the source reconnects with back-off (the first Connect() fails),
// samples resume and the alert's condition clears.

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include <vitals/test/fake_bluez.hpp>

#include "daemon_fixture.hpp"

using namespace std::chrono_literals;
using vitals::test::eventually;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace ble_bluez_test {
namespace {

constexpr const char* address = "C0:26:DA:00:00:21";

/// PLX Continuous Measurement: SpO2 and pulse rate as whole-number SFLOATs.
std::vector<std::uint8_t> plx_frame(std::uint8_t spo2, std::uint8_t pr) {
  return {0x00, spo2, 0x00, pr, 0x00};
}

std::string config_for(const std::string& bus_address) {
  // Known devices only (the default; a [pipeline] table keeps the fixture from opening it):
  // the device of [[sources.devices]] is known without a [[devices]] table or a registry entry.
  return "[pipeline]\nmax_streams = 1000\n[technical]\nlink_delay_s = 0\n"
         "[[sources]]\ntype = \"bluez\"\nbus = \"" +
         bus_address +
         "\"\nadapter = \"hci0\"\nreconnect_min_s = 1\nreconnect_max_s = 2\n"
         "[[sources.devices]]\naddress = \"" +
         address + "\"\npatient = \"p-bz1\"\ndevice = \"p-bz1-ox\"\n";
}

const std::string samples_sql =
    "SELECT count(*) FROM samples s JOIN devices d ON d.id = s.device_id "
    "JOIN patients p ON p.id = s.patient_id WHERE d.key = 'p-bz1-ox' AND p.key = 'p-bz1'";

const std::string disconnected_sql =
    "SELECT count(*) FROM alerts a JOIN patients p ON p.id = a.patient_id "
    "WHERE a.rule = 'device_disconnected' AND a.source = 'technical' AND p.key = 'p-bz1'";

/// Notifies `n` readings 20 ms apart (distinct receive times, so none is a duplicate).
void notify_readings(vitals::test::fake_bluez& fake, const std::string& char_path, int n,
                     std::uint8_t pr) {
  for (int i = 0; i < n; ++i) {
    fake.notify(char_path, plx_frame(97, static_cast<std::uint8_t>(pr + i)));
    std::this_thread::sleep_for(20ms);
  }
}

}  // namespace

TEST_CASE("BlueZ: notifications are stored, a disconnect alerts, a reconnect resumes",
          "[integration][bluez]") {
  vitals::test::private_bus bus;
  vitals::test::fake_bluez fake(bus.address());
  const auto dev = fake.add_device(address);
  const auto plx = fake.add_characteristic(dev, vitals::test::sig_uuid(0x2a5f));

  vitals::it::daemon_env env(config_for(bus.address()));
  auto daemon = env.start_daemon();
  // Waits for `pred`; on timeout fails with the daemon's log.
  const auto wait_for = [&](auto pred, std::chrono::seconds timeout, const char* what) {
    if (!eventually(pred, timeout)) FAIL(what << "\nvitalsd log:\n" << daemon->log_text());
  };
  wait_for([&] { return fake.notifying(plx); }, 20s, "StartNotify");

  // Readings arrive and are stored (SpO2 and pulse rate of each notification).
  notify_readings(fake, plx, 5, 70);
  wait_for([&] { return env.count(samples_sql) >= 10; }, 20s, "samples stored");
  CHECK(env.count(disconnected_sql) == 0);

  // The link drops; the first Connect() fails, the second (back-off 1 s, then 2 s) works.
  fake.fail_connects(dev, 1);
  fake.set_connected(dev, false);
  wait_for([&] { return env.count(disconnected_sql) == 1; }, 20s, "device_disconnected raised");
  CHECK(env.count(disconnected_sql + " AND a.device_id = (SELECT id FROM devices WHERE key = "
                                     "'p-bz1-ox')") == 1);

  wait_for([&] { return fake.connected(dev) && fake.notifying(plx); }, 30s, "reconnect");
  CHECK(fake.connect_calls(dev) == 2);
  CHECK(fake.start_notify_calls(plx) == 2);

  // Samples resume and the link condition clears.
  const auto before = env.count(samples_sql);
  notify_readings(fake, plx, 5, 80);
  wait_for([&] { return env.count(samples_sql) >= before + 10; }, 20s, "samples resumed");
  wait_for([&] { return env.count(disconnected_sql + " AND a.condition_present = 0") == 1; }, 20s,
           "device_disconnected cleared");
  CHECK(env.count("SELECT count(*) FROM alert_events e JOIN alerts a ON a.id = e.alert_id "
                  "WHERE a.rule = 'device_disconnected' AND e.action = 'condition_cleared'") == 1);
  // The link was the only trouble: no other alert.
  CHECK(env.count("SELECT count(*) FROM alerts") == 1);

  const auto code = vitals::it::terminate(*daemon);
  const auto log = daemon->log_text();
  INFO(log);
  CHECK(code == 0);
  // Health data stays out of the log at info level: no device address, no patient id.
  CHECK(log.find(address) == std::string::npos);
  CHECK(log.find("p-bz1") == std::string::npos);
}

}  // namespace ble_bluez_test
