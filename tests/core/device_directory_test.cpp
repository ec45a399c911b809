#include <vitals/core/device_directory.hpp>

#include <atomic>
#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>

using namespace vitals::core;

// A namespace of its own: the sanitizer presets are unity builds (tests/README.md).
namespace device_directory_test {

using devices = std::unordered_map<std::string, std::string>;

TEST_CASE("device directory: a view sees a replaced map at its next lookup",
          "[device_directory][reload]") {
  device_directory d(devices{{"ox-1", "p-1"}});
  device_directory::view v(d);
  REQUIRE(v.find("ox-1") != nullptr);
  CHECK(v.find("ox-1")->view() == "p-1");
  CHECK(v.find("ox-2") == nullptr);

  d.replace({{"ox-1", "p-9"}, {"ox-2", "p-2"}});
  REQUIRE(v.find("ox-2") != nullptr);
  CHECK(v.find("ox-2")->view() == "p-2");
  CHECK(v.find("ox-1")->view() == "p-9");

  d.replace({});
  CHECK(v.find("ox-1") == nullptr);
}

TEST_CASE("device directory: a bad id is refused whole, and the map in force stays",
          "[device_directory][reload]") {
  CHECK_THROWS_AS(device_directory(devices{{"", "p-1"}}), std::invalid_argument);
  device_directory d(devices{{"ox-1", "p-1"}});
  device_directory::view v(d);
  CHECK_THROWS_WITH(d.replace({{"ox-2", std::string(48, 'p')}}),
                    Catch::Contains("patient id of device 'ox-2'"));
  CHECK_THROWS_WITH(d.replace({{"ox\x01", "p-1"}}), Catch::Contains("control characters"));
  REQUIRE(v.find("ox-1") != nullptr);
  CHECK(v.find("ox-1")->view() == "p-1");
  CHECK(v.find("ox-2") == nullptr);
}

TEST_CASE("device directory: readers on other threads while the map is replaced",
          "[device_directory][reload]") {
  // Under TSan this is the check: a reader never sees a map while it is being built.
  device_directory d(devices{{"ox-1", "p-a"}});
  std::atomic<bool> stop{false};
  std::atomic<long> found{0};
  std::thread reader([&] {
    device_directory::view v(d);
    while (!stop.load()) {
      const auto* p = v.find("ox-1");
      if (p != nullptr && (p->view() == "p-a" || p->view() == "p-b")) ++found;
    }
  });
  // Replaces until the reader has looked up often enough (it may start late on a busy machine).
  for (int i = 0; i < 2000 || (found.load() < 1000 && i < 10'000'000); ++i) {
    d.replace({{"ox-1", i % 2 == 0 ? "p-b" : "p-a"}});
  }
  stop = true;
  reader.join();
  CHECK(found.load() >= 1000);
}

}  // namespace device_directory_test
