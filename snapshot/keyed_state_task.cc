#include "snapshot/keyed_state_task.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "backend/local_files.h"
#include "snapshot/canonical_savepoint.h"
#include "snapshot/checkpoint_stream_factory.h"
#include "snapshot/incremental_restore_operation.h"

namespace snapsim {
namespace {

std::string Parent(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

}  // namespace

void TaskLocalStateStore::Store(int64_t checkpoint_id, IncrementalLocalKeyedStateHandle handle) {
  std::optional<IncrementalLocalKeyedStateHandle> replaced;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = states_.find(checkpoint_id);
    if (found != states_.end()) replaced = found->second;
    states_[checkpoint_id] = std::move(handle);
  }
  if (replaced.has_value()) Discard(*replaced);
}

std::optional<IncrementalLocalKeyedStateHandle> TaskLocalStateStore::Retrieve(int64_t checkpoint_id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = states_.find(checkpoint_id);
  if (found == states_.end()) return std::nullopt;
  return found->second;
}

void TaskLocalStateStore::ConfirmCheckpoint(int64_t checkpoint_id) {
  std::vector<IncrementalLocalKeyedStateHandle> older;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = states_.begin(); it != states_.end() && it->first < checkpoint_id;) {
      older.push_back(it->second);
      it = states_.erase(it);
    }
  }
  for (const IncrementalLocalKeyedStateHandle& handle : older) Discard(handle);
}

void TaskLocalStateStore::AbortCheckpoint(int64_t checkpoint_id) {
  std::optional<IncrementalLocalKeyedStateHandle> aborted;
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
  for (const auto& [id, handle] : states_) ids.push_back(id);
  return ids;
}

void TaskLocalStateStore::Discard(const IncrementalLocalKeyedStateHandle& handle) {
  // The checkpoint's local directory: <subtask directory>/chk_<id>, holding the DB copy and the metadata copy.
  (void)DeleteRecursively(env_, handle.directory);
  (void)DeleteRecursively(env_, handle.local_meta_path);
  (void)env_->DeleteDir(Parent(handle.directory));
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
  std::unique_ptr<KeyedStateTask> task(new KeyedStateTask(std::move(config), runtime, storage, local_store));
  KeyedStateBackendConfig backend_config = task->config_.backend;
  backend_config.runtime = runtime;
  backend_config.transfer_threads = task->config_.upload_threads;  // Flink uses one setting for both directions
  RestoredSnapshotHistory history;
  if (!restore.has_value() || restore->handles.empty()) {
    backend_config.backend_uid = runtime->NewUniqueId();
    absl::StatusOr<std::unique_ptr<KeyedStateBackend>> backend = KeyedStateBackend::Open(backend_config);
    if (!backend.ok()) return backend.status();
    task->backend_ = *std::move(backend);
    task->backend_uid_ = backend_config.backend_uid;
  } else {
    std::vector<IncrementalRemoteKeyedStateHandle> native;
    std::vector<KeyGroupsStateHandle> canonical;
    for (const KeyedStateHandle& handle : restore->handles) {
      if (const auto* incremental = std::get_if<IncrementalRemoteKeyedStateHandle>(&handle)) {
        native.push_back(*incremental);
      } else {
        canonical.push_back(std::get<KeyGroupsStateHandle>(handle));
      }
    }
    if (!native.empty() && !canonical.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("checkpoint ", restore->checkpoint_id,
                                                     " mixes native and canonical keyed state for key groups ",
                                                     backend_config.key_group_range.ToString()));
    }
    absl::StatusOr<RestoreResult> restored;
    if (!canonical.empty()) {
      restored = RestoreFromCanonicalSavepoint(backend_config, *runtime, *storage, canonical);
    } else if (native.size() == 1 && native[0].key_group_range == backend_config.key_group_range &&
               task->config_.local_recovery.enabled && local_store != nullptr) {
      bool used_local = false;
      restored = RestoreWithLocalRecovery(backend_config, *runtime, *storage, native[0],
                                          local_store->Retrieve(restore->checkpoint_id), &used_local,
                                          &task->local_restore_error_);
      task->restored_from_local_state_ = used_local;
    } else {
      restored = RestoreKeyedState(backend_config, *runtime, *storage, native);
    }
    if (!restored.ok()) {
      return absl::Status(restored.status().code(),
                          absl::StrCat("restoring key groups ", backend_config.key_group_range.ToString(),
                                       " from checkpoint ", restore->checkpoint_id, ": ", restored.status().message()));
    }
    task->backend_ = std::move(restored->backend);
    task->backend_uid_ = restored->backend_uid;
    history = std::move(restored->history);
  }
  if (task->config_.incremental) {
    task->strategy_ = std::make_unique<IncrementalSnapshotStrategy>(task->backend_.get(), runtime,
                                                                    task->uploader_.get(), task->config_.local_recovery,
                                                                    task->backend_uid_, std::move(history));
  } else {
    task->strategy_ = std::make_unique<NativeFullSnapshotStrategy>(
        task->backend_.get(), runtime, task->uploader_.get(), task->config_.local_recovery, task->backend_uid_);
  }
  return task;
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
  using Result = absl::StatusOr<std::optional<KeyedStateHandle>>;
  CheckpointStreamFactory factory(storage_, runtime_, options.shared_directory, options.exclusive_directory);
  if (options.type == SnapshotType::kSavepoint && options.format == SavepointFormat::kCanonical) {
    // Written within the synchronous part: the stream is the state as of now.
    CloseableRegistry registry;
    absl::StatusOr<std::optional<KeyGroupsStateHandle>> written =
        WriteCanonicalSavepoint(*backend_, factory, registry);
    if (!written.ok()) return written.status();
    Promise<Result> promise(*runtime_);
    if (written->has_value()) {
      promise.Set(std::optional<KeyedStateHandle>(**written));
    } else {
      promise.Set(std::optional<KeyedStateHandle>());
    }
    return promise.GetFuture();
  }
  absl::StatusOr<SnapshotRunner::Running> running =
      SnapshotRunner::Snapshot(*strategy_, *runtime_, checkpoint_id, factory, options.type);
  if (!running.ok()) {
    failure_ = running.status();
    return running.status();
  }
  {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    shared_->running[checkpoint_id] = *running;
  }
  auto promise = std::make_shared<Promise<Result>>(*runtime_);
  SnapshotFuture future = promise->GetFuture();
  started_.push_back(future);
  runtime_->Spawn(absl::StrCat("snapshot-result-", checkpoint_id),
                  [shared = shared_, local_store = local_store_, result = running->result, checkpoint_id, promise] {
                    const absl::StatusOr<SnapshotResult>& snapshot = result.Get();
                    {
                      std::lock_guard<std::mutex> lock(shared->mutex);
                      shared->running.erase(checkpoint_id);
                    }
                    if (!snapshot.ok()) {
                      promise->Set(snapshot.status());
                      return;
                    }
                    if (snapshot->local.has_value() && local_store != nullptr) {
                      local_store->Store(checkpoint_id, *snapshot->local);
                    }
                    if (snapshot->remote.has_value()) {
                      promise->Set(std::optional<KeyedStateHandle>(*snapshot->remote));
                    } else {
                      promise->Set(std::optional<KeyedStateHandle>());
                    }
                  });
  return future;
}

