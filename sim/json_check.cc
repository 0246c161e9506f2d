#include "sim/json_check.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <tuple>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace snapsim {
namespace {

// Deeper documents are rejected rather than risking the stack; a trace needs 4 levels.
constexpr int kMaxDepth = 128;

struct JsonValue {
  enum class Kind { kNull, kBool, kNumber, kString, kArray, kObject };
  Kind kind = Kind::kNull;
  size_t offset = 0;  // where the value starts in the document
  bool boolean = false;
  double number = 0;
  bool integer_literal = false;  // no fraction, no exponent
  std::string text;              // a string's decoded UTF-8
  std::vector<JsonValue> elements;
  std::vector<std::pair<std::string, JsonValue>> members;  // in document order; the first of duplicates wins

  const JsonValue* Find(absl::string_view key) const {
    for (const auto& [name, value] : members) {
      if (name == key) return &value;
    }
    return nullptr;
  }
};

// Recursive descent over RFC 8259. Every error names the byte offset.
class JsonParser {
 public:
  explicit JsonParser(absl::string_view text) : text_(text) {}

  absl::StatusOr<JsonValue> ParseDocument() {
    JsonValue value;
    absl::Status status = ParseValue(&value, 0);
    if (!status.ok()) return status;
    SkipWhitespace();
    if (position_ != text_.size()) return Error("text after the JSON value");
    return value;
  }

 private:
  absl::Status Error(absl::string_view what) const {
    return absl::InvalidArgumentError(absl::StrCat("JSON syntax error at byte ", position_, ": ", what));
  }
  bool AtEnd() const { return position_ >= text_.size(); }
  unsigned char Peek() const { return static_cast<unsigned char>(text_[position_]); }

  void SkipWhitespace() {
    while (!AtEnd() && (Peek() == ' ' || Peek() == '\t' || Peek() == '\n' || Peek() == '\r')) ++position_;
  }

  absl::Status ParseValue(JsonValue* out, int depth) {
    if (depth > kMaxDepth) return Error(absl::StrCat("nested deeper than ", kMaxDepth));
    SkipWhitespace();
    if (AtEnd()) return Error("expected a value, found the end");
    out->offset = position_;
    const unsigned char c = Peek();
    if (c == '{') return ParseObject(out, depth);
    if (c == '[') return ParseArray(out, depth);
    if (c == '"') {
      out->kind = JsonValue::Kind::kString;
      return ParseString(&out->text);
    }
    if (c == '-' || (c >= '0' && c <= '9')) return ParseNumber(out);
    if (ConsumeLiteral("true")) {
      out->kind = JsonValue::Kind::kBool;
      out->boolean = true;
      return absl::OkStatus();
    }
    if (ConsumeLiteral("false")) {
      out->kind = JsonValue::Kind::kBool;
      return absl::OkStatus();
    }
    if (ConsumeLiteral("null")) return absl::OkStatus();
    return Error(absl::StrCat("unexpected character '", std::string(1, static_cast<char>(c)), "'"));
  }

  bool ConsumeLiteral(absl::string_view literal) {
    if (text_.substr(position_, literal.size()) != literal) return false;
    position_ += literal.size();
    return true;
  }

  absl::Status ParseObject(JsonValue* out, int depth) {
    out->kind = JsonValue::Kind::kObject;
    ++position_;  // '{'
    SkipWhitespace();
    if (!AtEnd() && Peek() == '}') {
      ++position_;
      return absl::OkStatus();
    }
    for (;;) {
      SkipWhitespace();
      if (AtEnd() || Peek() != '"') return Error("expected a member name (a string)");
      std::string key;
      absl::Status status = ParseString(&key);
      if (!status.ok()) return status;
      SkipWhitespace();
      if (AtEnd() || Peek() != ':') return Error("expected ':' after a member name");
      ++position_;
      JsonValue value;
      status = ParseValue(&value, depth + 1);
      if (!status.ok()) return status;
      out->members.emplace_back(std::move(key), std::move(value));
      SkipWhitespace();
      if (AtEnd()) return Error("unterminated object");
      if (Peek() == '}') {
        ++position_;
        return absl::OkStatus();
      }
      if (Peek() != ',') return Error("expected ',' or '}' in an object");
      ++position_;
    }
  }

