#include "snapshot/incremental_restore_operation.h"

#include <optional>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "backend/encoding.h"
#include "backend/rocksdb_status.h"
#include "backend/local_files.h"
#include "backend/mutation.h"
#include "snapshot/parallel_transfers.h"

namespace snapsim {
namespace {

// Reads an object and checks it is the one the handle describes.
absl::StatusOr<std::string> Download(CheckpointStorage& storage, const StreamStateHandle& handle,
                                     const std::string& what, int64_t checkpoint_id) {
  // Inline state comes with the handle. (A placeholder is read at the path of the file it stands for.)
  if (handle.is_inline()) {
    return ReadStreamStateHandle(storage, handle, absl::StrCat("checkpoint ", checkpoint_id, ": ", what));
  }
  absl::StatusOr<std::string> bytes = storage.Read(handle.path);
  if (SNAPSIM_MUTANT("restore-ignores-missing-file")) return bytes.ok() ? *bytes : std::string();
  if (!bytes.ok()) {
    return absl::Status(bytes.status().code(), absl::StrCat("checkpoint ", checkpoint_id, ": ", what, " (object ",
                                                            handle.path, "): ", bytes.status().message()));
  }
  if (bytes->size() != handle.size_bytes) {
    return absl::DataLossError(absl::StrCat("checkpoint ", checkpoint_id, ": ", what, " (object ", handle.path,
                                            "): expected ", handle.size_bytes, " bytes, found ", bytes->size()));
  }
  if (!SNAPSIM_MUTANT("download-skips-checksum") && Crc32c(*bytes) != handle.checksum) {
    return absl::DataLossError(absl::StrCat("checkpoint ", checkpoint_id, ": ", what, " (object ", handle.path,
                                            "): checksum mismatch"));
  }
  return bytes;
}

absl::StatusOr<std::vector<StateMetaInfo>> ParseMetaData(const std::string& bytes, int64_t checkpoint_id,
                                                         const std::string& where) {
  absl::StatusOr<std::vector<StateMetaInfo>> metas = ParseStateMetaInfoList(bytes);
  if (!metas.ok()) {
    return absl::DataLossError(absl::StrCat("checkpoint ", checkpoint_id, ": metadata ", where, ": ",
                                            metas.status().message()));
  }
  return metas;
}

// A file of a snapshot is named by a plain file name, never a path (a handle that says otherwise is corrupt).
absl::Status CheckLocalFileName(int64_t checkpoint_id, const HandleAndLocalPath& file) {
  if (file.local_path.empty() || file.local_path.find('/') != std::string::npos) {
    return absl::DataLossError(
        absl::StrCat("checkpoint ", checkpoint_id, ": invalid local file name '", file.local_path, "'"));
  }
  return absl::OkStatus();
}

// "restoring checkpoint N": what a cancelled restore says it was doing.
std::string RestoringCheckpoint(int64_t checkpoint_id) { return absl::StrCat("restoring checkpoint ", checkpoint_id); }

// Moves (or, from a local-recovery directory, links and copies) the snapshot files into <instance>/db and opens
// the backend; a cancellation is checked before each file (a local restore copies them).
absl::StatusOr<std::unique_ptr<KeyedStateBackend>> OpenFromDirectory(const KeyedStateBackendConfig& config,
                                                                    const std::string& source, bool keep_source,
                                                                    const std::vector<StateMetaInfo>& metas,
                                                                    int64_t checkpoint_id) {
  rocksdb::Env* env = config.env;
  const std::string db = config.instance_path + "/db";
  absl::Status status = CreateDirectories(env, db);
  if (!status.ok()) {
    return absl::Status(status.code(), absl::StrCat("could not create RocksDB data directory: ", status.message()));
  }
  absl::StatusOr<std::vector<std::string>> names = ListDirectory(env, source);
  if (!names.ok()) return names.status();
  for (const std::string& name : *names) {
    status = CheckNotCancelled(config.cancellation.get(), RestoringCheckpoint(checkpoint_id));
    if (!status.ok()) return status;
    const std::string from = source + "/" + name;
    const std::string to = db + "/" + name;
    if (!keep_source) {
      status = FromRocksDbStatus(env->RenameFile(from, to), absl::StrCat("moving ", from, " to ", to));
    } else if (absl::EndsWith(name, ".sst") && env->LinkFile(from, to).ok()) {
      status = absl::OkStatus();
    } else {
      absl::StatusOr<std::string> contents = ReadLocalFile(env, from);
      status = contents.ok() ? WriteLocalFile(env, to, *contents) : contents.status();
    }
    if (!status.ok()) return status;
  }
  return KeyedStateBackend::Open(config, metas);
}

// Downloads every shared and private file of `handle` into `directory` (created), checking sizes and checksums,
// with `threads` parallel transfers on the runtime (the uploader's worker pattern, StateUploader). After a failure
// no new transfer starts, and every transfer in flight ends before this returns, so the caller's cleanup of the
// directory never races a download still writing into it (FLINK-32681). The error is the first failed file's, in
// the handle's order, naming it (FLINK-39998), never a follow-on error. A cancellation stops the downloads the same
// way (a transfer checks it before its read, after it and before writing) and is the error unless a file failed.
absl::Status DownloadFiles(rocksdb::Env* env, Runtime& runtime, CheckpointStorage& storage,
                           const IncrementalRemoteKeyedStateHandle& handle, const std::string& directory,
                           int threads, const CancellationToken* cancellation) {
  absl::Status status = FromRocksDbStatus(env->CreateDirIfMissing(directory),
                                          absl::StrCat("creating download directory ", directory));
  if (!status.ok()) return status;
  std::vector<const HandleAndLocalPath*> files;
  for (const std::vector<HandleAndLocalPath>* group : {&handle.shared_state, &handle.private_state}) {
    for (const HandleAndLocalPath& file : *group) {
      if (absl::Status status = CheckLocalFileName(handle.checkpoint_id, file); !status.ok()) return status;
      files.push_back(&file);
    }
  }
  const std::vector<std::optional<absl::Status>> outcomes =
      RunParallelTransfers(runtime, "download", files.size(), threads, [&](size_t index) -> absl::Status {
        const HandleAndLocalPath& file = *files[index];
        const std::string what = absl::StrCat("file ", file.local_path);
        if (absl::Status status = CheckNotCancelled(cancellation, absl::StrCat("downloading ", what)); !status.ok()) {
          return status;
        }
        absl::StatusOr<std::string> bytes = Download(storage, file.handle, what, handle.checkpoint_id);
        if (!bytes.ok()) return bytes.status();
        if (absl::Status status = CheckNotCancelled(cancellation, absl::StrCat("downloading ", what)); !status.ok()) {
          return status;
        }
        return WriteLocalFile(env, directory + "/" + file.local_path, *bytes);
      }, cancellation);
  return TransfersOutcome(outcomes, cancellation, RestoringCheckpoint(handle.checkpoint_id));
}

// Downloads `handle` and opens it as a backend at `config.instance_path` (which must not hold a DB).
absl::StatusOr<std::unique_ptr<KeyedStateBackend>> DownloadAndOpen(const KeyedStateBackendConfig& config,
                                                                  Runtime& runtime, CheckpointStorage& storage,
                                                                  const IncrementalRemoteKeyedStateHandle& handle) {
  rocksdb::Env* env = config.env;
  const CancellationToken* cancellation = config.cancellation.get();
  if (absl::Status status = CheckNotCancelled(cancellation, RestoringCheckpoint(handle.checkpoint_id));
      !status.ok()) {
    return status;
  }
  absl::StatusOr<std::string> meta_bytes =
      Download(storage, handle.meta_state_handle, "metadata", handle.checkpoint_id);
  if (!meta_bytes.ok()) return meta_bytes.status();
  absl::StatusOr<std::vector<StateMetaInfo>> metas =
      ParseMetaData(*meta_bytes, handle.checkpoint_id, handle.meta_state_handle.path);
  if (!metas.ok()) return metas.status();
  const std::string download = config.instance_path + "/" + runtime.NewUniqueId();
  absl::Status status = CreateDirectories(env, config.instance_path);
  if (status.ok()) {
    status = DownloadFiles(env, runtime, storage, handle, download, config.transfer_threads, cancellation);
  }
  absl::StatusOr<std::unique_ptr<KeyedStateBackend>> backend =
      status.ok() ? OpenFromDirectory(config, download, /*keep_source=*/false, *metas, handle.checkpoint_id)
                  : absl::StatusOr<std::unique_ptr<KeyedStateBackend>>(status);
  (void)DeleteRecursively(env, download);
  if (!backend.ok()) {
    if (absl::IsCancelled(backend.status())) return backend.status();  // it already says what it was restoring
    return absl::Status(backend.status().code(), absl::StrCat("restoring checkpoint ", handle.checkpoint_id, ": ",
                                                              backend.status().message()));
  }
  return backend;
}

// Flink's chooseTheBestStateHandleForInitial with threshold 0: the largest intersection, then the largest
// fraction of the handle inside the target; ties keep the first. Returns the index, or -1 when none overlaps.
int ChooseInitialHandle(const std::vector<IncrementalRemoteKeyedStateHandle>& handles, const KeyGroupRange& target) {
  int best = -1;
  int64_t best_overlap = 0;
  int64_t best_size = 1;
  for (size_t i = 0; i < handles.size(); ++i) {
    const int64_t overlap = handles[i].key_group_range.Intersection(target).size();
    const int64_t size = handles[i].key_group_range.size();
    if (overlap <= 0) continue;
    // (overlap, overlap / size) compared lexicographically, fractions by cross-multiplication.
    const bool better = best < 0 || overlap > best_overlap ||
                        (overlap == best_overlap && overlap * best_size > best_overlap * size);
    if (better) {
      best = static_cast<int>(i);
      best_overlap = overlap;
      best_size = size;
    }
  }
  return best;
}

absl::Status CheckTarget(const KeyedStateBackendConfig& config, const KeyGroupRange& handle_range) {
  if (handle_range != config.key_group_range) {
    return absl::InvalidArgumentError(absl::StrCat("restoring ", handle_range.ToString(), " into ",
                                                   config.key_group_range.ToString(),
                                                   " needs rescaling: use RestoreKeyedState"));
  }
  if (LocalPathExists(config.env, config.instance_path + "/db")) {
    return absl::FailedPreconditionError(
        absl::StrCat("instance directory ", config.instance_path, " already holds a RocksDB instance"));
  }
  return absl::OkStatus();
}

RestoredSnapshotHistory HistoryOf(int64_t checkpoint_id, const std::vector<HandleAndLocalPath>& shared_state) {
  RestoredSnapshotHistory history;
  history.last_completed_checkpoint_id = checkpoint_id;
  std::vector<HandleAndLocalPath>& files = history.sst_files[checkpoint_id];
  for (HandleAndLocalPath file : shared_state) {
    // A placeholder carries the physical id of the file it stands for: it is that file.
    file.handle.kind = StreamStateHandle::Kind::kFile;
    files.push_back(std::move(file));
  }
  return history;
}

// Removes what a failed restore created: the DB directory, and the instance directory if it did not exist.
void RemoveRestoreTarget(const KeyedStateBackendConfig& config, bool instance_existed) {
  (void)DeleteRecursively(config.env, config.instance_path + "/db");
  if (!instance_existed) (void)DeleteRecursively(config.env, config.instance_path);
}

// The result of a non-rescaling restore of checkpoint `checkpoint_id`, or its error after cleaning up.
absl::StatusOr<RestoreResult> FinishRestore(const KeyedStateBackendConfig& config, bool instance_existed,
                                            absl::StatusOr<std::unique_ptr<KeyedStateBackend>> backend,
                                            const std::string& backend_uid, int64_t checkpoint_id,
                                            const std::vector<HandleAndLocalPath>& shared_state) {
  if (!backend.ok()) {
    RemoveRestoreTarget(config, instance_existed);
    return backend.status();
  }
  RestoreResult result;
  result.backend = *std::move(backend);
  result.backend_uid = backend_uid;
  result.history = HistoryOf(checkpoint_id, shared_state);
  return result;
}

// Checks that a local copy holds exactly the files the checkpoint recorded: every shared and private file and the
// metadata copy, each with the size and CRC-32C of its handle in `remote` (what was uploaded from the same files).
// A deviation from Flink, which trusts the task-local copy: a bit flipped on the local disk (an SST file is
// hard-linked into the running database, which may sit on it unread) would otherwise be restored, and the first
// read of that block would fail, long after the restore (swarm seed 332). The error names the local file.
absl::Status VerifyLocalCopy(rocksdb::Env* env, const IncrementalLocalKeyedStateHandle& local,
                             const IncrementalRemoteKeyedStateHandle& remote) {
  auto verify = [&](const std::string& path, const StreamStateHandle& handle) -> absl::Status {
    absl::StatusOr<std::string> bytes = ReadLocalFile(env, path);
    if (!bytes.ok()) return bytes.status();
    if (bytes->size() != handle.size_bytes) {
      return absl::DataLossError(absl::StrCat("local copy of checkpoint ", remote.checkpoint_id, ": ", path,
                                              ": expected ", handle.size_bytes, " bytes, found ", bytes->size()));
    }
    if (Crc32c(*bytes) != handle.checksum) {
      return absl::DataLossError(absl::StrCat("local copy of checkpoint ", remote.checkpoint_id, ": ", path,
                                              ": checksum mismatch"));
    }
    return absl::OkStatus();
  };
  for (const std::vector<HandleAndLocalPath>* group : {&remote.shared_state, &remote.private_state}) {
    for (const HandleAndLocalPath& file : *group) {
      if (absl::Status status = CheckLocalFileName(remote.checkpoint_id, file); !status.ok()) return status;
      if (absl::Status status = verify(local.directory + "/" + file.local_path, file.handle); !status.ok()) {
        return status;
      }
    }
  }
  return verify(local.local_meta_path, remote.meta_state_handle);
}

}  // namespace

absl::StatusOr<RestoreResult> RestoreFromRemoteHandle(const KeyedStateBackendConfig& config, Runtime& runtime,
                                                      CheckpointStorage& storage,
                                                      const IncrementalRemoteKeyedStateHandle& handle) {
  if (absl::Status status = CheckTarget(config, handle.key_group_range); !status.ok()) return status;
  const bool instance_existed = LocalPathExists(config.env, config.instance_path);
  return FinishRestore(config, instance_existed, DownloadAndOpen(config, runtime, storage, handle),
                       handle.backend_uid, handle.checkpoint_id, handle.shared_state);
}

absl::StatusOr<RestoreResult> RestoreKeyedState(const KeyedStateBackendConfig& config, Runtime& runtime,
                                                CheckpointStorage& storage,
                                                const std::vector<IncrementalRemoteKeyedStateHandle>& handles) {
  const KeyGroupRange& target = config.key_group_range;
  if (handles.size() == 1 && handles[0].key_group_range == target) {
    return RestoreFromRemoteHandle(config, runtime, storage, handles[0]);
  }
  rocksdb::Env* env = config.env;
  if (LocalPathExists(env, config.instance_path + "/db")) {
    return absl::FailedPreconditionError(
        absl::StrCat("instance directory ", config.instance_path, " already holds a RocksDB instance"));
  }
  const bool instance_existed = LocalPathExists(env, config.instance_path);
  std::vector<std::string> temporary_instances;
  auto fail = [&](const absl::Status& status) {
    for (const std::string& path : temporary_instances) (void)DeleteRecursively(env, path);
    RemoveRestoreTarget(config, instance_existed);
    return status;
  };

  const int initial = ChooseInitialHandle(handles, target);
  absl::StatusOr<std::unique_ptr<KeyedStateBackend>> base =
      initial < 0 ? KeyedStateBackend::Open(config) : DownloadAndOpen(config, runtime, storage, handles[initial]);
  if (!base.ok()) return fail(base.status());
  RestoreResult result;
  result.backend = *std::move(base);
  if (initial >= 0) {
    // Clip the base DB to the target range.
    const KeyGroupRange& source = handles[initial].key_group_range;
    if (source.start() < target.start()) {
      if (absl::Status s = result.backend->DeleteKeyGroupRange(KeyGroupRange(source.start(), target.start() - 1));
          !s.ok()) {
        result.backend.reset();
        return fail(s);
      }
    }
    if (source.end() > target.end()) {
      if (absl::Status s = result.backend->DeleteKeyGroupRange(KeyGroupRange(target.end() + 1, source.end()));
          !s.ok()) {
        result.backend.reset();
        return fail(s);
      }
    }
  }
  for (size_t i = 0; i < handles.size(); ++i) {
    const KeyGroupRange overlap = handles[i].key_group_range.Intersection(target);
    if (static_cast<int>(i) == initial || overlap.empty()) continue;
    if (absl::Status status =
            CheckNotCancelled(config.cancellation.get(), RestoringCheckpoint(handles[i].checkpoint_id));
        !status.ok()) {
      result.backend.reset();
      return fail(status);
    }
    KeyedStateBackendConfig temporary = config;
    temporary.instance_path = config.instance_path + "/" + runtime.NewUniqueId();
    temporary.key_group_range = handles[i].key_group_range;
    temporary_instances.push_back(temporary.instance_path);
    absl::StatusOr<std::unique_ptr<KeyedStateBackend>> source =
        DownloadAndOpen(temporary, runtime, storage, handles[i]);
    absl::Status status = source.ok() ? result.backend->CopyKeyGroupRangeFrom(**source, overlap) : source.status();
    if (source.ok()) {
      absl::Status closed = (*source)->Close();
      if (status.ok()) status = closed;
      source->reset();
    }
    (void)DeleteRecursively(env, temporary.instance_path);
    if (!status.ok()) {
      result.backend.reset();
      return fail(status);
    }
  }
  // A rescaled backend reuses nothing: new lineage, no history (as Flink 1.16).
  result.backend_uid = runtime.NewUniqueId();
  return result;
}

absl::StatusOr<RestoreResult> RestoreFromLocalHandle(const KeyedStateBackendConfig& config,
                                                     const IncrementalLocalKeyedStateHandle& handle) {
  if (absl::Status status = CheckTarget(config, handle.key_group_range); !status.ok()) return status;
  rocksdb::Env* env = config.env;
  const bool instance_existed = LocalPathExists(env, config.instance_path);
  absl::StatusOr<std::string> meta_bytes = ReadLocalFile(env, handle.local_meta_path);
  if (!meta_bytes.ok()) return meta_bytes.status();
  absl::StatusOr<std::vector<StateMetaInfo>> metas =
      ParseMetaData(*meta_bytes, handle.checkpoint_id, handle.local_meta_path);
  if (!metas.ok()) return metas.status();
  return FinishRestore(config, instance_existed,
                       OpenFromDirectory(config, handle.directory, /*keep_source=*/true, *metas, handle.checkpoint_id),
                       handle.backend_uid,
                       handle.checkpoint_id, handle.shared_state);
}

absl::StatusOr<RestoreResult> RestoreWithLocalRecovery(const KeyedStateBackendConfig& config, Runtime& runtime,
                                                       CheckpointStorage& storage,
                                                       const IncrementalRemoteKeyedStateHandle& remote,
                                                       const std::optional<IncrementalLocalKeyedStateHandle>& local,
                                                       bool* used_local, absl::Status* local_error) {
  if (used_local != nullptr) *used_local = false;
  if (local_error != nullptr) *local_error = absl::OkStatus();
  const bool matches = local.has_value() && local->checkpoint_id == remote.checkpoint_id &&
                       local->backend_uid == remote.backend_uid && local->key_group_range == remote.key_group_range &&
                       remote.key_group_range == config.key_group_range;
  if (matches) {
    absl::Status verified = VerifyLocalCopy(config.env, *local, remote);
    absl::StatusOr<RestoreResult> restored =
        verified.ok() ? RestoreFromLocalHandle(config, *local) : absl::StatusOr<RestoreResult>(verified);
    if (restored.ok()) {
      if (used_local != nullptr) *used_local = true;
      return restored;
    }
    // A cancelled restore does not go on with another source.
    if (absl::IsCancelled(restored.status())) return restored.status();
    // A damaged local copy is not an error: the checkpoint storage copy is the authority.
    if (local_error != nullptr) *local_error = restored.status();
  }
  return RestoreKeyedState(config, runtime, storage, {remote});
}

}  // namespace snapsim
