#include "reading.hpp"

#include <stdexcept>

namespace vitals::adapters::mqtt::detail {

void rejection_tally::note(const problem& p, std::optional<std::size_t> index, std::string& msg) {
  ++pending_[static_cast<std::size_t>(p.reason)];
  if (!first_) {
    first_ = p.reason;
    msg.clear();
    if (index) {
      msg += "reading ";
      msg += std::to_string(*index);
      msg += ": ";
    }
    if (!p.field.empty()) {
      msg += "field '";
      msg += p.field;
      msg += "': ";
    }
    msg += p.what;
  }
}

reading_checks::reading_checks(const decoder_options& options) : options_(options) {
  for (const auto& [device, patient] : options_.device_patients) {
    if (!valid_id_text(device))
      throw std::invalid_argument("device_patients: device id '" + device +
                                  "' is empty, longer than 47 bytes or has control characters");
    if (!valid_id_text(patient))
      throw std::invalid_argument("device_patients: patient id of device '" + device +
                                  "' is empty, longer than 47 bytes or has control characters");
    patients_.emplace(device, *core::short_id::make(patient));
  }
}

}  // namespace vitals::adapters::mqtt::detail
