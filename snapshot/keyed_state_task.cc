#include "snapshot/keyed_state_task.h"

#include <set>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "backend/encoding.h"
#include "backend/mutation.h"
#include "backend/local_files.h"
#include "snapshot/canonical_savepoint.h"
#include "snapshot/completed_checkpoint.h"
#include "snapshot/checkpoint_stream_factory.h"
#include "snapshot/incremental_restore_operation.h"

namespace snapsim {
namespace {

}  // namespace

void DiscardLocalHandle(rocksdb::Env* env, const IncrementalLocalKeyedStateHandle& handle) {
  (void)DeleteRecursively(env, handle.directory);
  (void)DeleteRecursively(env, handle.local_meta_path);
}

TaskLocalStateStore::TaskLocalStateStore(rocksdb::Env* env, std::string subtask_directory)
    : env_(env), subtask_directory_(std::move(subtask_directory)) {}

std::string TaskLocalStateStore::CheckpointDirectory(int64_t checkpoint_id) const {
  return absl::StrCat(subtask_directory_, "/chk_", checkpoint_id);
}

int TaskLocalStateStore::Reload() {
  absl::StatusOr<std::vector<std::string>> names = ListDirectory(env_, subtask_directory_);
  if (!names.ok()) return 0;
  std::lock_guard<std::mutex> lock(mutex_);
  int found = 0;
  for (const std::string& name : *names) {
    int64_t id = 0;
    if (!absl::StartsWith(name, "chk_") || !absl::SimpleAtoi(name.substr(4), &id) || id < 0 ||
        name != absl::StrCat("chk_", id)) {
      continue;
    }
    if (states_.emplace(id, std::nullopt).second) ++found;
  }
  return found;
}

absl::Status TaskLocalStateStore::Store(int64_t checkpoint_id, TaskLocalSnapshot snapshot) {
  std::optional<TaskLocalSnapshot> replaced;
  bool had_replaced = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (abandoned_) return absl::OkStatus();
    if (disposed_) {
      // Flink discards state stored into a disposed store.
      replaced = std::move(snapshot);
      had_replaced = true;
    }
  }
  if (had_replaced) {
    Discard(checkpoint_id, replaced);
    return absl::OkStatus();
  }
  const std::string path = absl::StrCat(CheckpointDirectory(checkpoint_id), "/", kSnapshotFileName);
  absl::Status persisted = CreateDirectories(env_, CheckpointDirectory(checkpoint_id));
  if (persisted.ok()) persisted = WriteLocalFile(env_, path, SerializeTaskLocalSnapshot(snapshot));
  if (persisted.ok()) persisted = SyncDirectory(env_, CheckpointDirectory(checkpoint_id));
  if (!persisted.ok()) {
    (void)env_->DeleteFile(path);
    return absl::Status(persisted.code(), absl::StrCat("persisting the local state of checkpoint ", checkpoint_id,
                                                       ": ", persisted.message()));
  }
  if (stored_listener_) stored_listener_(checkpoint_id, snapshot);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = states_.find(checkpoint_id);
    if (found != states_.end()) {
      // Only the same snapshot stored twice can get here (a task takes each trigger once): nothing to delete.
      found->second = std::move(snapshot);
    } else {
      states_.emplace(checkpoint_id, std::move(snapshot));
    }
  }
  return absl::OkStatus();
}

