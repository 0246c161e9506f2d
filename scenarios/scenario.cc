#include "scenarios/scenario.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace snapsim {
namespace {

using Type = StepParameter::Type;

StepParameter Int(std::string name, int64_t min, int64_t max, std::string default_value, std::string help,
                  std::vector<std::string> words = {}) {
  StepParameter parameter;
  parameter.name = std::move(name);
  parameter.type = Type::kInt;
  parameter.min = min;
  parameter.max = max;
  parameter.words = std::move(words);
  parameter.required = default_value.empty();
  parameter.default_value = std::move(default_value);
  parameter.help = std::move(help);
  return parameter;
}

// Left out when printed while it has its default.
StepParameter Quiet(StepParameter parameter) {
  parameter.quiet_default = true;
  return parameter;
}

// Which chained operator's state a write step changes: 0 unless given.
StepParameter OperatorParameter() {
  return Quiet(Int("operator", 0, 7, "0", "the chained operator whose state it is (see operators)"));
}

StepParameter Word(std::string name, std::vector<std::string> words, std::string default_value, std::string help) {
  StepParameter parameter;
  parameter.name = std::move(name);
  parameter.type = Type::kWord;
  parameter.words = std::move(words);
  parameter.required = default_value.empty();
  parameter.default_value = std::move(default_value);
  parameter.help = std::move(help);
  return parameter;
}

// A free token; `optional` tokens default to "" (absent).
StepParameter Free(std::string name, bool optional, std::string help) {
  StepParameter parameter;
  parameter.name = std::move(name);
  parameter.type = Type::kToken;
  parameter.required = !optional;
  parameter.help = std::move(help);
  return parameter;
}

const std::vector<std::string> kValueStates = {"value", "value2"};
const std::vector<std::string> kAllStates = {"value", "value2", "list", "map"};
const std::vector<std::string> kExpect = {"completed", "failed", "any"};
const std::vector<std::string> kMessageKinds = {"trigger", "ack", "decline", "notify-complete", "notify-aborted"};
constexpr int64_t kMaxMillis = 1'000'000'000;
constexpr int64_t kMaxCheckpointId = 1'000'000'000;

std::vector<StepSpec> BuildVocabulary() {
  return {
      {"put",
       {Word("state", kValueStates, "", "a value state"), Free("key", false, "the record key"),
        Free("value", false, "the new value"), OperatorParameter()},
       "the subtask owning the key's key group sets its value state"},
      {"remove",
       {Word("state", kAllStates, "", "any state"), Free("key", false, "the record key"), OperatorParameter()},
       "clears the key's entry (value, list) or all its entries (map) in the state"},
      {"append",
       {Word("state", {"list"}, "", "a list state"), Free("key", false, "the record key"),
        Free("value", false, "the element"), OperatorParameter()},
       "appends an element to the key's list state"},
      {"map-put",
       {Word("state", {"map"}, "", "a map state"), Free("key", false, "the record key"),
        Free("user_key", false, "the map entry's key"), Free("value", false, "the map entry's value"),
        OperatorParameter()},
       "puts an entry into the key's map state"},
      {"map-remove",
       {Word("state", {"map"}, "", "a map state"), Free("key", false, "the record key"),
        Free("user_key", false, "the map entry's key"), OperatorParameter()},
       "removes an entry from the key's map state"},
      {"writes",
       {Int("count", 1, 100'000, "", "how many writes"), Int("keys", 1, 1'000'000, "", "key space size")},
       "random puts, removes, appends and map updates over every state of every operator, drawn from the run's seed"},
      {"flush", {}, "every running subtask flushes its memtables into new SST files"},
      {"compact", {}, "every running subtask compacts its database (old SST files leave the live set)"},
      {"checkpoint",
       {Word("kind", {"configured", "full"}, "configured", "configured: the backend's mode; full: shares nothing"),
        Word("wait", {"yes", "no"}, "yes", "no: trigger and go on (see await)"),
        Free("as", true, "a name for the completed checkpoint (resume and restore-check use it)"),
        Word("expect", kExpect, "any", "the outcome the scenario requires (with wait=no: checked by await)")},
       "triggers a checkpoint"},
      {"savepoint",
       {Word("format", {"native", "canonical"}, "", "the savepoint format"),
        Word("sync", {"yes", "no"}, "no", "yes: stop-with-savepoint's synchronous savepoint"),
        Word("wait", {"yes", "no"}, "yes", "no: trigger and go on (see await)"),
        Free("as", true, "a name for the savepoint"), Word("expect", kExpect, "any", "the outcome required")},
       "triggers a savepoint"},
      {"await",
       {Free("as", false, "the name given at the trigger"),
        Word("expect", kExpect, "any", "the outcome required (any: the trigger's expect=)")},
       "waits for a checkpoint or savepoint triggered with wait=no"},
      {"advance", {Int("ms", 0, kMaxMillis, "", "virtual milliseconds")}, "lets virtual time pass; activities run"},
      {"quiesce", {}, "runs until nothing is runnable and no timer is pending, then checks for leaks (refused while "
                      "periodic checkpoints run: interval_ms > 0 never quiesces)"},
      {"message",
       {Word("action", {"drop", "duplicate", "delay", "hold", "reorder"}, "", "what happens to the message"),
        Word("kind", kMessageKinds, "", "the message kind"),
        Int("subtask", 0, 1023, "any", "the subtask it goes to or comes from", {"any"}),
        Int("checkpoint", 1, kMaxCheckpointId, "any", "the checkpoint or savepoint id it is about", {"any"}),
        Int("ms", 0, kMaxMillis, "0", "delay: extra virtual milliseconds"),
        Int("count", 1, 1000, "1", "how many matching messages")},
       "the next matching messages are dropped, duplicated, delayed, held until `deliver`, or swapped with the "
       "matching message after them"},
      {"deliver",
       {Word("kind", kMessageKinds, "", "the message kind"),
        Int("subtask", 0, 1023, "any", "the subtask", {"any"})},
       "delivers messages held by `message action=hold`"},
      {"fault",
       // The kinds of faults/fault_model.h's FaultKinds() (a regression test holds the two lists together).
       {Word("kind", {"upload-fails-before", "upload-fails-after", "upload-partial", "storage-slow", "delete-fails",
                      "download-fails", "download-corrupts", "storage-rot", "disk-fails", "disk-full"},
             "", "the fault kind (faults/fault_model.h says what each models)"),
        Free("chance", true, "probability per matching operation as an integer ratio N/D (default 1/1)"),
        Int("count", -1, 1'000'000, "1", "how many times it may fire; -1: until faults-off", {}),
        Free("path", true, "only operations on paths containing this text"),
        Int("ms", 0, kMaxMillis, "0", "storage-slow: extra virtual milliseconds per request")},
       "arms a fault on checkpoint storage or the machines' local disks (simulated world only)"},
      {"faults-off", {}, "disarms every armed fault (the liveness phase begins)"},
      {"failover-tasks", {}, "every subtask restarts from the latest completed checkpoint"},
      {"crash",
       {Int("machine", 0, 1023, "", "the subtask whose machine crashes"),
        Word("how", {"graceful", "hard", "restart", "reboot"}, "",
             "graceful: power loss, tasks closed; hard: no cleanup at all; restart: the task manager process dies "
             "hard and restarts on the same disk, which kept everything; reboot: power loss, and the task manager "
             "restarts on what the disk kept")},
       "a machine's task manager dies: graceful and hard lose power (the disk keeps only what was synced) and a new "
       "task manager starts afresh; restart and reboot bring the same task manager back on its working directory, "
       "and its task-local store reloads the local snapshots the disk kept; then every subtask restarts"},
      {"corrupt",
       {Int("machine", 0, 1023, "", "the subtask whose machine's disk corrupts"),
        Free("path", false, "only files whose path contains this text (e.g. .sst)"),
        Int("count", 1, 1000, "1", "how many of the matching files, the last in path order")},
       "silent corruption on a machine's local disk: one bit of each file flips (hard links share it); simulated "
       "world only"},
      {"failover-coordinator", {}, "the coordinator dies; a new one recovers the store; every subtask restarts"},
      {"stop", {Word("how", {"cancel", "finish", "suspend"}, "", "the job's terminal status")}, "ends the job"},
      {"resume",
       {Free("from", false,
             "a snapshot name, `latest` (the latest retained checkpoint), or path:<directory> (a snapshot's path)"),
        Word("mode", {"same", "incremental", "full"}, "same", "the new job's checkpoint mode"),
        Word("restore_mode", {"same", "claim", "no_claim", "legacy"}, "same", "ownership of the snapshot"),
        Word("local_recovery", {"same", "on", "off"}, "same", "local recovery in the new job"),
        Int("parallelism", 1, 1024, "same", "the new job's parallelism", {"same"}),
        Int("max_parallelism", 1, 32768, "same", "the new job's max parallelism", {"same"}),
        Quiet(Int("operators", 1, 8, "same", "the new job's chained keyed operators (state of one it lacks: refused)",
                  {"same"})),
        Word("expect", {"completed", "failed"}, "completed", "failed: the resume must be refused")},
       "starts a new job from a stopped job's snapshot"},
      {"restore-check",
       {Free("from", false, "a snapshot name, `latest`, or `all` (every retained checkpoint and named savepoint)"),
        Int("parallelism", 1, 1024, "same", "the parallelism to restore at", {"same"})},
       "restores snapshots into a side world and compares every subtask with the model"},
      {"verify", {}, "checks every invariant that applies now, restore equality of the running job included"},
      {"liveness",
       {Int("attempts", 1, 10, "1", "checkpoints allowed before one must complete; each retry is reported"),
        Quiet(Word("registration", {"may-decline", "must-not-decline"}, "may-decline",
                   "must-not-decline: an attempt the registry declines for an unknown placeholder is a violation (a "
                   "completion racing a trigger must not cause one, #13 part 1; late notifications still may)"))},
       "with faults over, a checkpoint must complete"},
  };
}

struct HeaderField {
  const char* name;
  const char* help;
};
constexpr HeaderField kHeaderFields[] = {
    {"parallelism", "number of subtasks (1..1024)"},
    {"max_parallelism", "number of key groups (1..32768)"},
    {"operators", "chained keyed operators per task (1..8), each with its own backend"},
    {"mode", "incremental | full"},
    {"local_recovery", "on | off"},
    {"max_concurrent", "concurrent checkpoints (1..16)"},
    {"retained", "retained completed checkpoints (1..16)"},
    {"restore_mode", "claim | no_claim | legacy: ownership on resume"},
    {"interval_ms", "periodic checkpoint interval, 0 = none"},
    {"timeout_ms", "checkpoint timeout"},
    {"min_pause_ms", "minimum pause between a completion and the next periodic checkpoint (0 = none)"},
    {"upload_threads", "parallel uploads per subtask (1..16)"},
    {"inline_threshold", "state streams of at most this many bytes are inline in the metadata (0..1048576, 0 = never)"},
    {"tolerable_failures", "consecutive counted checkpoint failures before the job fails over (-1 = unlimited)"},
    {"message_latency_ms", "maximum message latency"},
    {"seed", "the run's seed (unsigned 64-bit)"},
};

std::string Location(absl::string_view origin, int line, int column) {
  return absl::StrCat(origin, ":", line, ":", column);
}

// A printable form of an offending token: at most 40 bytes, control bytes escaped.
std::string ShowToken(absl::string_view token) {
  std::string out;
  for (unsigned char c : token.substr(0, 40)) {
    if (c < 0x20 || c >= 0x7f) {
      char buffer[8];
      std::snprintf(buffer, sizeof(buffer), "\\x%02x", c);
      out += buffer;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (token.size() > 40) out += "...";
  return out;
}

absl::Status Error(absl::string_view origin, int line, int column, absl::string_view what, absl::string_view token) {
  return absl::InvalidArgumentError(
      absl::StrCat(Location(origin, line, column), ": ", what, " ('", ShowToken(token), "')"));
}

struct Token {
  std::string text;  // unquoted
  int column = 0;
  bool quoted = false;
  // For "name=value": where the value starts.
  int value_column = 0;
};

bool IsBareChar(unsigned char c) { return c > 0x20 && c < 0x7f && c != '"' && c != '#'; }

// Splits one line into tokens; a '#' outside quotes starts the comment. Quoted parts use \" and \\ escapes and
// may stand after "name=".
absl::Status Tokenize(absl::string_view line, absl::string_view origin, int line_number, std::vector<Token>* tokens,
                      std::string* comment) {
  size_t i = 0;
  while (i < line.size()) {
    const unsigned char c = static_cast<unsigned char>(line[i]);
    if (c == ' ' || c == '\t' || c == '\r') {
      ++i;
      continue;
    }
    if (c == '#') {
      absl::string_view rest = line.substr(i + 1);
      while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
      while (!rest.empty() && (rest.back() == ' ' || rest.back() == '\r')) rest.remove_suffix(1);
      *comment = std::string(rest);
      return absl::OkStatus();
    }
    Token token;
    token.column = static_cast<int>(i) + 1;
    while (i < line.size() && IsBareChar(static_cast<unsigned char>(line[i]))) {
      token.text.push_back(line[i]);
      if (line[i] == '=' && token.value_column == 0) token.value_column = static_cast<int>(i) + 2;
      ++i;
    }
    if (i < line.size() && line[i] == '"') {
      if (!token.text.empty() && token.text.back() != '=') {
        return Error(origin, line_number, static_cast<int>(i) + 1, "a quote may start a value only after '='",
                     line.substr(token.column - 1, i - token.column + 2));
      }
      if (token.value_column == 0) token.value_column = static_cast<int>(i) + 1;
      token.quoted = true;
      const size_t quote = i++;
      bool closed = false;
      while (i < line.size()) {
        const char q = line[i];
        if (q == '\\' && i + 1 < line.size() && (line[i + 1] == '"' || line[i + 1] == '\\')) {
          token.text.push_back(line[i + 1]);
          i += 2;
          continue;
        }
        if (q == '"') {
          closed = true;
          ++i;
          break;
        }
        if (static_cast<unsigned char>(q) < 0x20 && q != '\t') {
          return Error(origin, line_number, static_cast<int>(i) + 1, "a control byte inside a quoted value",
                       line.substr(i, 1));
        }
        token.text.push_back(q);
        ++i;
      }
      if (!closed) {
        return Error(origin, line_number, static_cast<int>(quote) + 1, "unterminated quoted value",
                     line.substr(quote));
      }
      if (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '#' && line[i] != '\r') {
        return Error(origin, line_number, static_cast<int>(i) + 1, "expected a space after the closing quote",
                     line.substr(i, 1));
      }
    } else if (token.text.empty()) {
      return Error(origin, line_number, static_cast<int>(i) + 1, "unexpected byte", line.substr(i, 1));
    }
    tokens->push_back(std::move(token));
  }
  return absl::OkStatus();
}

bool ParseInt64(absl::string_view text, int64_t* out) {
  if (text.empty() || text.size() > 20) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    if (!(text[i] >= '0' && text[i] <= '9') && !(i == 0 && text[i] == '-' && text.size() > 1)) return false;
  }
  return absl::SimpleAtoi(text, out);
}

// Checks one value against its parameter; returns the canonical text.
absl::StatusOr<std::string> ValidateValue(const StepParameter& parameter, const std::string& value,
                                          absl::string_view origin, int line, int column, absl::string_view verb) {
  switch (parameter.type) {
    case Type::kInt: {
      if (std::find(parameter.words.begin(), parameter.words.end(), value) != parameter.words.end()) return value;
      int64_t number = 0;
      if (!ParseInt64(value, &number)) {
        std::string also = parameter.words.empty() ? "" : absl::StrCat(" or ", absl::StrJoin(parameter.words, ", "));
        return Error(origin, line, column, absl::StrCat(verb, ": ", parameter.name, " takes an integer", also), value);
      }
      if (number < parameter.min || number > parameter.max) {
        return Error(origin, line, column,
                     absl::StrCat(verb, ": ", parameter.name, " must be in [", parameter.min, ", ", parameter.max, "]"),
                     value);
      }
      return absl::StrCat(number);
    }
    case Type::kWord:
      if (std::find(parameter.words.begin(), parameter.words.end(), value) == parameter.words.end()) {
        return Error(origin, line, column,
                     absl::StrCat(verb, ": ", parameter.name, " must be one of ", absl::StrJoin(parameter.words, ", ")),
                     value);
      }
      return value;
    case Type::kToken:
      if (value.empty() && parameter.required) {
        return Error(origin, line, column, absl::StrCat(verb, ": ", parameter.name, " must not be empty"), value);
      }
      return value;
  }
  return value;
}

absl::Status ParseHeaderLine(const std::vector<Token>& tokens, absl::string_view origin, int line,
                             ScenarioConfig* config, std::map<std::string, int>* seen) {
  const Token& name = tokens[0];
  if (tokens.size() != 2) {
    const Token& bad = tokens.size() > 2 ? tokens[2] : tokens[0];
    return Error(origin, line, bad.column,
                 tokens.size() > 2 ? "a header line is '<name> <value>': unexpected extra token"
                                   : "a header line is '<name> <value>': the value is missing",
                 bad.text);
  }
  const Token& value = tokens[1];
  auto integer = [&](int64_t min, int64_t max, int64_t* out) -> absl::Status {
    if (!ParseInt64(value.text, out) || *out < min || *out > max) {
      return Error(origin, line, value.column, absl::StrCat(name.text, " takes an integer in [", min, ", ", max, "]"),
                   value.text);
    }
    return absl::OkStatus();
  };
  auto onoff = [&](bool* out) -> absl::Status {
    if (value.text != "on" && value.text != "off") {
      return Error(origin, line, value.column, absl::StrCat(name.text, " is on or off"), value.text);
    }
    *out = value.text == "on";
    return absl::OkStatus();
  };
  if (seen->count(name.text) > 0) {
    return Error(origin, line, name.column,
                 absl::StrCat("header field given twice (first on line ", (*seen)[name.text], ")"), name.text);
  }
  (*seen)[name.text] = line;
  int64_t number = 0;
  absl::Status status;
  if (name.text == "parallelism") {
    status = integer(1, 1024, &number);
    config->parallelism = static_cast<int>(number);
  } else if (name.text == "max_parallelism") {
    status = integer(1, 32768, &number);
    config->max_parallelism = static_cast<int>(number);
  } else if (name.text == "operators") {
    status = integer(1, 8, &number);
    config->operators = static_cast<int>(number);
  } else if (name.text == "mode") {
    if (value.text != "incremental" && value.text != "full") {
      return Error(origin, line, value.column, "mode is incremental or full", value.text);
    }
    config->incremental = value.text == "incremental";
  } else if (name.text == "local_recovery") {
    status = onoff(&config->local_recovery);
  } else if (name.text == "max_concurrent") {
    status = integer(1, 16, &number);
    config->max_concurrent_checkpoints = static_cast<int>(number);
  } else if (name.text == "retained") {
    status = integer(1, 16, &number);
    config->retained_checkpoints = static_cast<int>(number);
  } else if (name.text == "restore_mode") {
    if (value.text != "claim" && value.text != "no_claim" && value.text != "legacy") {
      return Error(origin, line, value.column, "restore_mode is claim, no_claim or legacy", value.text);
    }
    config->restore_mode = value.text;
  } else if (name.text == "interval_ms") {
    status = integer(0, kMaxMillis, &config->checkpoint_interval_ms);
  } else if (name.text == "timeout_ms") {
    status = integer(1, kMaxMillis, &config->checkpoint_timeout_ms);
  } else if (name.text == "min_pause_ms") {
    status = integer(0, kMaxMillis, &config->min_pause_ms);
  } else if (name.text == "upload_threads") {
    status = integer(1, 16, &number);
    config->upload_threads = static_cast<int>(number);
  } else if (name.text == "inline_threshold") {
    status = integer(0, 1 << 20, &config->inline_threshold);
  } else if (name.text == "tolerable_failures") {
    status = integer(-1, 1000, &number);
    config->tolerable_failures = static_cast<int>(number);
  } else if (name.text == "message_latency_ms") {
    status = integer(0, 60'000, &config->message_latency_ms_max);
  } else if (name.text == "seed") {
    if (value.text.empty() || value.text.size() > 20 || value.text[0] == '-' ||
        !absl::SimpleAtoi(value.text, &config->seed)) {
      return Error(origin, line, value.column, "seed takes an unsigned 64-bit integer", value.text);
    }
  } else {
    std::vector<std::string> names;
    for (const HeaderField& field : kHeaderFields) names.push_back(field.name);
    return Error(origin, line, name.column,
                 absl::StrCat("unknown header field (one of ", absl::StrJoin(names, ", "),
                              "; a step starts with its number)"),
                 name.text);
  }
  if (config->max_parallelism < config->parallelism && seen->count("parallelism") && seen->count("max_parallelism")) {
    return Error(origin, line, value.column, "parallelism must not exceed max_parallelism", value.text);
  }
  return status;
}

absl::StatusOr<ScenarioStep> ParseStepTokens(const std::vector<Token>& tokens, absl::string_view origin, int line,
                                             int previous_number) {
  ScenarioStep step;
  int64_t number = 0;
  if (!ParseInt64(tokens[0].text, &number) || number < 1 || number > 1'000'000'000) {
    return Error(origin, line, tokens[0].column, "a step number is a positive integer", tokens[0].text);
  }
  if (number <= previous_number) {
    return Error(origin, line, tokens[0].column,
                 absl::StrCat("step numbers must increase (the previous step is ", previous_number, ")"),
                 tokens[0].text);
  }
  step.number = static_cast<int>(number);
  if (tokens.size() < 2)
    return Error(origin, line, tokens[0].column, "a step needs a verb after its number", tokens[0].text);
  const Token& verb = tokens[1];
  step.verb = verb.text;
  step.location = {line, verb.column};
  const StepSpec* spec = FindStepSpec(verb.text);
  if (spec == nullptr || verb.quoted) {
    std::vector<std::string> verbs;
    for (const StepSpec& known : StepVocabulary()) verbs.push_back(known.verb);
    return Error(origin, line, verb.column, absl::StrCat("unknown step (one of ", absl::StrJoin(verbs, ", "), ")"),
                 verb.text);
  }
  for (size_t i = 2; i < tokens.size(); ++i) {
    const Token& token = tokens[i];
    const size_t equals = token.text.find('=');
    if (token.value_column == 0 || equals == std::string::npos || equals == 0) {
      return Error(origin, line, token.column, absl::StrCat(spec->verb, ": an argument is name=value"), token.text);
    }
    const std::string name = token.text.substr(0, equals);
    const std::string value = token.text.substr(equals + 1);
    auto parameter = std::find_if(spec->parameters.begin(), spec->parameters.end(),
                                  [&](const StepParameter& p) { return p.name == name; });
    if (parameter == spec->parameters.end()) {
      std::vector<std::string> names;
      for (const StepParameter& p : spec->parameters) names.push_back(p.name);
      return Error(origin, line, token.column,
                   names.empty()
                       ? absl::StrCat(spec->verb, " takes no arguments")
                       : absl::StrCat(spec->verb, ": unknown argument (one of ", absl::StrJoin(names, ", "), ")"),
                   name);
    }
    if (step.arguments.count(name) > 0) {
      return Error(origin, line, token.column, absl::StrCat(spec->verb, ": argument given twice"), name);
    }
    absl::StatusOr<std::string> canonical =
        ValidateValue(*parameter, value, origin, line, token.value_column, spec->verb);
    if (!canonical.ok()) return canonical.status();
    step.arguments[name] = StepArgument{*std::move(canonical), SourceLocation{line, token.value_column}};
  }
  for (const StepParameter& parameter : spec->parameters) {
    if (step.arguments.count(parameter.name) > 0) continue;
    if (parameter.required) {
      return Error(origin, line, verb.column, absl::StrCat(spec->verb, ": missing argument ", parameter.name, "="),
                   verb.text);
    }
    step.arguments[parameter.name] = StepArgument{parameter.default_value, SourceLocation{line, 0}};
  }
  return step;
}

bool NeedsQuotes(const std::string& value) {
  if (value.empty()) return true;
  for (unsigned char c : value) {
    if (!IsBareChar(c) || c == '=') return true;
  }
  return false;
}

std::string Quote(const std::string& value) {
  if (!NeedsQuotes(value)) return value;
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

}  // namespace

const std::vector<StepSpec>& StepVocabulary() {
  static const std::vector<StepSpec>* vocabulary = new std::vector<StepSpec>(BuildVocabulary());
  return *vocabulary;
}

const StepSpec* FindStepSpec(absl::string_view verb) {
  for (const StepSpec& spec : StepVocabulary()) {
    if (spec.verb == verb) return &spec;
  }
  return nullptr;
}

std::vector<std::string> HeaderFieldNames() {
  std::vector<std::string> names;
  for (const HeaderField& field : kHeaderFields) names.push_back(field.name);
  return names;
}

std::string DescribeVocabulary() {
  std::string out = "Header lines (before the first step), '<name> <value>':\n";
  for (const HeaderField& field : kHeaderFields) absl::StrAppend(&out, "  ", field.name, "  ", field.help, "\n");
  out += "\nSteps, '<number> <verb> name=value ...' (values with spaces or '=' in double quotes):\n";
  for (const StepSpec& spec : StepVocabulary()) {
    absl::StrAppend(&out, "  ", spec.verb);
    for (const StepParameter& parameter : spec.parameters) {
      std::string values;
      switch (parameter.type) {
        case Type::kInt:
          values = absl::StrCat(parameter.min, "..", parameter.max);
          if (!parameter.words.empty()) values = absl::StrCat(absl::StrJoin(parameter.words, "|"), "|", values);
          break;
        case Type::kWord:
          values = absl::StrJoin(parameter.words, "|");
          break;
        case Type::kToken:
          values = "<" + parameter.name + ">";
          break;
      }
      const bool optional = !parameter.required;
      absl::StrAppend(&out, " ", optional ? "[" : "", parameter.name, "=", values, optional ? "]" : "");
    }
    absl::StrAppend(&out, "\n      ", spec.help, "\n");
  }
  return out;
}

bool ScenarioStep::Has(absl::string_view name) const {
  auto found = arguments.find(std::string(name));
  return found != arguments.end() && !found->second.value.empty();
}

const std::string& ScenarioStep::Text(absl::string_view name) const {
  static const std::string* empty = new std::string();
  auto found = arguments.find(std::string(name));
  return found == arguments.end() ? *empty : found->second.value;
}

int64_t ScenarioStep::Int(absl::string_view name) const {
  int64_t value = 0;
  (void)absl::SimpleAtoi(Text(name), &value);
  return value;
}

bool ScenarioStep::Flag(absl::string_view name) const {
  const std::string& value = Text(name);
  return value == "yes" || value == "on";
}

std::string ScenarioStep::ToString() const {
  std::string out = absl::StrCat(number, " ", verb);
  const StepSpec* spec = FindStepSpec(verb);
  if (spec == nullptr) return out;
  for (const StepParameter& parameter : spec->parameters) {
    auto found = arguments.find(parameter.name);
    if (found == arguments.end()) continue;
    // Optional free tokens left empty are absent; everything else is written out.
    if (parameter.type == Type::kToken && !parameter.required && found->second.value.empty()) continue;
    if (parameter.quiet_default && found->second.value == parameter.default_value) continue;
    absl::StrAppend(&out, " ", parameter.name, "=", Quote(found->second.value));
  }
  return out;
}

absl::StatusOr<Scenario> ParseScenario(absl::string_view text, absl::string_view origin) {
  Scenario scenario;
  scenario.origin = std::string(origin);
  if (text.size() > kMaxScenarioBytes) {
    return absl::InvalidArgumentError(absl::StrCat(Location(origin, 1, 1), ": the file is ", text.size(),
                                                   " bytes; a scenario has at most ", kMaxScenarioBytes));
  }
  std::map<std::string, int> seen_header;
  int line_number = 0;
  bool in_description = true;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == absl::string_view::npos) end = text.size();
    const absl::string_view line = text.substr(start, end - start);
    ++line_number;
    start = end + 1;
    if (line.size() > kMaxScenarioLineBytes) {
      return Error(origin, line_number, static_cast<int>(kMaxScenarioLineBytes) + 1,
                   absl::StrCat("line longer than ", kMaxScenarioLineBytes, " bytes"), line.substr(0, 20));
    }
    const size_t nul = line.find('\0');
    if (nul != absl::string_view::npos) {
      return Error(origin, line_number, static_cast<int>(nul) + 1, "a NUL byte: this is not a scenario text file",
                   line.substr(nul, 1));
    }
    std::vector<Token> tokens;
    std::string comment;
    if (absl::Status status = Tokenize(line, origin, line_number, &tokens, &comment); !status.ok()) return status;
    if (tokens.empty()) {
      if (in_description && line.find('#') != absl::string_view::npos) {
        scenario.description.push_back(comment);
      } else if (!scenario.description.empty() || !comment.empty()) {
        in_description = false;
      }
      if (end == text.size()) break;
      continue;
    }
    in_description = false;
    const unsigned char first = static_cast<unsigned char>(tokens[0].text[0]);
    if (first >= '0' && first <= '9' && !tokens[0].quoted) {
      if (scenario.steps.size() >= static_cast<size_t>(kMaxScenarioSteps)) {
        return Error(origin, line_number, tokens[0].column,
                     absl::StrCat("more than ", kMaxScenarioSteps, " steps"), tokens[0].text);
      }
      const int previous = scenario.steps.empty() ? 0 : scenario.steps.back().number;
      absl::StatusOr<ScenarioStep> step = ParseStepTokens(tokens, origin, line_number, previous);
      if (!step.ok()) return step.status();
      step->comment = comment;
      scenario.steps.push_back(*std::move(step));
    } else {
      if (!scenario.steps.empty()) {
        return Error(origin, line_number, tokens[0].column,
                     "header fields come before the first step (a step starts with its number)", tokens[0].text);
      }
      if (tokens[0].quoted)
        return Error(origin, line_number, tokens[0].column, "a header name is not quoted", tokens[0].text);
      if (absl::Status status = ParseHeaderLine(tokens, origin, line_number, &scenario.config, &seen_header);
          !status.ok()) {
        return status;
      }
    }
    if (end == text.size()) break;
  }
  if (scenario.config.parallelism > scenario.config.max_parallelism) {
    return Error(origin, seen_header.count("parallelism") ? seen_header["parallelism"] : 1, 1,
                 absl::StrCat("parallelism ", scenario.config.parallelism, " exceeds max_parallelism ",
                              scenario.config.max_parallelism),
                 "parallelism");
  }
  if (scenario.steps.empty()) {
    return Error(origin, line_number, 1, "a scenario needs at least one step", "");
  }
  return scenario;
}

absl::StatusOr<Scenario> LoadScenarioFile(const std::string& path) {
  // The reason, as the system gives it: a missing file, a directory, a file that may not be read.
  struct stat status {};
  if (stat(path.c_str(), &status) != 0) {
    return absl::NotFoundError(absl::StrCat(path, ": cannot open the scenario file: ", std::strerror(errno)));
  }
  if (S_ISDIR(status.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": is a directory, not a scenario file"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot open the scenario file: ", std::strerror(errno)));
  std::string text;
  char buffer[65536];
  while (in.read(buffer, sizeof(buffer)) || in.gcount() > 0) {
    text.append(buffer, static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxScenarioBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ":1:1: the file is larger than ", kMaxScenarioBytes, " bytes; not a scenario"));
    }
  }
  if (in.bad()) return absl::DataLossError(absl::StrCat(path, ": read error"));
  return ParseScenario(text, path);
}

int StepAfter(const Scenario& scenario, int last_ended) {
  for (const ScenarioStep& step : scenario.steps) {
    if (step.number > last_ended) return step.number;
  }
  return last_ended + 1;
}

std::string FormatScenario(const Scenario& scenario) {
  std::string out;
  for (const std::string& line : scenario.description) absl::StrAppend(&out, line.empty() ? "#" : "# ", line, "\n");
  if (!scenario.description.empty()) out += "\n";
  const ScenarioConfig& config = scenario.config;
  absl::StrAppend(&out, "parallelism ", config.parallelism, "\n");
  absl::StrAppend(&out, "max_parallelism ", config.max_parallelism, "\n");
  if (config.operators != 1) absl::StrAppend(&out, "operators ", config.operators, "\n");
  absl::StrAppend(&out, "mode ", config.incremental ? "incremental" : "full", "\n");
  absl::StrAppend(&out, "local_recovery ", config.local_recovery ? "on" : "off", "\n");
  absl::StrAppend(&out, "max_concurrent ", config.max_concurrent_checkpoints, "\n");
  absl::StrAppend(&out, "retained ", config.retained_checkpoints, "\n");
  absl::StrAppend(&out, "restore_mode ", config.restore_mode, "\n");
  absl::StrAppend(&out, "interval_ms ", config.checkpoint_interval_ms, "\n");
  absl::StrAppend(&out, "timeout_ms ", config.checkpoint_timeout_ms, "\n");
  if (config.min_pause_ms != 0) absl::StrAppend(&out, "min_pause_ms ", config.min_pause_ms, "\n");
  absl::StrAppend(&out, "upload_threads ", config.upload_threads, "\n");
  if (config.inline_threshold != 0) absl::StrAppend(&out, "inline_threshold ", config.inline_threshold, "\n");
  if (config.tolerable_failures >= 0) absl::StrAppend(&out, "tolerable_failures ", config.tolerable_failures, "\n");
  absl::StrAppend(&out, "message_latency_ms ", config.message_latency_ms_max, "\n");
  absl::StrAppend(&out, "seed ", config.seed, "\n\n");
  for (const ScenarioStep& step : scenario.steps) {
    out += step.ToString();
    if (!step.comment.empty()) absl::StrAppend(&out, "  # ", step.comment);
    out += "\n";
  }
  return out;
}

absl::StatusOr<ScenarioStep> MakeStep(int number, absl::string_view verb,
                                      const std::vector<std::pair<std::string, std::string>>& arguments) {
  std::string line = absl::StrCat(number, " ", verb);
  for (const auto& [name, value] : arguments) absl::StrAppend(&line, " ", name, "=", Quote(value));
  absl::StatusOr<Scenario> parsed = ParseScenario(line, "<generated>");
  if (!parsed.ok()) return parsed.status();
  return parsed->steps[0];
}

void ScenarioStepAppender::Add(absl::string_view verb,
                               const std::vector<std::pair<std::string, std::string>>& arguments) {
  absl::StatusOr<ScenarioStep> step = MakeStep(++number_, verb, arguments);
  if (!step.ok()) {
    std::fprintf(stderr, "%s generator: %s\n", generator_.c_str(), std::string(step.status().message()).c_str());
    std::abort();
  }
  scenario_->steps.push_back(*std::move(step));
}

}  // namespace snapsim
