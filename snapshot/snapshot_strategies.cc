#include "snapshot/snapshot_strategies.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "backend/local_files.h"
#include "backend/mutation.h"

namespace snapsim {
namespace {

int64_t SizeOfUploads(const std::vector<HandleAndLocalPath>& files) {
  int64_t size = 0;
  for (const HandleAndLocalPath& file : files) {
    if (!file.handle.is_placeholder()) size += static_cast<int64_t>(file.handle.size_bytes);
  }
  return size;
}

}  // namespace

IncrementalSnapshotStrategy::IncrementalSnapshotStrategy(KeyedStateBackend* backend, Runtime* runtime,
                                                         StateUploader* uploader, LocalRecoveryConfig local_recovery,
                                                         std::string backend_uid, RestoredSnapshotHistory history)
    : SnapshotStrategyBase("incremental", backend, runtime, uploader, std::move(local_recovery),
                           std::move(backend_uid)),
      last_completed_checkpoint_id_(history.last_completed_checkpoint_id),
      uploaded_sst_files_(std::move(history.sst_files)) {}

PreviousSnapshot IncrementalSnapshotStrategy::SnapshotMetaData(int64_t /*checkpoint_id*/,
                                                               std::vector<StateMetaInfo>* meta_infos) {
  PreviousSnapshot previous;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto confirmed = uploaded_sst_files_.find(last_completed_checkpoint_id_);
    if (SNAPSIM_MUTANT("reuse-unconfirmed") && !uploaded_sst_files_.empty()) {
      confirmed = std::prev(uploaded_sst_files_.end());
    }
    if (confirmed != uploaded_sst_files_.end()) previous = PreviousSnapshot(confirmed->second);
  }
  *meta_infos = backend()->MetaInfos();
  return previous;
}

absl::Status IncrementalSnapshotStrategy::UploadSnapshotFiles(NativeSnapshotResources& resources,
                                                              int64_t checkpoint_id, CheckpointStreamFactory& factory,
                                                              SnapshotType type, CloseableRegistry& snapshot_registry,
                                                              CloseableRegistry& tmp_resources,
                                                              IncrementalRemoteKeyedStateHandle* handle) {
  const SharingFilesStrategy sharing = SharingFilesStrategyOf(type);
  // FORWARD and NO_SHARING reuse nothing.
  const PreviousSnapshot previous =
      sharing == SharingFilesStrategy::kForwardBackward ? resources.previous_snapshot : PreviousSnapshot();
  absl::StatusOr<std::vector<std::string>> names = ListDirectory(env(), resources.directory.path());
  if (!names.ok()) return names.status();
  std::vector<HandleAndLocalPath> sst_files;
  std::vector<std::string> sst_to_upload;
  std::vector<std::string> misc_to_upload;
  for (const std::string& name : *names) {
    if (absl::EndsWith(name, ".sst")) {
      if (std::optional<StreamStateHandle> placeholder = previous.GetUploaded(name); placeholder.has_value()) {
        sst_files.push_back(HandleAndLocalPath{*placeholder, name});
      } else {
        sst_to_upload.push_back(name);
      }
    } else {
      misc_to_upload.push_back(name);
    }
  }
  // A native savepoint owns its files: EXCLUSIVE scope. Its SSTs still go to shared_state (FLINK-28863), so the
  // first checkpoint after a CLAIM restore from it can be incremental.
  const StateScope scope = sharing == SharingFilesStrategy::kNoSharing ? StateScope::kExclusive : StateScope::kShared;
  if (absl::Status verified = VerifySstFiles(resources.directory.path(), sst_to_upload); !verified.ok()) {
    return verified;
  }
  absl::StatusOr<std::vector<HandleAndLocalPath>> uploaded_sst = uploader()->UploadFiles(
      env(), resources.directory.path(), sst_to_upload, factory, scope, snapshot_registry, tmp_resources);
  if (!uploaded_sst.ok()) return uploaded_sst.status();
  absl::StatusOr<std::vector<HandleAndLocalPath>> uploaded_misc = uploader()->UploadFiles(
      env(), resources.directory.path(), misc_to_upload, factory, scope, snapshot_registry, tmp_resources);
  if (!uploaded_misc.ok()) return uploaded_misc.status();

  sst_files.insert(sst_files.end(), uploaded_sst->begin(), uploaded_sst->end());
  if (sharing != SharingFilesStrategy::kNoSharing) {
    // Record every SST of this checkpoint with its real handle; a placeholder's real handle is the confirmed one.
    std::vector<HandleAndLocalPath> record;
    for (const HandleAndLocalPath& file : sst_files) {
      HandleAndLocalPath real = file;
      real.handle.kind = StreamStateHandle::Kind::kFile;
      record.push_back(real);
    }
    std::lock_guard<std::mutex> lock(mutex_);
    PruneDuplicateUploadsLocked(checkpoint_id, &record);
    uploaded_sst_files_[checkpoint_id] = std::move(record);
  }
  handle->checkpointed_size_bytes = static_cast<int64_t>(handle->meta_state_handle.size_bytes) +
                                    SizeOfUploads(sst_files) + SizeOfUploads(*uploaded_misc);
  handle->shared_state = std::move(sst_files);
  handle->private_state = *std::move(uploaded_misc);
  return absl::OkStatus();
}