std::optional<TaskLocalSnapshot> TaskLocalStateStore::Retrieve(int64_t checkpoint_id, absl::Status* error) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = states_.find(checkpoint_id);
    if (found == states_.end() || abandoned_) return std::nullopt;
    if (found->second.has_value()) return found->second;
  }
  // Found on disk by Reload: read it now.
  const std::string directory = CheckpointDirectory(checkpoint_id);
  const std::string path = absl::StrCat(directory, "/", kSnapshotFileName);
  absl::StatusOr<TaskLocalSnapshot> loaded;
  absl::StatusOr<std::string> bytes = ReadLocalFile(env_, path);
  if (bytes.ok()) {
    loaded = ParseTaskLocalSnapshot(*bytes, path, directory);
  } else {
    loaded = bytes.status();
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = states_.find(checkpoint_id);
    if (found == states_.end()) return std::nullopt;  // pruned meanwhile
    if (found->second.has_value()) return found->second;
    if (loaded.ok()) {
      found->second = *std::move(loaded);
      return found->second;
    }
    states_.erase(found);
  }
  if (error != nullptr) {
    *error = absl::Status(loaded.status().code(), absl::StrCat("the local state of checkpoint ", checkpoint_id,
                                                               " is unreadable: ", loaded.status().message()));
  }
  // Outside the lock: a disk operation is a scheduling point in simulation.
  (void)DeleteRecursively(env_, directory);
  return std::nullopt;
}

void TaskLocalStateStore::ConfirmCheckpoint(int64_t checkpoint_id) {
  std::vector<std::pair<int64_t, std::optional<TaskLocalSnapshot>>> older;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (abandoned_) return;
    if (SNAPSIM_MUTANT("local-confirm-prunes-nothing")) return;
    const bool itself = SNAPSIM_MUTANT("local-confirm-prunes-itself");
    for (auto it = states_.begin();
         it != states_.end() && (it->first < checkpoint_id || (itself && it->first == checkpoint_id));) {
      older.emplace_back(it->first, std::move(it->second));
      it = states_.erase(it);
    }
  }
  for (const auto& [id, snapshot] : older) Discard(id, snapshot);
}

void TaskLocalStateStore::AbortCheckpoint(int64_t checkpoint_id) {
  std::optional<TaskLocalSnapshot> aborted;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = states_.find(checkpoint_id);
    if (found == states_.end() || abandoned_) return;
    aborted = std::move(found->second);
    states_.erase(found);
  }
  Discard(checkpoint_id, aborted);
}

void TaskLocalStateStore::PruneAllExcept(int64_t checkpoint_id) {
  std::vector<std::pair<int64_t, std::optional<TaskLocalSnapshot>>> pruned;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (abandoned_) return;
    for (auto it = states_.begin(); it != states_.end();) {
      if (it->first == checkpoint_id) {
        ++it;
        continue;
      }
      pruned.emplace_back(it->first, std::move(it->second));
      it = states_.erase(it);
    }
  }
  for (const auto& [id, snapshot] : pruned) Discard(id, snapshot);
}

void TaskLocalStateStore::Dispose() {
  std::map<int64_t, std::optional<TaskLocalSnapshot>> all;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (abandoned_ || disposed_) return;
    disposed_ = true;
    all.swap(states_);
  }
  for (const auto& [id, snapshot] : all) Discard(id, snapshot);
  (void)DeleteRecursively(env_, subtask_directory_);
}

void TaskLocalStateStore::Abandon() {
  std::lock_guard<std::mutex> lock(mutex_);
  abandoned_ = true;
}

std::vector<int64_t> TaskLocalStateStore::StoredCheckpoints() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<int64_t> ids;
  for (const auto& [id, snapshot] : states_) ids.push_back(id);
  return ids;
}

std::optional<TaskLocalSnapshot> TaskLocalStateStore::Peek(int64_t checkpoint_id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = states_.find(checkpoint_id);
  if (found == states_.end()) return std::nullopt;
  return found->second;
}

void TaskLocalStateStore::Discard(int64_t checkpoint_id, const std::optional<TaskLocalSnapshot>& snapshot) {
  // Each operator's copy lives in <subtask directory>/chk_<id> (a snapshot read from disk is checked for that);
  // the whole directory goes, with whatever else is in it (the snapshot file, a dead process's unfinished copy).
  if (snapshot.has_value()) {
    for (const auto& [op, handle] : *snapshot) DiscardLocalHandle(env_, handle);
  }
  (void)DeleteRecursively(env_, CheckpointDirectory(checkpoint_id));
}

