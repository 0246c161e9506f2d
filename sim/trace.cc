#include "sim/trace.h"

#include <cstdio>
#include <map>

#include "absl/strings/str_cat.h"

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

std::string JsonEscape(absl::string_view text) {
  std::string out;
  for (char c : text) {
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
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buffer[8];
          std::snprintf(buffer, sizeof(buffer), "\\u%04x", static_cast<unsigned char>(c));
          out += buffer;
        } else {
          out.push_back(c);
        }
    }
  }
  return out;
}

}  // namespace

void Trace::Record(int64_t time_micros, absl::string_view component, absl::string_view event,
                   int64_t duration_micros) {
  std::lock_guard<std::mutex> lock(mutex_);
  uint64_t event_hash = Fnv1a(0xcbf29ce484222325ull, component);
  event_hash = Fnv1a(event_hash ^ 0xff, event);
  hash_ = Mix(hash_ ^ event_hash ^ Mix(static_cast<uint64_t>(time_micros)) ^
              static_cast<uint64_t>(duration_micros) * 0x9e3779b97f4a7c15ull);
  ++event_count_;
  if (keep_events_) {
    events_.push_back(TraceEvent{time_micros, std::string(component), std::string(event), duration_micros});
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
    if (event.duration_micros > 0) absl::StrAppend(&out, " (", event.duration_micros, "us)");
    out += "\n";
  }
  return out;
}

std::string Trace::ToChromeJson() const {
  std::map<std::string, int> thread_ids;  // ordered: stable output
  const std::vector<TraceEvent> all = events();
  for (const TraceEvent& event : all) thread_ids.emplace(event.component, 0);
  int next_id = 1;
  for (auto& [component, id] : thread_ids) id = next_id++;
  std::string out = "{\"traceEvents\":[\n";
  bool first = true;
  for (const auto& [component, id] : thread_ids) {
    absl::StrAppend(&out, first ? "" : ",\n", "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":", id,
                    ",\"args\":{\"name\":\"", JsonEscape(component), "\"}}");
    first = false;
  }
  for (const TraceEvent& event : all) {
    absl::StrAppend(&out, first ? "" : ",\n", "{\"name\":\"", JsonEscape(event.event), "\",\"cat\":\"",
                    JsonEscape(event.component), "\",\"ph\":\"", event.duration_micros > 0 ? "X" : "i",
                    "\",\"ts\":", event.time_micros, ",\"pid\":1,\"tid\":", thread_ids[event.component]);
    if (event.duration_micros > 0) {
      absl::StrAppend(&out, ",\"dur\":", event.duration_micros);
    } else {
      out += ",\"s\":\"t\"";
    }
    out += "}";
    first = false;
  }
  out += "\n]}\n";
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
