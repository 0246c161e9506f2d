// Why a checkpoint or a request for one failed: Flink's CheckpointFailureReason (1.18), with the names Flink prints,
// and whether a reason can only end a request before a checkpoint exists (Flink's isPreFlight). Which reasons count
// toward the tolerable failures is the failure manager's business (checkpoint_failure_manager.h). A status can carry
// its reason as a payload (WithFailureReason), so a task's refusal says why without parsing text.
#ifndef SNAPSIM_SNAPSHOT_CHECKPOINT_FAILURE_REASON_H_
#define SNAPSIM_SNAPSHOT_CHECKPOINT_FAILURE_REASON_H_

#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace snapsim {

enum class CheckpointFailureReason {
  // Requests refused before a checkpoint exists (pre-flight).
  kPeriodicSchedulerShutdown,
  kTooManyCheckpointRequests,
  kMinimumTimeBetweenCheckpoints,
  kNotAllRequiredTasksRunning,
  kIoException,
  // The coordinator's own.
  kCheckpointExpired,
  kCheckpointSubsumed,
  kCheckpointCoordinatorSuspend,
  kCheckpointCoordinatorShutdown,
  kJobFailoverRegion,
  kFinalizeCheckpointFailure,
  kTriggerCheckpointFailure,
  // A task's (a decline carries one).
  kCheckpointDeclined,
  kCheckpointAsyncException,
  kTaskFailure,
  kCheckpointDeclinedTaskNotReady,
  kCheckpointDeclinedTaskClosing,
  kCheckpointDeclinedSubsumed,
  // snapsim's own, no Flink counterpart: the coordinator refused an acknowledgement's state (its shared state could
  // not be registered, or it is not of the job's shape). Flink throws from receiveAcknowledgeMessage and lets the
  // checkpoint expire; snapsim aborts it at once (checkpoint_coordinator.h, "Deviations").
  kAcknowledgedStateRefused,
};

// "CHECKPOINT_EXPIRED", as Flink prints it.
absl::string_view CheckpointFailureReasonName(CheckpointFailureReason reason);
std::optional<CheckpointFailureReason> ParseCheckpointFailureReason(absl::string_view name);
bool IsPreFlight(CheckpointFailureReason reason);

// `status` with `reason` attached (a copy); the reason a status carries, if any.
absl::Status WithFailureReason(absl::Status status, CheckpointFailureReason reason);
std::optional<CheckpointFailureReason> FailureReasonOf(const absl::Status& status);

}  // namespace snapsim

#endif  // SNAPSIM_SNAPSHOT_CHECKPOINT_FAILURE_REASON_H_
