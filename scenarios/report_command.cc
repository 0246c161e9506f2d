// `snapsim report FILE...`: one report over the JSON Lines records of any number of sweeps and replays (shards of a
// nightly, machines, days): seeds and failures per generator, seeds per core-hour, coverage summed and the
// reachability goals still unreached, failures grouped by cause, the slowest seeds (sweep_records.h). --shrink
// shrinks one example of each group and merges groups whose examples shrink to one signature; --export_failures
// writes every failing seed's scenario to a directory (the nightly's corpus, replayed first the next night).
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "scenarios/cli.h"
#include "scenarios/cli_flags.h"
#include "scenarios/scenario.h"
#include "scenarios/shrink.h"
#include "scenarios/sweep_records.h"

namespace snapsim::cli {
namespace {

// A name that says where the scenario came from and changes with its content: the same seed of a changed generator
// is another scenario, kept beside the first.
std::string CorpusName(const SeedRecord& record) {
  uint64_t hash = 14695981039346656037ull;  // FNV-1a
  for (unsigned char c : record.scenario) hash = (hash ^ c) * 1099511628211ull;
  return absl::StrCat(record.generator, "-seed-", record.seed, "-", absl::Hex(hash >> 32, absl::kZeroPad8),
                      ".scenario");
}

}  // namespace

int Report(const std::vector<std::string>& arguments) {
  std::vector<std::string> files;
  bool json = false;
  bool shrink = false;
  int max_runs = 300;
  std::string export_directory;
  FlagSet flags(
      "report", "FILE... [options]",
      "Merges the records of sweeps and replays (--json_out) into one report: seeds, failures and seeds per\n"
      "core-hour per generator, coverage and reachability goals on the total, failures grouped by cause, the\n"
      "slowest seeds.");
  flags.Positionals(&files, "FILE");
  flags.Bool("json", &json, "the report as JSON (for dashboards)");
  flags.Bool("shrink", &shrink, "shrink one example of each failure group; merge groups that shrink alike");
  flags.Int("shrink_max_runs", &max_runs, 1, 1 << 20, "with --shrink: runs each shrink may take (default 300)");
  flags.Path("export_failures", &export_directory, "DIR",
             "write every failing seed's scenario to DIR (a corpus to replay)");
  flags.Note("Exit status: 0 nothing failed and every goal was reached, 1 otherwise, 2 bad input (a record file\n"
             "that is not one is named with its line).");
  if (std::optional<int> stop = flags.ParseOrStop(arguments)) return *stop;
  if (files.empty()) return UsageError("report", "no record file given (sweep --json_out, replay --json_out)");
  for (std::string& file : files) file = UserPath(file);
  absl::StatusOr<snapsim::Report> merged = MergeRecordFiles(files);
  if (!merged.ok()) {
    std::fprintf(stderr, "snapsim report: %s\n", std::string(merged.status().message()).c_str());
    return 2;
  }
  snapsim::Report& report = *merged;
  if (shrink) {
    for (FailureGroup& group : report.failures) {
      absl::StatusOr<Scenario> example = ParseScenario(group.example.scenario, "the group's example");
      if (!example.ok()) continue;
      ShrinkOptions options;
      options.isolate = true;
      options.max_runs = max_runs;
      std::fprintf(stderr, "shrinking %s seed %llu (%zu steps)\n", group.generator.c_str(),
                   static_cast<unsigned long long>(group.example.seed), example->steps.size());
      absl::StatusOr<ShrinkResult> shrunk = ShrinkScenario(*example, options);
      if (!shrunk.ok()) {
        // It passes now (fixed since the sweep) or is bad input: said so, and grouped as it was.
        group.signature = absl::StrCat("(not shrunk: ", shrunk.status().message(), ")");
        continue;
      }
      group.signature = absl::StrCat(Signature(shrunk->scenario), " (", shrunk->steps_after, " of ",
                                     shrunk->steps_before, " steps", shrunk->exhausted ? ", runs ran out" : "", ")");
    }
    MergeGroupsBySignature(&report);
  }
  if (!export_directory.empty()) {
    if (absl::Status status = EnsureWritableDirectory(export_directory); !status.ok()) {
      std::fprintf(stderr, "snapsim report: --export_failures: %s\n", std::string(status.message()).c_str());
      return 2;
    }
    int exported = 0;
    for (const SeedRecord& record : report.failed) {
      // A replayed file's failure is in its file already; a seed's scenario is kept, not its number.
      if (record.type != "seed" || record.scenario.empty()) continue;
      const std::string path = absl::StrCat(export_directory, "/", CorpusName(record));
      const std::string text = absl::StrCat("# Failed in a sweep: ", record.detail, "\n", record.scenario);
      if (absl::Status status = WriteTextFile(path, text); !status.ok()) {
        std::fprintf(stderr, "snapsim report: %s\n", std::string(status.message()).c_str());
        return 2;
      }
      ++exported;
    }
    std::fprintf(stderr, "snapsim report: %d failing scenario(s) written to %s\n", exported,
                 export_directory.c_str());
  }
  std::printf("%s", json ? (ReportJson(report) + "\n").c_str() : FormatReport(report).c_str());
  uint64_t failed = 0;
  for (const auto& [name, generator] : report.generators) failed += generator.failed;
  bool unreached = false;
  for (const auto& [name, generator] : report.generators) unreached = unreached || !generator.goals_unreached.empty();
  return failed == 0 && !unreached ? 0 : 1;
}

}  // namespace snapsim::cli