namespace {
constexpr absl::string_view kLocalSnapshotMagic = "STL1";
constexpr uint16_t kLocalSnapshotVersion = 1;

bool Inside(absl::string_view path, absl::string_view directory) {
  return absl::StartsWith(path, directory) && path.size() > directory.size() + 1 && path[directory.size()] == '/' &&
         !absl::StrContains(path.substr(directory.size()), "/../") && !absl::EndsWith(path, "/..");
}
}  // namespace

std::string SerializeTaskLocalSnapshot(const TaskLocalSnapshot& snapshot) {
  std::string out;
  ByteWriter writer(&out);
  writer.PutRaw(kLocalSnapshotMagic);
  writer.PutU8(kLocalSnapshotVersion >> 8);
  writer.PutU8(kLocalSnapshotVersion & 0xff);
  writer.PutVarint64(snapshot.size());
  for (const auto& [op, handle] : snapshot) {
    writer.PutVarint64(static_cast<uint64_t>(op));
    writer.PutLengthPrefixed(SerializeIncrementalLocalHandle(handle));
  }
  writer.PutFixed32BigEndian(Crc32c(out));
  return out;
}

absl::StatusOr<TaskLocalSnapshot> ParseTaskLocalSnapshot(absl::string_view blob, absl::string_view origin,
                                                         absl::string_view checkpoint_directory) {
  const std::string what = absl::StrCat("task-local snapshot ", origin);
  absl::StatusOr<absl::string_view> body =
      CheckSealedBlob(blob, kLocalSnapshotMagic, kLocalSnapshotMagic.size() + 2 + 4, what, "task-local snapshot");
  if (!body.ok()) return body.status();
  ByteReader reader(*body, what);
  (void)reader.ReadRaw(kLocalSnapshotMagic.size(), "magic");
  absl::StatusOr<uint8_t> high = reader.ReadU8("version");
  absl::StatusOr<uint8_t> low = reader.ReadU8("version");
  const uint16_t version = static_cast<uint16_t>((*high << 8) | *low);
  if (version != kLocalSnapshotVersion) {
    return reader.Corrupt("version", absl::StrCat("unknown version ", version, " (this build reads ",
                                                  kLocalSnapshotVersion, ")"));
  }
  absl::StatusOr<uint64_t> count = reader.ReadVarint64("operator count");
  if (!count.ok()) return count.status();
  if (*count > 1024) return reader.Corrupt("operator count", absl::StrCat(*count, " operators"));
  TaskLocalSnapshot snapshot;
  for (uint64_t i = 0; i < *count; ++i) {
    absl::StatusOr<uint64_t> op = reader.ReadVarint64("operator");
    if (!op.ok()) return op.status();
    if (*op > 1024) return reader.Corrupt("operator", absl::StrCat("operator index ", *op));
    absl::StatusOr<absl::string_view> handle_blob = reader.ReadLengthPrefixed("handle");
    if (!handle_blob.ok()) return handle_blob.status();
    absl::StatusOr<IncrementalLocalKeyedStateHandle> handle =
        ParseIncrementalLocalHandle(*handle_blob, absl::StrCat(origin, " operator ", *op));
    if (!handle.ok()) return handle.status();
    if (!Inside(handle->directory, checkpoint_directory) || !Inside(handle->local_meta_path, checkpoint_directory)) {
      return reader.Corrupt("handle", absl::StrCat("operator ", *op, "'s copy (", handle->directory, ", ",
                                                   handle->local_meta_path, ") is not inside ",
                                                   checkpoint_directory));
    }
    if (!snapshot.emplace(static_cast<int>(*op), *std::move(handle)).second) {
      return reader.Corrupt("operator", absl::StrCat("operator ", *op, " twice"));
    }
  }
  if (!reader.AtEnd()) return reader.Corrupt("end", absl::StrCat(reader.remaining(), " unexpected bytes"));
  return snapshot;
}

