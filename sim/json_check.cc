#include "sim/json_check.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <tuple>
#include <utility>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace snapsim {
namespace {

using Json = nlohmann::json;

// The largest magnitude a double holds every integer below: exact microseconds of virtual time.
constexpr double kExactIntegers = 9007199254740992.0;

std::string FormatNumber(double value) {
  if (value == std::floor(value) && std::fabs(value) < kExactIntegers) {
    return absl::StrCat(static_cast<int64_t>(value));
  }
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.17g", value);
  return buffer;
}

absl::Status FieldError(int index, absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat("traceEvents[", index, "]: \"", field, "\" ", problem));
}

// Reads an optional member of `event` into `present` / `out`, checking its type.
absl::Status ReadString(const Json& event, int index, const char* field, std::string* out) {
  const auto value = event.find(field);
  if (value == event.end()) return absl::OkStatus();
  if (!value->is_string()) return FieldError(index, field, "is not a string");
  *out = value->get<std::string>();
  return absl::OkStatus();
}

absl::Status ReadNumber(const Json& event, int index, const char* field, bool* present, double* out) {
  const auto value = event.find(field);
  if (value == event.end()) return absl::OkStatus();
  if (!value->is_number()) return FieldError(index, field, "is not a number");
  *present = true;
  *out = value->get<double>();
  return absl::OkStatus();
}

// An integer literal (no fraction, no exponent) that a double holds exactly.
absl::Status ReadInteger(const Json& event, int index, const char* field, bool* present, int64_t* out) {
  const auto value = event.find(field);
  if (value == event.end()) return absl::OkStatus();
  if (!value->is_number_integer() || std::fabs(value->get<double>()) >= kExactIntegers) {
    return FieldError(index, field, "is not an integer");
  }
  *present = true;
  *out = value->get<int64_t>();
  return absl::OkStatus();
}

}  // namespace

std::string ChromeTraceEvent::ToString() const {
  std::string out = absl::StrCat(phase, " #", index, " '", name, "'");
  if (has_ts) absl::StrAppend(&out, " ts=", FormatNumber(ts));
  if (has_dur) absl::StrAppend(&out, " dur=", FormatNumber(dur));
  if (has_pid) absl::StrAppend(&out, " pid=", pid);
  if (has_tid) absl::StrAppend(&out, " tid=", tid);
  return out;
}

absl::StatusOr<std::vector<ChromeTraceEvent>> ParseChromeTrace(absl::string_view json) {
  // nlohmann's parser is strict RFC 8259 (UTF-8 checked, nothing but whitespace after the value) and iterative, so
  // no depth limit is needed; it reports errors as exceptions, which end here (a test-only library: nothing RocksDB
  // calls into comes through it).
  Json document;
  try {
    document = Json::parse(json.begin(), json.end());
  } catch (const Json::parse_error& error) {
    return absl::InvalidArgumentError(absl::StrCat("JSON syntax error at byte ", error.byte, ": ", error.what()));
  } catch (const Json::exception& error) {
    return absl::InvalidArgumentError(absl::StrCat("JSON syntax error: ", error.what()));
  }
  if (!document.is_object()) {
    return absl::InvalidArgumentError("the trace is not a JSON object ({\"traceEvents\":[...]})");
  }
  const auto trace_events = document.find("traceEvents");
  if (trace_events == document.end() || !trace_events->is_array()) {
    return absl::InvalidArgumentError("the trace has no \"traceEvents\" array");
  }
  std::vector<ChromeTraceEvent> events;
  for (size_t i = 0; i < trace_events->size(); ++i) {
    const Json& value = (*trace_events)[i];
    const int index = static_cast<int>(i);
    if (!value.is_object())
      return absl::InvalidArgumentError(absl::StrCat("traceEvents[", index, "] is not an object"));
    ChromeTraceEvent event;
    event.index = index;
    if (!value.contains("ph")) return FieldError(index, "ph", "is missing");
    for (absl::Status status : {
             ReadString(value, index, "ph", &event.phase),
             ReadString(value, index, "name", &event.name),
             ReadString(value, index, "cat", &event.category),
             ReadNumber(value, index, "ts", &event.has_ts, &event.ts),
             ReadNumber(value, index, "dur", &event.has_dur, &event.dur),
             ReadInteger(value, index, "pid", &event.has_pid, &event.pid),
             ReadInteger(value, index, "tid", &event.has_tid, &event.tid),
         }) {
      if (!status.ok()) return status;
    }
    const auto args = value.find("args");
    if (args != value.end() && args->is_object()) {
      for (auto arg = args->begin(); arg != args->end(); ++arg) {
        event.args[arg.key()] = arg->is_string() ? arg->get<std::string>() : arg->dump();
      }
      if (event.phase == "M") {
        const auto name = args->find("name");
        if (name != args->end() && name->is_string()) event.metadata_name = name->get<std::string>();
      }
    }
    events.push_back(std::move(event));
  }
  return events;
}

