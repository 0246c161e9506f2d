// What a simulated job and its checker run on: a runtime, checkpoint storage they can inspect, machines with local
// disks, a trace, and quiescence. Two worlds implement it: the deterministic simulation (SimWorld, here: the
// scheduler, the object store and SimMachines) and real disk with real threads (PosixWorld, posix_world.h: the
// `--fs=posix` mode, not deterministic, for comparing verdicts). The system under test never sees this interface.
#ifndef SNAPSIM_SIM_JOB_WORLD_H_
#define SNAPSIM_SIM_JOB_WORLD_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "backend/backend_options.h"
#include "backend/runtime.h"
#include "rocksdb/env.h"
#include "sim/prng.h"
#include "sim/sim_machine.h"
#include "sim/sim_object_store.h"
#include "sim/sim_scheduler.h"
#include "sim/trace.h"
#include "snapshot/checkpoint_storage.h"

namespace snapsim {

// Checkpoint storage that a checker can read without side effects (no latency, no faults, no trace).
class InspectableStorage : public CheckpointStorage {
 public:
  virtual std::vector<std::string> AllPaths() const = 0;
  virtual std::optional<StoredObjectInfo> Inspect(const std::string& path) const = 0;
  virtual std::optional<std::string> InspectBytes(const std::string& path) const = 0;
  // Puts a complete object (side worlds copy snapshots with it).
  virtual void PutDirect(const std::string& path, std::string bytes) = 0;
};

// A task manager's machine: its local disk and the directory the job keeps its files under.
class JobMachine {
 public:
  virtual ~JobMachine() = default;
  virtual const std::string& name() const = 0;
  virtual rocksdb::Env* env() const = 0;
  // Where this machine's files live on its disk ("/tm-0" in simulation).
  virtual std::string root() const = 0;
  // Power loss. Simulation: the disk keeps only what was synced, and objects still using the old Env fail. Real
  // disk: nothing is lost (a crash the operating system survived).
  virtual void Crash() = 0;
  // The task manager process dies and restarts; the disk keeps everything. Simulation: objects still using the old
  // Env fail. Real disk: nothing happens to the disk.
  virtual void RestartProcess() = 0;
  // Every file under `directory` (recursively, sorted), inspected without the trace or fault hooks.
  virtual std::vector<std::string> ListFiles(const std::string& directory) const = 0;
  // Silent corruption: one bit of each of the last `count` files (in path order) under the machine's root whose path
  // contains `path_contains` flips, chosen by `prng`; returns their paths. Simulation only (Unimplemented else).
  virtual absl::StatusOr<std::vector<std::string>> Corrupt(const std::string& path_contains, int count, Prng prng) {
    return absl::UnimplementedError("corruption is simulated only");
  }
};

class JobWorld {
 public:
  virtual ~JobWorld() = default;
  virtual Runtime& runtime() = 0;
  virtual InspectableStorage& storage() = 0;
  virtual std::unique_ptr<JobMachine> NewMachine(const std::string& name, const Prng& prng) = 0;
  virtual OptionsPreset preset() const = 0;
  virtual void Record(absl::string_view component, absl::string_view event, TraceArgs args = {}) = 0;
  // A span from `start_micros` (runtime clock) to now.
  virtual void RecordSpan(absl::string_view component, absl::string_view event, int64_t start_micros,
                          TraceArgs args = {}) = 0;
  // The part of the system the calling activity works for from now on (SimScheduler::SetPart); what it spawns
  // inherits it. Real threads keep no parts: their traces are drawn by component.
  virtual void SetPart(absl::string_view /*part*/) {}
  // The calling activity's part ("" where none is kept).
  virtual std::string part() const { return ""; }
  // From now on, the world's own randomness (schedule, ids, storage latency) comes from `seed` (`snapsim explain`).
  // Real threads have none to redraw.
  virtual void Reseed(uint64_t /*seed*/) {}
  // Simulation: a driver waiting for a snapshot is woken rather than let the clock pass `micros`
  // (SimScheduler::SetWaitHorizon). Real threads wait.
  virtual void SetWaitHorizon(int64_t /*micros*/) {}
  virtual bool wait_horizon_reached() const { return false; }
  // Runs (simulation) or waits (real threads) until no work is left: true when it got there; `pending` names what
  // still waits (simulation only).
  virtual bool RunUntilQuiescent(std::vector<std::string>* pending) = 0;
  // A fresh world of the same kind for restoring a snapshot aside (the checker's side world). Simulation: a nested
  // scheduler, so the run's clock and trace do not move. REQUIRES: used and destroyed before this world runs on.
  virtual std::unique_ptr<JobWorld> NewSideWorld(uint64_t seed) = 0;
  // OS-thread hand-offs between activities and activities spawned so far (benchmarks; 0 where not counted).
  virtual uint64_t handoffs() const { return 0; }
  virtual uint64_t activities_spawned() const { return 0; }
  virtual uint64_t threads_started() const { return 0; }
  // Times the clock moved while one activity ran (SimScheduler::clock_jumps; 0 where not counted).
  virtual uint64_t clock_jumps() const { return 0; }
  // When storage last committed an object (virtual time), or -1 where it is not known (real directories).
  virtual int64_t last_storage_commit_micros() const { return -1; }
  virtual bool deterministic() const = 0;
  virtual Trace& trace() = 0;
};

// The object store as inspectable storage.
class SimInspectableStorage : public InspectableStorage {
 public:
  explicit SimInspectableStorage(SimObjectStore* store) : store_(store) {}
  absl::StatusOr<std::unique_ptr<CheckpointOutputStream>> Create(const std::string& path) override {
    return store_->Create(path);
  }
  absl::StatusOr<std::string> Read(const std::string& path) override { return store_->Read(path); }
  absl::Status Delete(const std::string& path) override { return store_->Delete(path); }
  absl::StatusOr<std::vector<std::string>> List(const std::string& prefix) override { return store_->List(prefix); }
  absl::StatusOr<bool> Exists(const std::string& path) override { return store_->Exists(path); }
  absl::StatusOr<StoredObjectInfo> Stat(const std::string& path) override { return store_->Stat(path); }
  std::vector<std::string> AllPaths() const override { return store_->AllPaths(); }
  std::optional<StoredObjectInfo> Inspect(const std::string& path) const override { return store_->Inspect(path); }
  std::optional<std::string> InspectBytes(const std::string& path) const override {
    return store_->InspectBytes(path);
  }
  void PutDirect(const std::string& path, std::string bytes) override { store_->PutDirect(path, std::move(bytes)); }
  SimObjectStore* store() const { return store_; }

