#include "scenarios/sweep_records.h"

#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "scenarios/lifecycle_generator.h"
#include "scenarios/reachability_goals.h"

namespace snapsim {
namespace {

using Json = nlohmann::json;

Json CoverageJson(const std::map<std::string, int>& coverage) {
  Json object = Json::object();
  for (const auto& [name, count] : coverage) object[name] = count;
  return object;
}

// Field access that names what is wrong.
template <typename T>
absl::Status Get(const Json& object, const char* field, T* out, const std::string& where) {
  auto found = object.find(field);
  if (found == object.end()) return absl::InvalidArgumentError(absl::StrCat(where, ": no field '", field, "'"));
  try {
    *out = found->template get<T>();
  } catch (const Json::exception& error) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": field '", field, "': ", error.what()));
  }
  return absl::OkStatus();
}

template <typename T>
void GetOptional(const Json& object, const char* field, T* out) {
  auto found = object.find(field);
  if (found == object.end()) return;
  try {
    *out = found->template get<T>();
  } catch (const Json::exception&) {
  }
}

// What a record says of any run of `scenario`: seed, configuration, fault mix.
SeedRecord RecordOf(const Scenario& scenario) {
  SeedRecord record;
  record.seed = scenario.config.seed;
  record.configuration = DescribeConfiguration(scenario.config);
  for (const std::string& line : scenario.description) {
    if (line.rfind("Fault mix: ", 0) == 0) record.fault_mix = line.substr(11);
  }
  return record;
}

std::string Seconds(double seconds) { return absl::StrFormat("%.1f s", seconds); }

}  // namespace

std::string VerbOfStep(const Scenario& scenario, int step) {
  for (const ScenarioStep& each : scenario.steps) {
    if (each.number == step) return each.verb;
  }
  return "end of run";
}

double ProcessCpuSeconds() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

SeedRecord MakeRecord(const Scenario& scenario, const RunResult& result, double cpu_seconds) {
  SeedRecord record = RecordOf(scenario);
  record.trace_hash = absl::StrCat(absl::Hex(result.trace_hash, absl::kZeroPad16));
  record.cpu_seconds = cpu_seconds;
  record.steps = result.steps_run;
  record.coverage = result.coverage;
  switch (result.verdict) {
    case RunResult::Verdict::kPass:
      record.verdict = "pass";
      break;
    case RunResult::Verdict::kViolation:
      record.verdict = result.violation->invariant < 0 ? "crash" : "violation";
      record.invariant = result.violation->invariant;
      record.invariant_name = result.violation->name;
      record.step = result.violation->step;
      record.verb = VerbOfStep(scenario, record.step);
      record.detail = result.violation->ToString();
      record.scenario = FormatScenario(scenario);
      break;
    case RunResult::Verdict::kBadInput:
      record.verdict = "bad_input";
      record.detail = result.error;
      record.scenario = FormatScenario(scenario);
      break;
  }
  return record;
}

SeedRecord MakeCrashRecord(const Scenario& scenario, int step, const std::string& how) {
  SeedRecord record = RecordOf(scenario);
  record.verdict = "crash";
  record.invariant = -1;
  record.invariant_name = "process crash";
  record.step = step;
  record.verb = VerbOfStep(scenario, step);
  record.detail = absl::StrCat("invariant -1 (process crash) violated at step ", step, ": the process crashed, ", how);
  record.scenario = FormatScenario(scenario);
  return record;
}

std::string RecordLine(const SeedRecord& record) {
  Json line = {{"type", record.type},
               {"seed", record.seed},
               {"generator", record.generator},
               {"configuration", record.configuration},
               {"fault_mix", record.fault_mix},
               {"verdict", record.verdict},
               {"trace_hash", record.trace_hash},
               {"cpu_seconds", record.cpu_seconds},
               {"steps", record.steps},
               {"coverage", CoverageJson(record.coverage)}};
  if (!record.origin.empty()) line["origin"] = record.origin;
  if (record.verdict != "pass") {
    line["invariant"] = record.invariant;
    line["invariant_name"] = record.invariant_name;
    line["step"] = record.step;
    line["verb"] = record.verb;
    line["detail"] = record.detail;
    line["scenario"] = record.scenario;
  }
  return line.dump();
}

std::string SummaryLine(const SweepSummary& summary) {
  Json line = {{"type", "summary"},         {"generator", summary.generator},
               {"first", summary.first},    {"seeds", summary.seeds},
               {"reported", summary.reported}, {"failed", summary.failed},
               {"interrupted", summary.interrupted}, {"cpu_seconds", summary.cpu_seconds},
               {"wall_seconds", summary.wall_seconds}, {"jobs", summary.jobs},
               {"goals_applied", summary.goals_applied}, {"goals_unreached", summary.goals_unreached}};
  return line.dump();
}