absl::Status CheckChromeTraceSpansNest(absl::string_view json) {
  absl::StatusOr<std::vector<ChromeTraceEvent>> events = ParseChromeTrace(json);
  if (!events.ok()) return events.status();
  std::map<std::pair<int64_t, int64_t>, std::vector<const ChromeTraceEvent*>> spans_by_thread;
  std::map<std::pair<int64_t, int64_t>, const ChromeTraceEvent*> first_use_by_thread;
  std::map<std::pair<int64_t, int64_t>, bool> named_threads;
  for (const ChromeTraceEvent& event : *events) {
    if (event.phase == "M" && event.name == "thread_name") {
      if (!event.has_pid || !event.has_tid || event.metadata_name.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat(event.ToString(), ": thread_name needs \"pid\", \"tid\" and \"args\":{\"name\":...}"));
      }
      named_threads[{event.pid, event.tid}] = true;
      continue;
    }
    if (event.phase != "X" && event.phase != "i") continue;
    if (!event.has_ts || !event.has_pid || !event.has_tid) {
      return absl::InvalidArgumentError(absl::StrCat(event.ToString(), ": needs \"ts\", \"pid\" and \"tid\""));
    }
    const std::pair<int64_t, int64_t> thread{event.pid, event.tid};
    first_use_by_thread.emplace(thread, &event);
    if (event.phase == "i") continue;
    if (!event.has_dur || event.dur < 0) {
      return absl::InvalidArgumentError(absl::StrCat(event.ToString(), ": a complete event needs \"dur\" >= 0"));
    }
    spans_by_thread[thread].push_back(&event);
  }
  for (const auto& [thread, event] : first_use_by_thread) {
    if (named_threads.count(thread) == 0) {
      return absl::InvalidArgumentError(absl::StrCat("no thread_name metadata for pid ", thread.first, " tid ",
                                                     thread.second, ", used by ", event->ToString()));
    }
  }
  for (auto& [thread, spans] : spans_by_thread) {
    std::sort(spans.begin(), spans.end(), [](const ChromeTraceEvent* a, const ChromeTraceEvent* b) {
      return std::make_tuple(a->ts, -a->dur, a->index) < std::make_tuple(b->ts, -b->dur, b->index);
    });
    std::vector<const ChromeTraceEvent*> open;  // enclosing spans, outermost first
    for (const ChromeTraceEvent* span : spans) {
      while (!open.empty() && open.back()->ts + open.back()->dur <= span->ts) open.pop_back();
      if (!open.empty() && span->ts + span->dur > open.back()->ts + open.back()->dur) {
        return absl::InvalidArgumentError(
            absl::StrCat(span->ToString(), " starts inside ", open.back()->ToString(),
                         " and ends after it: complete events of one thread must be disjoint or nested"));
      }
      open.push_back(span);
    }
  }
  return absl::OkStatus();
}

}  // namespace snapsim
