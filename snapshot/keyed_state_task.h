// The task side of checkpointing for one subtask's keyed state: opening the RocksDB backend of each chained keyed
// operator (fresh or restored, from the task-local copy when local recovery has it), choosing the snapshot strategy
// for each request (the backend's configuration decides incremental or native full; a CANONICAL savepoint is always
// the canonical format), and handling the coordinator's best-effort notifications the way Flink's task does
// (completions de-duplicated and ordered; an abort first re-delivers the latest completion it carries, then cancels
// the snapshot and forgets its uploads). Also the task-local state store that keeps local-recovery copies.
//
// Chained keyed operators (Flink's operator chain inside one task): each has its own backend with its own UID and
// instance directory; one barrier snapshots all of them (synchronous parts in chain order), and the task
// acknowledges them together or declines: when one operator's snapshot fails, the others are cancelled and whatever
// they already produced is discarded (Flink's AsyncCheckpointRunnable cleanup). Their local-recovery copies share
// the task's <subtask>/chk_<id> directory, each in its own sub-directory named by its backend UID (FLINK-12296).
//
// A KeyedStateTask is used from one activity at a time (the task's mailbox thread in Flink); the caller
// serializes processing, snapshots' synchronous parts, notifications and Close.
#ifndef SNAPSIM_SNAPSHOT_KEYED_STATE_TASK_H_
#define SNAPSIM_SNAPSHOT_KEYED_STATE_TASK_H_

#include <cstdint>
#include <functional>
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
#include "snapshot/checkpoint_failure_reason.h"
#include "snapshot/checkpoint_properties.h"
#include "snapshot/checkpoint_storage.h"
#include "snapshot/snapshot_strategies.h"
#include "snapshot/state_handles.h"
#include "snapshot/state_uploader.h"

namespace snapsim {

// The local part of one task's snapshot (Flink's local TaskStateSnapshot): each chained operator's local copy, by
// operator index (an operator without state has none).
using TaskLocalSnapshot = std::map<int, IncrementalLocalKeyedStateHandle>;

// Flink's TaskLocalStateStoreImpl for keyed state: the local-recovery copies of one subtask's snapshots. It belongs
// to the task manager, so it outlives task failovers. Each snapshot is persisted next to its copies, in
// <subtask directory>/chk_<id>/_task_state_snapshot, so a task manager process that restarts on the same disk
// (Flink's working directory kept across restarts, FLIP-198) finds them again (Reload). Pruning a checkpoint deletes
// its whole chk_<id> directory, recursively (orphans included). Thread-safe.
//
// Deviation: Flink writes _task_state_snapshot without a sync; here the file and its directory are synced, so a
// machine that reboots after power loss finds every snapshot its store had kept (RocksDB syncs its native checkpoint
// itself). Without it the harness saw every reloaded snapshot lost to power loss (its name was never durable).
class TaskLocalStateStore {
 public:
  static constexpr const char* kSnapshotFileName = "_task_state_snapshot";

  // `subtask_directory`: LocalRecoveryConfig::subtask_directory of the subtask's tasks.
  TaskLocalStateStore(rocksdb::Env* env, std::string subtask_directory);

  // A new task manager process on a disk that kept an earlier one's local state: every chk_<id> directory under the
  // subtask directory is held again, its snapshot read from disk when first retrieved. Returns how many were found.
  int Reload();

