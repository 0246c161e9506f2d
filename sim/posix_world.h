// The `--fs=posix` world: real disk and real threads. Checkpoint storage is a directory, each machine's disk a
// directory under the same base, the runtime real threads (ThreadRuntime), the clock the steady clock. Nothing
// here is deterministic: it runs the same scenarios as the simulation so that a passing scenario can be seen to
// pass for real too. A crash loses nothing (the operating system survived); a hard kill still cuts the process off
// (sim_job.h's ProcessStorage). Timers run in real time, so the executor caps checkpoint timeouts in this world.
#ifndef SNAPSIM_SIM_POSIX_WORLD_H_
#define SNAPSIM_SIM_POSIX_WORLD_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "backend/runtime.h"
#include "sim/job_world.h"
#include "sim/trace.h"
#include "snapshot/directory_checkpoint_storage.h"

namespace snapsim {

class PosixWorld : public JobWorld {
 public:
  // Creates `base_directory` (it must not exist yet, or be empty) and removes it when destroyed unless `keep`.
  static absl::StatusOr<std::unique_ptr<PosixWorld>> Create(std::string base_directory, bool keep_trace_events,
                                                            bool keep_files = false);
  ~PosixWorld() override;

  Runtime& runtime() override { return *runtime_; }
  InspectableStorage& storage() override { return *storage_; }
  std::unique_ptr<JobMachine> NewMachine(const std::string& name, const Prng& prng) override;
  OptionsPreset preset() const override { return OptionsPreset::kRealDisk; }
  void Record(absl::string_view component, absl::string_view event, TraceArgs args = {}) override;
  void RecordSpan(absl::string_view component, absl::string_view event, int64_t start_micros,
                  TraceArgs args = {}) override;
  // Checkpoint timeouts are capped at this on real disk (the executor applies it), so that a run whose checkpoint
  // is meant to expire stays short. Generous beside the 0.1-0.4 s a checkpoint of the library's state takes even on
  // a loaded machine: a cap of 1 s let a checkpoint required to complete expire under CI's load.
  static constexpr int64_t kMaxCheckpointTimeoutMicros = 8'000'000;
  // ... and raised to at least this (a timeout under a tenth of it, set to expire a checkpoint at once, is kept): the
  // library's 200-400 ms timeouts, sized for virtual time, expired a required checkpoint on a machine running three
  // times more work than cores. A real disk has no slow-storage fault, so a longer timeout changes no expiry a
  // scenario scripts (those come from lost or held acknowledgements).
  static constexpr int64_t kMinCheckpointTimeoutMicros = 2'000'000;
  // Waits until no activity runs and no sleeper wakes within the capped timeout and half a second: an expiry is
  // waited out; a checkpoint's canceller ends early once it is decided (Runtime::SleepForMicrosUnless).
  bool RunUntilQuiescent(std::vector<std::string>* pending) override;
  std::unique_ptr<JobWorld> NewSideWorld(uint64_t seed) override;
  bool deterministic() const override { return false; }
  Trace& trace() override { return trace_; }
  int64_t ElapsedMicros() { return runtime_->NowMicros() - start_micros_; }
  const std::string& base_directory() const { return base_directory_; }

 private:
  PosixWorld(std::string base_directory, bool keep_trace_events, bool keep_files);

  const std::string base_directory_;
  const bool keep_files_;
  int side_worlds_ = 0;
  Trace trace_;
  // Destroyed last: every activity is joined before the storage and the trace go.
  std::unique_ptr<ThreadRuntime> runtime_;
  std::unique_ptr<InspectableStorage> storage_;
  int64_t start_micros_ = 0;
};

}  // namespace snapsim

#endif  // SNAPSIM_SIM_POSIX_WORLD_H_
