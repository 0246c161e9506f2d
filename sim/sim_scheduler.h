// The deterministic scheduler: the simulated side of the runtime seam (backend/runtime.h). Hand-off threads: every
// activity is a real thread that runs only while it holds the single baton; at every wait point (Signal::Wait,
// SleepForMicros, Yield) the baton goes to a runnable activity chosen by the seed. Virtual time orders timers by
// (time, sequence) and advances only when nothing is runnable. RocksDB's background jobs are queued here (SimEnv
// forwards Env::Schedule) and drained by a "rocksdb-background" activity, or, during a blocking RocksDB call, by a
// helper that runs under the caller's baton while the caller waits inside RocksDB (../shared/TOOLCHAIN.md).
// Every spawned activity that returns leaves a span in the trace (component "activity", named after the activity)
// from the virtual time it was spawned, so time spent waiting for its first turn counts, to the time its body
// returned; an activity abandoned at destruction leaves none. After FoundationDB's sim2 and TigerBeetle's VOPR.
#ifndef SNAPSIM_SIM_SIM_SCHEDULER_H_
#define SNAPSIM_SIM_SIM_SCHEDULER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backend/runtime.h"
#include "sim/prng.h"
#include "sim/trace.h"

namespace snapsim {

struct SimSchedulerOptions {
  // Upper bound on activities alive at once (spawned and not finished); Spawn beyond it is a programmer error.
  int max_live_activities = 4096;
  // Upper bound on queued RocksDB background jobs.
  int max_queued_background_jobs = 4096;
  // Keep every trace event (for text / Chrome JSON output); the hash is always kept.
  bool keep_trace_events = false;
  // False: record nothing (the hash stays at its initial value). Only for measuring the trace's cost
  // (//tests/bench:swarm_throughput_benchmark); a run without its trace cannot be judged deterministic.
  bool record_trace = true;
};

// What RunUntilQuiescent found.
struct QuiescenceReport {
  // True when nothing was runnable and no timer was pending; false when the step limit stopped the run.
  bool quiescent = false;
  uint64_t steps = 0;
  // Activities not finished: "name (state)". Non-empty at quiescence means they wait on something that never
  // came (a lost notification, a deadlock).
  std::vector<std::string> pending;
  std::string ToString() const;
};

class SimScheduler : public Runtime {
 public:
  // The constructing thread becomes the "main" activity: it holds the baton and drives the run. A scheduler may be
  // nested: created and destroyed by another scheduler's running activity (a side world that must not advance the
  // main world's clock); the thread is that activity again once the nested scheduler is destroyed.
  explicit SimScheduler(uint64_t seed, SimSchedulerOptions options = {});
  // Activities still blocked are abandoned: their threads stay parked, holding only the scheduler's shared core.
  ~SimScheduler() override;
  SimScheduler(const SimScheduler&) = delete;
  SimScheduler& operator=(const SimScheduler&) = delete;

  // Runtime.
  void Spawn(std::string name, std::function<void()> body) override;
  std::shared_ptr<Signal> NewSignal() override;
  int64_t NowMicros() override;
  void SleepForMicros(int64_t micros) override;
  // From now on, the seed's streams choose who runs next and draw unique ids (`snapsim explain`).
  void Reseed(uint64_t seed);
  // While the main activity waits in Signal::WaitUnlessDeadlocked, the clock does not pass `micros`: a timer due
  // later wakes the waiter as a deadlock would (it returns false), so a run whose awaited snapshot is never decided
  // while timers keep firing (periodic triggers) ends with a verdict instead of running on forever. Changes nothing
  // else: no scheduling point is added. INT64_MAX (the default): no horizon.
  void SetWaitHorizon(int64_t micros);
  // Whether a wait was woken at the horizon since the last SetWaitHorizon.
  bool wait_horizon_reached() const;
  void Yield() override;
  std::string NewUniqueId() override;
  rocksdb::Status RunBlockingRocksDbCall(const std::function<rocksdb::Status()>& call) override;

  // REQUIRES: called by the main activity. Runs other activities until quiescence or `step_limit` hand-offs.
  QuiescenceReport RunUntilQuiescent(uint64_t step_limit = 1'000'000);

  // RocksDB background jobs (SimEnv::Schedule / UnSchedule).
  void EnqueueBackgroundJob(void (*function)(void*), void* argument, void* tag, void (*unschedule)(void*));
  // Removes queued jobs with `tag`, calling their unschedule functions; returns how many.
  int UnscheduleBackgroundJobs(void* tag);
  int QueuedBackgroundJobs() const;

  // Advances virtual time without a scheduling point (RocksDB's Env::SleepForMicroseconds).
  void AdvanceTime(int64_t micros);
  // How often AdvanceTime moved the clock so far: time passed while one activity ran, so timers that fell due then
  // ran late (the decision model must not expect them on time).
  uint64_t clock_jumps() const;
  // True on the thread that runs RocksDB's background jobs while a blocking call's caller waits inside RocksDB.
  // That thread and the caller can both be awake: RocksDB 7.8.3 wakes the caller of a flush or compaction that
  // failed (bg_cv_.SignalAll) and then, on the helper, sleeps a second and scans for obsolete files (the
  // BackgroundCallFlush / BackgroundCallCompaction error path), so what follows an error there is ordered by real
  // thread timing. The disk fault hook is not asked on it (sim_machine.cc), which keeps runs deterministic.
  static bool OnBlockingCallHelper();
  uint64_t seed() const;
  // Baton hand-offs from one activity's thread to another's so far (each a context switch between OS threads).
  uint64_t handoffs() const;
  // Activities spawned so far.
  uint64_t activities_spawned() const;
  // OS threads started for them so far: a finished activity's thread runs the next one spawned, so this is about
  // the most activities ever alive at once.
  uint64_t threads_started() const;
  // The run's trace; components record into it with the current virtual time.
  Trace& trace();
  // Events carry the recording activity's part (SetPart) and `args`.
  void RecordTrace(absl::string_view component, absl::string_view event, int64_t duration_micros = 0,
                   TraceArgs args = {});
  // Records a span from `start_micros` (an earlier NowMicros()) to now, e.g. a checkpoint from trigger to
  // completion. Call it when the span ends; like RecordTrace, from the activity holding the baton.
  // REQUIRES: start_micros <= NowMicros() (always checked).
  void RecordSpan(absl::string_view component, absl::string_view event, int64_t start_micros, TraceArgs args = {});
  // The part of the system the calling activity works for from now on ("coordinator", "subtask 2"): its trace
  // events are drawn there (trace.h). Activities it spawns inherit it; the main activity's is "scenario".
  // Ignored from a thread that is none of its activities. Not a scheduling point; no effect on the run or its hash.
  void SetPart(absl::string_view part);
  // The calling activity's part ("" from any other thread).
  std::string part() const;

  struct Core;

 private:
  std::shared_ptr<Core> core_;
};

}  // namespace snapsim

#endif  // SNAPSIM_SIM_SIM_SCHEDULER_H_