std::string OperatorInstancePath(const std::string& instance_path, int op) {
  return op == 0 ? instance_path : absl::StrCat(instance_path, "-op", op);
}

KeyedStateTask::KeyedStateTask(KeyedStateTaskConfig config, Runtime* runtime, CheckpointStorage* storage,
                               TaskLocalStateStore* local_store)
    : config_(std::move(config)),
      runtime_(runtime),
      storage_(storage),
      local_store_(local_store),
      uploader_(std::make_unique<StateUploader>(runtime, config_.upload_threads)) {}

KeyedStateTask::~KeyedStateTask() { (void)Close(); }

absl::StatusOr<std::unique_ptr<KeyedStateTask>> KeyedStateTask::Start(KeyedStateTaskConfig config, Runtime* runtime,
                                                                      CheckpointStorage* storage,
                                                                      TaskLocalStateStore* local_store,
                                                                      const std::optional<TaskRestoreState>& restore) {
  if (config.operators < 1) {
    return absl::InvalidArgumentError(absl::StrCat("a task needs at least one operator, not ", config.operators));
  }
  if (restore.has_value() && static_cast<int>(restore->operator_handles.size()) > config.operators) {
    return absl::InvalidArgumentError(absl::StrCat("restore state for ", restore->operator_handles.size(),
                                                   " operators given to a task of ", config.operators));
  }
  if (config.memory_threshold > kMaxMemoryThreshold) {
    return absl::InvalidArgumentError(absl::StrCat("memory threshold ", config.memory_threshold, " exceeds ",
                                                   kMaxMemoryThreshold, " bytes"));
  }
  if (local_store != nullptr && config.local_recovery.enabled &&
      local_store->subtask_directory() != config.local_recovery.subtask_directory) {
    return absl::InvalidArgumentError(absl::StrCat("the task-local store keeps ", local_store->subtask_directory(),
                                                   " but the task's local recovery directory is ",
                                                   config.local_recovery.subtask_directory));
  }
  std::unique_ptr<KeyedStateTask> task(new KeyedStateTask(std::move(config), runtime, storage, local_store));
  // Flink's TaskStateManager: the local state of the restored checkpoint is the only one worth keeping.
  std::optional<TaskLocalSnapshot> local_snapshot;
  absl::Status local_error;
  if (restore.has_value() && local_store != nullptr) {
    local_snapshot = local_store->Retrieve(restore->checkpoint_id, &local_error);
    local_store->PruneAllExcept(restore->checkpoint_id);
  }
  task->operators_.resize(task->config_.operators);
  for (int op = 0; op < task->config_.operators; ++op) {
    static const std::vector<KeyedStateHandle> kNone;
    const std::vector<KeyedStateHandle>& handles =
        restore.has_value() && op < static_cast<int>(restore->operator_handles.size()) ? restore->operator_handles[op]
                                                                                       : kNone;
    std::optional<IncrementalLocalKeyedStateHandle> local;
    if (local_snapshot.has_value() && local_snapshot->count(op) > 0) local = local_snapshot->at(op);
    absl::Status status = CheckNotCancelled(task->config_.backend.cancellation.get(), "starting the task");
    if (status.ok()) status = task->StartOperator(op, handles, restore, local, local_error);
    if (!status.ok()) {
      (void)task->Close();  // the operators opened so far
      return status;
    }
  }
  return task;
}

