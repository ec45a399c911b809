#include "file_source.hpp"

#include <sys/stat.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <vitals/adapters/common/subscriber.hpp>
#include <vitals/adapters/mqtt/json_decoder.hpp>

namespace vitals::adapters::file {

namespace {

/// The file's identity: a different inode (rotation) or a smaller size (truncation) means the
/// reader starts over.
struct file_id {
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator==(const file_id&) const = default;
};

std::optional<std::pair<file_id, off_t>> stat_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return std::make_pair(file_id{st.st_dev, st.st_ino}, st.st_size);
}

struct file_closer {
  void operator()(std::FILE* f) const noexcept {
    if (f) std::fclose(f);
  }
};

}  // namespace

struct file_source::impl {
  impl(file_options o, core::sample_sink& s, core::stats& st)
      : options(std::move(o)),
        sink(s),
        stats(st),
        decoder(mqtt::decoder_options{options.max_line_bytes, options.max_future,
                                      options.device_patients},
                st),
        rejects(options.name) {
    if (options.path.empty()) throw std::invalid_argument("file source: path is empty");
    if (options.poll_interval.count() <= 0) {
      throw std::invalid_argument("file source: poll_interval must be above 0");
    }
  }

  file_options options;
  core::sample_sink& sink;
  core::stats& stats;
  mqtt::json_decoder decoder;
  common::reject_log rejects;
  std::thread thread;
  std::mutex mutex;
  std::condition_variable wake;
  bool stopping = false;
  std::atomic<bool> open{false};
  std::atomic<std::uint64_t> lines{0};

  // Reader-thread state.
  std::unique_ptr<std::FILE, file_closer> file;
  file_id id;
  off_t offset = 0;
  std::string partial;  // a line without its newline yet
  std::vector<core::sample> samples;
  bool said_missing = false;

  void run() {
    bool first = true;
    for (;;) {
      poll(first);
      first = false;
      std::unique_lock lock(mutex);
      if (wake.wait_for(lock, options.poll_interval, [this] { return stopping; })) return;
    }
  }

  /// Opens (or reopens) the file when needed, then reads what was appended.
  void poll(bool first) {
    const auto now = stat_of(options.path);
    if (!now) {
      if (!said_missing) {
        spdlog::warn("{}: waiting for file {}", options.name, options.path);
        said_missing = true;
      }
      file.reset();
      open = false;
      return;
    }
    const auto [fid, size] = *now;
    if (file && (fid != id || size < offset)) {
      spdlog::info("{}: {} was {}; reading it from the start", options.name, options.path,
                   fid != id ? "replaced" : "truncated");
      file.reset();
      first = false;  // a new file is read whole
    }
    if (!file) {
      file.reset(std::fopen(options.path.c_str(), "rb"));
      if (!file) {
        spdlog::warn("{}: cannot open {}: {}", options.name, options.path, std::strerror(errno));
        open = false;
        return;
      }
      id = fid;
      offset = 0;
      partial.clear();
      said_missing = false;
      if (first && !options.from_start) {
        std::fseek(file.get(), 0, SEEK_END);
        offset = static_cast<off_t>(std::ftell(file.get()));
      }
      open = true;
      spdlog::info("{}: following {}", options.name, options.path);
    }
    read_appended();
  }

  void read_appended() {
    char buf[8192];
    std::clearerr(file.get());
    for (;;) {
      const std::size_t n = std::fread(buf, 1, sizeof buf, file.get());
      if (n == 0) break;
      offset += static_cast<off_t>(n);
      consume(std::string_view(buf, n));
      std::lock_guard lock(mutex);
      if (stopping) return;
    }
  }

  /// Splits into lines; a line longer than the limit is rejected once, whole.
  void consume(std::string_view chunk) {
    while (!chunk.empty()) {
      const auto nl = chunk.find('\n');
      const auto part = chunk.substr(0, nl);
      if (partial.size() <= options.max_line_bytes) partial.append(part);
      if (nl == std::string_view::npos) return;
      chunk.remove_prefix(nl + 1);
      handle_line();
      partial.clear();
    }
  }

  void handle_line() {
    std::string_view line = partial;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find_first_not_of(" \t") == std::string_view::npos) return;  // blank
    stats.messages_received.fetch_add(1, std::memory_order_relaxed);
    lines.fetch_add(1, std::memory_order_relaxed);
    samples.clear();
    const mqtt::decode_context ctx{std::nullopt, std::nullopt, std::nullopt, core::now_ms()};
    const auto st = decoder.decode(line, ctx, samples);
    if (!st.ok()) rejects.note(st.first_reason, decoder.last_error(), options.path, line);
    for (const auto& s : samples) {
      sink.push(s);
      stats.samples_decoded.fetch_add(1, std::memory_order_relaxed);
    }
  }
};

file_source::file_source(file_options options, core::sample_sink& sink, core::stats& stats)
    : impl_(std::make_unique<impl>(std::move(options), sink, stats)) {}

file_source::~file_source() {
  stop();
}

std::string_view file_source::name() const noexcept {
  return impl_->options.name;
}

void file_source::start() {
  auto& d = *impl_;
  if (d.thread.joinable()) return;
  {
    std::lock_guard lock(d.mutex);
    d.stopping = false;
  }
  d.thread = std::thread([&d] { d.run(); });
}

void file_source::stop() {
  auto& d = *impl_;
  {
    std::lock_guard lock(d.mutex);
    d.stopping = true;
  }
  d.wake.notify_all();
  if (d.thread.joinable()) d.thread.join();
}

core::plugin_status file_source::status() const {
  const bool up = impl_->open.load();
  return {up, up ? fmt::format("{} line(s) read", impl_->lines.load()) : "waiting for the file"};
}

}  // namespace vitals::adapters::file