  absl::Status ParseArray(JsonValue* out, int depth) {
    out->kind = JsonValue::Kind::kArray;
    ++position_;  // '['
    SkipWhitespace();
    if (!AtEnd() && Peek() == ']') {
      ++position_;
      return absl::OkStatus();
    }
    for (;;) {
      JsonValue value;
      absl::Status status = ParseValue(&value, depth + 1);
      if (!status.ok()) return status;
      out->elements.push_back(std::move(value));
      SkipWhitespace();
      if (AtEnd()) return Error("unterminated array");
      if (Peek() == ']') {
        ++position_;
        return absl::OkStatus();
      }
      if (Peek() != ',') return Error("expected ',' or ']' in an array");
      ++position_;
    }
  }

  static void AppendUtf8(uint32_t code_point, std::string* out) {
    if (code_point < 0x80) {
      out->push_back(static_cast<char>(code_point));
    } else if (code_point < 0x800) {
      out->push_back(static_cast<char>(0xc0 | (code_point >> 6)));
      out->push_back(static_cast<char>(0x80 | (code_point & 0x3f)));
    } else if (code_point < 0x10000) {
      out->push_back(static_cast<char>(0xe0 | (code_point >> 12)));
      out->push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | (code_point & 0x3f)));
    } else {
      out->push_back(static_cast<char>(0xf0 | (code_point >> 18)));
      out->push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | (code_point & 0x3f)));
    }
  }

  // Four hex digits after "\u". REQUIRES: position_ at the first digit.
  absl::Status ParseHex4(uint32_t* out) {
    if (text_.size() - position_ < 4) return Error("truncated \\u escape");
    uint32_t value = 0;
    for (int i = 0; i < 4; ++i, ++position_) {
      const unsigned char c = Peek();
      value <<= 4;
      if (c >= '0' && c <= '9') {
        value |= c - '0';
      } else if (c >= 'a' && c <= 'f') {
        value |= c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        value |= c - 'A' + 10;
      } else {
        return Error("bad hex digit in \\u escape");
      }
    }
    *out = value;
    return absl::OkStatus();
  }

  // Well-formed UTF-8 (RFC 3629) sequence length at position_, or 0.
  size_t Utf8SequenceLength() const {
    const unsigned char lead = Peek();
    size_t length;
    unsigned char second_min = 0x80, second_max = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) {
      length = 2;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3;
      if (lead == 0xe0) second_min = 0xa0;
      if (lead == 0xed) second_max = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4;
      if (lead == 0xf0) second_min = 0x90;
      if (lead == 0xf4) second_max = 0x8f;
    } else {
      return 0;
    }
    if (text_.size() - position_ < length) return 0;
    const auto byte = [this](size_t i) { return static_cast<unsigned char>(text_[position_ + i]); };
    if (byte(1) < second_min || byte(1) > second_max) return 0;
    for (size_t i = 2; i < length; ++i) {
      if (byte(i) < 0x80 || byte(i) > 0xbf) return 0;
    }
    return length;
  }

  absl::Status ParseString(std::string* out) {
    ++position_;  // '"'
    for (;;) {
      if (AtEnd()) return Error("unterminated string");
      const unsigned char c = Peek();
      if (c == '"') {
        ++position_;
        return absl::OkStatus();
      }
      if (c < 0x20) return Error("unescaped control character in a string");
      if (c >= 0x80) {
        const size_t length = Utf8SequenceLength();
        if (length == 0) return Error("invalid UTF-8 in a string");
        out->append(text_.data() + position_, length);
        position_ += length;
        continue;
      }
      ++position_;
      if (c != '\\') {
        out->push_back(static_cast<char>(c));
        continue;
      }
      if (AtEnd()) return Error("unterminated escape");
      const unsigned char escaped = Peek();
      ++position_;
      switch (escaped) {
        case '"':
        case '\\':
        case '/':
          out->push_back(static_cast<char>(escaped));
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u': {
          uint32_t code_point;
          absl::Status status = ParseHex4(&code_point);
          if (!status.ok()) return status;
          if (code_point >= 0xdc00 && code_point <= 0xdfff) return Error("unpaired low surrogate");
          if (code_point >= 0xd800 && code_point <= 0xdbff) {
            if (text_.substr(position_, 2) != "\\u") return Error("high surrogate without a low surrogate");
            position_ += 2;
            uint32_t low;
            status = ParseHex4(&low);
            if (!status.ok()) return status;
            if (low < 0xdc00 || low > 0xdfff) return Error("high surrogate without a low surrogate");
            code_point = 0x10000 + ((code_point - 0xd800) << 10) + (low - 0xdc00);
          }
          AppendUtf8(code_point, out);
          break;
        }
        default:
          --position_;
          return Error("invalid escape");
      }
    }
  }

  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
  absl::Status ParseNumber(JsonValue* out) {
    out->kind = JsonValue::Kind::kNumber;
    const size_t start = position_;
    const auto digits = [this] {
      size_t count = 0;
      while (!AtEnd() && Peek() >= '0' && Peek() <= '9') ++position_, ++count;
      return count;
    };
    if (Peek() == '-') ++position_;
    if (AtEnd()) return Error("expected digits after '-'");
    if (Peek() == '0') {
      ++position_;
      if (!AtEnd() && Peek() >= '0' && Peek() <= '9') return Error("leading zero in a number");
    } else if (digits() == 0) {
      return Error("expected digits in a number");
    }
    out->integer_literal = true;
    if (!AtEnd() && Peek() == '.') {
      ++position_;
      out->integer_literal = false;
      if (digits() == 0) return Error("expected digits after '.'");
    }
    if (!AtEnd() && (Peek() == 'e' || Peek() == 'E')) {
      ++position_;
      out->integer_literal = false;
      if (!AtEnd() && (Peek() == '+' || Peek() == '-')) ++position_;
      if (digits() == 0) return Error("expected digits in an exponent");
    }
    if (!absl::SimpleAtod(text_.substr(start, position_ - start), &out->number) || !std::isfinite(out->number)) {
      return Error("number out of range");
    }
    return absl::OkStatus();
  }

  absl::string_view text_;
  size_t position_ = 0;
};