  // Keeps the snapshot and persists it (Flink: storeLocalState, called before the task acknowledges). An error
  // (the metadata could not be written) keeps nothing: the caller discards the copies and declines. After Dispose,
  // the snapshot is discarded at once (OK).
  absl::Status Store(int64_t checkpoint_id, TaskLocalSnapshot snapshot);
  // The snapshot of `checkpoint_id`, read from disk if this process has not seen it yet. An unreadable, corrupt or
  // implausible snapshot file (copies outside its chk_<id> directory) is logged into `error`, if given, and that
  // checkpoint's directory is deleted: the task restores from checkpoint storage instead.
  std::optional<TaskLocalSnapshot> Retrieve(int64_t checkpoint_id, absl::Status* error = nullptr);
  // The checkpoint is complete: local copies of older checkpoints are deleted.
  void ConfirmCheckpoint(int64_t checkpoint_id);
  // The checkpoint was aborted: its local copy is deleted.
  void AbortCheckpoint(int64_t checkpoint_id);
  // A task restores from `checkpoint_id`: every other checkpoint's local copy is deleted (Flink's TaskStateManager
  // prunes every other id).
  void PruneAllExcept(int64_t checkpoint_id);
  // The job ended on this task manager: every copy is deleted with the subtask directory; a later Store discards.
  void Dispose();
  // The process died: nothing this object is asked from now on touches the disk (a zombie snapshot's Store
  // forgets its copies, which a reloading successor finds without a snapshot file and deletes).
  void Abandon();

  // Called after a snapshot was stored and persisted (not for one a disposed or abandoned store discards); for the
  // harness's own model of what the store must hold. Set before the store is used.
  void SetStoredListener(std::function<void(int64_t checkpoint_id, const TaskLocalSnapshot& snapshot)> listener) {
    stored_listener_ = std::move(listener);
  }

  // Checkpoints held, loaded or only found on disk.
  std::vector<int64_t> StoredCheckpoints() const;
  // The snapshot of `checkpoint_id` if this process holds it in memory; never reads the disk (the checker's view).
  std::optional<TaskLocalSnapshot> Peek(int64_t checkpoint_id) const;
  const std::string& subtask_directory() const { return subtask_directory_; }
  std::string CheckpointDirectory(int64_t checkpoint_id) const;

 private:
  // Deletes the checkpoint's copies and its chk_<id> directory.
  void Discard(int64_t checkpoint_id, const std::optional<TaskLocalSnapshot>& snapshot);

  rocksdb::Env* env_;
  const std::string subtask_directory_;
  mutable std::mutex mutex_;
  // nullopt: found on disk by Reload, not read yet.
  std::map<int64_t, std::optional<TaskLocalSnapshot>> states_;
  bool disposed_ = false;
  bool abandoned_ = false;
  std::function<void(int64_t, const TaskLocalSnapshot&)> stored_listener_;
};

// The persisted form of a task's local snapshot: magic "STL1", u16 version 1, the operator count, per operator its
// index and its serialized IncrementalLocalKeyedStateHandle, CRC-32C of all before. A parse error names the field
// and `origin`; a handle whose directory or metadata copy is not inside `checkpoint_directory` is rejected.
std::string SerializeTaskLocalSnapshot(const TaskLocalSnapshot& snapshot);
absl::StatusOr<TaskLocalSnapshot> ParseTaskLocalSnapshot(absl::string_view blob, absl::string_view origin,
                                                         absl::string_view checkpoint_directory);

// Deletes a local-recovery copy's directory and metadata copy (a snapshot the task discards).
void DiscardLocalHandle(rocksdb::Env* env, const IncrementalLocalKeyedStateHandle& handle);

struct KeyedStateTaskConfig {
  // Env, instance path, key groups, max parallelism, runtime. The backend UID is chosen here: the restored
  // lineage's, or a new one. The instance path is operator 0's; see OperatorInstancePath.
  KeyedStateBackendConfig backend;
  // Chained keyed operators in this task (1 = the plain keyed operator), each with its own backend.
  int operators = 1;
  // Flink's state.backend.incremental: incremental checkpoints, else native full ones.
  bool incremental = true;
  LocalRecoveryConfig local_recovery;
  int upload_threads = 4;
  // Flink's state.storage.fs.memory-threshold: snapshot streams of at most this many bytes are inline state in the
  // acknowledged handles (and so in the checkpoint metadata), never objects; 0: never.
  uint64_t memory_threshold = 0;
};

// Operator `op`'s backend instance directory for a task configured with `instance_path`: that path for operator 0,
// "<path>-op<k>" beside it for the others (Flink gives every operator's backend a directory of its own).
std::string OperatorInstancePath(const std::string& instance_path, int op);

// What the job manager assigns a subtask on restore: the checkpoint and, per chained operator (index = position in
// the chain), the keyed state handles overlapping its key groups. An operator with none (one the snapshot did not
// have, or without state) starts empty.
struct TaskRestoreState {
  int64_t checkpoint_id = 0;
  std::vector<std::vector<KeyedStateHandle>> operator_handles;
};

// One task's snapshot: per chained operator (index = position in the chain), the handle to acknowledge, or nullopt
// for an operator without state.
struct TaskSnapshot {
  std::vector<std::optional<KeyedStateHandle>> handles;
};

// An operator's snapshot that finished while the task's snapshot failed (another operator's failed): the task
// discarded it. For the harness: the strategy still recorded its uploads (see IncrementalSnapshotStrategy).
struct DiscardedOperatorSnapshot {
  int64_t checkpoint_id = 0;
  int op = 0;
  KeyedStateHandle handle;
};

// Where a task logs the operator snapshots it discarded; shared, so a reader may outlive the task. Thread-safe.
class DiscardedSnapshotLog {
 public:
  void Add(DiscardedOperatorSnapshot snapshot) {
    std::lock_guard<std::mutex> lock(mutex_);
    snapshots_.push_back(std::move(snapshot));
  }
  // Those of `checkpoint_id` logged so far, forgotten.
  std::vector<DiscardedOperatorSnapshot> Take(int64_t checkpoint_id) {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<DiscardedOperatorSnapshot> taken;
    for (auto it = snapshots_.begin(); it != snapshots_.end();) {
      if (it->checkpoint_id == checkpoint_id) {
        taken.push_back(std::move(*it));
        it = snapshots_.erase(it);
      } else {
        ++it;
      }
    }
    return taken;
  }

