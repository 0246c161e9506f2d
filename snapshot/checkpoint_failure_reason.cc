#include "snapshot/checkpoint_failure_reason.h"

#include <string>

#include "absl/strings/cord.h"

namespace snapsim {
namespace {

constexpr absl::string_view kReasonPayload = "snapsim/checkpoint-failure-reason";

struct Named {
  CheckpointFailureReason reason;
  absl::string_view name;
};

constexpr Named kNames[] = {
    {CheckpointFailureReason::kPeriodicSchedulerShutdown, "PERIODIC_SCHEDULER_SHUTDOWN"},
    {CheckpointFailureReason::kTooManyCheckpointRequests, "TOO_MANY_CHECKPOINT_REQUESTS"},
    {CheckpointFailureReason::kMinimumTimeBetweenCheckpoints, "MINIMUM_TIME_BETWEEN_CHECKPOINTS"},
    {CheckpointFailureReason::kNotAllRequiredTasksRunning, "NOT_ALL_REQUIRED_TASKS_RUNNING"},
    {CheckpointFailureReason::kIoException, "IO_EXCEPTION"},
    {CheckpointFailureReason::kCheckpointExpired, "CHECKPOINT_EXPIRED"},
    {CheckpointFailureReason::kCheckpointSubsumed, "CHECKPOINT_SUBSUMED"},
    {CheckpointFailureReason::kCheckpointCoordinatorSuspend, "CHECKPOINT_COORDINATOR_SUSPEND"},
    {CheckpointFailureReason::kCheckpointCoordinatorShutdown, "CHECKPOINT_COORDINATOR_SHUTDOWN"},
    {CheckpointFailureReason::kJobFailoverRegion, "JOB_FAILOVER_REGION"},
    {CheckpointFailureReason::kFinalizeCheckpointFailure, "FINALIZE_CHECKPOINT_FAILURE"},
    {CheckpointFailureReason::kTriggerCheckpointFailure, "TRIGGER_CHECKPOINT_FAILURE"},
    {CheckpointFailureReason::kCheckpointDeclined, "CHECKPOINT_DECLINED"},
    {CheckpointFailureReason::kCheckpointAsyncException, "CHECKPOINT_ASYNC_EXCEPTION"},
    {CheckpointFailureReason::kTaskFailure, "TASK_FAILURE"},
    {CheckpointFailureReason::kCheckpointDeclinedTaskNotReady, "CHECKPOINT_DECLINED_TASK_NOT_READY"},
    {CheckpointFailureReason::kCheckpointDeclinedTaskClosing, "CHECKPOINT_DECLINED_TASK_CLOSING"},
    {CheckpointFailureReason::kCheckpointDeclinedSubsumed, "CHECKPOINT_DECLINED_SUBSUMED"},
    {CheckpointFailureReason::kAcknowledgedStateRefused, "ACKNOWLEDGED_STATE_REFUSED"},
};

}  // namespace

absl::string_view CheckpointFailureReasonName(CheckpointFailureReason reason) {
  for (const Named& named : kNames) {
    if (named.reason == reason) return named.name;
  }
  return "UNKNOWN";
}

std::optional<CheckpointFailureReason> ParseCheckpointFailureReason(absl::string_view name) {
  for (const Named& named : kNames) {
    if (named.name == name) return named.reason;
  }
  return std::nullopt;
}

bool IsPreFlight(CheckpointFailureReason reason) {
  switch (reason) {
    case CheckpointFailureReason::kPeriodicSchedulerShutdown:
    case CheckpointFailureReason::kTooManyCheckpointRequests:
    case CheckpointFailureReason::kMinimumTimeBetweenCheckpoints:
    case CheckpointFailureReason::kNotAllRequiredTasksRunning:
    case CheckpointFailureReason::kIoException:
      return true;
    default:
      return false;
  }
}

absl::Status WithFailureReason(absl::Status status, CheckpointFailureReason reason) {
  status.SetPayload(kReasonPayload, absl::Cord(std::string(CheckpointFailureReasonName(reason))));
  return status;
}

std::optional<CheckpointFailureReason> FailureReasonOf(const absl::Status& status) {
  auto payload = status.GetPayload(kReasonPayload);
  if (!payload.has_value()) return std::nullopt;
  return ParseCheckpointFailureReason(std::string(*payload));
}

}  // namespace snapsim