absl::StatusOr<RecordFileLine> ParseRecordLine(const std::string& text, const std::string& where) {
  RecordFileLine parsed;
  Json line = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (line.is_discarded() || !line.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": not a JSON object"));
  }
  std::string type;
  if (absl::Status status = Get(line, "type", &type, where); !status.ok()) return status;
  if (type == "summary") {
    parsed.is_summary = true;
    SweepSummary& summary = parsed.summary;
    if (absl::Status status = Get(line, "generator", &summary.generator, where); !status.ok()) return status;
    if (absl::Status status = Get(line, "seeds", &summary.seeds, where); !status.ok()) return status;
    if (absl::Status status = Get(line, "reported", &summary.reported, where); !status.ok()) return status;
    GetOptional(line, "first", &summary.first);
    GetOptional(line, "failed", &summary.failed);
    GetOptional(line, "interrupted", &summary.interrupted);
    GetOptional(line, "cpu_seconds", &summary.cpu_seconds);
    GetOptional(line, "wall_seconds", &summary.wall_seconds);
    GetOptional(line, "jobs", &summary.jobs);
    GetOptional(line, "goals_applied", &summary.goals_applied);
    GetOptional(line, "goals_unreached", &summary.goals_unreached);
    return parsed;
  }
  if (type != "seed" && type != "scenario") {
    return absl::InvalidArgumentError(absl::StrCat(where, ": unknown record type '", type, "'"));
  }
  SeedRecord& record = parsed.record;
  record.type = type;
  if (absl::Status status = Get(line, "generator", &record.generator, where); !status.ok()) return status;
  if (absl::Status status = Get(line, "seed", &record.seed, where); !status.ok()) return status;
  if (absl::Status status = Get(line, "verdict", &record.verdict, where); !status.ok()) return status;
  if (absl::Status status = Get(line, "cpu_seconds", &record.cpu_seconds, where); !status.ok()) return status;
  GetOptional(line, "origin", &record.origin);
  GetOptional(line, "configuration", &record.configuration);
  GetOptional(line, "fault_mix", &record.fault_mix);
  GetOptional(line, "trace_hash", &record.trace_hash);
  GetOptional(line, "steps", &record.steps);
  GetOptional(line, "invariant", &record.invariant);
  GetOptional(line, "invariant_name", &record.invariant_name);
  GetOptional(line, "step", &record.step);
  GetOptional(line, "verb", &record.verb);
  GetOptional(line, "detail", &record.detail);
  GetOptional(line, "scenario", &record.scenario);
  if (auto coverage = line.find("coverage"); coverage != line.end()) {
    if (!coverage->is_object())
      return absl::InvalidArgumentError(absl::StrCat(where, ": field 'coverage' is not an object"));
    for (const auto& [name, count] : coverage->items()) {
      if (!count.is_number_integer()) {
        return absl::InvalidArgumentError(absl::StrCat(where, ": coverage '", name, "' is not a count"));
      }
      record.coverage[name] = count.get<int>();
    }
  }
  if (record.verdict != "pass" && record.verdict != "violation" && record.verdict != "crash" &&
      record.verdict != "bad_input") {
    return absl::InvalidArgumentError(absl::StrCat(where, ": unknown verdict '", record.verdict, "'"));
  }
  return parsed;
}

