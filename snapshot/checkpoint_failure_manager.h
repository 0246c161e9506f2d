// The checkpoint failure manager: decides which failed checkpoints count toward the tolerable failures and when the
// job must fail over. After Flink's CheckpointFailureManager (shared/flink/JOBMANAGER_SIDE.md 4.7): a failure counts
// when its reason is one of the counted ones, once per checkpoint id, and only for a checkpoint newer than the last
// successful one; a success resets the count; a count above `tolerable_failed_checkpoints` resets it and asks for a
// failover. Failures the job manager saw (no task reported them) count for checkpoints and never for savepoints; a
// task's failure of a synchronous savepoint always fails the job over (a stopping job would otherwise wait forever).
#ifndef SNAPSIM_SNAPSHOT_CHECKPOINT_FAILURE_MANAGER_H_
#define SNAPSIM_SNAPSHOT_CHECKPOINT_FAILURE_MANAGER_H_

#include <cstdint>
#include <optional>
#include <set>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "snapshot/checkpoint_failure_reason.h"
#include "snapshot/checkpoint_properties.h"

namespace snapsim {

class CheckpointFailureManager {
 public:
  // -1: unlimited (nothing is counted).
  explicit CheckpointFailureManager(int tolerable_failed_checkpoints)
      : tolerable_failed_checkpoints_(tolerable_failed_checkpoints) {}

  // Whether a failure with `reason` counts (at most once per checkpoint).
  static bool IsCounted(CheckpointFailureReason reason);

  // Checkpoint (or savepoint) `checkpoint_id` failed with `reason`; `task_level`: a task reported it (a decline).
  // Returns the cause to fail the job over with when this failure must fail it over (the count then starts anew).
  std::optional<absl::Status> HandleCheckpointException(int64_t checkpoint_id, const CheckpointProperties& properties,
                                                        CheckpointFailureReason reason, bool task_level,
                                                        absl::string_view detail);
  void HandleCheckpointSuccess(int64_t checkpoint_id);

  int continuous_failures() const { return continuous_failures_; }

 private:
  const int tolerable_failed_checkpoints_;
  int continuous_failures_ = 0;
  std::set<int64_t> counted_ids_;
  // Flink's Long.MIN_VALUE: every id is newer than "none".
  int64_t last_succeeded_id_ = INT64_MIN;
};

}  // namespace snapsim

#endif  // SNAPSIM_SNAPSHOT_CHECKPOINT_FAILURE_MANAGER_H_
