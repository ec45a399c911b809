#pragma once
/// `vitals-sim replay`: a recorded trace (CSV `timestamp,value`) read, checked and published as
/// compact JSON readings of one device, paced against the wall clock like the simulator.

#include <chrono>
#include <cstdint>
#include <istream>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <vitals/core/sample.hpp>
#include <vitals/simulators/generator.hpp>
#include <vitals/simulators/runner.hpp>
#include <vitals/simulators/scenario.hpp>

namespace vitals::simulators {

/// One reading of a trace.
struct trace_row {
  core::timestamp ts{};  ///< the CSV's own time (UTC)
  double value = 0.0;    ///< in the vital's canonical unit (bpm, %, mg/dL)
  std::size_t line = 0;  ///< 1-based line in the file
};

/// A trace read from CSV, in non-decreasing time order.
struct trace {
  std::string name;                                    ///< file name, for messages
  core::vital_kind vital = core::vital_kind::glucose;  ///< what the values are
  std::vector<trace_row> rows;                         ///< at least one
};

/// Thrown by read_trace when lines are bad; what() lists every problem, one per line.
class trace_error : public std::runtime_error {
 public:
  /// `problems` as "FILE:LINE: what is wrong".
  explicit trace_error(std::vector<std::string> problems);

  /// Every problem found, in file order.
  const std::vector<std::string>& problems() const noexcept { return problems_; }

 private:
  std::vector<std::string> problems_;
};

/// "+HH:MM", "-HH:MM", "+HHMM", "Z" or "UTC"; nullopt otherwise (or beyond ±18 h).
std::optional<std::chrono::minutes> parse_utc_offset(std::string_view text);

/// A trace time: "YYYY-MM-DD HH:MM[:SS[.fff]]" (local time, UTC = it - `utc_offset`), RFC 3339
/// or epoch milliseconds; nullopt when malformed.
std::optional<core::timestamp> parse_trace_time(std::string_view text,
                                                std::chrono::minutes utc_offset);

/// Reads `timestamp,value` lines; a first line whose second field is not a number is a header,
/// blank lines and lines starting with '#' are skipped. Throws trace_error listing every bad
/// line as "NAME:LINE: ..." (unreadable time or value, wrong field count, a time before the
/// previous row's) or when there is no reading at all.
trace read_trace(std::istream& in, const std::string& name, core::vital_kind vital,
                 std::chrono::minutes utc_offset);

/// read_trace on a file; trace_error also when it cannot be opened.
trace read_trace_file(const std::string& path, core::vital_kind vital,
                      std::chrono::minutes utc_offset);

/// The default device of a replayed vital: `<patient>-cgm` for glucose, `<patient>-ox` else.
std::string default_replay_device(const std::string& patient, core::vital_kind vital);

/// True when `id` can be a patient or device id: 1-64 letters, digits, '_', '-' or '.'.
bool valid_replay_id(std::string_view id) noexcept;

/// How a trace is replayed.
struct replay_options {
  std::string patient;                      ///< topic level and nothing else (compact JSON)
  std::string device;                       ///< "device" of every reading; topic level
  std::string topic_prefix = "vitals";      ///< topic = prefix/patient/device
  glucose_unit unit = glucose_unit::mg_dl;  ///< mg/dL: the value as read; mmol/L: one decimal
  double speed = 1.0;  ///< trace seconds per wall second; speed_max = no pacing
  /// 0: one message per row; else the rows of each window of this much trace time (counted
  /// from the first row) go out as one JSON array at the window's end.
  std::chrono::milliseconds batch{0};
  std::size_t batch_bytes = 60000;                  ///< an array is sent early past this size
  std::chrono::milliseconds progress_every{10000};  ///< wall time between info lines
  std::chrono::milliseconds drain_timeout{10000};   ///< how long finish() may wait
};

/// The compact JSON of one replayed reading: {"device":..,"ts":..,"seq":..,"<vital>":value},
/// glucose in mmol/L as {"value":x.y,"unit":"mmol/L"}. Values keep their fraction ("39.6").
std::string replay_payload(const std::string& device, core::timestamp ts, std::uint64_t seq,
                           core::vital_kind vital, double value, glucose_unit unit);

/// The messages of a replay, in order, each with `elapsed` = when it is due, as trace time
/// since the first row (a row's own offset; a batch's window end, or its last row's offset when
/// that comes first). seq counts rows from 1.
std::vector<message> replay_messages(const trace& t, const replay_options& options);

/// What a replay did.
struct replay_result {
  std::uint64_t rows = 0;         ///< rows sent (in the messages handed to the sink)
  std::uint64_t published = 0;    ///< messages handed to the sink
  std::uint64_t delivered = 0;    ///< confirmed by the sink
  std::uint64_t undelivered = 0;  ///< still outstanding when finish() gave up
  double wall_seconds = 0.0;      ///< wall time the replay took
  bool stopped = false;           ///< ended by a stop request
};

/// Sends `t` into `sink`, paced by options.speed, until done or `stop` is requested; logs a
/// start line (file, rows, first/last time), progress and a done line. Sink errors propagate
/// (logged) after the sink was given the chance to finish.
replay_result run_replay(const trace& t, message_sink& sink, const replay_options& options,
                         stop_signal& stop);

}  // namespace vitals::simulators