absl::StatusOr<Report> MergeRecordFiles(const std::vector<std::string>& files) {
  Report report;
  report.files = files;
  std::map<std::tuple<std::string, int, std::string>, size_t> groups;
  // Only the slowest few are kept, whatever the number of records (a nightly merges 10^5 or more).
  constexpr size_t kSlowest = 5;
  auto slower = [](const SeedRecord& a, const SeedRecord& b) { return a.cpu_seconds > b.cpu_seconds; };
  for (const std::string& file : files) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", file, ": ", std::strerror(errno)));
    std::string text;
    int line_number = 0;
    while (std::getline(in, text)) {
      ++line_number;
      if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
      absl::StatusOr<RecordFileLine> parsed = ParseRecordLine(text, absl::StrCat(file, ":", line_number));
      if (!parsed.ok()) return parsed.status();
      if (parsed->is_summary) {
        ++report.sweeps;
        if (parsed->summary.interrupted) ++report.interrupted_sweeps;
        report.wall_seconds_total += parsed->summary.wall_seconds;
        report.wall_seconds_longest = std::max(report.wall_seconds_longest, parsed->summary.wall_seconds);
        continue;
      }
      SeedRecord& record = parsed->record;
      GeneratorReport& generator = report.generators[record.generator];
      ++generator.seeds;
      generator.cpu_seconds += record.cpu_seconds;
      for (const auto& [name, count] : record.coverage) generator.coverage[name] += count;
      if (record.verdict != "pass") {
        ++generator.failed;
        const auto key = std::make_tuple(record.generator, record.invariant, record.verb);
        auto [group, inserted] = groups.emplace(key, report.failures.size());
        if (inserted) {
          FailureGroup added;
          added.generator = record.generator;
          added.invariant = record.invariant;
          added.invariant_name = record.verdict == "bad_input" ? "bad input" : record.invariant_name;
          added.verb = record.verb;
          added.example = record;
          report.failures.push_back(std::move(added));
        }
        report.failures[group->second].seeds.push_back(record.seed);
        if (!record.origin.empty()) report.failures[group->second].origins.push_back(record.origin);
        report.failed.push_back(record);
      }
      if (report.slowest.size() < kSlowest || slower(record, report.slowest.back())) {
        record.scenario.clear();
        record.coverage.clear();
        report.slowest.insert(std::upper_bound(report.slowest.begin(), report.slowest.end(), record, slower),
                              std::move(record));
        if (report.slowest.size() > kSlowest) report.slowest.pop_back();
      }
    }
  }
  for (auto& [name, generator] : report.generators) {
    if (name == "file") continue;
    const GoalReport goals = JudgeGoals(name, generator.seeds, generator.coverage);
    generator.goals_applied = goals.applied;
    generator.goals_unreached = goals.unreached;
  }
  for (FailureGroup& group : report.failures) std::sort(group.seeds.begin(), group.seeds.end());
  std::stable_sort(report.failures.begin(), report.failures.end(), [](const FailureGroup& a, const FailureGroup& b) {
    return a.seeds.size() != b.seeds.size() ? a.seeds.size() > b.seeds.size() : a.seeds.front() < b.seeds.front();
  });
  return report;
}

std::string FormatReport(const Report& report) {
  // CPU figures stand on lines of their own ("  cpu: ..." and the slowest seeds, last): what a merge of shards
  // must equal a single sweep in is everything else.
  std::string out = absl::StrCat("records of ", report.files.size(), " file(s), ", report.sweeps, " sweep(s)",
                                 report.interrupted_sweeps > 0
                                     ? absl::StrCat(", ", report.interrupted_sweeps, " of them interrupted")
                                     : std::string(),
                                 "\n");
  if (report.sweeps > 0) {
    absl::StrAppend(&out, "  wall: ", Seconds(report.wall_seconds_total), " over the sweeps, the longest ",
                    Seconds(report.wall_seconds_longest), "\n");
  }
  for (const auto& [name, generator] : report.generators) {
    const double per_core_hour = generator.cpu_seconds > 0 ? generator.seeds * 3600.0 / generator.cpu_seconds : 0;
    absl::StrAppend(&out, name == "file" ? "replayed scenarios" : name, ": ", generator.seeds,
                    name == "file" ? " scenarios, " : " seeds, ", generator.failed, " failed\n");
    absl::StrAppend(&out, "  cpu: ", Seconds(generator.cpu_seconds), ", ", absl::StrFormat("%.0f", per_core_hour),
                    name == "file" ? " runs" : " seeds", " per core-hour\n");
    if (name == "file") continue;
    if (generator.goals_applied == 0) {
      absl::StrAppend(&out, "  reachability goals: none applies to ", generator.seeds, " seeds\n");
    } else {
      absl::StrAppend(&out, "  reachability goals: ", generator.goals_applied - generator.goals_unreached.size(),
                      " of ", generator.goals_applied, " reached\n");
    }
    for (const std::string& unreached : generator.goals_unreached) {
      absl::StrAppend(&out, "    goal unreached: ", unreached, "\n");
    }
    absl::StrAppend(&out, "  coverage:\n");
    for (const auto& [counter, count] : generator.coverage) {
      absl::StrAppend(&out, absl::StrFormat("    %-60s %d\n", counter, count));
    }
  }
  absl::StrAppend(&out, "failures by cause (invariant, verb of the failing step",
                  report.shrunk ? ", shrunk signature" : "", "): ", report.failures.size(), " group(s)\n");
  for (const FailureGroup& group : report.failures) {
    const bool files = group.example.type == "scenario";
    std::vector<std::string> seeds;
    for (size_t i = 0; i < group.seeds.size() && i < 8; ++i) {
      seeds.push_back(files && i < group.origins.size() ? group.origins[i] : absl::StrCat(group.seeds[i]));
    }
    absl::StrAppend(&out, "  ", group.seeds.size(), " x ", files ? "replayed scenario" : group.generator,
                    ": invariant ", group.invariant, " (", group.invariant_name, ") at a '", group.verb, "' step",
                    files ? "; files " : "; seeds ", absl::StrJoin(seeds, ", "), group.seeds.size() > 8 ? ", ..." : "",
                    "\n    first: ", group.example.detail, "\n");
    if (!group.signature.empty()) absl::StrAppend(&out, "    shrunk to ", group.signature, "\n");
    absl::StrAppend(&out, "    reproduce: ", ReproduceCommand(group.example), "\n");
  }
  absl::StrAppend(&out, "slowest:\n");
  for (const SeedRecord& slow : report.slowest) {
    absl::StrAppend(&out, "  ", Seconds(slow.cpu_seconds), "  ",
                    slow.type == "seed" ? absl::StrCat(slow.generator, " seed ", slow.seed) : slow.origin, " (",
                    slow.steps, " steps, ", slow.verdict, ")\n");
  }
  return out;
}