absl::Status KeyedStateTask::StartOperator(int op, const std::vector<KeyedStateHandle>& handles,
                                           const std::optional<TaskRestoreState>& restore,
                                           const std::optional<IncrementalLocalKeyedStateHandle>& local,
                                           const absl::Status& local_error) {
  Operator& state = operators_[op];
  KeyedStateBackendConfig backend_config = config_.backend;
  backend_config.instance_path = OperatorInstancePath(config_.backend.instance_path, op);
  backend_config.runtime = runtime_;
  backend_config.transfer_threads = config_.upload_threads;  // Flink uses one setting for both directions
  const std::string operator_name = config_.operators > 1 ? absl::StrCat("operator ", op, ": ") : std::string();
  RestoredSnapshotHistory history;
  if (handles.empty()) {
    backend_config.backend_uid = runtime_->NewUniqueId();
    absl::StatusOr<std::unique_ptr<KeyedStateBackend>> backend = KeyedStateBackend::Open(backend_config);
    if (!backend.ok()) {
      return absl::Status(backend.status().code(), absl::StrCat(operator_name, backend.status().message()));
    }
    state.backend = *std::move(backend);
    state.backend_uid = backend_config.backend_uid;
  } else {
    std::vector<IncrementalRemoteKeyedStateHandle> native;
    std::vector<KeyGroupsStateHandle> canonical;
    for (const KeyedStateHandle& handle : handles) {
      if (const auto* incremental = std::get_if<IncrementalRemoteKeyedStateHandle>(&handle)) {
        native.push_back(*incremental);
      } else {
        canonical.push_back(std::get<KeyGroupsStateHandle>(handle));
      }
    }
    if (!native.empty() && !canonical.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(operator_name, "checkpoint ", restore->checkpoint_id,
                                                     " mixes native and canonical keyed state for key groups ",
                                                     backend_config.key_group_range.ToString()));
    }
    absl::StatusOr<RestoreResult> restored;
    if (!canonical.empty()) {
      restored = RestoreFromCanonicalSavepoint(backend_config, *runtime_, *storage_, canonical);
    } else if (native.size() == 1 && native[0].key_group_range == backend_config.key_group_range &&
               config_.local_recovery.enabled && local_store_ != nullptr) {
      bool used_local = false;
      restored = RestoreWithLocalRecovery(backend_config, *runtime_, *storage_, native[0], local, &used_local,
                                          &state.local_restore_error);
      state.restored_from_local_state = used_local;
      // The task-local store could not read its snapshot of this checkpoint (a process restarted on a disk that
      // lost or damaged it): that is why no local copy was tried.
      if (!used_local && state.local_restore_error.ok()) state.local_restore_error = local_error;
    } else {
      restored = RestoreKeyedState(backend_config, *runtime_, *storage_, native);
    }
    if (!restored.ok()) {
      return absl::Status(restored.status().code(),
                          absl::StrCat(operator_name, "restoring key groups ",
                                       backend_config.key_group_range.ToString(), " from checkpoint ",
                                       restore->checkpoint_id, ": ", restored.status().message()));
    }
    state.backend = std::move(restored->backend);
    state.backend_uid = restored->backend_uid;
    history = std::move(restored->history);
  }
  if (config_.incremental) {
    state.strategy = std::make_unique<IncrementalSnapshotStrategy>(
        state.backend.get(), runtime_, uploader_.get(), config_.local_recovery, state.backend_uid, std::move(history));
  } else {
    state.strategy = std::make_unique<NativeFullSnapshotStrategy>(state.backend.get(), runtime_, uploader_.get(),
                                                                  config_.local_recovery, state.backend_uid);
  }
  return absl::OkStatus();
}

std::optional<CheckpointFailureReason> DeclineReasonForTrigger(const absl::Status& trigger_failure) {
  if (absl::IsAlreadyExists(trigger_failure)) return std::nullopt;  // a duplicated trigger: the first one answers
  if (std::optional<CheckpointFailureReason> refused = FailureReasonOf(trigger_failure)) return refused;
  // The synchronous part failed: the task fails, and Flink's Task.triggerCheckpointBarrier declines with
  // TASK_FAILURE, which does not count (the failover the task failure causes is the answer). Declining with
  // CHECKPOINT_DECLINED counted it too, so a job with tolerable failures failed over twice for one fault (found by
  // invariant 12: swarm seed 1, kept as synchronous_failure_declines_as_task_failure.scenario).
  return CheckpointFailureReason::kTaskFailure;
}

