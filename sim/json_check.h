// Checks a Chrome trace event JSON document, the format Trace::ToChromeJson writes and Perfetto opens: a strict
// JSON parser (RFC 8259) and the rule Perfetto's importer imposes on complete ("X") events, that two of them on one
// thread (pid, tid) are disjoint or one contains the other. The JSON itself is parsed by nlohmann-json (Debian's
// nlohmann-json3-dev). Testonly: the trace's tests and the CLI's share it.
//
// Invariants checked (CheckChromeTraceSpansNest):
//   - the document is exactly one JSON value, well-formed UTF-8, nothing but whitespace after it;
//   - it is an object whose "traceEvents" member is an array of objects, each with a string "ph";
//   - every "X" event has a string "name" and numbers "ts", "dur" (>= 0), "pid" and "tid" (integers);
//     every "i" event has "ts", "pid" and "tid";
//   - on each (pid, tid), "X" events are disjoint or nested; a span that ends where another starts is disjoint;
//   - every (pid, tid) used by an "X" or "i" event is named by a "thread_name" metadata ("M") event.
// Not checked: other phases (B/E pairs, async, flow, counter events), the meaning of "args" (they are parsed into
// ChromeTraceEvent::args for tests to read), that events are sorted, process names, the meaning of names and
// categories.
#ifndef SNAPSIM_SIM_JSON_CHECK_H_
#define SNAPSIM_SIM_JSON_CHECK_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace snapsim {

// One element of "traceEvents", reduced to what the checks and tests look at. Numbers are doubles, as in JSON:
// exact for integers below 2^53 (microseconds of virtual time).
struct ChromeTraceEvent {
  int index = 0;  // position in "traceEvents"
  std::string phase;
  std::string name;
  std::string category;  // "cat"; empty if absent
  bool has_ts = false;
  double ts = 0;
  bool has_dur = false;
  double dur = 0;
  bool has_pid = false;
  int64_t pid = 0;
  bool has_tid = false;
  int64_t tid = 0;
  // "args":{"name":...} of a metadata event (thread_name, process_name); empty otherwise.
  std::string metadata_name;
  // Every member of "args": strings as they are, other values as JSON text (numbers: "17").
  std::map<std::string, std::string> args;

  // "X #12 'upload chk-1/a' ts=10 dur=5 pid=1 tid=3", for error messages.
  std::string ToString() const;
};

// Parses `json` strictly and returns its "traceEvents". InvalidArgument, naming the byte offset, on any JSON syntax
// error (a duplicate member name keeps its last value), or when the document is not an object with a "traceEvents" array of objects with a string "ph"; a
// member that is present with the wrong type (a string "ts", a fractional "tid") is an error too.
absl::StatusOr<std::vector<ChromeTraceEvent>> ParseChromeTrace(absl::string_view json);

// All the invariants listed above. InvalidArgument naming the offending events (index, name, ts, dur, pid, tid).
absl::Status CheckChromeTraceSpansNest(absl::string_view json);

}  // namespace snapsim

#endif  // SNAPSIM_SIM_JSON_CHECK_H_
