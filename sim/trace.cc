#include "sim/trace.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <numeric>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace snapsim {
namespace {

uint64_t Fnv1a(uint64_t hash, absl::string_view bytes) {
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 0x100000001b3ull;
  }
  return hash;
}

uint64_t Mix(uint64_t value) {
  value ^= value >> 33;
  value *= 0xff51afd7ed558ccdull;
  value ^= value >> 33;
  value *= 0xc4ceb9fe1a85ec53ull;
  value ^= value >> 33;
  return value;
}

// Length of the well-formed UTF-8 sequence at the start of `bytes` (RFC 3629: no overlong forms, no surrogates,
// nothing above U+10FFFF), or 0 if it is not one.
size_t Utf8SequenceLength(absl::string_view bytes) {
  const auto byte = [&bytes](size_t i) { return static_cast<unsigned char>(bytes[i]); };
  const unsigned char lead = byte(0);
  size_t length;
  unsigned char second_min = 0x80, second_max = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead == 0xe0) second_min = 0xa0;  // overlong
    if (lead == 0xed) second_max = 0x9f;  // surrogates
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead == 0xf0) second_min = 0x90;  // overlong
    if (lead == 0xf4) second_max = 0x8f;  // above U+10FFFF
  } else {
    return 0;
  }
  if (bytes.size() < length || byte(1) < second_min || byte(1) > second_max) return 0;
  for (size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xbf) return 0;
  }
  return length;
}

// A JSON string body. Bytes that are not well-formed UTF-8 (event names are arbitrary bytes) become U+FFFD, so the
// document stays valid JSON.
std::string JsonEscape(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const size_t length = Utf8SequenceLength(text.substr(i));
      if (length == 0) {
        out += "\\ufffd";
        ++i;
      } else {
        out.append(text.data() + i, length);
        i += length;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buffer[8];
          std::snprintf(buffer, sizeof(buffer), "\\u%04x", c);
          out += buffer;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  return out;
}

// Spans and timed events are complete ("X") events; everything else is an instant.
bool IsComplete(const TraceEvent& event) { return event.span || event.duration_micros > 0; }

// "fs:tm-0" -> "fs": a component's family.
absl::string_view Family(absl::string_view component) {
  const size_t colon = component.find(':');
  return colon == absl::string_view::npos ? component : component.substr(0, colon);
}

// The process (part of the system) an event is drawn in (Trace::ToChromeJson).
std::string ProcessOf(const TraceEvent& event) {
  const absl::string_view family = Family(event.component);
  if (family == "fs" || family == "machine") {
    const size_t colon = event.component.find(':');
    return absl::StrCat("machine ", absl::string_view(event.component).substr(colon + 1));
  }
  if (family == "violation" || family == "fault" || family == "checker" || family == "scheduler" ||
      family == "scenario") {
    return std::string(family);
  }
  if (family == "object-store" && !IsComplete(event)) return "object store";
  if (!event.part.empty()) return event.part;
  if (family == "object-store") return "object store";
  return std::string(family);
}

// The order of processes in the viewer: the verdict first, then the steps, the job manager, the tasks, the disks,
// storage, the checker, faults, the scheduler, the rest.
int ProcessRank(const std::string& process) {
  static const char* const kOrder[] = {"violation",    "scenario", "coordinator", "subtask ", "machine ",
                                       "object store", "checker",  "fault",       "clock",    "scheduler"};
  for (size_t i = 0; i < sizeof(kOrder) / sizeof(kOrder[0]); ++i) {
    if (absl::StartsWith(process, kOrder[i])) return static_cast<int>(i);
  }
  return static_cast<int>(sizeof(kOrder) / sizeof(kOrder[0]));
}

// A JSON number as written by absl::StrCat for an int64: optional '-', digits, no leading zero.
bool IsJsonInteger(absl::string_view text) {
  if (!text.empty() && text[0] == '-') text.remove_prefix(1);
  if (text.empty() || text.size() > 18 || (text[0] == '0' && text.size() > 1)) return false;
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::string ReadableTime(int64_t micros) {
  if (micros < 1'000'000) return absl::StrFormat("%.1f ms", micros / 1e3);
  return absl::StrFormat("%.3f s", micros / 1e6);
}

namespace {

// One lane (Chrome thread) of a component: the end times of the spans still open on it, outermost first.
struct Lane {
  std::vector<int64_t> open_ends;

  // Places [start, end) here if it starts after everything on the lane ended, or fits inside the innermost open
  // span. REQUIRES: spans are offered in order of start, so a span that ended by `start` can never contain a later one.
  bool TryPlace(int64_t start, int64_t end) {
    while (!open_ends.empty() && open_ends.back() <= start) open_ends.pop_back();
    if (!open_ends.empty() && end > open_ends.back()) return false;
    open_ends.push_back(end);
    return true;
  }
};

}  // namespace

void Trace::Record(int64_t time_micros, absl::string_view component, absl::string_view event,
                   int64_t duration_micros, absl::string_view part, TraceArgs args) {
  std::lock_guard<std::mutex> lock(mutex_);
  RecordLocked(time_micros, component, event, duration_micros, /*span=*/false, part, std::move(args));
}

void Trace::RecordSpan(int64_t start_micros, absl::string_view component, absl::string_view event,
                       int64_t duration_micros, absl::string_view part, TraceArgs args) {
  if (duration_micros < 0) {
    std::fprintf(stderr, "snapsim trace: span '%s' of %s starts at %lldus and lasts %lldus (< 0)\n",
                 std::string(event).c_str(), std::string(component).c_str(), static_cast<long long>(start_micros),
                 static_cast<long long>(duration_micros));
    std::abort();
  }
  std::lock_guard<std::mutex> lock(mutex_);
  RecordLocked(start_micros, component, event, duration_micros, /*span=*/true, part, std::move(args));
}

void Trace::RecordLocked(int64_t time_micros, absl::string_view component, absl::string_view event,
                         int64_t duration_micros, bool span, absl::string_view part, TraceArgs args) {
  uint64_t event_hash = Fnv1a(0xcbf29ce484222325ull, component);
  event_hash = Fnv1a(event_hash ^ 0xff, event);
  if (span) event_hash = Mix(event_hash ^ 0x5350414e5350414eull);  // "SPANSPAN"
  hash_ = Mix(hash_ ^ event_hash ^ Mix(static_cast<uint64_t>(time_micros)) ^
              static_cast<uint64_t>(duration_micros) * 0x9e3779b97f4a7c15ull);
  ++event_count_;
  if (keep_events_) {
    events_.push_back(TraceEvent{time_micros, std::string(component), std::string(event), duration_micros, span,
                                 std::string(part), std::move(args)});
  }
}

uint64_t Trace::hash() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return hash_;
}

uint64_t Trace::event_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return event_count_;
}

