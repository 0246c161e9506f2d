#include "snapshot/keyed_state_task.h"

#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "backend/local_files.h"
#include "snapshot/canonical_savepoint.h"
#include "snapshot/completed_checkpoint.h"
#include "snapshot/checkpoint_stream_factory.h"
#include "snapshot/incremental_restore_operation.h"

namespace snapsim {
namespace {

std::string Parent(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

}  // namespace

void DiscardLocalHandle(rocksdb::Env* env, const IncrementalLocalKeyedStateHandle& handle) {
  (void)DeleteRecursively(env, handle.directory);
  (void)DeleteRecursively(env, handle.local_meta_path);
}

void TaskLocalStateStore::Store(int64_t checkpoint_id, TaskLocalSnapshot snapshot) {
  std::optional<TaskLocalSnapshot> replaced;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = states_.find(checkpoint_id);
    if (found != states_.end()) replaced = found->second;
    states_[checkpoint_id] = std::move(snapshot);
  }
  if (replaced.has_value()) Discard(*replaced);
}

std::optional<TaskLocalSnapshot> TaskLocalStateStore::Retrieve(int64_t checkpoint_id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = states_.find(checkpoint_id);
  if (found == states_.end()) return std::nullopt;
  return found->second;
}

void TaskLocalStateStore::ConfirmCheckpoint(int64_t checkpoint_id) {
  std::vector<TaskLocalSnapshot> older;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = states_.begin(); it != states_.end() && it->first < checkpoint_id;) {
      older.push_back(it->second);
      it = states_.erase(it);
    }
  }
  for (const TaskLocalSnapshot& snapshot : older) Discard(snapshot);
}

void TaskLocalStateStore::AbortCheckpoint(int64_t checkpoint_id) {
  std::optional<TaskLocalSnapshot> aborted;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = states_.find(checkpoint_id);
    if (found == states_.end()) return;
    aborted = found->second;
    states_.erase(found);
  }
  Discard(*aborted);
}

std::vector<int64_t> TaskLocalStateStore::StoredCheckpoints() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<int64_t> ids;
  for (const auto& [id, snapshot] : states_) ids.push_back(id);
  return ids;
}

void TaskLocalStateStore::Discard(const TaskLocalSnapshot& snapshot) {
  // The checkpoint's local directory: <subtask directory>/chk_<id>, holding each operator's DB copy and metadata
  // copy; it goes once they are gone.
  std::set<std::string> parents;
  for (const auto& [op, handle] : snapshot) {
    DiscardLocalHandle(env_, handle);
    parents.insert(Parent(handle.directory));
  }
  for (const std::string& parent : parents) (void)env_->DeleteDir(parent);
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
  std::unique_ptr<KeyedStateTask> task(new KeyedStateTask(std::move(config), runtime, storage, local_store));
  task->operators_.resize(task->config_.operators);
  for (int op = 0; op < task->config_.operators; ++op) {
    static const std::vector<KeyedStateHandle> kNone;
    const std::vector<KeyedStateHandle>& handles =
        restore.has_value() && op < static_cast<int>(restore->operator_handles.size()) ? restore->operator_handles[op]
                                                                                       : kNone;
    if (absl::Status status = task->StartOperator(op, handles, restore); !status.ok()) {
      (void)task->Close();  // the operators opened so far
      return status;
    }
  }
  return task;
}

absl::Status KeyedStateTask::StartOperator(int op, const std::vector<KeyedStateHandle>& handles,
                                           const std::optional<TaskRestoreState>& restore) {
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
      std::optional<IncrementalLocalKeyedStateHandle> local;
      if (std::optional<TaskLocalSnapshot> snapshot = local_store_->Retrieve(restore->checkpoint_id);
          snapshot.has_value() && snapshot->count(op) > 0) {
        local = snapshot->at(op);
      }
      bool used_local = false;
      restored = RestoreWithLocalRecovery(backend_config, *runtime_, *storage_, native[0], local, &used_local,
                                          &state.local_restore_error);
      state.restored_from_local_state = used_local;
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

absl::StatusOr<KeyedStateTask::SnapshotFuture> KeyedStateTask::TriggerSnapshot(int64_t checkpoint_id,
                                                                              const CheckpointOptions& options) {
  if (closed_) return absl::FailedPreconditionError("task closed");
  if (checkpoint_id == last_triggered_) {
    return absl::AlreadyExistsError(absl::StrCat("checkpoint ", checkpoint_id, " was already triggered"));
  }
  if (checkpoint_id < last_triggered_) {
    return absl::FailedPreconditionError(absl::StrCat("checkpoint ", checkpoint_id, " is subsumed by checkpoint ",
                                                      last_triggered_, ", triggered before it"));
  }
  if (aborted_before_trigger_.erase(checkpoint_id) > 0) {
    return absl::FailedPreconditionError(absl::StrCat("checkpoint ", checkpoint_id, " was aborted before its trigger "
                                                      "arrived"));
  }
  last_triggered_ = checkpoint_id;
  using Result = absl::StatusOr<TaskSnapshot>;
  CheckpointStreamFactory factory(storage_, runtime_, options.shared_directory, options.exclusive_directory);
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
        return written.status();
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
          std::lock_guard<std::mutex> lock(shared->mutex);
          shared->running.erase(checkpoint_id);
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
        TaskLocalSnapshot local;
        for (size_t op = 0; op < results.size(); ++op) {
          if (results[op].local.has_value()) local.emplace(static_cast<int>(op), *results[op].local);
          if (results[op].remote.has_value()) {
            snapshot.handles.emplace_back(KeyedStateHandle(*results[op].remote));
          } else {
            snapshot.handles.emplace_back();
          }
        }
        if (!local.empty()) {
          if (local_store != nullptr) {
            local_store->Store(checkpoint_id, std::move(local));
          } else {
            for (const auto& [op, handle] : local) DiscardLocalHandle(env, handle);
          }
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
