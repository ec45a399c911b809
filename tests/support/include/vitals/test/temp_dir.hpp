#pragma once
/// A private temporary directory for one test, removed with everything in it afterwards.

#include <filesystem>
#include <string_view>

namespace vitals::test {

/// Creates a fresh directory under $TMPDIR (mkdtemp); removes it recursively on destruction
/// unless the environment variable VITALS_KEEP_TEMP is set (then its path is printed).
class temp_dir {
 public:
  /// `prefix` names the directory so that a kept one can be told apart ("vitals-mqtt-XXXXXX").
  explicit temp_dir(std::string_view prefix = "vitals-test");
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  /// The directory's absolute path.
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace vitals::test
