// Benchmarks 4 and 5 (issue #12): the harness's throughput on the standard swarm scenario (the sweep's generator)
// and what its own parts cost. One process runs the same seeds in four configurations: as the sweep runs them; with
// no trace recorded; with the fault steps ("fault", "message") removed; without the checker's side-world restores
// (a restore of every new snapshot after each step, invariant 1's check). Figures: seeds per core-hour, simulated
// time over wall time, each part's overhead (baseline CPU over CPU without it), and where a seed's time goes:
// trace, side-world restores, OS-thread hand-offs and thread starts (counted, times a cost measured here), and the
// rest (RocksDB, the system under test, the simulated file system and object store).
// Goals: >= 20,000 seeds per core-hour; >= 100x simulated time over wall time; each overhead <= 1.2x.
//
// Benchmark 6 (third figure): the sweep's seeds per second against --jobs (forked workers) on this machine's cores,
// running the snapsim command line (--snapsim=PATH, set by the BUILD file, or $SNAPSIM_SNAPSIM in the smoke test).
//
//   bazel run -c opt //tests/bench:swarm_throughput_benchmark -- [--seeds=100] [--first=1] [--sweep_seeds=200]
//                                                                 [--json=FILE] [--smoke]
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "scenarios/executor.h"
#include "scenarios/swarm_generator.h"
#include "sim/sim_scheduler.h"
#include "tests/bench/bench_report.h"
#include "tests/bench/bench_world.h"

