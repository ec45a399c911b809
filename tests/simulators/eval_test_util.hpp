#pragma once
// Helpers of the vitals-eval tests (eval_test.cpp, cgm_eval_test.cpp): a temp dir, whole-file
// reads and writes, and running the built vitals-eval.

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>

#include <catch2/catch.hpp>

namespace vitals::eval_test {

/// A fresh directory under the system temp dir, removed at the end of the test.
class temp_dir {
 public:
  temp_dir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("vitals-eval-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  REQUIRE(out.good());
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

#ifdef VITALS_EVAL_PATH
/// Runs vitals-eval with `args` (shell-quoted by the caller), stderr into `err_file`; its exit
/// code.
inline int run_eval(const std::string& args, const std::string& err_file) {
  const std::string cmd =
      std::string("'") + VITALS_EVAL_PATH + "' " + args + " 2>'" + err_file + "' >/dev/null";
  const int status = std::system(cmd.c_str());
  REQUIRE(WIFEXITED(status));
  return WEXITSTATUS(status);
}
#endif

}  // namespace vitals::eval_test
