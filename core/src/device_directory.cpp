#include <vitals/core/device_directory.hpp>

#include <stdexcept>

namespace vitals::core {

std::shared_ptr<const device_directory::map> device_directory::make_map(
    const std::unordered_map<std::string, std::string>& devices) {
  auto m = std::make_shared<map>();
  for (const auto& [device, patient] : devices) {
    if (!valid_id_text(device)) {
      throw std::invalid_argument("device_patients: device id '" + device +
                                  "' is empty, longer than 47 bytes or has control characters");
    }
    if (!valid_id_text(patient)) {
      throw std::invalid_argument("device_patients: patient id of device '" + device +
                                  "' is empty, longer than 47 bytes or has control characters");
    }
    m->emplace(device, *short_id::make(patient));
  }
  return m;
}

device_directory::device_directory(const std::unordered_map<std::string, std::string>& devices)
    : map_(make_map(devices)) {}

void device_directory::publish(std::shared_ptr<const map> m) noexcept {
  const std::lock_guard lock(mutex_);
  map_ = std::move(m);
  version_.fetch_add(1, std::memory_order_acq_rel);
}

std::shared_ptr<const device_directory::map> device_directory::current() const {
  const std::lock_guard lock(mutex_);
  return map_;
}

const short_id* device_directory::view::find(std::string_view device) {
  const auto v = dir_->version();
  if (!loaded_ || v != version_) {
    // The version is read before the map: a replace() in between is seen again next time.
    map_ = dir_->current();
    version_ = v;
    loaded_ = true;
  }
  if (map_->empty()) return nullptr;
  const auto it = map_->find(device);
  return it == map_->end() ? nullptr : &it->second;
}

}  // namespace vitals::core