std::optional<CheckpointFailureReason> DeclineReasonForSnapshot(const absl::Status& snapshot_failure,
                                                                bool task_running) {
  // AsyncCheckpointRunnable: a snapshot cancelled (an abort notification, the task closing) is discarded without a
  // word, and a failed one is declined only while its task runs. A decline for either would reach a coordinator that
  // may still have the checkpoint pending (a task closed before the job stopped triggering) and count a failure no
  // checkpoint had (found by invariant 12: swarm seed 93, kept as
  // cancelled_snapshot_declines_nothing.scenario).
  if (SNAPSIM_MUTANT("cancelled-snapshot-declines")) return CheckpointFailureReason::kCheckpointAsyncException;
  if (absl::IsCancelled(snapshot_failure) || !task_running) return std::nullopt;
  return CheckpointFailureReason::kCheckpointAsyncException;
}

absl::StatusOr<KeyedStateTask::SnapshotFuture> KeyedStateTask::TriggerSnapshot(int64_t checkpoint_id,
                                                                              const CheckpointOptions& options) {
  if (closed_) {
    return WithFailureReason(absl::FailedPreconditionError("task closed"),
                             CheckpointFailureReason::kCheckpointDeclinedTaskClosing);
  }
  if (checkpoint_id == last_triggered_) {
    return absl::AlreadyExistsError(absl::StrCat("checkpoint ", checkpoint_id, " was already triggered"));
  }
  if (!failure_.ok()) {
    // A failed task is not RUNNING: Flink's Task.triggerCheckpointBarrier declines. (The job stops triggering as soon
    // as a task fails, SimJob::EnterRestarting, but a trigger already on its way still arrives.)
    return WithFailureReason(absl::FailedPreconditionError(absl::StrCat("checkpoint ", checkpoint_id, " reached a "
                                                                        "failed task (", failure_.message(), ")")),
                             CheckpointFailureReason::kCheckpointDeclinedTaskNotReady);
  }
  if (checkpoint_id < last_triggered_) {
    return WithFailureReason(absl::FailedPreconditionError(absl::StrCat("checkpoint ", checkpoint_id,
                                                                        " is subsumed by checkpoint ",
                                                                        last_triggered_, ", triggered before it")),
                             CheckpointFailureReason::kCheckpointDeclinedSubsumed);
  }
  if (aborted_before_trigger_.erase(checkpoint_id) > 0) {
    return WithFailureReason(absl::FailedPreconditionError(absl::StrCat("checkpoint ", checkpoint_id,
                                                                        " was aborted before its trigger arrived")),
                             CheckpointFailureReason::kCheckpointDeclinedSubsumed);
  }
  last_triggered_ = checkpoint_id;
  using Result = absl::StatusOr<TaskSnapshot>;
  CheckpointStreamFactory factory(storage_, runtime_, options.shared_directory, options.exclusive_directory,
                                  config_.memory_threshold);
  if (options.type == SnapshotType::kSavepoint && options.format == SavepointFormat::kCanonical) {
    // Written within the synchronous part: the stream is the state as of now.
    TaskSnapshot snapshot;
    for (Operator& op : operators_) {
      CloseableRegistry registry;
      absl::StatusOr<std::optional<KeyGroupsStateHandle>> written =
          WriteCanonicalSavepoint(*op.backend, factory, registry);
      if (!written.ok()) {
        for (const std::optional<KeyedStateHandle>& handle : snapshot.handles) {
          if (handle.has_value()) (void)DiscardKeyedState(*storage_, *handle, /*shared_files_registered=*/false);
        }
        // Flink writes the canonical format in the asynchronous part (FullSnapshotAsyncWriter): a failed write is the
        // snapshot's failure, not a refused trigger and not the task's (it declined as if refused, with a counted
        // reason since the synchronous-failure fix: found by invariant 12, swarm seed 18, kept as
        // canonical_savepoint_failure_is_asynchronous.scenario).
        Promise<Result> failed(*runtime_);
        failed.Set(written.status());
        return failed.GetFuture();
      }
      if (written->has_value()) {
        snapshot.handles.emplace_back(KeyedStateHandle(**written));
      } else {
        snapshot.handles.emplace_back();
      }
    }
    Promise<Result> promise(*runtime_);
    promise.Set(std::move(snapshot));
    return promise.GetFuture();
  }
  std::vector<SnapshotRunner::Running> running;
  for (Operator& op : operators_) {
    absl::StatusOr<SnapshotRunner::Running> started =
        SnapshotRunner::Snapshot(*op.strategy, *runtime_, checkpoint_id, factory, options.type);
    if (!started.ok()) {
      failure_ = started.status();
      if (!running.empty()) {
        // The operators before it took their synchronous parts: cancelled, and whatever they finish discarded.
        for (const SnapshotRunner::Running& other : running) other.Cancel();
        auto promise = std::make_shared<Promise<Result>>(*runtime_);
        started_.push_back(promise->GetFuture());
        abandoned_.emplace(checkpoint_id, promise->GetFuture());
        SpawnResult(checkpoint_id, std::move(running), promise, started.status());
      }
      return started.status();
    }
    running.push_back(*started);
  }
  {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    shared_->running[checkpoint_id] = running;
  }
  auto promise = std::make_shared<Promise<Result>>(*runtime_);
  SnapshotFuture future = promise->GetFuture();
  started_.push_back(future);
  SpawnResult(checkpoint_id, std::move(running), promise, absl::OkStatus());
  return future;
}