std::vector<TraceEvent> Trace::events() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return events_;
}

std::string Trace::ToText() const {
  std::string out;
  for (const TraceEvent& event : events()) {
    absl::StrAppend(&out, event.time_micros, "us ", event.component, " ", event.event);
    if (IsComplete(event)) absl::StrAppend(&out, " (", event.duration_micros, "us)");
    out += "\n";
  }
  return out;
}

std::string Trace::ToChromeJson() const {
  std::vector<TraceEvent> all = events();
  // Output and placement order: start, longer first (an enclosing span before what it contains), recorded first.
  std::vector<size_t> order(all.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&all](size_t a, size_t b) {
    return std::make_tuple(all[a].time_micros, -all[a].duration_micros, a) <
           std::make_tuple(all[b].time_micros, -all[b].duration_micros, b);
  });

  // The time map: every stretch longer than kWaitShownAboveMicros without a start or an end in it is drawn
  // kWaitDrawnMicros long. `waits` holds (drawn start, real start, real end) of each.
  std::vector<int64_t> boundaries;
  for (const TraceEvent& event : all) {
    boundaries.push_back(event.time_micros);
    if (IsComplete(event)) boundaries.push_back(event.time_micros + event.duration_micros);
  }
  std::sort(boundaries.begin(), boundaries.end());
  boundaries.erase(std::unique(boundaries.begin(), boundaries.end()), boundaries.end());
  std::vector<int64_t> removed_before(boundaries.size(), 0);  // time cut out before boundaries[i]
  struct Wait {
    int64_t drawn_start, from, to;
  };
  std::vector<Wait> waits;
  for (size_t i = 1; i < boundaries.size(); ++i) {
    const int64_t gap = boundaries[i] - boundaries[i - 1];
    removed_before[i] = removed_before[i - 1];
    if (gap > kWaitShownAboveMicros) {
      waits.push_back({boundaries[i - 1] - removed_before[i - 1], boundaries[i - 1], boundaries[i]});
      removed_before[i] += gap - kWaitDrawnMicros;
    }
  }
  const auto drawn = [&boundaries, &removed_before](int64_t micros) {
    const size_t i = std::lower_bound(boundaries.begin(), boundaries.end(), micros) - boundaries.begin();
    return micros - removed_before[i];  // every time asked is a boundary
  };

  // Ordered maps and vectors only: the output must not depend on hashing or addresses.
  std::vector<std::string> process_of(all.size());
  std::map<std::pair<std::string, std::string>, std::vector<Lane>> lanes;  // (process, component) -> its lanes
  std::vector<size_t> lane_of(all.size(), 0);
  for (size_t index : order) {
    const TraceEvent& event = all[index];
    process_of[index] = ProcessOf(event);
    std::vector<Lane>& component_lanes = lanes[{process_of[index], event.component}];
    if (!IsComplete(event)) {
      if (component_lanes.empty()) component_lanes.emplace_back();
      continue;  // lane 0
    }
    const int64_t end = event.time_micros + event.duration_micros;
    size_t lane = 0;
    while (lane < component_lanes.size() && !component_lanes[lane].TryPlace(event.time_micros, end)) ++lane;
    if (lane == component_lanes.size()) {
      component_lanes.emplace_back();
      component_lanes.back().TryPlace(event.time_micros, end);
    }
    lane_of[index] = lane;
  }
  const std::pair<std::string, std::string> clock_lane{"clock", "waiting"};
  if (!waits.empty()) lanes[clock_lane].emplace_back();

  // Processes in the order of their parts (ProcessRank), then by name; pids from 1.
  std::vector<std::string> processes;
  for (const auto& [key, unused] : lanes) {
    if (processes.empty() || processes.back() != key.first) processes.push_back(key.first);
  }
  std::sort(processes.begin(), processes.end(), [](const std::string& a, const std::string& b) {
    return std::make_pair(ProcessRank(a), a) < std::make_pair(ProcessRank(b), b);
  });
  std::map<std::string, int> pid_of;
  for (size_t i = 0; i < processes.size(); ++i) pid_of[processes[i]] = static_cast<int>(i) + 1;
  std::map<std::pair<std::string, std::string>, int> first_tid;
  int next_tid = 1;
  for (const auto& [key, component_lanes] : lanes) {
    first_tid[key] = next_tid;
    next_tid += static_cast<int>(component_lanes.size());
  }

  std::string out = "{\"traceEvents\":[\n";
  bool first = true;
  const auto begin_event = [&out, &first] {
    out += first ? "{" : ",\n{";
    first = false;
  };
  for (const std::string& process : processes) {
    begin_event();
    absl::StrAppend(&out, "\"name\":\"process_name\",\"ph\":\"M\",\"pid\":", pid_of.at(process),
                    ",\"args\":{\"name\":\"", JsonEscape(process), "\"}}");
    begin_event();
    absl::StrAppend(&out, "\"name\":\"process_sort_index\",\"ph\":\"M\",\"pid\":", pid_of.at(process),
                    ",\"args\":{\"sort_index\":", pid_of.at(process), "}}");
  }
  for (const auto& [key, component_lanes] : lanes) {
    for (size_t lane = 0; lane < component_lanes.size(); ++lane) {
      begin_event();
      absl::StrAppend(&out, "\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":", pid_of.at(key.first),
                      ",\"tid\":", first_tid.at(key) + static_cast<int>(lane), ",\"args\":{\"name\":\"",
                      JsonEscape(key.second));
      if (lane > 0) absl::StrAppend(&out, " #", lane + 1);
      out += "\"}}";
    }
  }
  const auto write_args = [&out](const TraceArgs& args) {
    out += ",\"args\":{";
    for (size_t i = 0; i < args.size(); ++i) {
      absl::StrAppend(&out, i == 0 ? "" : ",", "\"", JsonEscape(args[i].key), "\":");
      if (IsJsonInteger(args[i].value)) {
        out += args[i].value;
      } else {
        absl::StrAppend(&out, "\"", JsonEscape(args[i].value), "\"");
      }
    }
    out += "}";
  };
  for (size_t index : order) {
    const TraceEvent& event = all[index];
    const bool complete = IsComplete(event);
    const int64_t start = drawn(event.time_micros);
    begin_event();
    absl::StrAppend(&out, "\"name\":\"", JsonEscape(event.event), "\",\"cat\":\"", JsonEscape(event.component),
                    "\",\"ph\":\"", complete ? "X" : "i", "\",\"ts\":", start);
    if (complete) absl::StrAppend(&out, ",\"dur\":", drawn(event.time_micros + event.duration_micros) - start);
    const std::pair<std::string, std::string> key{process_of[index], event.component};
    absl::StrAppend(&out, ",\"pid\":", pid_of.at(key.first), ",\"tid\":",
                    first_tid.at(key) + static_cast<int>(lane_of[index]));
    if (!complete) out += ",\"s\":\"t\"";
    TraceArgs args = event.args;
    args.push_back({"t_us", absl::StrCat(event.time_micros)});
    if (complete) args.push_back({"dur_us", absl::StrCat(event.duration_micros)});
    write_args(args);
    out += "}";
  }
  for (const Wait& wait : waits) {
    begin_event();
    absl::StrAppend(&out, "\"name\":\"waiting ", ReadableTime(wait.to - wait.from),
                    "\",\"cat\":\"clock\",\"ph\":\"X\",\"ts\":", wait.drawn_start, ",\"dur\":", kWaitDrawnMicros,
                    ",\"pid\":", pid_of.at(clock_lane.first), ",\"tid\":", first_tid.at(clock_lane));
    write_args({{"from_us", absl::StrCat(wait.from)}, {"to_us", absl::StrCat(wait.to)}});
    out += "}";
  }
  out += "\n],\"displayTimeUnit\":\"ms\"}\n";
  return out;
}

absl::Status Trace::WriteChromeJson(const std::string& path) const {
  const std::string json = ToChromeJson();
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) return absl::UnavailableError(absl::StrCat("cannot open trace output ", path));
  const size_t written = std::fwrite(json.data(), 1, json.size(), file);
  const bool closed = std::fclose(file) == 0;
  if (written != json.size() || !closed) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

}  // namespace snapsim
