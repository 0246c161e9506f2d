// The reference model of the job manager's decisions (invariant 12): fed the decision log (sim/decision_log.h) of
// one job and that job's configuration, it predicts from Flink 1.18's rules what the coordinator must decide and
// reports the first decision that differs. It is independent of snapshot/: it never asks the coordinator or its
// failure manager what to do, and keeps its own table of what every failure reason means. After RocksDB
// db_stress's expected-state oracle and Jepsen's models, for decisions instead of data.
//
// The rules (Flink 1.18: CheckpointFailureManager, CheckpointCoordinator, CheckpointRequestDecider,
// PendingCheckpoint, AsyncCheckpointRunnable, Task; shared/flink/JOBMANAGER_SIDE.md 4):
//  - Failure accounting. A checkpoint that fails with IO_EXCEPTION, CHECKPOINT_ASYNC_EXCEPTION, CHECKPOINT_DECLINED,
//    CHECKPOINT_EXPIRED or FINALIZE_CHECKPOINT_FAILURE counts, once per checkpoint id, and only when newer than the
//    last successful checkpoint or savepoint; a success resets the count; a count above `tolerable_failures` resets
//    it and fails the job over. A failure no task reported never counts for a savepoint; a task's failure of a
//    synchronous savepoint fails the job over whatever the reason and the count. Every other reason never counts.
//  - Abort reasons. A pending checkpoint ends with CHECKPOINT_EXPIRED once its timeout, counted from its trigger,
//    passed; with a task's reason when a task declined it first; with CHECKPOINT_SUBSUMED when a newer checkpoint (or
//    synchronous savepoint) completes (savepoints are never subsumed); with FINALIZE_CHECKPOINT_FAILURE when every
//    subtask acknowledged it but its metadata or store record could not be written; with CHECKPOINT_COORDINATOR_
//    SUSPEND, _SHUTDOWN or JOB_FAILOVER_REGION when the job stops triggering, shuts down or restores. A checkpoint
//    every subtask acknowledged in time completes.
//  - Declines. A task whose synchronous part failed declines with TASK_FAILURE (and fails); one whose asynchronous
//    part failed declines with CHECKPOINT_ASYNC_EXCEPTION if it still runs; a cancelled snapshot declines nothing;
//    a trigger a task cannot take is declined for a reason that does not count, or not at all.
//  - Triggering. At most `max_concurrent` checkpoints pend when one is triggered (savepoints are forced past it);
//    a periodic request within `min_pause` of the last completion is refused (MINIMUM_TIME_BETWEEN_CHECKPOINTS) and
//    the periodic trigger rescheduled to the moment the pause ends, then every base interval (max(interval,
//    min_pause)); periodic requests come at a fixed rate; manual requests and savepoints ignore the pause. Nothing
//    is triggered unless every task runs.
//
// Timing: a timer (a timeout, the periodic trigger) runs when it falls due unless the coordinator's lock is held
// then; the lock is held across virtual time only inside the world's calls into the coordinator, which the log
// brackets, and the clock may also move while one activity runs (RocksDB's sleeps; DecisionEvent::clock_jumps).
// So a timer is judged late only once the log shows a later time with no call open since it fell due, and a race
// at the same moment is decided by what happened (either order is Flink's).
//
// Deviations of snapsim the model allows, each with its reason:
//  - The first periodic trigger comes one base interval after the scheduler starts (Flink draws it from [min_pause,
//    base interval]): a run is a pure function of its scenario, and a fixed delay lets scenarios place triggers.
//  - ACKNOWLEDGED_STATE_REFUSED: an acknowledgement whose shared state cannot be registered aborts its checkpoint at
//    once, uncounted (Flink throws from receiveAcknowledgeMessage and lets the checkpoint expire, counted): the
//    registry's refusal is a fault of the harness's own making (a reused placeholder), not of the job.
//  - A task declines a trigger older than one it took, or one aborted before it arrived, with CHECKPOINT_DECLINED_
//    SUBSUMED (Flink ignores it and the checkpoint waits for its timeout or a newer completion): the checkpoint
//    cannot complete, and not counting it is what a subsumption would decide.
//  - A `savepoint sync=yes` step does not stop the periodic scheduler (the scenario keeps the job running; Flink's
//    stop-with-savepoint stops it first): the world's choice, not the coordinator's.
//
// Not judged: whether a request queued behind `max_concurrent` or the cleaner is triggered as soon as it may be (the
// cleaner's backlog is not in the log); which of several simultaneous timers runs first.
#ifndef SNAPSIM_SCENARIOS_DECISION_MODEL_H_
#define SNAPSIM_SCENARIOS_DECISION_MODEL_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "sim/decision_log.h"

