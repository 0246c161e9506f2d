// The scenario language: one text format for every run (hand-written cases, the regression library, generated
// sweep seeds, shrunk property failures). A scenario is a header (the job's configuration) and numbered steps, each
// a verb with explicit `name=value` arguments checked against one vocabulary table (StepVocabulary), so parsing,
// printing, the executor, the generators and the shrinker all read the same schema. After FoundationDB's
// declarative test files and TigerBeetle's VOPR seeds-as-programs. The grammar is documented in scenarios/README.md.
//
// Parsing never crashes and never throws: a malformed, truncated, binary or huge input is an error
// "<file>:<line>:<column>: <what> ('<token>')" with code InvalidArgument.
#ifndef SNAPSIM_SCENARIOS_SCENARIO_H_
#define SNAPSIM_SCENARIOS_SCENARIO_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace snapsim {

// Input limits: anything larger is rejected with an error, not read further.
inline constexpr size_t kMaxScenarioBytes = size_t{4} << 20;
inline constexpr size_t kMaxScenarioLineBytes = 4096;
inline constexpr int kMaxScenarioSteps = 100'000;

// The job configuration a scenario starts with (the header). Every field is a header line "<name> <value>".
struct ScenarioConfig {
  int parallelism = 2;
  int max_parallelism = 128;
  // Chained keyed operators per task ("operators N", 1..8), each with its own backend and states; written only when
  // not 1.
  int operators = 1;
  // Flink's state.backend.incremental: incremental checkpoints, else native full ones ("mode incremental|full").
  bool incremental = true;
  bool local_recovery = false;
  int max_concurrent_checkpoints = 1;
  int retained_checkpoints = 1;
  // How a resume takes ownership of the snapshot it starts from ("restore_mode claim|no_claim|legacy"); a resume
  // step may override it.
  std::string restore_mode = "no_claim";
  // 0: only the scenario's checkpoint steps trigger checkpoints.
  int64_t checkpoint_interval_ms = 0;
  int64_t checkpoint_timeout_ms = 60'000;
  // Flink's execution.checkpointing.min-pause ("min_pause_ms N"): a periodic checkpoint is not triggered until this
  // long after the last completion (one that comes too early is refused and the periodic trigger rescheduled);
  // written only when not 0.
  int64_t min_pause_ms = 0;
  int upload_threads = 2;
  // Flink's state.storage.fs.memory-threshold ("inline_threshold N", bytes): state streams of at most N bytes are
  // kept inline in the checkpoint metadata, not as objects; 0: never (Flink's default is 20 KiB).
  int64_t inline_threshold = 0;
  // Flink's execution.checkpointing.tolerable-failed-checkpoints ("tolerable_failures N"); -1: unlimited.
  int tolerable_failures = -1;
  int64_t message_latency_ms_max = 2;
  uint64_t seed = 1;
};

struct SourceLocation {
  int line = 0;
  int column = 0;
};

// One argument as written: its canonical value text and where it stood.
struct StepArgument {
  std::string value;
  SourceLocation location;
};

struct ScenarioStep {
  int number = 0;
  std::string verb;
  SourceLocation location;
  // Every parameter of the verb's schema: given ones as written (validated), omitted ones at their default.
  std::map<std::string, StepArgument> arguments;
  // The step's trailing comment, kept by the formatter.
  std::string comment;

  bool Has(absl::string_view name) const;
  // REQUIRES: the schema declares `name` (with a default or required); the parser validated the value.
  const std::string& Text(absl::string_view name) const;
  int64_t Int(absl::string_view name) const;
  bool Flag(absl::string_view name) const;  // "yes" / "on"
  // "12 put state=value key=k1 value=a"
  std::string ToString() const;
};

struct Scenario {
  // The file (or "<seed N>", "<property>") the scenario came from; errors and reports name it.
  std::string origin;
  // Leading comment lines (without "# "): what history the scenario replays and what would go wrong.
  std::vector<std::string> description;
  ScenarioConfig config;
  std::vector<ScenarioStep> steps;
};

// The vocabulary: every verb, its parameters and their types. A parameter is an integer with bounds, one of a
// fixed set of words, or a free token (a key, a value, a snapshot name).
struct StepParameter {
  enum class Type { kInt, kWord, kToken };
  std::string name;
  Type type = Type::kToken;
  // kWord: the allowed words.
  std::vector<std::string> words;
  int64_t min = 0;
  int64_t max = 0;
  // Empty with `required`: must be given. Otherwise the value an omitted argument takes.
  std::string default_value;
  bool required = false;
  // The formatter leaves the argument out while it has its default (a parameter most steps never set).
  bool quiet_default = false;
  std::string help;
};

struct StepSpec {
  std::string verb;
  std::vector<StepParameter> parameters;
  std::string help;
};

const std::vector<StepSpec>& StepVocabulary();
const StepSpec* FindStepSpec(absl::string_view verb);
// The vocabulary as text, for --help.
std::string DescribeVocabulary();
// The header fields' names, in the order the formatter writes them.
std::vector<std::string> HeaderFieldNames();

absl::StatusOr<Scenario> ParseScenario(absl::string_view text, absl::string_view origin);
// Reads and parses a file; an unreadable file is an error naming it.
absl::StatusOr<Scenario> LoadScenarioFile(const std::string& path);
// The scenario as text that ParseScenario reads back to an equal scenario (every argument written out).
// The step that was running when a process died after step `last_ended` ended: the first step numbered above it, or
// last_ended + 1 past the last step (the end of the run).
int StepAfter(const Scenario& scenario, int last_ended);

std::string FormatScenario(const Scenario& scenario);
// Builds a step for generators: `arguments` are validated against the schema like parsed ones.
absl::StatusOr<ScenarioStep> MakeStep(int number, absl::string_view verb,
                                      const std::vector<std::pair<std::string, std::string>>& arguments);

// Appends steps numbered 1, 2, 3... to a generated scenario. A generator writes only what the vocabulary accepts, so
// a rejected step is a bug in the generator: it aborts, naming it.
class ScenarioStepAppender {
 public:
  ScenarioStepAppender(Scenario* scenario, std::string generator)
      : scenario_(scenario), generator_(std::move(generator)) {}
  void Add(absl::string_view verb, const std::vector<std::pair<std::string, std::string>>& arguments = {});

 private:
  Scenario* scenario_;
  const std::string generator_;
  int number_ = 0;
};

}  // namespace snapsim

#endif  // SNAPSIM_SCENARIOS_SCENARIO_H_
