#pragma once
/// Configuration errors that name the file, line, column and key that were wrong.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace vitals::config {

/// One thing wrong (or worth a warning) in a configuration source.
struct problem {
  std::string file;          ///< source name, usually the file path
  std::uint32_t line = 0;    ///< 1-based; 0 when the problem is about the whole file
  std::uint32_t column = 0;  ///< 1-based; 0 when unknown
  std::string key;           ///< dotted key, e.g. "mqtt.qos" or "devices[0].id"; empty if none
  std::string message;       ///< what is wrong and what is allowed

  /// "FILE:LINE:COL: key 'mqtt.qos': message" (the key and position parts only when known).
  std::string to_string() const;
};

/// Thrown by the loader; what() lists every problem found, one per line, in file order.
class config_error : public std::runtime_error {
 public:
  /// `problems` must not be empty.
  explicit config_error(std::vector<problem> problems);

  /// Every problem, sorted by position.
  const std::vector<problem>& problems() const noexcept { return problems_; }
  /// File of the first problem.
  const std::string& file() const noexcept { return problems_.front().file; }
  /// Line of the first problem (1-based; 0 for whole-file problems).
  std::uint32_t line() const noexcept { return problems_.front().line; }
  /// Column of the first problem (1-based; 0 when unknown).
  std::uint32_t column() const noexcept { return problems_.front().column; }
  /// Key of the first problem (empty for syntax and whole-file problems).
  const std::string& key() const noexcept { return problems_.front().key; }

 private:
  std::vector<problem> problems_;
};

}  // namespace vitals::config
