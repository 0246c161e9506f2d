// A seeded end-to-end run of the checkpoint lifecycle: a simulated job whose configuration comes from the seed
// (parallelism, incremental or native full, local recovery, 1 to 3 concurrent checkpoints, restore mode) takes
// periodic and manual checkpoints while messages are lost and duplicated, survives a task failover, a machine
// crash and a coordinator failover, then stops and is resumed from its retained checkpoint with the opposite mode
// (full <-> incremental), another parallelism and local recovery flipped. After every restore the state must be
// the model's at the restored checkpoint; at quiescence storage must hold only referenced files (and the orphans
// the job accounts for). Part of the README's main job (sim/world_demo).
#ifndef SNAPSIM_SIM_JOB_LIFECYCLE_H_
#define SNAPSIM_SIM_JOB_LIFECYCLE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "sim/prng.h"
#include "sim/sim_object_store.h"
#include "sim/sim_scheduler.h"

namespace snapsim {

struct JobLifecycleReport {
  std::string configuration;
  int checkpoints_completed = 0;
  int restores_verified = 0;
  int messages_dropped = 0;
};

// An error names the invariant that broke and where.
absl::Status RunJobLifecycle(SimScheduler& scheduler, SimObjectStore& store, const Prng& prng,
                             JobLifecycleReport* report);

// The lifecycle alone in a fresh world for `seed` (what the sweep test runs and `snapsim_demo --job_only`
// replays). `report` is filled as far as the run got.
absl::Status RunJobLifecycleForSeed(uint64_t seed, JobLifecycleReport* report);

}  // namespace snapsim

#endif  // SNAPSIM_SIM_JOB_LIFECYCLE_H_