void IncrementalSnapshotStrategy::PruneDuplicateUploadsLocked(int64_t checkpoint_id,
                                                              std::vector<HandleAndLocalPath>* record) {
  // Path of each SST this checkpoint recorded, by local name.
  std::map<std::string, std::string> recorded;
  for (const HandleAndLocalPath& file : *record) recorded[file.local_path] = file.handle.path;
  std::set<std::string> drop_from_record;
  for (auto& [id, files] : uploaded_sst_files_) {
    if (id == checkpoint_id) continue;
    auto is_other_copy = [&](const HandleAndLocalPath& file) {
      auto found = recorded.find(file.local_path);
      return found != recorded.end() && found->second != file.handle.path;
    };
    if (id < checkpoint_id) {
      files.erase(std::remove_if(files.begin(), files.end(), is_other_copy), files.end());
    } else {
      for (const HandleAndLocalPath& file : files) {
        if (is_other_copy(file)) drop_from_record.insert(file.local_path);
      }
    }
  }
  record->erase(std::remove_if(record->begin(), record->end(),
                               [&](const HandleAndLocalPath& file) {
                                 return drop_from_record.count(file.local_path) > 0;
                               }),
                record->end());
}

void IncrementalSnapshotStrategy::NotifyCheckpointComplete(int64_t checkpoint_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (SNAPSIM_MUTANT("savepoint-clears-base") && checkpoint_id > last_completed_checkpoint_id_ &&
      uploaded_sst_files_.count(checkpoint_id) == 0) {
    uploaded_sst_files_.clear();
    last_completed_checkpoint_id_ = checkpoint_id;
    return;
  }
  if (checkpoint_id <= last_completed_checkpoint_id_ || uploaded_sst_files_.count(checkpoint_id) == 0) return;
  uploaded_sst_files_.erase(uploaded_sst_files_.begin(), uploaded_sst_files_.find(checkpoint_id));
  last_completed_checkpoint_id_ = checkpoint_id;
}

void IncrementalSnapshotStrategy::NotifyCheckpointAborted(int64_t checkpoint_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  uploaded_sst_files_.erase(checkpoint_id);
}

int64_t IncrementalSnapshotStrategy::last_completed_checkpoint_id() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_completed_checkpoint_id_;
}

std::vector<int64_t> IncrementalSnapshotStrategy::TrackedCheckpoints() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<int64_t> ids;
  for (const auto& [id, files] : uploaded_sst_files_) ids.push_back(id);
  return ids;
}

NativeFullSnapshotStrategy::NativeFullSnapshotStrategy(KeyedStateBackend* backend, Runtime* runtime,
                                                       StateUploader* uploader, LocalRecoveryConfig local_recovery,
                                                       std::string backend_uid)
    : SnapshotStrategyBase("native full", backend, runtime, uploader, std::move(local_recovery),
                           std::move(backend_uid)) {}

PreviousSnapshot NativeFullSnapshotStrategy::SnapshotMetaData(int64_t /*checkpoint_id*/,
                                                              std::vector<StateMetaInfo>* meta_infos) {
  *meta_infos = backend()->MetaInfos();
  return PreviousSnapshot();
}

absl::Status NativeFullSnapshotStrategy::UploadSnapshotFiles(NativeSnapshotResources& resources,
                                                             int64_t /*checkpoint_id*/,
                                                             CheckpointStreamFactory& factory,
                                                             SnapshotType /*type*/,
                                                             CloseableRegistry& snapshot_registry,
                                                             CloseableRegistry& tmp_resources,
                                                             IncrementalRemoteKeyedStateHandle* handle) {
  absl::StatusOr<std::vector<std::string>> names = ListDirectory(env(), resources.directory.path());
  if (!names.ok()) return names.status();
  // Every file, SST or not, is private and EXCLUSIVE: nothing is shared with other checkpoints.
  if (absl::Status verified = VerifySstFiles(resources.directory.path(), *names); !verified.ok()) return verified;
  absl::StatusOr<std::vector<HandleAndLocalPath>> uploaded =
      uploader()->UploadFiles(env(), resources.directory.path(), *names, factory, StateScope::kExclusive,
                              snapshot_registry, tmp_resources);
  if (!uploaded.ok()) return uploaded.status();
  handle->checkpointed_size_bytes =
      static_cast<int64_t>(handle->meta_state_handle.size_bytes) + SizeOfUploads(*uploaded);
  handle->shared_state.clear();
  handle->private_state = *std::move(uploaded);
  return absl::OkStatus();
}

absl::StatusOr<SnapshotRunner::Running> SnapshotRunner::Snapshot(SnapshotStrategyBase& strategy, Runtime& runtime,
                                                                 int64_t checkpoint_id,
                                                                 CheckpointStreamFactory factory, SnapshotType type) {
  absl::StatusOr<NativeSnapshotResources> prepared = strategy.SyncPrepareResources(checkpoint_id);
  if (!prepared.ok()) return prepared.status();
  auto resources = std::make_shared<NativeSnapshotResources>(*std::move(prepared));
  auto registry = std::make_shared<CloseableRegistry>();
  Running running;
  running.registry = registry;
  running.result = SpawnWithResult<absl::StatusOr<SnapshotResult>>(
      runtime, absl::StrCat("async-snapshot-", checkpoint_id),
      [&strategy, resources, registry, factory, checkpoint_id, type]() mutable -> absl::StatusOr<SnapshotResult> {
        absl::StatusOr<SnapshotResult> result =
            strategy.AsyncSnapshot(*resources, checkpoint_id, factory, type, *registry);
        // A failure after cancellation is reported as the cancellation it is.
        const bool cancelled = registry->closed();
        registry->Close();
        strategy.Release(*resources);
        if (!result.ok() && cancelled) {
          return absl::CancelledError(absl::StrCat("snapshot ", checkpoint_id, " cancelled: ",
                                                   result.status().message()));
        }
        return result;
      });
  return running;
}

}  // namespace snapsim
