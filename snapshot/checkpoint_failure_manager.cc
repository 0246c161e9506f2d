#include "snapshot/checkpoint_failure_manager.h"

#include "absl/strings/str_cat.h"
#include "backend/mutation.h"

namespace snapsim {

bool CheckpointFailureManager::IsCounted(CheckpointFailureReason reason) {
  switch (reason) {
    case CheckpointFailureReason::kIoException:
    case CheckpointFailureReason::kCheckpointAsyncException:
    case CheckpointFailureReason::kCheckpointDeclined:
    case CheckpointFailureReason::kCheckpointExpired:
    // FLINK-32347 (1.18): a checkpoint that could not be finalized or stored counts. The table of Flink 1.15-1.17,
    // which ignored it, was ported here, so a job whose checkpoints never finalized never failed over (found by
    // invariant 12: swarm seed 44, kept as finalize_failure_counts.scenario).
    case CheckpointFailureReason::kFinalizeCheckpointFailure:
      return !SNAPSIM_MUTANT("finalize-not-counted");
    default:
      return false;
  }
}

std::optional<absl::Status> CheckpointFailureManager::HandleCheckpointException(
    int64_t checkpoint_id, const CheckpointProperties& properties, CheckpointFailureReason reason, bool task_level,
    absl::string_view detail) {
  const bool job_level = !task_level || IsPreFlight(reason);
  if (!job_level && properties.is_synchronous_savepoint()) {
    return absl::AbortedError(absl::StrCat("synchronous savepoint ", checkpoint_id, " failed in a task: ",
                                           CheckpointFailureReasonName(reason), ": ", detail));
  }
  if (job_level && properties.is_savepoint()) return std::nullopt;  // the user asked for it; a failover won't help
  if (tolerable_failed_checkpoints_ < 0 || checkpoint_id <= last_succeeded_id_ || !IsCounted(reason)) {
    return std::nullopt;
  }
  if (counted_ids_.insert(checkpoint_id).second) ++continuous_failures_;
  if (SNAPSIM_MUTANT("expired-counted-twice") && reason == CheckpointFailureReason::kCheckpointExpired) {
    ++continuous_failures_;
  }
  if (continuous_failures_ <= tolerable_failed_checkpoints_) return std::nullopt;
  continuous_failures_ = 0;
  counted_ids_.clear();
  return absl::AbortedError(absl::StrCat("Exceeded checkpoint tolerable failure threshold (",
                                         tolerable_failed_checkpoints_, "): checkpoint ", checkpoint_id, " failed: ",
                                         CheckpointFailureReasonName(reason), ": ", detail));
}

void CheckpointFailureManager::HandleCheckpointSuccess(int64_t checkpoint_id) {
  if (checkpoint_id <= last_succeeded_id_) return;
  last_succeeded_id_ = checkpoint_id;
  continuous_failures_ = 0;
  counted_ids_.clear();
}

}  // namespace snapsim
