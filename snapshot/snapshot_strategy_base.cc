#include "snapshot/snapshot_strategy_base.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "backend/rocksdb_status.h"
#include "rocksdb/sst_file_reader.h"
#include "rocksdb/utilities/checkpoint.h"
#include "backend/local_files.h"
#include "backend/mutation.h"

namespace snapsim {

absl::Status SnapshotDirectory::Cleanup(rocksdb::Env* env) {
  if (state_ != State::kOngoing) return absl::OkStatus();
  state_ = State::kDeleted;
  return DeleteRecursively(env, path_);
}

absl::StatusOr<std::optional<std::string>> SnapshotDirectory::CompleteAndGetPath() {
  if (!permanent_) return std::optional<std::string>();
  if (state_ == State::kDeleted) {
    return absl::FailedPreconditionError(absl::StrCat("snapshot directory ", path_, " was already deleted"));
  }
  state_ = State::kCompleted;
  return std::optional<std::string>(path_);
}

PreviousSnapshot::PreviousSnapshot(const std::vector<HandleAndLocalPath>& confirmed) {
  for (const HandleAndLocalPath& file : confirmed) confirmed_[file.local_path] = file.handle;
}

std::optional<StreamStateHandle> PreviousSnapshot::GetUploaded(const std::string& local_name) const {
  auto found = confirmed_.find(local_name);
  if (found == confirmed_.end()) return std::nullopt;
  return StreamStateHandle::PlaceholderFor(found->second);
}

SnapshotStrategyBase::SnapshotStrategyBase(std::string description, KeyedStateBackend* backend, Runtime* runtime,
                                           StateUploader* uploader, LocalRecoveryConfig local_recovery,
                                           std::string backend_uid)
    : description_(std::move(description)),
      backend_(backend),
      runtime_(runtime),
      uploader_(uploader),
      local_recovery_(std::move(local_recovery)),
      backend_uid_(std::move(backend_uid)),
      local_directory_name_(SNAPSIM_MUTANT("local-dir-without-uid") ? std::string("db")
                                                                    : absl::StrReplaceAll(backend_uid_, {{"-", ""}})) {}

absl::StatusOr<SnapshotDirectory> SnapshotStrategyBase::PrepareLocalSnapshotDirectory(int64_t checkpoint_id) {
  if (local_recovery_.enabled) {
    const std::string checkpoint_directory = local_recovery_.CheckpointDirectory(checkpoint_id);
    absl::Status status = CreateDirectories(env(), checkpoint_directory);
    if (!status.ok()) {
      return absl::Status(status.code(), absl::StrCat("local state base directory for checkpoint ", checkpoint_id,
                                                      " could not be created: ", status.message()));
    }
    // The backend UID in the name keeps two backends of one task apart (DESIGN.md invariant 6).
    const std::string rocksdb_directory = checkpoint_directory + "/" + local_directory_name_;
    // RocksDB requires that the checkpoint target does not exist.
    status = DeleteRecursively(env(), rocksdb_directory);
    if (!status.ok()) return status;
    return SnapshotDirectory::Permanent(rocksdb_directory);
  }
  const std::string temporary = absl::StrCat(backend_->config().instance_path, "/chk-", checkpoint_id);
  // Left over by an attempt that crashed before its cleanup.
  absl::Status status = DeleteRecursively(env(), temporary);
  if (!status.ok()) return status;
  return SnapshotDirectory::Temporary(temporary);
}

absl::Status SnapshotStrategyBase::TakeDbNativeCheckpoint(SnapshotDirectory& directory) {
  // The lease keeps the DB from being closed while RocksDB links and copies its files.
  absl::StatusOr<ResourceGuard::Lease> lease = backend_->resource_guard().Acquire("take a native checkpoint");
  if (!lease.ok()) return lease.status();
  rocksdb::Checkpoint* raw_checkpoint = nullptr;
  absl::Status status = FromRocksDbStatus(rocksdb::Checkpoint::Create(backend_->db(), &raw_checkpoint),
                                          "creating the RocksDB checkpoint object");
  if (status.ok()) {
    std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw_checkpoint);
    // Flushes memtables first (Flink writes without a WAL), then hard-links SSTs and copies the rest.
    status = FromRocksDbStatus(
        runtime_->RunBlockingRocksDbCall([&] { return checkpoint->CreateCheckpoint(directory.path(), 0); }),
        absl::StrCat("taking a native RocksDB checkpoint into ", directory.path()));
  }
  if (!status.ok()) {
    // RocksDB may leave `dir` (failure after its rename) or `dir.tmp` behind: delete both.
    (void)directory.Cleanup(env());
    (void)DeleteRecursively(env(), directory.path() + ".tmp");
  }
  return status;
}

absl::StatusOr<NativeSnapshotResources> SnapshotStrategyBase::SyncPrepareResources(int64_t checkpoint_id) {
  absl::StatusOr<SnapshotDirectory> directory = PrepareLocalSnapshotDirectory(checkpoint_id);
  if (!directory.ok()) return directory.status();
  NativeSnapshotResources resources;
  resources.directory = *std::move(directory);
  // Meta info is captured before the native checkpoint; both happen on the task's activity, so no state can be
  // registered in between.
  resources.previous_snapshot = SnapshotMetaData(checkpoint_id, &resources.meta_infos);
  absl::Status status = TakeDbNativeCheckpoint(resources.directory);
  if (!status.ok()) return status;
  return resources;
}

