// The run's trace: every event with its virtual time and component, folded into a running 64-bit hash (the
// determinism judge), and optionally kept for text output and Chrome-trace JSON (opens in Perfetto), where spans
// (activities, uploads, downloads, checkpoints) are nested slices. After FoundationDB's trace events and
// TigerBeetle's VOPR state checksums.
#ifndef SNAPSIM_SIM_TRACE_H_
#define SNAPSIM_SIM_TRACE_H_

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace snapsim {

// One argument of an event (Chrome trace "args", shown when the event is selected): checkpoint id, subtask, attempt,
// bytes, path, status. A value that is a decimal integer is written as a JSON number.
struct TraceArg {
  std::string key;
  std::string value;
};
using TraceArgs = std::vector<TraceArg>;

struct TraceEvent {
  int64_t time_micros = 0;
  std::string component;
  std::string event;
  // Duration for events that span time (uploads, sleeps); 0 for instants.
  int64_t duration_micros = 0;
  // Recorded by RecordSpan: a complete event even when it lasted 0us (then `time_micros` is its start).
  bool span = false;
  // The part of the system the recording activity works for ("coordinator", "subtask 1"; "" when not known): the
  // Chrome trace's process. Presentation only: not in the hash.
  std::string part;
  // Presentation only, like the part: not in the hash (an event's name states what its arguments say, and a run's
  // hash must not depend on whether its events are kept, which decides whether some arguments are built).
  TraceArgs args;
};

class Trace {
 public:
  // `keep_events`: keep every event for ToText / ToChromeJson; otherwise only the hash is updated (fast).
  explicit Trace(bool keep_events = false) : keep_events_(keep_events) {}

  // Thread-safe: a RocksDB blocking call's helper thread records too.
  void Record(int64_t time_micros, absl::string_view component, absl::string_view event,
              int64_t duration_micros = 0, absl::string_view part = "", TraceArgs args = {});
  // An event that began at `start_micros` and lasted `duration_micros` (0 is still a span). Recorded when it ends,
  // so spans appear in recording order by end, not by start. Folded into the hash with its start, its duration and
  // a span marker, so a span and a Record of the same fields change the hash differently.
  // REQUIRES: duration_micros >= 0 (always checked: a negative one means virtual time went back).
  void RecordSpan(int64_t start_micros, absl::string_view component, absl::string_view event,
                  int64_t duration_micros, absl::string_view part = "", TraceArgs args = {});

  uint64_t hash() const;
  bool keeps_events() const { return keep_events_; }
  uint64_t event_count() const;
  std::vector<TraceEvent> events() const;
  // One line per event: "<time> <component> <event>", then " (<duration>us)" for spans and timed events.
  std::string ToText() const;
  // Chrome trace event format, {"traceEvents":[...],"displayTimeUnit":"ms"}, byte-for-byte the same for the same
  // events; opens in Perfetto (ui.perfetto.dev) and chrome://tracing.
  //
  // Processes are the system's parts, in this order: "violation" (a failing run's verdict, first so the viewer opens
  // on it), "scenario" (the steps), "coordinator", "subtask N", "machine <name>" (its disk's operations and its
  // crashes), "object store" (its instants; an upload or a download is shown under the subtask that made it),
  // "checker" (restores in side worlds), "fault" (injected faults), "scheduler", then any other component family.
  // Disk, object store, violation, fault, checker and scheduler events go to their own part whoever recorded them;
  // everything else to the part of the activity that recorded it (TraceEvent::part), or its component's family (the
  // text before ':') when that is not known.
  //
  // Within a process each component has one or more lanes (threads, tids unique across the trace, named
  // "<component>", "<component> #2", ...), because Perfetto requires complete ("X") events of one thread to be
  // disjoint or nested: spans are placed in order of (start, longer first, recorded first) on the first lane where
  // they start after everything on the lane has ended or fit inside the innermost span still open there; a new lane
  // is opened otherwise. Instants ("i") go to lane 0 of their component. Events are written in that same order, so
  // an enclosing span comes before the spans it contains.
  //
  // Waiting is shown as waiting: a stretch of more than kWaitShownAboveMicros in which no event starts or ends (a
  // timer's 60 s, a step's `advance`) is drawn kWaitDrawnMicros long, with a "waiting <time>" span on the "clock"
  // process's lane; spans across it shrink with it (nesting is kept: the time map never goes back). Every event's
  // args hold its virtual time as "t_us" and, for spans, its real duration as "dur_us".
  static constexpr int64_t kWaitShownAboveMicros = 20'000;
  static constexpr int64_t kWaitDrawnMicros = 1'000;
  std::string ToChromeJson() const;
  absl::Status WriteChromeJson(const std::string& path) const;

 private:
  // Folds one event into the hash and keeps it if asked. REQUIRES: mutex_ held.
  void RecordLocked(int64_t time_micros, absl::string_view component, absl::string_view event,
                    int64_t duration_micros, bool span, absl::string_view part, TraceArgs args);

  const bool keep_events_;
  mutable std::mutex mutex_;
  uint64_t hash_ = 0x84222325cbf29ce4ull;
  uint64_t event_count_ = 0;
  std::vector<TraceEvent> events_;
};

// A time as a reader takes it in: "0.5 ms", "28.4 ms", "60.014 s" (replay's step times, the trace's waiting spans).
std::string ReadableTime(int64_t micros);

}  // namespace snapsim

#endif  // SNAPSIM_SIM_TRACE_H_
