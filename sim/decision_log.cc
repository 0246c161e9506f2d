#include "sim/decision_log.h"

#include "absl/strings/str_cat.h"

namespace snapsim {

absl::string_view DecisionCallName(DecisionEvent::Call call) {
  switch (call) {
    case DecisionEvent::Call::kNone:
      return "none";
    case DecisionEvent::Call::kRequestCheckpoint:
      return "request";
    case DecisionEvent::Call::kAcknowledge:
      return "acknowledge";
    case DecisionEvent::Call::kDecline:
      return "decline";
    case DecisionEvent::Call::kAbortPending:
      return "abort-pending";
    case DecisionEvent::Call::kStopScheduler:
      return "stop-scheduler";
    case DecisionEvent::Call::kStartScheduler:
      return "start-scheduler";
    case DecisionEvent::Call::kShutdown:
      return "shutdown";
  }
  return "?";
}

absl::string_view DecisionOutcomeName(DecisionEvent::Outcome outcome) {
  switch (outcome) {
    case DecisionEvent::Outcome::kNone:
      return "none";
    case DecisionEvent::Outcome::kTriggerDuplicate:
      return "trigger duplicate";
    case DecisionEvent::Outcome::kTriggerRefused:
      return "trigger refused";
    case DecisionEvent::Outcome::kSynchronousFailure:
      return "synchronous part failed";
    case DecisionEvent::Outcome::kAsynchronousFailure:
      return "asynchronous part failed";
    case DecisionEvent::Outcome::kCancelled:
      return "cancelled";
  }
  return "?";
}

std::string DecisionEvent::ToString() const {
  std::string out = absl::StrCat(time_micros, "us ");
  auto checkpoint = [this] { return checkpoint_id >= 0 ? absl::StrCat(" checkpoint ", checkpoint_id) : ""; };
  auto task = [this] { return subtask >= 0 ? absl::StrCat(" subtask ", subtask, " attempt ", attempt) : ""; };
  switch (kind) {
    case Kind::kCoordinatorStarted:
      absl::StrAppend(&out, "coordinator started");
      break;
    case Kind::kCoordinatorKilled:
      absl::StrAppend(&out, "coordinator killed");
      break;
    case Kind::kCallBegin:
    case Kind::kCallEnd:
      absl::StrAppend(&out, DecisionCallName(call), kind == Kind::kCallBegin ? " began" : " ended", " (call ",
                      call_id, ")", checkpoint(), task(), reason.empty() ? "" : " ", reason,
                      checkpoint_kind.empty() ? "" : " ", checkpoint_kind);
      break;
    case Kind::kTaskOutcome:
      absl::StrAppend(&out, "task", task(), checkpoint(), ": ", DecisionOutcomeName(outcome),
                      task_running ? "" : " (no longer running)", detail.empty() ? "" : ": ", detail);
      break;
    case Kind::kRunningAttempts:
      absl::StrAppend(&out, all_running ? "every task runs" : "not every task runs");
      break;
    case Kind::kFailoverRequested:
      absl::StrAppend(&out, "failover requested: ", detail);
      break;
    case Kind::kSchedulerStarted:
      absl::StrAppend(&out, "periodic scheduler started");
      break;
    case Kind::kSchedulerStopped:
      absl::StrAppend(&out, "periodic scheduler stopped");
      break;
    case Kind::kPeriodicRequest:
      absl::StrAppend(&out, "periodic request");
      break;
    case Kind::kRequestRejected:
      absl::StrAppend(&out, periodic ? "periodic " : "", checkpoint_kind, " request rejected: ", reason);
      break;
    case Kind::kTriggered:
      absl::StrAppend(&out, periodic ? "periodic " : "", checkpoint_kind, checkpoint(), " triggered");
      break;
    case Kind::kCompleted:
      absl::StrAppend(&out, checkpoint(), " completed");
      break;
    case Kind::kAborted:
      absl::StrAppend(&out, checkpoint(), " aborted: ", reason, task_level ? " (a task's)" : "",
                      detail.empty() ? "" : ": ", detail);
      break;
  }
  return out;
}

}  // namespace snapsim