std::string FormatNumber(double value) {
  if (value == std::floor(value) && std::fabs(value) < 9007199254740992.0) {
    return absl::StrCat(static_cast<int64_t>(value));
  }
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.17g", value);
  return buffer;
}

absl::Status FieldError(const JsonValue& event, int index, absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(
      absl::StrCat("traceEvents[", index, "] at byte ", event.offset, ": \"", field, "\" ", problem));
}

// Reads an optional member of `event` into `present` / `out`, checking its type.
absl::Status ReadString(const JsonValue& event, int index, absl::string_view field, std::string* out) {
  const JsonValue* value = event.Find(field);
  if (value == nullptr) return absl::OkStatus();
  if (value->kind != JsonValue::Kind::kString) return FieldError(event, index, field, "is not a string");
  *out = value->text;
  return absl::OkStatus();
}

absl::Status ReadNumber(const JsonValue& event, int index, absl::string_view field, bool* present, double* out) {
  const JsonValue* value = event.Find(field);
  if (value == nullptr) return absl::OkStatus();
  if (value->kind != JsonValue::Kind::kNumber) return FieldError(event, index, field, "is not a number");
  *present = true;
  *out = value->number;
  return absl::OkStatus();
}

absl::Status ReadInteger(const JsonValue& event, int index, absl::string_view field, bool* present, int64_t* out) {
  const JsonValue* value = event.Find(field);
  if (value == nullptr) return absl::OkStatus();
  if (value->kind != JsonValue::Kind::kNumber || !value->integer_literal ||
      std::fabs(value->number) >= 9007199254740992.0) {
    return FieldError(event, index, field, "is not an integer");
  }
  *present = true;
  *out = static_cast<int64_t>(value->number);
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
  absl::StatusOr<JsonValue> document = JsonParser(json).ParseDocument();
  if (!document.ok()) return document.status();
  if (document->kind != JsonValue::Kind::kObject) {
    return absl::InvalidArgumentError("the trace is not a JSON object ({\"traceEvents\":[...]})");
  }
  const JsonValue* trace_events = document->Find("traceEvents");
  if (trace_events == nullptr || trace_events->kind != JsonValue::Kind::kArray) {
    return absl::InvalidArgumentError("the trace has no \"traceEvents\" array");
  }
  std::vector<ChromeTraceEvent> events;
  for (size_t i = 0; i < trace_events->elements.size(); ++i) {
    const JsonValue& value = trace_events->elements[i];
    const int index = static_cast<int>(i);
    if (value.kind != JsonValue::Kind::kObject) {
      return absl::InvalidArgumentError(
          absl::StrCat("traceEvents[", index, "] at byte ", value.offset, " is not an object"));
    }
    ChromeTraceEvent event;
    event.index = index;
    if (value.Find("ph") == nullptr) return FieldError(value, index, "ph", "is missing");
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
    if (event.phase == "M") {
      const JsonValue* args = value.Find("args");
      const JsonValue* name = args != nullptr && args->kind == JsonValue::Kind::kObject ? args->Find("name") : nullptr;
      if (name != nullptr && name->kind == JsonValue::Kind::kString) event.metadata_name = name->text;
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
