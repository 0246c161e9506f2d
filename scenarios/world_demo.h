// An end-to-end run of the simulated world: first a keyed state backend on a simulated machine writes state,
// flushes, takes a native RocksDB checkpoint, uploads its files to the object store with parallel transfers, loses
// its disk in a crash, downloads the files to a fresh directory and reopens them; then the checkpoint lifecycle of
// a simulated job (the seed's generated scenario, scenarios/lifecycle_generator.h, run by the executor). It is what the
// determinism tests and the README's main job run.
#ifndef SNAPSIM_SCENARIOS_WORLD_DEMO_H_
#define SNAPSIM_SCENARIOS_WORLD_DEMO_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace snapsim {

struct WorldDemoOptions {
  uint64_t seed = 1;
  // Keys written (each to a value and a list state).
  int keys = 2000;
  // Parallel uploads of checkpoint files.
  int transfer_threads = 4;
  // Keep trace events (for --trace_out); the hash is kept either way.
  bool keep_trace_events = false;
};

struct WorldDemoResult {
  uint64_t trace_hash = 0;
  uint64_t trace_events = 0;
  int64_t virtual_time_micros = 0;
  int uploaded_files = 0;
  uint64_t uploaded_bytes = 0;
  int restored_keys = 0;
  // The job lifecycle phase (scenarios/lifecycle_generator.h); restores_verified counts side-world restores.
  std::string job_configuration;
  int checkpoints_completed = 0;
  int restores_verified = 0;
  std::string trace_text;
  std::string chrome_trace_json;
};

// Runs the demo. An error means the world misbehaved (a restored key missing or wrong, an operation failed).
absl::StatusOr<WorldDemoResult> RunWorldDemo(const WorldDemoOptions& options);

}  // namespace snapsim

#endif  // SNAPSIM_SCENARIOS_WORLD_DEMO_H_
