#pragma once
/// A private D-Bus daemon and a stand-in `org.bluez` service on it, for tests of the BlueZ source
/// without Bluetooth hardware or bluetoothd.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <vitals/test/process.hpp>
#include <vitals/test/temp_dir.hpp>

namespace vitals::test {

/// `dbus-daemon --session --nofork --print-address` listening on a socket in a temp dir of its
/// own; killed on destruction.
class private_bus {
 public:
  /// Starts the daemon and waits until it has printed its address; throws std::runtime_error
  /// with its log when it does not within `timeout`.
  explicit private_bus(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~private_bus();
  private_bus(const private_bus&) = delete;
  private_bus& operator=(const private_bus&) = delete;

  /// The D-Bus address clients connect to ("unix:path=...,guid=...").
  const std::string& address() const noexcept { return address_; }

  /// Kills the daemon with SIGKILL, as a crash would: every connection to the bus is lost at
  /// once, without the NameOwnerChanged signals of an orderly exit.
  void kill();

 private:
  temp_dir dir_{"vitals-dbus"};
  std::unique_ptr<child_process> process_;
  std::string address_;
};

/// The 128-bit form BlueZ gives a 16-bit SIG UUID: "00002a37-0000-1000-8000-00805f9b34fb".
std::string sig_uuid(std::uint16_t uuid16);

/// Stand-in for bluetoothd on a (private) bus: owns `org.bluez`, exports an ObjectManager at
/// "/", org.bluez.Device1 objects at /org/bluez/<adapter>/dev_XX_XX_XX_XX_XX_XX and, below
/// them, org.bluez.GattService1 / org.bluez.GattCharacteristic1 objects. Runs its own event
/// loop thread; every method may be called from any thread.
class fake_bluez {
 public:
  /// Connects to `bus_address`; owns the name org.bluez at once when `own_name`.
  explicit fake_bluez(const std::string& bus_address, bool own_name = true);
  ~fake_bluez();
  fake_bluez(const fake_bluez&) = delete;
  fake_bluez& operator=(const fake_bluez&) = delete;

  /// Takes / gives up the name org.bluez (the objects stay exported).
  void own_name();
  void release_name();

  /// Exports a Device1 with Address `address` under `adapter` (announced with InterfacesAdded);
  /// `connected` also sets ServicesResolved. Returns its object path.
  std::string add_device(const std::string& address, bool connected = true,
                         const std::string& adapter = "hci0");

  /// Exports a characteristic with `uuid` (any text; BlueZ uses the 128-bit form) and an
  /// initial Value below the device at `device_path` (in a service of its own). Returns its path.
  std::string add_characteristic(const std::string& device_path, const std::string& uuid,
                                 std::vector<std::uint8_t> value = {});

  /// Sets the characteristic's Value and emits PropertiesChanged for it, as BlueZ does for a
  /// notification; only while notifying. Returns whether it was emitted.
  bool notify(const std::string& char_path, const std::vector<std::uint8_t>& value);

  /// Sets the value ReadValue() returns (no signal).
  void set_value(const std::string& char_path, const std::vector<std::uint8_t>& value);

  /// Connects (Connected, then ServicesResolved = true) or drops (Notifying of its
  /// characteristics false, ServicesResolved and Connected false) the device, with
  /// PropertiesChanged signals as BlueZ emits them.
  void set_connected(const std::string& device_path, bool connected);

  /// The next `n` Connect() calls on the device fail with org.bluez.Error.Failed.
  void fail_connects(const std::string& device_path, int n);

  /// The next `n` StartNotify() calls on the characteristic fail with org.bluez.Error.InProgress.
  void fail_start_notify(const std::string& char_path, int n);

  /// The next `n` connections of the device (Connect() or set_connected(true)) set Connected
  /// but never ServicesResolved, as a service discovery that hangs.
  void stall_resolves(const std::string& device_path, int n);

  bool connected(const std::string& device_path) const;
  bool notifying(const std::string& char_path) const;

  /// Calls seen so far.
  int connect_calls(const std::string& device_path) const;
  int disconnect_calls(const std::string& device_path) const;
  int start_notify_calls(const std::string& char_path) const;
  int read_value_calls(const std::string& char_path) const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace vitals::test
