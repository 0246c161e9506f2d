#include "scenarios/cli_flags.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "scenarios/cli.h"

namespace snapsim::cli {
namespace {

// Edit distance, for "did you mean": names are short, so the quadratic table is nothing.
size_t Distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

template <typename Number>
absl::Status ParseNumber(const std::string& name, const std::string& text, Number minimum, Number maximum,
                         Number* value) {
  Number parsed{};
  if (!absl::SimpleAtoi(text, &parsed) || parsed < minimum || parsed > maximum) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, " takes a number from ", minimum, " to ", maximum, ", not '", text, "'"));
  }
  *value = parsed;
  return absl::OkStatus();
}

}  // namespace

FlagSet::FlagSet(std::string command, std::string synopsis, std::string summary)
    : command_(std::move(command)), synopsis_(std::move(synopsis)), summary_(std::move(summary)) {}

void FlagSet::Bool(const std::string& name, bool* value, const std::string& help) {
  flags_.push_back({name, "", help, [name, value](const std::string& text) {
                      if (text.empty() || text == "yes" || text == "true") {
                        *value = true;
                      } else if (text == "no" || text == "false") {
                        *value = false;
                      } else {
                        return absl::InvalidArgumentError(
                            absl::StrCat("--", name, " is yes or no (or just --", name, "), not '", text, "'"));
                      }
                      return absl::OkStatus();
                    }});
}

void FlagSet::String(const std::string& name, std::string* value, const std::string& value_name,
                     const std::string& help) {
  flags_.push_back({name, value_name, help, [name, value](const std::string& text) {
                      if (text.empty()) return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
                      *value = text;
                      return absl::OkStatus();
                    }});
}

void FlagSet::Path(const std::string& name, std::string* value, const std::string& value_name,
                   const std::string& help) {
  flags_.push_back({name, value_name, help, [name, value](const std::string& text) {
                      if (text.empty()) return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a path"));
                      *value = UserPath(text);
                      return absl::OkStatus();
                    }});
}

void FlagSet::Choice(const std::string& name, std::string* value, const std::vector<std::string>& choices,
                     const std::string& help) {
  flags_.push_back({name, absl::StrJoin(choices, "|"), help, [name, value, choices](const std::string& text) {
                      if (std::find(choices.begin(), choices.end(), text) == choices.end()) {
                        return absl::InvalidArgumentError(absl::StrCat("--", name, " is one of ",
                                                                       absl::StrJoin(choices, ", "), ", not '", text,
                                                                       "'"));
                      }
                      *value = text;
                      return absl::OkStatus();
                    }});
}

void FlagSet::Uint64(const std::string& name, uint64_t* value, uint64_t minimum, uint64_t maximum,
                     const std::string& help) {
  flags_.push_back({name, "N", help, [=](const std::string& text) {
                      return ParseNumber(name, text, minimum, maximum, value);
                    }});
}

void FlagSet::Int(const std::string& name, int* value, int minimum, int maximum, const std::string& help) {
  flags_.push_back({name, "N", help, [=](const std::string& text) {
                      return ParseNumber(name, text, minimum, maximum, value);
                    }});
}

void FlagSet::Repeated(const std::string& name, std::vector<std::string>* values, const std::string& value_name,
                       const std::string& help) {
  flags_.push_back({name, value_name, help, [name, values](const std::string& text) {
                      if (text.empty()) return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
                      values->push_back(text);
                      return absl::OkStatus();
                    }});
}

void FlagSet::Positionals(std::vector<std::string>* values, const std::string& value_name) {
  positionals_ = values;
  positional_name_ = value_name;
}

void FlagSet::Note(const std::string& text) { notes_.push_back(text); }

const FlagSet::Flag* FlagSet::Find(const std::string& name) const {
  for (const Flag& flag : flags_) {
    if (flag.name == name) return &flag;
  }
  return nullptr;
}

absl::Status FlagSet::Set(const Flag& flag, const std::string& value) const { return flag.set(value); }

absl::Status FlagSet::Parse(const std::vector<std::string>& arguments) {
  bool flags_ended = false;
  for (size_t i = 0; i < arguments.size(); ++i) {
    const std::string& argument = arguments[i];
    if (flags_ended || argument == "-" || !absl::StartsWith(argument, "-")) {
      if (positionals_ == nullptr) {
        return absl::InvalidArgumentError(absl::StrCat("unexpected argument '", argument, "'"));
      }
      positionals_->push_back(argument);
      continue;
    }
    if (argument == "--") {
      flags_ended = true;
      continue;
    }
    if (argument == "--help" || argument == "-h") {
      help_requested_ = true;
      continue;
    }
    if (!absl::StartsWith(argument, "--")) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag '", argument, "' (flags are --name=value)"));
    }
    const size_t equals = argument.find('=');
    const std::string name = argument.substr(2, equals == std::string::npos ? std::string::npos : equals - 2);
    const Flag* flag = Find(name);
    if (flag == nullptr) {
      std::string hint;
      size_t best = 3;
      for (const Flag& candidate : flags_) {
        const size_t distance = Distance(name, candidate.name);
        if (distance < best) {
          best = distance;
          hint = absl::StrCat(" (did you mean --", candidate.name, "?)");
        }
      }
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name, hint));
    }
    std::string value;
    if (equals != std::string::npos) {
      value = argument.substr(equals + 1);
    } else if (!flag->value_name.empty()) {
      if (i + 1 >= arguments.size()) {
        return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value (--", name, "=", flag->value_name,
                                                       ")"));
      }
      value = arguments[++i];
    }
    if (absl::Status status = Set(*flag, value); !status.ok()) return status;
  }
  return absl::OkStatus();
}

std::optional<int> FlagSet::ParseOrStop(const std::vector<std::string>& arguments) {
  if (absl::Status status = Parse(arguments); !status.ok()) return UsageError(command_, std::string(status.message()));
  if (help_requested_) {
    std::printf("%s", Usage().c_str());
    return 0;
  }
  return std::nullopt;
}

std::string FlagSet::Usage() const {
  std::string out = absl::StrCat("usage: snapsim ", command_, " ", synopsis_, "\n", summary_, "\n");
  if (!flags_.empty()) absl::StrAppend(&out, "\noptions:\n");
  for (const Flag& flag : flags_) {
    std::string left = absl::StrCat("  --", flag.name, flag.value_name.empty() ? "" : "=", flag.value_name);
    if (left.size() < 26) {
      left.resize(26, ' ');
    } else {
      left += "\n" + std::string(26, ' ');
    }
    std::string help = flag.help;
    // Continuation lines of a long help text line up under its first.
    for (size_t newline = help.find('\n'); newline != std::string::npos; newline = help.find('\n', newline + 27)) {
      help.insert(newline + 1, std::string(26, ' '));
    }
    absl::StrAppend(&out, left, help, "\n");
  }
  for (const std::string& note : notes_) absl::StrAppend(&out, "\n", note, "\n");
  return out;
}

int UsageError(const std::string& command, const std::string& problem) {
  std::fprintf(stderr, "snapsim %s: %s\nrun 'snapsim %s --help' for its usage\n", command.c_str(), problem.c_str(),
               command.c_str());
  return 2;
}

int CommandError(const std::string& command, const std::string& problem) {
  std::fprintf(stderr, "snapsim %s: %s\n", command.c_str(), problem.c_str());
  return 2;
}

}  // namespace snapsim::cli