 private:
  SimObjectStore* store_;
};

// The simulated world: a scheduler and an object store (borrowed or owned) and SimMachines.
class SimWorld : public JobWorld {
 public:
  // Borrows both.
  SimWorld(SimScheduler* scheduler, SimObjectStore* store) : scheduler_(scheduler), storage_(store) {}
  // A world of its own: scheduler and store created from `seed`.
  explicit SimWorld(uint64_t seed, SimSchedulerOptions options = {});
  ~SimWorld() override;

  Runtime& runtime() override { return *scheduler_; }
  InspectableStorage& storage() override { return storage_; }
  std::unique_ptr<JobMachine> NewMachine(const std::string& name, const Prng& prng) override;
  OptionsPreset preset() const override { return OptionsPreset::kSimulation; }
  void Record(absl::string_view component, absl::string_view event, TraceArgs args = {}) override {
    scheduler_->RecordTrace(component, event, 0, std::move(args));
  }
  void RecordSpan(absl::string_view component, absl::string_view event, int64_t start_micros,
                  TraceArgs args = {}) override {
    scheduler_->RecordSpan(component, event, start_micros, std::move(args));
  }
  void SetPart(absl::string_view part) override { scheduler_->SetPart(part); }
  void Reseed(uint64_t seed) override {
    scheduler_->Reseed(seed);
    storage_.store()->Reseed(seed);
  }
  void SetWaitHorizon(int64_t micros) override { scheduler_->SetWaitHorizon(micros); }
  bool wait_horizon_reached() const override { return scheduler_->wait_horizon_reached(); }
  std::string part() const override { return scheduler_->part(); }
  bool RunUntilQuiescent(std::vector<std::string>* pending) override;
  std::unique_ptr<JobWorld> NewSideWorld(uint64_t seed) override { return std::make_unique<SimWorld>(seed); }
  bool deterministic() const override { return true; }
  uint64_t handoffs() const override { return scheduler_->handoffs(); }
  uint64_t activities_spawned() const override { return scheduler_->activities_spawned(); }
  uint64_t threads_started() const override { return scheduler_->threads_started(); }
  uint64_t clock_jumps() const override { return scheduler_->clock_jumps(); }
  int64_t last_storage_commit_micros() const override { return storage_.store()->last_commit_micros(); }
  Trace& trace() override { return scheduler_->trace(); }

  SimScheduler& scheduler() { return *scheduler_; }
  SimObjectStore& object_store() { return *storage_.store(); }
  // Asked before every operation on the disk of every machine this world made, before or after this call (faults/
  // installs its injector here); null removes it. Side worlds get none.
  void SetDiskFaultHook(DiskFaultHook hook) { *disk_faults_ = std::move(hook); }

 private:
  std::unique_ptr<SimScheduler> owned_scheduler_;
  std::unique_ptr<SimObjectStore> owned_store_;
  SimScheduler* scheduler_;
  SimInspectableStorage storage_;
  std::shared_ptr<DiskFaultHook> disk_faults_ = std::make_shared<DiskFaultHook>();
};

}  // namespace snapsim

#endif  // SNAPSIM_SIM_JOB_WORLD_H_