void KeyedStateTask::SpawnResult(int64_t checkpoint_id, std::vector<SnapshotRunner::Running> running,
                                 std::shared_ptr<Promise<absl::StatusOr<TaskSnapshot>>> promise,
                                 absl::Status sync_failure) {
  runtime_->Spawn(
      absl::StrCat("snapshot-result-", checkpoint_id),
      [shared = shared_, discarded = discarded_, local_store = local_store_, storage = storage_,
       env = config_.backend.env,
       running = std::move(running), checkpoint_id, promise, sync_failure = std::move(sync_failure)] {
        absl::Status failure = sync_failure;
        std::vector<SnapshotResult> results(running.size());
        for (size_t op = 0; op < running.size(); ++op) {
          const absl::StatusOr<SnapshotResult>& result = running[op].result.Get();
          if (result.ok()) {
            results[op] = *result;
          } else if (failure.ok()) {
            failure = result.status();
            // The others cannot be acknowledged without this one: no use finishing their uploads.
            for (size_t other = op + 1; other < running.size(); ++other) running[other].Cancel();
          }
        }
        {
          // AsyncCheckpointRunnable's RUNNING -> COMPLETED, under the lock an abort notification marks the running
          // snapshots under: one that came after the uploads finished still cancels the snapshot, which is
          // discarded below, neither stored locally nor acknowledged (nightly, swarm-recoverable seed 2186: its
          // local copy outlived the abort). One that comes later finds nothing running, as in Flink.
          std::lock_guard<std::mutex> lock(shared->mutex);
          shared->running.erase(checkpoint_id);
          for (const SnapshotRunner::Running& snapshot : running) {
            if (!failure.ok() || !snapshot.WasCancelled()) continue;
            failure = absl::CancelledError(
                absl::StrCat("snapshot ", checkpoint_id, " cancelled after its asynchronous part finished"));
          }
        }
        TaskLocalSnapshot local;
        if (failure.ok()) {
          for (size_t op = 0; op < results.size(); ++op) {
            if (results[op].local.has_value()) local.emplace(static_cast<int>(op), *results[op].local);
          }
          // Flink stores the local state before acknowledging; a store that cannot persist it fails the snapshot.
          if (!local.empty() && local_store != nullptr) failure = local_store->Store(checkpoint_id, local);
        }
        if (!failure.ok()) {
          // Flink's AsyncCheckpointRunnable cleanup: the operators that finished discard what they produced.
          for (size_t op = 0; op < results.size(); ++op) {
            if (results[op].remote.has_value()) {
              discarded->Add(DiscardedOperatorSnapshot{checkpoint_id, static_cast<int>(op), *results[op].remote});
              (void)DiscardKeyedState(*storage, *results[op].remote, /*shared_files_registered=*/false);
            }
            if (results[op].local.has_value()) DiscardLocalHandle(env, *results[op].local);
          }
          promise->Set(failure);
          return;
        }
        TaskSnapshot snapshot;
        for (size_t op = 0; op < results.size(); ++op) {
          if (results[op].remote.has_value()) {
            snapshot.handles.emplace_back(KeyedStateHandle(*results[op].remote));
          } else {
            snapshot.handles.emplace_back();
          }
        }
        if (local_store == nullptr) {
          for (const auto& [op, handle] : local) DiscardLocalHandle(env, handle);
        }
        promise->Set(std::move(snapshot));
      });
}

