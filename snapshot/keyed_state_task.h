// The task side of checkpointing for one subtask's keyed state: opening the RocksDB backend (fresh or restored,
// from the task-local copy when local recovery has it), choosing the snapshot strategy for each request (the
// backend's configuration decides incremental or native full; a CANONICAL savepoint is always the canonical
// format), and handling the coordinator's best-effort notifications the way Flink's task does (completions
// de-duplicated and ordered; an abort first re-delivers the latest completion it carries, then cancels the
// snapshot and forgets its uploads). Also the task-local state store that keeps local-recovery copies.
//
// A KeyedStateTask is used from one activity at a time (the task's mailbox thread in Flink); the caller
// serializes processing, snapshots' synchronous parts, notifications and Close.
#ifndef SNAPSIM_SNAPSHOT_KEYED_STATE_TASK_H_
#define SNAPSIM_SNAPSHOT_KEYED_STATE_TASK_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "backend/keyed_state_backend.h"
#include "backend/runtime.h"
#include "snapshot/checkpoint_properties.h"
#include "snapshot/checkpoint_storage.h"
#include "snapshot/snapshot_strategies.h"
#include "snapshot/state_handles.h"
#include "snapshot/state_uploader.h"

namespace snapsim {

// Flink's TaskLocalStateStoreImpl for keyed state: the local-recovery copies of one subtask's snapshots. It belongs
// to the task manager, so it outlives task failovers but not the machine's disk. Thread-safe.
class TaskLocalStateStore {
 public:
  explicit TaskLocalStateStore(rocksdb::Env* env) : env_(env) {}

  void Store(int64_t checkpoint_id, IncrementalLocalKeyedStateHandle handle);
  std::optional<IncrementalLocalKeyedStateHandle> Retrieve(int64_t checkpoint_id) const;
  // The checkpoint is complete: local copies of older checkpoints are deleted.
  void ConfirmCheckpoint(int64_t checkpoint_id);
  // The checkpoint was aborted: its local copy is deleted.
  void AbortCheckpoint(int64_t checkpoint_id);
  std::vector<int64_t> StoredCheckpoints() const;

 private:
  void Discard(const IncrementalLocalKeyedStateHandle& handle);

  rocksdb::Env* env_;
  mutable std::mutex mutex_;
  std::map<int64_t, IncrementalLocalKeyedStateHandle> states_;
};

struct KeyedStateTaskConfig {
  // Env, instance path, key groups, max parallelism, runtime. The backend UID is chosen here: the restored
  // lineage's, or a new one.
  KeyedStateBackendConfig backend;
  // Flink's state.backend.incremental: incremental checkpoints, else native full ones.
  bool incremental = true;
  LocalRecoveryConfig local_recovery;
  int upload_threads = 4;
};

// What the job manager assigns a subtask on restore: the checkpoint and the keyed state handles overlapping its
// key groups.
struct TaskRestoreState {
  int64_t checkpoint_id = 0;
  std::vector<KeyedStateHandle> handles;
};

class KeyedStateTask {
 public:
  using SnapshotFuture = Future<absl::StatusOr<std::optional<KeyedStateHandle>>>;

  // `local_store` may be null (no local recovery). Bad or missing restore state is an error naming it; nothing
  // durable is touched.
  static absl::StatusOr<std::unique_ptr<KeyedStateTask>> Start(KeyedStateTaskConfig config, Runtime* runtime,
                                                               CheckpointStorage* storage,
                                                               TaskLocalStateStore* local_store,
                                                               const std::optional<TaskRestoreState>& restore);
  ~KeyedStateTask();

  KeyedStateBackend& backend() { return *backend_; }
  const std::string& backend_uid() const { return backend_uid_; }
  bool restored_from_local_state() const { return restored_from_local_state_; }
  // Why a matching task-local copy could not be restored and storage's was used instead (OK otherwise).
  const absl::Status& local_restore_error() const { return local_restore_error_; }
  // Set when the task must fail: a snapshot's synchronous part failed. Flink fails the task then (its
  // execution.checkpointing.tolerable-failed-checkpoints: "failures originating from the sync phase on the Task
  // Managers are always forcing failover of an affected task"); the job restarts it.
  const absl::Status& failure() const { return failure_; }

  // The synchronous part of snapshot `checkpoint_id` (a failure declines it and sets failure()); the future completes when the
  // asynchronous part ends: the handle to acknowledge (nullopt when the backend has no state) or the failure.
  // Like Flink's barrier handling, a trigger is taken once: a repeated one (a duplicated message) is AlreadyExists,
  // to be ignored; one older than the newest triggered is FailedPrecondition (subsumed), to be declined. Taking a
  // snapshot twice would upload its files twice, and only one upload can ever be registered. A trigger for a
  // checkpoint whose abort arrived first is FailedPrecondition too.
  absl::StatusOr<SnapshotFuture> TriggerSnapshot(int64_t checkpoint_id, const CheckpointOptions& options);

  void NotifyCheckpointComplete(int64_t checkpoint_id);
  void NotifyCheckpointAborted(int64_t checkpoint_id, int64_t latest_completed_id);

  // Cancels running snapshots, waits for them to end, closes the backend.
  absl::Status Close();

 private:
  struct Shared {
    std::mutex mutex;
    std::map<int64_t, SnapshotRunner::Running> running;
  };

  KeyedStateTask(KeyedStateTaskConfig config, Runtime* runtime, CheckpointStorage* storage,
                 TaskLocalStateStore* local_store);

  KeyedStateTaskConfig config_;
  Runtime* runtime_;
  CheckpointStorage* storage_;
  TaskLocalStateStore* local_store_;
  std::unique_ptr<StateUploader> uploader_;
  std::unique_ptr<KeyedStateBackend> backend_;
  std::string backend_uid_;
  bool restored_from_local_state_ = false;
  absl::Status local_restore_error_;
  absl::Status failure_;
  std::unique_ptr<SnapshotStrategyBase> strategy_;
  std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();
  // Futures of every snapshot started, to wait for on Close.
  std::vector<SnapshotFuture> started_;
  int64_t last_notified_complete_ = -1;
  int64_t last_triggered_ = -1;
  // Checkpoints aborted before their trigger arrived (Flink remembers up to 128): their trigger is declined.
  std::set<int64_t> aborted_before_trigger_;
  bool closed_ = false;
};

}  // namespace snapsim

#endif  // SNAPSIM_SNAPSHOT_KEYED_STATE_TASK_H_
