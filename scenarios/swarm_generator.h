// The swarm generator: a seed becomes a scenario with a fault mix of its own (swarm testing: each seed turns some
// fault kinds off and weights the others, chances as integer ratios), printed as the scenario's banner. The program
// uses the whole vocabulary: writes to every state, flushes and compactions (SST churn, so shared files really
// become unused and get deleted), checkpoints and savepoints in both formats, lost, duplicated, delayed and
// reordered messages, task failovers, graceful and hard machine crashes, coordinator failovers, and stops with
// resumes (from the latest checkpoint or from a savepoint, same or other parallelism, every restore mode, both
// checkpoint modes, local recovery on and off, several in a row). A safety phase runs with faults armed; then
// `faults-off` and a liveness phase whose checkpoint must complete within a stated bound (each retry reported).
// After TigerBeetle's VOPR swarm options.
#ifndef SNAPSIM_SCENARIOS_SWARM_GENERATOR_H_
#define SNAPSIM_SCENARIOS_SWARM_GENERATOR_H_

#include <cstdint>

#include "scenarios/scenario.h"

namespace snapsim {

struct SwarmOptions {
  // Only fault kinds every invariant must survive (the fault model's `recoverable`); otherwise failed deletes too.
  bool recoverable_only = false;
};

Scenario GenerateSwarmScenario(uint64_t seed, const SwarmOptions& options = {});

}  // namespace snapsim

#endif  // SNAPSIM_SCENARIOS_SWARM_GENERATOR_H_
