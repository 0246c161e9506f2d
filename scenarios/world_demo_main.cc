// snapsim_demo: runs the simulated world's end-to-end demo (scenarios/world_demo.h) for one seed or a few; what
// the determinism tests run across processes. Scenarios and sweeps are `snapsim`'s (scenarios/snapsim_main.cc).
//
//   bazel run //:snapsim_demo -- [--seed=N] [--seeds=N] [--keys=N] [--trace_out=FILE.json] [--print_hash]
//
// Exit status: 0 all seeds passed, 1 a seed failed (its repro command is printed), 2 bad arguments.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/match.h"
#include "scenarios/world_demo.h"

namespace {

int Usage(const std::string& problem) {
  std::fprintf(stderr,
               "snapsim_demo: %s\n"
               "usage: snapsim_demo [--seed=N] [--seeds=N] [--keys=N] [--trace_out=FILE.json] [--print_hash]\n"
               "(the job lifecycle sweep is `bazel run //:snapsim -- sweep --seeds=N`)\n",
               problem.c_str());
  return 2;
}

std::string ReproCommand(uint64_t seed, int keys) {
  return "bazel run //:snapsim_demo -- --seed=" + std::to_string(seed) + " --keys=" + std::to_string(keys);
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t seed = 1;
  uint64_t seeds = 1;
  int keys = 2000;
  std::string trace_out;
  bool print_hash = false;
  for (int i = 1; i < argc; ++i) {
    const std::string argument = argv[i];
    auto value_of = [&](const char* flag) { return argument.substr(std::string(flag).size()); };
    if (absl::StartsWith(argument, "--seed=")) {
      if (!absl::SimpleAtoi(value_of("--seed="), &seed)) return Usage("--seed takes a number: " + argument);
    } else if (absl::StartsWith(argument, "--seeds=")) {
      if (!absl::SimpleAtoi(value_of("--seeds="), &seeds) || seeds == 0) {
        return Usage("--seeds takes a positive number: " + argument);
      }
    } else if (absl::StartsWith(argument, "--keys=")) {
      if (!absl::SimpleAtoi(value_of("--keys="), &keys) || keys <= 0) {
        return Usage("--keys takes a positive number: " + argument);
      }
    } else if (absl::StartsWith(argument, "--trace_out=")) {
      trace_out = value_of("--trace_out=");
      // Bazel runs the binary in its runfiles: a relative path is the user's, from where `bazel run` was called.
      const char* directory = std::getenv("BUILD_WORKING_DIRECTORY");
      if (directory != nullptr && !trace_out.empty() && trace_out[0] != '/')
        trace_out = std::string(directory) + "/" + trace_out;
    } else if (argument == "--print_hash") {
      print_hash = true;
    } else {
      return Usage("unknown argument " + argument);
    }
  }

  int failures = 0;
  for (uint64_t offset = 0; offset < seeds; ++offset) {
    snapsim::WorldDemoOptions options;
    options.seed = seed + offset;
    options.keys = keys;
    options.keep_trace_events = !trace_out.empty() && offset == 0;
    absl::StatusOr<snapsim::WorldDemoResult> result = snapsim::RunWorldDemo(options);
    if (!result.ok()) {
      ++failures;
      std::printf("seed %llu: FAILED: %s\n  reproduce: %s\n", static_cast<unsigned long long>(options.seed),
                  std::string(result.status().message()).c_str(), ReproCommand(options.seed, keys).c_str());
      continue;
    }
    if (print_hash) {
      std::printf("%016llx\n", static_cast<unsigned long long>(result->trace_hash));
    } else {
      std::printf(
          "seed %llu: ok  trace_hash=%016llx events=%llu virtual_time=%lldus uploaded=%d files/%llu bytes "
          "restored_keys=%d\n  job: %s: checkpoints=%d restores_verified=%d\n",
          static_cast<unsigned long long>(options.seed), static_cast<unsigned long long>(result->trace_hash),
          static_cast<unsigned long long>(result->trace_events), static_cast<long long>(result->virtual_time_micros),
          result->uploaded_files, static_cast<unsigned long long>(result->uploaded_bytes), result->restored_keys,
          result->job_configuration.c_str(), result->checkpoints_completed, result->restores_verified);
    }
    if (options.keep_trace_events) {
      std::ofstream out(trace_out, std::ios::binary);
      out << result->chrome_trace_json;
      if (!out) {
        std::fprintf(stderr, "snapsim_demo: cannot write %s\n", trace_out.c_str());
        return 2;
      }
      if (!print_hash) std::printf("  trace written to %s (open in Perfetto / chrome://tracing)\n", trace_out.c_str());
    }
  }
  if (!print_hash) std::printf("%llu seeds, %d failed\n", static_cast<unsigned long long>(seeds), failures);
  return failures == 0 ? 0 : 1;
}
