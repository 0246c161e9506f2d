// The flags of a `snapsim` command, declared once: parsing, the command's own usage (`snapsim CMD --help`,
// `snapsim help CMD`) and one-line errors naming the argument all come from the declaration, so no command parses
// by hand and every command follows the same conventions:
//   --name=value and --name value; a boolean is --name (or --name=yes|no|true|false), never the next argument;
//   -- ends the flags (a file named like a flag follows it); --help and -h ask for the usage;
//   an error is one line on stderr, "snapsim CMD: <what is wrong>, naming the argument", then the hint to --help,
//   exit 2.
#ifndef SNAPSIM_SCENARIOS_CLI_FLAGS_H_
#define SNAPSIM_SCENARIOS_CLI_FLAGS_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace snapsim::cli {

class FlagSet {
 public:
  // `synopsis`: what follows "snapsim CMD" on the usage line ("FILE... [options]"); `summary`: what it does.
  FlagSet(std::string command, std::string synopsis, std::string summary);

  void Bool(const std::string& name, bool* value, const std::string& help);
  void String(const std::string& name, std::string* value, const std::string& value_name, const std::string& help);
  // A path as the user typed it, made absolute (UserPath: from where `bazel run` was called).
  void Path(const std::string& name, std::string* value, const std::string& value_name, const std::string& help);
  void Choice(const std::string& name, std::string* value, const std::vector<std::string>& choices,
              const std::string& help);
  void Uint64(const std::string& name, uint64_t* value, uint64_t minimum, uint64_t maximum, const std::string& help);
  void Int(const std::string& name, int* value, int minimum, int maximum, const std::string& help);
  // May be given several times; each value is appended.
  void Repeated(const std::string& name, std::vector<std::string>* values, const std::string& value_name,
                const std::string& help);
  // Arguments that are not flags (files); without this, any such argument is an error.
  void Positionals(std::vector<std::string>* values, const std::string& value_name);
  // A closing paragraph of the usage (defaults, behaviour).
  void Note(const std::string& text);

  // InvalidArgument naming the argument: "unknown flag --sede (did you mean --seed?)", "--seeds takes a number
  // from 1 to 18446744073709551615, not 'x'", "--out needs a value".
  absl::Status Parse(const std::vector<std::string>& arguments);
  bool help_requested() const { return help_requested_; }
  // Parse, as every command starts: the exit status when the command stops here (2 after a usage error, reported by
  // UsageError; 0 after --help, the usage printed), or nullopt to go on.
  std::optional<int> ParseOrStop(const std::vector<std::string>& arguments);
  std::string Usage() const;
  const std::string& command() const { return command_; }

 private:
  struct Flag {
    std::string name;
    std::string value_name;  // empty for a boolean
    std::string help;
    std::function<absl::Status(const std::string& value)> set;
  };
  absl::Status Set(const Flag& flag, const std::string& value) const;
  const Flag* Find(const std::string& name) const;

  std::string command_;
  std::string synopsis_;
  std::string summary_;
  std::vector<Flag> flags_;
  std::vector<std::string>* positionals_ = nullptr;
  std::string positional_name_;
  std::vector<std::string> notes_;
  bool help_requested_ = false;
};

// Prints "snapsim CMD: problem" and "run 'snapsim CMD --help' for its usage" to stderr; returns 2 (bad input).
int UsageError(const std::string& command, const std::string& problem);

// Prints "snapsim CMD: problem" to stderr (a failure that is not the arguments' fault); returns 2.
int CommandError(const std::string& command, const std::string& problem);

}  // namespace snapsim::cli

#endif  // SNAPSIM_SCENARIOS_CLI_FLAGS_H_
