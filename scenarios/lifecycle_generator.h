// The job lifecycle as a generated scenario: a seed becomes a scenario in the scenario language (configuration and
// steps), so the run a seed makes can be printed, replayed, kept and edited like any hand-written one. Each seed
// draws a configuration (parallelism, incremental or native full, local recovery, 1 to 3 concurrent checkpoints,
// retained checkpoints, restore mode), writes to every state with periodic and manual checkpoints, flushes and
// compactions, while scripted messages are lost, duplicated, delayed or reordered; survives a task failover, a
// machine crash (graceful or hard) and a coordinator failover; then stops and resumes from its latest retained
// checkpoint with the opposite mode, another parallelism and local recovery flipped, and restores every retained
// snapshot at yet another parallelism. Liveness steps report every retry they needed.
// The swarm generator of the sweep issue will widen this; the shape is TigerBeetle's VOPR workload.
#ifndef SNAPSIM_SCENARIOS_LIFECYCLE_GENERATOR_H_
#define SNAPSIM_SCENARIOS_LIFECYCLE_GENERATOR_H_

#include <cstdint>
#include <string>

#include "scenarios/scenario.h"

namespace snapsim {

Scenario GenerateLifecycleScenario(uint64_t seed);
// The checkpoint timeout of generated scenarios (lifecycle and swarm), unless a seed draws a shorter one.
inline constexpr int64_t kGeneratedTimeoutMs = 400;

// "parallelism=2 incremental local-recovery max_concurrent=2 retained=1 resume=CLAIM" (and the timeout where it is
// not kGeneratedTimeoutMs)
std::string DescribeConfiguration(const ScenarioConfig& config);

}  // namespace snapsim

#endif  // SNAPSIM_SCENARIOS_LIFECYCLE_GENERATOR_H_