namespace snapsim {

struct DecisionModelConfig {
  int parallelism = 1;
  int max_concurrent = 1;
  int64_t interval_micros = 0;
  int64_t min_pause_micros = 0;
  int64_t timeout_micros = 0;
  // -1: unlimited.
  int tolerable_failures = -1;
  // Judge when timers must have run (the simulated world); real threads (--fs=posix) judge reasons and counts only.
  bool strict_timing = true;
};

struct DecisionViolation {
  int64_t checkpoint_id = -1;
  std::string detail;
};

class DecisionModel {
 public:
  // `coverage` (may be null) counts the paths the decisions took, for the reachability goals ("abort
  // CHECKPOINT_EXPIRED", "decision: failover by tolerable failures", ...).
  DecisionModel(DecisionModelConfig config, std::map<std::string, int>* coverage);

  // The next event of the job's decision log. Returns the first decision that differs from the model's.
  std::optional<DecisionViolation> Observe(const DecisionEvent& event);
  // At the end of a batch of events (a step), at `now_micros` with the world's clock jumps so far: what the
  // coordinator owed by then (a failover, a subsumption, an expiry or a periodic request that fell due).
  std::optional<DecisionViolation> EndOfBatch(int64_t now_micros = -1, uint64_t clock_jumps = 0);

 private:
  struct Pending {
    int64_t id = 0;
    std::string kind;
    bool periodic = false;
    int64_t trigger_micros = 0;
    int64_t deadline_micros = 0;
    // Subtasks whose acknowledgement call began, and ended (each was processed by then).
    std::set<int> acknowledged;
    std::set<int> acknowledged_calls_ended;
  };
  struct OpenCall {
    DecisionEvent::Call call = DecisionEvent::Call::kNone;
    int64_t begin_micros = 0;
    int64_t checkpoint_id = -1;
    int subtask = -1;
    std::string reason;
  };
  struct Expected {
    std::string why;
    int64_t checkpoint_id = -1;
  };

  void Reset(int generation);
  bool CallOpen(DecisionEvent::Call call, int64_t checkpoint_id = -1, const std::string& reason = "") const;
  // `seen`: what showed the time had passed ("" for the event itself).
  std::optional<DecisionViolation> CheckTimers(const DecisionEvent& event, const std::string& seen = "");
  std::optional<DecisionViolation> CheckOwed(const DecisionEvent& event);
  std::optional<DecisionViolation> Apply(const DecisionEvent& event);
  std::optional<DecisionViolation> OnAborted(const DecisionEvent& event);
  std::optional<DecisionViolation> OnTriggered(const DecisionEvent& event);
  std::optional<DecisionViolation> OnRejected(const DecisionEvent& event);
  std::optional<DecisionViolation> OnCallBegin(const DecisionEvent& event);
  std::optional<DecisionViolation> OnCallEnd(const DecisionEvent& event);
  // The failure manager's part of an abort.
  void Count(const Pending& pending, const std::string& reason, bool task_level);
  std::string CountedSoFar() const;
  int64_t BaseInterval() const;

  const DecisionModelConfig config_;
  int generation_ = -1;
  bool killed_ = false;
  bool shut_down_ = false;
  std::map<int64_t, Pending> pending_;
  std::map<uint64_t, OpenCall> open_calls_;
  // When the set of open calls last became empty, and the clock jumps seen last.
  int64_t calls_closed_micros_ = 0;
  uint64_t clock_jumps_ = 0;
  int64_t last_completion_micros_ = -1;
  bool scheduler_running_ = false;
  // The periodic request the model expects next, and the earliest it may come.
  std::optional<int64_t> next_tick_micros_;
  int outstanding_periodic_ = 0;
  int outstanding_manual_ = 0;
  bool all_running_ = true;
  // Failure accounting.
  int continuous_failures_ = 0;
  std::vector<std::pair<int64_t, std::string>> counted_;
  int64_t last_succeeded_id_ = INT64_MIN;
  // What the coordinator owes before its next decision.
  std::optional<Expected> failover_owed_;
  std::set<int64_t> subsumption_owed_;
  int64_t subsumed_by_ = -1;
  // A task's outcome for (checkpoint, subtask, attempt): the decline reasons it may send ("" for none).
  std::map<std::tuple<int64_t, int, int64_t>, std::pair<std::string, std::set<std::string>>> declines_allowed_;
  std::map<std::string, int> own_coverage_;
  std::map<std::string, int>& coverage_;
};

// Flink 1.18's CheckpointFailureManager.checkFailureCounter table, the model's own copy.
bool DecisionModelCountsReason(const std::string& reason);

}  // namespace snapsim

#endif  // SNAPSIM_SCENARIOS_DECISION_MODEL_H_