void KeyedStateTask::NotifyCheckpointComplete(int64_t checkpoint_id) {
  if (closed_ || checkpoint_id <= last_notified_complete_) return;
  last_notified_complete_ = checkpoint_id;
  strategy_->NotifyCheckpointComplete(checkpoint_id);
  if (local_store_ != nullptr) local_store_->ConfirmCheckpoint(checkpoint_id);
}

void KeyedStateTask::NotifyCheckpointAborted(int64_t checkpoint_id, int64_t latest_completed_id) {
  if (closed_) return;
  // Re-delivers a completion that may have been lost; a duplicate is dropped by the ordering guard.
  if (latest_completed_id > 0) NotifyCheckpointComplete(latest_completed_id);
  std::optional<SnapshotRunner::Running> running;
  {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    auto found = shared_->running.find(checkpoint_id);
    if (found != shared_->running.end()) running = found->second;
  }
  if (running.has_value()) {
    running->Cancel();
  } else if (checkpoint_id > last_triggered_) {
    aborted_before_trigger_.insert(checkpoint_id);
    while (aborted_before_trigger_.size() > 128) aborted_before_trigger_.erase(aborted_before_trigger_.begin());
  }
  strategy_->NotifyCheckpointAborted(checkpoint_id);
  if (local_store_ != nullptr) local_store_->AbortCheckpoint(checkpoint_id);
}

absl::Status KeyedStateTask::Close() {
  if (closed_) return absl::OkStatus();
  closed_ = true;
  std::vector<SnapshotRunner::Running> running;
  {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    for (const auto& [id, snapshot] : shared_->running) running.push_back(snapshot);
  }
  for (const SnapshotRunner::Running& snapshot : running) snapshot.Cancel();
  for (const SnapshotFuture& future : started_) (void)future.Get();
  strategy_.reset();
  absl::Status status = backend_ != nullptr ? backend_->Close() : absl::OkStatus();
  return status;
}

}  // namespace snapsim