void MergeGroupsBySignature(Report* report) {
  std::vector<FailureGroup> merged;
  std::map<std::tuple<std::string, int, std::string>, size_t> by_signature;
  for (FailureGroup& group : report->failures) {
    if (group.signature.empty()) {
      merged.push_back(std::move(group));
      continue;
    }
    const auto key = std::make_tuple(group.generator, group.invariant, group.signature);
    auto [found, inserted] = by_signature.emplace(key, merged.size());
    if (inserted) {
      merged.push_back(std::move(group));
      continue;
    }
    FailureGroup& into = merged[found->second];
    into.seeds.insert(into.seeds.end(), group.seeds.begin(), group.seeds.end());
    into.origins.insert(into.origins.end(), group.origins.begin(), group.origins.end());
    std::sort(into.seeds.begin(), into.seeds.end());
    if (into.verb != group.verb) into.verb = absl::StrCat(into.verb, "' or '", group.verb);
  }
  report->failures = std::move(merged);
  report->shrunk = true;
}

std::string Signature(const Scenario& scenario) {
  std::vector<std::string> verbs;
  for (const ScenarioStep& step : scenario.steps) verbs.push_back(step.verb);
  return verbs.empty() ? "no steps" : absl::StrJoin(verbs, ", ");
}

std::string ReproduceCommand(const SeedRecord& record) {
  if (record.type == "scenario") return absl::StrCat("bazel run //:snapsim -- replay ", record.origin);
  return absl::StrCat("bazel run //:snapsim -- sweep --generator=", record.generator, " --first=", record.seed,
                      " --seeds=1");
}

std::string ReportJson(const Report& report) {
  Json generators = Json::object();
  for (const auto& [name, generator] : report.generators) {
    generators[name] = {{"seeds", generator.seeds},
                        {"failed", generator.failed},
                        {"cpu_seconds", generator.cpu_seconds},
                        {"seeds_per_core_hour",
                         generator.cpu_seconds > 0 ? generator.seeds * 3600.0 / generator.cpu_seconds : 0.0},
                        {"coverage", CoverageJson(generator.coverage)},
                        {"goals_applied", generator.goals_applied},
                        {"goals_unreached", generator.goals_unreached}};
  }
  Json failures = Json::array();
  for (const FailureGroup& group : report.failures) {
    failures.push_back({{"generator", group.generator},
                        {"invariant", group.invariant},
                        {"invariant_name", group.invariant_name},
                        {"verb", group.verb},
                        {"seeds", group.seeds},
                        {"files", group.origins},
                        {"example", group.example.detail},
                        {"reproduce", ReproduceCommand(group.example)},
                        {"signature", group.signature}});
  }
  Json slowest = Json::array();
  for (const SeedRecord& slow : report.slowest) {
    slowest.push_back({{"generator", slow.generator},
                       {"seed", slow.seed},
                       {"origin", slow.origin},
                       {"cpu_seconds", slow.cpu_seconds},
                       {"steps", slow.steps}});
  }
  Json all = {{"files", report.files},
              {"sweeps", report.sweeps},
              {"interrupted_sweeps", report.interrupted_sweeps},
              {"wall_seconds_total", report.wall_seconds_total},
              {"wall_seconds_longest", report.wall_seconds_longest},
              {"generators", generators},
              {"failures", failures},
              {"slowest", slowest}};
  return all.dump(2);
}

}  // namespace snapsim