 private:
  std::mutex mutex_;
  std::vector<DiscardedOperatorSnapshot> snapshots_;
};

// How a task answers a trigger it could not take, or a snapshot of its that failed (Flink's
// Task.triggerCheckpointBarrier, StreamTask.triggerCheckpointAsync and AsyncCheckpointRunnable): the reason it
// declines with, or nullopt when it sends nothing. `trigger_failure`: what TriggerSnapshot returned (a refusal
// carries its reason; a synchronous part that failed carries none). `task_running`: the attempt that took the
// snapshot still runs.
std::optional<CheckpointFailureReason> DeclineReasonForTrigger(const absl::Status& trigger_failure);
std::optional<CheckpointFailureReason> DeclineReasonForSnapshot(const absl::Status& snapshot_failure,
                                                                bool task_running);

class KeyedStateTask {
 public:
  using SnapshotFuture = Future<absl::StatusOr<TaskSnapshot>>;

  // `local_store` may be null (no local recovery). Bad or missing restore state is an error naming it; nothing
  // durable is touched. `config.backend.cancellation`, when cancelled while the task restores (another task of the
  // job failed, Flink cancels this one), ends the restore at its next check: Cancelled, after every download in
  // flight ended and what the restore created was removed.
  static absl::StatusOr<std::unique_ptr<KeyedStateTask>> Start(KeyedStateTaskConfig config, Runtime* runtime,
                                                               CheckpointStorage* storage,
                                                               TaskLocalStateStore* local_store,
                                                               const std::optional<TaskRestoreState>& restore);
  ~KeyedStateTask();