namespace snapsim {
namespace bench {
namespace {

struct Totals {
  double cpu_s = 0, wall_s = 0;
  double virtual_s = 0;
  uint64_t handoffs = 0, spawned = 0, threads = 0, seeds = 0, failures = 0;
};

Scenario WithoutFaults(Scenario scenario) {
  std::vector<ScenarioStep> kept;
  for (ScenarioStep& step : scenario.steps) {
    if (step.verb != "fault" && step.verb != "message" && step.verb != "faults-off") kept.push_back(std::move(step));
  }
  scenario.steps = std::move(kept);
  return scenario;
}

void RunOne(const Scenario& scenario, const RunOptions& options, Totals* totals) {
  Stopwatch clock;
  const RunResult result = RunScenario(scenario, options);
  totals->cpu_s += clock.CpuSeconds();
  totals->wall_s += clock.WallSeconds();
  totals->virtual_s += result.virtual_time_micros / 1e6;
  totals->handoffs += result.scheduler_handoffs;
  totals->spawned += result.activities_spawned;
  totals->threads += result.threads_started;
  totals->failures += result.verdict == RunResult::Verdict::kPass ? 0 : 1;
  ++totals->seeds;
}

// Seconds per baton hand-off between two activities' threads, and per activity started, in this process.
std::pair<double, double> SchedulerCosts(int rounds) {
  double handoff_s = 0, spawn_s = 0;
  {
    SimScheduler scheduler(1);
    for (int i = 0; i < 2; ++i) {
      scheduler.Spawn(absl::StrCat("ping-", i), [&scheduler, rounds] {
        for (int r = 0; r < rounds; ++r) scheduler.SleepForMicros(1);
      });
    }
    Stopwatch clock;
    const uint64_t before = scheduler.handoffs();
    scheduler.RunUntilQuiescent();
    handoff_s = clock.WallSeconds() / static_cast<double>(std::max<uint64_t>(1, scheduler.handoffs() - before));
  }
  {
    SimScheduler scheduler(1);
    Stopwatch clock;
    for (int i = 0; i < rounds / 10; ++i) {
      scheduler.Spawn("empty", [] {});
      scheduler.RunUntilQuiescent();
    }
    spawn_s = clock.WallSeconds() / (rounds / 10);
  }
  return {handoff_s, spawn_s};
}

int Main(int argc, char** argv) {
  const BenchFlags flags =
      ParseBenchFlags(argc, argv, "swarm_throughput_benchmark",
                      {{"seeds=N", "swarm seeds per configuration (default 100)"},
                       {"first=N", "the first seed (default 1)"},
                       {"sweep_seeds=N", "seeds of the --jobs table (default 200)"},
                       {"snapsim=PATH", "the snapsim binary the --jobs table runs (set by the BUILD file)"}});
  uint64_t seeds = 100, first = 1;
  if (flags.other.count("seeds") && !absl::SimpleAtoi(flags.other.at("seeds"), &seeds)) return 2;
  if (flags.other.count("first") && !absl::SimpleAtoi(flags.other.at("first"), &first)) return 2;
  if (flags.smoke) seeds = 2;
  std::vector<Scenario> scenarios, fault_free;
  for (uint64_t seed = first; seed < first + seeds; ++seed) {
    scenarios.push_back(GenerateSwarmScenario(seed));
    fault_free.push_back(WithoutFaults(scenarios.back()));
  }
  BenchReport report("swarm_throughput_benchmark", flags, argc, argv);
  report.Table(absl::StrCat("swarm seeds ", first, "..", first + seeds - 1, " in one process"),
               {"configuration", "failed", "CPU s", "seeds/core-h", "sim/wall", "handoffs/seed", "activities/seed",
                "threads/seed", "overhead"});
  // The configurations run interleaved, seed by seed, so a drift in the machine's speed touches all alike.
  RunOptions baseline_options;
  RunOptions no_trace = baseline_options;
  no_trace.record_trace = false;
  RunOptions no_restores = baseline_options;
  no_restores.side_world_restores = false;
  std::vector<std::pair<std::string, Totals>> runs = {
      {"baseline", {}}, {"no trace", {}}, {"no faults", {}}, {"no side restores", {}}};
  for (size_t i = 0; i < scenarios.size(); ++i) {
    RunOne(scenarios[i], baseline_options, &runs[0].second);
    RunOne(scenarios[i], no_trace, &runs[1].second);
    RunOne(fault_free[i], baseline_options, &runs[2].second);
    RunOne(scenarios[i], no_restores, &runs[3].second);
  }
  const Totals& baseline = runs[0].second;
  for (const auto& [name, t] : runs) {
    report.Row({name, std::to_string(t.failures), Fixed(t.cpu_s), Fixed(t.seeds / t.cpu_s * 3600, 0),
                Fixed(t.virtual_s / t.wall_s, 1), Fixed(1.0 * t.handoffs / t.seeds, 0),
                Fixed(1.0 * t.spawned / t.seeds, 0), Fixed(1.0 * t.threads / t.seeds, 1),
                name == "baseline" ? "-" : Fixed(baseline.cpu_s / t.cpu_s)});
  }
  const auto [handoff_s, spawn_s] = SchedulerCosts(flags.smoke ? 200 : 20000);
  const double per_seed = baseline.wall_s / baseline.seeds;
  const double trace_s = std::max(0.0, (baseline.wall_s - runs[1].second.wall_s) / baseline.seeds);
  const double restores_s = std::max(0.0, (baseline.wall_s - runs[3].second.wall_s) / baseline.seeds);
  const double handoffs_s = handoff_s * baseline.handoffs / baseline.seeds;
  const double spawns_s = spawn_s * baseline.spawned / baseline.seeds;
  const double rest_s = std::max(0.0, per_seed - trace_s - restores_s - handoffs_s - spawns_s);
  report.Table("where a baseline seed's wall time goes (ms per seed)", {"part", "ms", "share"});
  for (const auto& [part, seconds] : std::vector<std::pair<std::string, double>>{
           {"side restores", restores_s},
           {"hand-offs (est.)", handoffs_s},
           {"thread starts", spawns_s},
           {"trace", trace_s},
           {"rest", rest_s},
       }) {
    report.Row({part, Fixed(seconds * 1000, 2), Fixed(100 * seconds / per_seed, 1) + "%"});
  }
  report.Table("scheduler costs measured here (microseconds)", {"hand-off", "thread start"});
  report.Row({Fixed(handoff_s * 1e6, 2), Fixed(spawn_s * 1e6, 2)});
  // The sweep command against --jobs.
  std::string snapsim = flags.other.count("snapsim") ? flags.other.at("snapsim") : "";
  if (snapsim.empty() && std::getenv("SNAPSIM_SNAPSIM") != nullptr) snapsim = std::getenv("SNAPSIM_SNAPSIM");
  uint64_t sweep_seeds = flags.smoke ? 2 : 200;
  if (flags.other.count("sweep_seeds") && !absl::SimpleAtoi(flags.other.at("sweep_seeds"), &sweep_seeds)) return 2;
  if (!snapsim.empty()) {
    report.Table(absl::StrCat("snapsim sweep --seeds=", sweep_seeds, " against --jobs"),
                 {"jobs", "wall s", "seeds/s", "speed-up"});
    double one_job_s = 0;
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    for (unsigned jobs = 1; jobs <= cores; ++jobs) {
      const std::string command =
          absl::StrCat("'", snapsim, "' sweep --seeds=", sweep_seeds, " --first=", first, " --jobs=", jobs,
                       " --out='", flags.directory, "/sweep-bench' > '", flags.directory, "/sweep-bench.log' 2>&1");
      Stopwatch clock;
      const int status = std::system(command.c_str());
      const double wall = clock.WallSeconds();
      if (status != 0) {
        std::fprintf(stderr, "the sweep failed (%s); see %s/sweep-bench.log\n", command.c_str(), flags.directory.c_str());
        return 1;
      }
      if (jobs == 1) one_job_s = wall;
      report.Row({std::to_string(jobs), Fixed(wall), Fixed(sweep_seeds / wall, 2), Fixed(one_job_s / wall)});
    }
  } else {
    std::fprintf(stderr, "no --snapsim: the sweep against --jobs is skipped\n");
  }
  report.Summary("swarm seeds per core-hour", Fixed(baseline.seeds / baseline.cpu_s * 3600, 0), ">= 20000");
  report.Summary("simulated time / wall time", Fixed(baseline.virtual_s / baseline.wall_s, 1), ">= 100");
  report.Summary("trace overhead (CPU with / without)", Fixed(baseline.cpu_s / runs[1].second.cpu_s), "<= 1.20");
  report.Summary("fault injection overhead (CPU with / without)", Fixed(baseline.cpu_s / runs[2].second.cpu_s),
                 "<= 1.20");
  report.Summary("checker side-world restores overhead (CPU with / without)",
                 Fixed(baseline.cpu_s / runs[3].second.cpu_s), "<= 1.20");
  if (baseline.failures > 0) {
    std::fprintf(stderr, "%llu seeds failed: replay them with bazel run //:snapsim -- sweep --first=%llu --seeds=%llu\n",
                 static_cast<unsigned long long>(baseline.failures), static_cast<unsigned long long>(first),
                 static_cast<unsigned long long>(seeds));
    report.Finish();
    return 1;
  }
  return report.Finish();
}

}  // namespace
}  // namespace bench
}  // namespace snapsim

int main(int argc, char** argv) { return snapsim::bench::Main(argc, argv); }