std::optional<KeyedStateTask::SnapshotFuture> KeyedStateTask::AbandonedSnapshot(int64_t checkpoint_id) const {
  auto found = abandoned_.find(checkpoint_id);
  if (found == abandoned_.end()) return std::nullopt;
  return found->second;
}

void KeyedStateTask::NotifyCheckpointComplete(int64_t checkpoint_id) {
  if (closed_ || checkpoint_id <= last_notified_complete_) return;
  last_notified_complete_ = checkpoint_id;
  for (Operator& op : operators_) op.strategy->NotifyCheckpointComplete(checkpoint_id);
  if (local_store_ != nullptr) local_store_->ConfirmCheckpoint(checkpoint_id);
}

void KeyedStateTask::NotifyCheckpointAborted(int64_t checkpoint_id, int64_t latest_completed_id) {
  if (closed_) return;
  // Re-delivers a completion that may have been lost; a duplicate is dropped by the ordering guard.
  if (latest_completed_id > 0) NotifyCheckpointComplete(latest_completed_id);
  std::vector<SnapshotRunner::Running> running;
  bool found_running = false;
  {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    auto found = shared_->running.find(checkpoint_id);
    if (found != shared_->running.end()) {
      running = found->second;
      found_running = true;
      for (const SnapshotRunner::Running& snapshot : running) snapshot.MarkCancelled();
    }
  }
  if (found_running) {
    for (const SnapshotRunner::Running& snapshot : running) snapshot.Cancel();
  } else if (checkpoint_id > last_triggered_) {
    aborted_before_trigger_.insert(checkpoint_id);
    while (aborted_before_trigger_.size() > 128) aborted_before_trigger_.erase(aborted_before_trigger_.begin());
  }
  for (Operator& op : operators_) op.strategy->NotifyCheckpointAborted(checkpoint_id);
  if (local_store_ != nullptr) local_store_->AbortCheckpoint(checkpoint_id);
}

absl::Status KeyedStateTask::Close() {
  if (closed_) return absl::OkStatus();
  closed_ = true;
  std::vector<SnapshotRunner::Running> running;
  {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    for (const auto& [id, snapshots] : shared_->running) {
      running.insert(running.end(), snapshots.begin(), snapshots.end());
    }
  }
  for (const SnapshotRunner::Running& snapshot : running) snapshot.Cancel();
  for (const SnapshotFuture& future : started_) (void)future.Get();
  absl::Status status;
  for (Operator& op : operators_) {
    op.strategy.reset();
    if (op.backend == nullptr) continue;
    absl::Status closed = op.backend->Close();
    if (status.ok()) status = closed;
  }
  return status;
}

}  // namespace snapsim