absl::StatusOr<std::string> SnapshotStrategyBase::MaterializeMetaData(const std::vector<StateMetaInfo>& meta_infos,
                                                                      int64_t checkpoint_id,
                                                                      CheckpointStreamFactory& factory,
                                                                      CloseableRegistry& snapshot_registry,
                                                                      CloseableRegistry& tmp_resources,
                                                                      StreamStateHandle* remote) {
  const std::string blob = SerializeStateMetaInfoList(meta_infos);
  absl::StatusOr<std::unique_ptr<StateOutputStream>> created = factory.CreateStream(StateScope::kExclusive);
  if (!created.ok()) return created.status();
  std::shared_ptr<StateOutputStream> stream(std::move(*created));
  const std::optional<uint64_t> token = snapshot_registry.Register([stream] { stream->Cancel(); });
  if (!token.has_value()) return absl::CancelledError("snapshot cancelled before writing its metadata");
  absl::Status status = stream->Write(blob);
  if (!snapshot_registry.Unregister(*token)) {
    return absl::CancelledError("stream already closed and cannot return a handle");
  }
  if (!status.ok()) {
    stream->Cancel();
    return status;
  }
  absl::StatusOr<StreamStateHandle> stored = stream->CloseAndGetHandle();
  if (!stored.ok()) return stored.status();
  CheckpointStorage* storage = factory.storage();
  const std::string path = stored->path;
  const bool in_storage = stored->in_storage();
  if (!tmp_resources.Register([storage, path, in_storage] {
        if (in_storage) (void)storage->Delete(path);
      }).has_value()) {
    return absl::CancelledError("snapshot failed while writing its metadata");
  }
  *remote = *std::move(stored);
  if (!local_recovery_.enabled) return std::string();
  // The local duplicate is best effort: without it the snapshot simply has no local-recovery handle.
  const std::string local_path =
      absl::StrCat(local_recovery_.CheckpointDirectory(checkpoint_id), "/", runtime_->NewUniqueId());
  if (!WriteLocalFile(env(), local_path, blob).ok()) {
    (void)DeleteRecursively(env(), local_path);
    return std::string();
  }
  if (!tmp_resources.Register([this, local_path] { (void)DeleteRecursively(env(), local_path); }).has_value()) {
    return absl::CancelledError("snapshot failed while writing its local metadata");
  }
  return local_path;
}

absl::StatusOr<SnapshotResult> SnapshotStrategyBase::AsyncSnapshot(NativeSnapshotResources& resources,
                                                                   int64_t checkpoint_id,
                                                                   CheckpointStreamFactory& factory,
                                                                   SnapshotType type,
                                                                   CloseableRegistry& snapshot_registry) {
  if (resources.meta_infos.empty()) return SnapshotResult{};  // an empty backend: nothing to upload
  // Everything this snapshot uploads is registered here until it completes (FLINK-30461).
  CloseableRegistry tmp_resources;
  IncrementalRemoteKeyedStateHandle handle;
  handle.backend_uid = backend_uid_;
  handle.key_group_range = backend_->key_group_range();
  handle.checkpoint_id = checkpoint_id;
  handle.state_handle_id = runtime_->NewUniqueId();
  SnapshotResult result;
  absl::Status status;
  absl::StatusOr<std::string> local_meta = MaterializeMetaData(resources.meta_infos, checkpoint_id, factory,
                                                               snapshot_registry, tmp_resources,
                                                               &handle.meta_state_handle);
  if (!local_meta.ok()) status = local_meta.status();
  if (status.ok()) {
    status = UploadSnapshotFiles(resources, checkpoint_id, factory, type, snapshot_registry, tmp_resources, &handle);
  }
  if (status.ok()) {
    absl::StatusOr<std::optional<std::string>> local_directory = resources.directory.CompleteAndGetPath();
    if (!local_directory.ok()) status = local_directory.status();
    if (status.ok() && local_directory->has_value() && !local_meta->empty()) {
      result.local = IncrementalLocalKeyedStateHandle{backend_uid_,          checkpoint_id,
                                                      **local_directory,     handle.key_group_range,
                                                      *local_meta,           handle.shared_state};
    } else if (status.ok() && local_directory->has_value()) {
      // The local copy's metadata could not be written (best effort, a disk fault): without it the copy can never be
      // restored, and no handle will ever delete its directory. Deleted now (Flink leaves it in chk_<id> until the
      // store prunes that checkpoint; if the task's snapshot fails, nothing ever does: found by the checker's local
      // disk model, swarm-recoverable seed 40, kept as local_copy_without_metadata_is_deleted.scenario).
      (void)DeleteRecursively(env(), **local_directory);
    }
  }
  if (!status.ok()) {
    // Delete exactly what this snapshot created: its uploads and metadata, and its local directory if a handle
    // already took it over. Files reused as placeholders were never registered, so they are never deleted here.
    tmp_resources.Close();
    if (resources.directory.state() == SnapshotDirectory::State::kCompleted) {
      (void)DeleteRecursively(env(), resources.directory.path());
    }
    return status;
  }
  result.remote = std::move(handle);
  return result;
}

void SnapshotStrategyBase::Release(NativeSnapshotResources& resources) {
  (void)resources.directory.Cleanup(env());
}

absl::Status SnapshotStrategyBase::VerifySstFiles(const std::string& directory,
                                                 const std::vector<std::string>& names) const {
  rocksdb::Options options;
  options.env = env();
  for (const std::string& name : names) {
    if (name.size() < 4 || name.compare(name.size() - 4, 4, ".sst") != 0) continue;
    const std::string path = directory + "/" + name;
    rocksdb::SstFileReader reader(options);
    rocksdb::Status status = reader.Open(path);
    if (status.ok()) status = reader.VerifyChecksum();
    if (!status.ok()) {
      return absl::DataLossError(absl::StrCat("verifying ", path, " before its upload: ", status.ToString()));
    }
  }
  return absl::OkStatus();
}

}  // namespace snapsim