  int operators() const { return static_cast<int>(operators_.size()); }
  KeyedStateBackend& backend(int op = 0) { return *operators_[op].backend; }
  const std::string& backend_uid(int op = 0) const { return operators_[op].backend_uid; }
  bool restored_from_local_state(int op = 0) const { return operators_[op].restored_from_local_state; }
  // Why a matching task-local copy could not be restored and storage's was used instead (OK otherwise).
  const absl::Status& local_restore_error(int op = 0) const { return operators_[op].local_restore_error; }
  // Operator snapshots discarded because the task's snapshot failed: logged before the snapshot's future fails.
  std::shared_ptr<DiscardedSnapshotLog> discarded_snapshots() const { return discarded_; }
  // When TriggerSnapshot failed in a later operator's synchronous part, the earlier operators' parts (cancelled,
  // discarded) end with this future's failure; nullopt otherwise. For the harness, which learns what they discarded.
  std::optional<SnapshotFuture> AbandonedSnapshot(int64_t checkpoint_id) const;
  // Set when the task must fail: a snapshot's synchronous part failed. Flink fails the task then (its
  // execution.checkpointing.tolerable-failed-checkpoints: "failures originating from the sync phase on the Task
  // Managers are always forcing failover of an affected task"); the job restarts it.
  const absl::Status& failure() const { return failure_; }
  // The task failed for another reason (a write or flush its backend refused: Flink's failExternally). From then on,
  // like a task whose synchronous part failed, it takes no snapshot: a trigger is refused with
  // CHECKPOINT_DECLINED_TASK_NOT_READY (Flink's Task is no longer RUNNING). The first cause is kept.
  void MarkFailed(const absl::Status& cause) {
    if (failure_.ok()) failure_ = cause;
  }

  // The synchronous part of snapshot `checkpoint_id`, every operator's (a failure declines it and sets failure());
  // the future completes when every asynchronous part ends: the handles to acknowledge, or the first failure (then
  // nothing of this snapshot is left behind).
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
    // Each operator's running asynchronous part, by checkpoint.
    std::map<int64_t, std::vector<SnapshotRunner::Running>> running;
  };
  struct Operator {
    std::unique_ptr<KeyedStateBackend> backend;
    std::string backend_uid;
    bool restored_from_local_state = false;
    absl::Status local_restore_error;
    std::unique_ptr<SnapshotStrategyBase> strategy;
  };

  KeyedStateTask(KeyedStateTaskConfig config, Runtime* runtime, CheckpointStorage* storage,
                 TaskLocalStateStore* local_store);
  // Opens operator `op`'s backend from `handles` (fresh when empty) and its strategy.
  // `local`: the operator's copy in the task-local store, if any; `local_error`: why the store had none to offer.
  absl::Status StartOperator(int op, const std::vector<KeyedStateHandle>& handles,
                             const std::optional<TaskRestoreState>& restore,
                             const std::optional<IncrementalLocalKeyedStateHandle>& local,
                             const absl::Status& local_error);
  // Waits for `running` (one per operator, in order), then completes `promise` with the task's snapshot or the
  // first failure, discarding every operator's finished part after a failure (`sync_failure`: a later operator's
  // synchronous part failed). Runs as its own activity.
  void SpawnResult(int64_t checkpoint_id, std::vector<SnapshotRunner::Running> running,
                   std::shared_ptr<Promise<absl::StatusOr<TaskSnapshot>>> promise, absl::Status sync_failure);

  KeyedStateTaskConfig config_;
  Runtime* runtime_;
  CheckpointStorage* storage_;
  TaskLocalStateStore* local_store_;
  std::unique_ptr<StateUploader> uploader_;
  std::vector<Operator> operators_;
  absl::Status failure_;
  std::shared_ptr<Shared> shared_ = std::make_shared<Shared>();
  std::shared_ptr<DiscardedSnapshotLog> discarded_ = std::make_shared<DiscardedSnapshotLog>();
  // Futures of every snapshot started, to wait for on Close.
  std::vector<SnapshotFuture> started_;
  // Snapshots whose synchronous part failed after earlier operators had started theirs (see AbandonedSnapshot).
  std::map<int64_t, SnapshotFuture> abandoned_;
  int64_t last_notified_complete_ = -1;
  int64_t last_triggered_ = -1;
  // Checkpoints aborted before their trigger arrived (Flink remembers up to 128): their trigger is declined.
  std::set<int64_t> aborted_before_trigger_;
  bool closed_ = false;
};

}  // namespace snapsim

#endif  // SNAPSIM_SNAPSHOT_KEYED_STATE_TASK_H_
