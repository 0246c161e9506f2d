// The decision log: what the simulated job saw of the job manager's decisions, in the order it happened, for the
// checker's reference model of them (scenarios/decision_model.h, invariant 12). Three sources feed it:
//  - the world's calls into the coordinator, each logged when it begins and when it ends: a call may wait for the
//    coordinator's lock, and the coordinator holds its lock across virtual time only inside such calls (a
//    completion writing its metadata), so the model knows when a timer could have been held back;
//  - what tasks saw of their snapshots (a trigger refused, a synchronous or asynchronous part that failed, one that
//    was cancelled) and what the job answered when the coordinator asked which tasks run;
//  - what the coordinator reported it decided (snapshot/'s CheckpointDecisionListener: triggered, completed, aborted
//    with a reason, requests refused, the periodic scheduler's requests) and the failovers it asked for.
// Reasons travel by Flink's name ("CHECKPOINT_EXPIRED"): the model keeps its own table of what they mean.
#ifndef SNAPSIM_SIM_DECISION_LOG_H_
#define SNAPSIM_SIM_DECISION_LOG_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace snapsim {

struct DecisionEvent {
  enum class Kind {
    // The world.
    kCoordinatorStarted,  // a new coordinator (job start, coordinator failover): a failure manager of its own
    kCoordinatorKilled,   // the coordinator process died: nothing it had pending is decided any more
    kCallBegin,           // `call` (`call_id`) into the coordinator began
    kCallEnd,             // ... and returned
    kTaskOutcome,         // a task's snapshot of `checkpoint_id` did not succeed: `outcome`, `detail`
    kRunningAttempts,     // the coordinator asked which attempts run: `all_running`
    kFailoverRequested,   // the coordinator asked the job to fail over (TaskGateway::FailJob): `detail`
    // The coordinator's reports.
    kSchedulerStarted,
    kSchedulerStopped,
    kPeriodicRequest,
    kRequestRejected,  // `reason`, `periodic`, `checkpoint_kind`
    kTriggered,        // `checkpoint_id`, `checkpoint_kind`, `periodic`
    kCompleted,        // `checkpoint_id`
    kAborted,          // `checkpoint_id`, `reason`, `task_level`, `detail`
  };
  enum class Call {
    kNone,
    kRequestCheckpoint,  // a user's (scenario step's) request: `checkpoint_kind`
    kAcknowledge,        // `checkpoint_id`, `subtask`, `attempt`
    kDecline,            // `checkpoint_id`, `subtask`, `attempt`, `reason`
    kAbortPending,       // a failover aborts what is pending: `reason`
    kStopScheduler,
    kStartScheduler,
    kShutdown,
  };
  enum class Outcome {
    kNone,
    kTriggerDuplicate,     // the task had taken this trigger already
    kTriggerRefused,       // the task could not take it (closed, subsumed by a newer one, aborted first)
    kSynchronousFailure,   // the synchronous part failed: the task fails
    kAsynchronousFailure,  // the asynchronous part failed (uploads, local copy)
    kCancelled,            // the asynchronous part was cancelled (an abort notification, the task closing)
  };

  Kind kind = Kind::kCallBegin;
  int64_t time_micros = 0;
  // JobWorld::clock_jumps() when it was logged: when it moved since the previous event, time passed while one
  // activity ran, and a timer that fell due then may run only now.
  uint64_t clock_jumps = 0;
  // Which of the job's coordinators (1, 2, ... after coordinator failovers) it concerns: a call that reaches a dead
  // one decides nothing.
  int coordinator = 0;
  Call call = Call::kNone;
  uint64_t call_id = 0;
  int64_t checkpoint_id = -1;
  int subtask = -1;
  int64_t attempt = -1;
  // "checkpoint", "full-checkpoint", "savepoint", "sync-savepoint".
  std::string checkpoint_kind;
  // A failure reason's name.
  std::string reason;
  std::string detail;
  bool periodic = false;
  bool task_level = false;
  // kTaskOutcome: the attempt still ran when its asynchronous part ended. kRunningAttempts: every subtask runs.
  bool task_running = true;
  bool all_running = true;
  Outcome outcome = Outcome::kNone;

  // One line, for violation messages and traces.
  std::string ToString() const;
};

absl::string_view DecisionCallName(DecisionEvent::Call call);
absl::string_view DecisionOutcomeName(DecisionEvent::Outcome outcome);

}  // namespace snapsim

#endif  // SNAPSIM_SIM_DECISION_LOG_H_
