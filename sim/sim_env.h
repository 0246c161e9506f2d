// SimEnv: the rocksdb::Env of one simulated machine. Files go to its SimFileSystem; the clock is the scheduler's
// virtual time; unique ids and the host name come from the seed; RocksDB's background jobs (Env::Schedule) are
// queued on the SimScheduler, which drains them deterministically, so no RocksDB pool thread ever runs.
// After RocksDB's EnvWrapper / CompositeEnv and ../shared/TOOLCHAIN.md's simulation facts.
//
// RocksDB's DB session id (written into every SST's table properties) would differ per process: sim_env.cc replaces
// the library's generator so a SimEnv's DBs draw it from the seed (DESIGN.md invariant 7 covers stored bytes).
//
// One thread outside the scheduler remains: RocksDB's process-wide periodic-task timer, which only flushes the
// info log (the simulation preset's logger discards everything) and touches no file.
#ifndef SNAPSIM_SIM_SIM_ENV_H_
#define SNAPSIM_SIM_SIM_ENV_H_

#include <memory>
#include <mutex>
#include <string>

#include "rocksdb/env.h"
#include "rocksdb/system_clock.h"
#include "sim/prng.h"
#include "sim/sim_file_system.h"
#include "sim/sim_scheduler.h"

namespace snapsim {

// Wall-clock seconds that virtual time 0 corresponds to (2026-01-01T00:00:00Z), for RocksDB's file timestamps.
inline constexpr int64_t kSimulatedEpochSeconds = 1767225600;

class SimClock : public rocksdb::SystemClock {
 public:
  explicit SimClock(SimScheduler* scheduler) : scheduler_(scheduler) {}
  const char* Name() const override { return "SimClock"; }
  uint64_t NowMicros() override;
  uint64_t NowNanos() override { return NowMicros() * 1000; }
  uint64_t CPUMicros() override { return 0; }
  // RocksDB sleeps (write stalls, retries) advance virtual time; they are not scheduling points, since RocksDB may
  // hold its DB mutex while it sleeps.
  void SleepForMicroseconds(int micros) override;
  rocksdb::Status GetCurrentTime(int64_t* unix_time) override;
  std::string TimeToString(uint64_t time) override;

 private:
  SimScheduler* scheduler_;
};

class SimEnv : public rocksdb::EnvWrapper {
 public:
  // `prng` is this machine's stream (for unique ids). The scheduler and file system must outlive the Env.
  SimEnv(SimScheduler* scheduler, std::shared_ptr<SimFileSystem> file_system, Prng prng);
  ~SimEnv() override;

  static const char* kClassName() { return "SimEnv"; }
  const char* Name() const override { return kClassName(); }

  SimFileSystem* sim_file_system() const { return sim_file_system_.get(); }
  SimScheduler* scheduler() const { return scheduler_; }

  void Schedule(void (*function)(void* arg), void* arg, Priority pri = LOW, void* tag = nullptr,
                void (*unschedule_function)(void* arg) = nullptr) override;
  int UnSchedule(void* tag, Priority pri) override;
  void StartThread(void (*function)(void* arg), void* arg) override;
  void WaitForJoin() override {}
  unsigned int GetThreadPoolQueueLen(Priority pri = LOW) const override;
  void SetBackgroundThreads(int number, Priority pri = LOW) override;
  int GetBackgroundThreads(Priority pri = LOW) override;
  void IncBackgroundThreadsIfNeeded(int number, Priority pri) override;
  rocksdb::Status GetHostName(char* name, uint64_t length) override;
  std::string GenerateUniqueId() override;
  // The next RocksDB DB session id of this machine (20 base-36 characters, RocksDB's encoding), from its own stream.
  std::string NextDbSessionId();
  uint64_t NowMicros() override { return clock_->NowMicros(); }
  uint64_t NowNanos() override { return clock_->NowNanos(); }
  uint64_t NowCPUNanos() override { return 0; }
  void SleepForMicroseconds(int micros) override { clock_->SleepForMicroseconds(micros); }
  rocksdb::Status GetCurrentTime(int64_t* unix_time) override { return clock_->GetCurrentTime(unix_time); }
  std::string TimeToString(uint64_t time) override { return clock_->TimeToString(time); }
  uint64_t GetThreadID() const override { return 0; }

 private:
  SimScheduler* scheduler_;
  std::shared_ptr<SimFileSystem> sim_file_system_;
  std::shared_ptr<SimClock> clock_;
  std::mutex mutex_;
  Prng prng_;
  Prng session_id_prng_;
  int background_threads_[rocksdb::Env::Priority::TOTAL] = {1, 1, 1, 1};
};

}  // namespace snapsim

#endif  // SNAPSIM_SIM_SIM_ENV_H_
