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

reading_checks::reading_checks(const decoder_options& options)
    : options_(options),
      own_(options.directory ? nullptr
                             : std::make_unique<core::device_directory>(options.device_patients)),
      devices_(options.directory ? *options.directory : *own_) {}

}  // namespace vitals::adapters::mqtt::detail
