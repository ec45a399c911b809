#include <vitals/test/temp_dir.hpp>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <string>
#include <system_error>

namespace vitals::test {

temp_dir::temp_dir(std::string_view prefix) {
  auto pattern =
      (std::filesystem::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr)
    throw std::system_error(errno, std::generic_category(), "mkdtemp " + pattern);
  path_ = pattern;
}

temp_dir::~temp_dir() {
  if (std::getenv("VITALS_KEEP_TEMP") != nullptr) {
    std::cerr << "VITALS_KEEP_TEMP: keeping " << path_ << '\n';
    return;
  }
  std::error_code ec;  // a destructor must not throw; a leftover temp dir is harmless
  std::filesystem::remove_all(path_, ec);
}

}  // namespace vitals::test
