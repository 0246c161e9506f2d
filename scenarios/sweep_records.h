// Sweep records: what a sweep (or a replay) ran, one JSON object per line (JSON Lines), so that any number of shards'
// records, written on any machines, merge into one report. A seed record says which seed of which generator ran, its
// configuration and fault mix, its verdict, the invariant, step and verb of a violation, its trace hash, the CPU
// seconds it took, what it reached (coverage), and, for a failure, the scenario itself: a seed number means another
// scenario once the generator changes, the scenario does not. A summary record closes each sweep. The report merges
// records: seeds and failures per generator, seeds per core-hour, coverage summed and the reachability goals still
// unreached, failures grouped by cause, the slowest seeds. Written with nlohmann/json (Debian's nlohmann-json3-dev).
#ifndef SNAPSIM_SCENARIOS_SWEEP_RECORDS_H_
#define SNAPSIM_SCENARIOS_SWEEP_RECORDS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "scenarios/executor.h"
#include "scenarios/scenario.h"

namespace snapsim {

struct SeedRecord {
  // "seed" (a sweep's) or "scenario" (a replayed file's).
  std::string type = "seed";
  uint64_t seed = 0;
  // The generator ("swarm", "swarm-recoverable", "lifecycle"), or "file" for a replayed scenario.
  std::string generator;
  // A replayed scenario's file.
  std::string origin;
  std::string configuration;
  std::string fault_mix;
  // "pass", "violation", "crash" (the process died running it) or "bad_input".
  std::string verdict = "pass";
  int invariant = 0;
  std::string invariant_name;
  int step = 0;
  // The verb of the step that failed ("end of run" after the last step; "" when it passed).
  std::string verb;
  std::string detail;
  std::string trace_hash;
  double cpu_seconds = 0;
  int steps = 0;
  std::map<std::string, int> coverage;
  // A failure's scenario, in the scenario language.
  std::string scenario;
};

struct SweepSummary {
  std::string generator;
  uint64_t first = 0;
  // Seeds asked for, and reported (fewer when interrupted).
  uint64_t seeds = 0;
  uint64_t reported = 0;
  uint64_t failed = 0;
  bool interrupted = false;
  double cpu_seconds = 0;
  double wall_seconds = 0;
  int jobs = 1;
  int goals_applied = 0;
  std::vector<std::string> goals_unreached;
};

// A record of `scenario`'s run: the verdict, violation and coverage of `result`.
SeedRecord MakeRecord(const Scenario& scenario, const RunResult& result, double cpu_seconds);
// A record of a run whose process died at `step` (`how`: "signal 6 (Aborted)").
SeedRecord MakeCrashRecord(const Scenario& scenario, int step, const std::string& how);

// The verb of `scenario`'s step numbered `step` ("end of run" when there is none).
std::string VerbOfStep(const Scenario& scenario, int step);

// One line of JSON each, without the newline.
std::string RecordLine(const SeedRecord& record);
std::string SummaryLine(const SweepSummary& summary);

// One line of a record file: a seed or scenario record, or a sweep's summary. An error names `where` and the field.
struct RecordFileLine {
  bool is_summary = false;
  SeedRecord record;
  SweepSummary summary;
};
absl::StatusOr<RecordFileLine> ParseRecordLine(const std::string& text, const std::string& where);

// Process CPU seconds so far (all threads): what a seed costs, measured outside the simulation.
double ProcessCpuSeconds();

// The merged report of record files.
struct FailureGroup {
  std::string generator;
  int invariant = 0;
  std::string invariant_name;
  std::string verb;
  std::vector<uint64_t> seeds;
  // Replayed files: their paths, in the order seen.
  std::vector<std::string> origins;
  // The first failure of the group: its record (scenario included).
  SeedRecord example;
  // After `report --shrink`: the shrunk example's signature (its steps' verbs) and size.
  std::string signature;
};

struct GeneratorReport {
  uint64_t seeds = 0;
  uint64_t failed = 0;
  double cpu_seconds = 0;
  std::map<std::string, int> coverage;
  std::vector<std::string> goals_unreached;
  int goals_applied = 0;
};

struct Report {
  std::vector<std::string> files;
  std::map<std::string, GeneratorReport> generators;
  std::vector<FailureGroup> failures;
  // The slowest seeds, by CPU seconds.
  std::vector<SeedRecord> slowest;
  // Every failing record, scenario included (the corpus of `report --export_failures`).
  std::vector<SeedRecord> failed;
  // Summary records seen, and how many said their sweep was interrupted.
  int sweeps = 0;
  int interrupted_sweeps = 0;
  // Over the summary records: the sum of the sweeps' wall seconds and the longest.
  double wall_seconds_total = 0;
  double wall_seconds_longest = 0;
  // Whether `report --shrink` shrank each group's example (and merged groups of one signature).
  bool shrunk = false;
};

// Reads JSON Lines record files (seed, scenario and summary records; blank lines allowed). A line that is not a
// record is an error naming file:line.
absl::StatusOr<Report> MergeRecordFiles(const std::vector<std::string>& files);
std::string FormatReport(const Report& report);
// After shrinking each group's example (`signature` set): groups of one generator, invariant and signature merged
// into the first, their seeds together.
void MergeGroupsBySignature(Report* report);
// The shrunk signature of a scenario: its steps' verbs, in order ("writes, checkpoint, crash").
std::string Signature(const Scenario& scenario);
// The command that reproduces a record's run: `sweep` of its seed, or `replay` of its file.
std::string ReproduceCommand(const SeedRecord& record);
std::string ReportJson(const Report& report);

}  // namespace snapsim

#endif  // SNAPSIM_SCENARIOS_SWEEP_RECORDS_H_
