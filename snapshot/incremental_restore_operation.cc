#include "snapshot/incremental_restore_operation.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "backend/encoding.h"
#include "backend/rocksdb_status.h"
#include "snapshot/local_files.h"

namespace snapsim {
namespace {

// Reads an object and checks it is the one the handle describes.
absl::StatusOr<std::string> Download(CheckpointStorage& storage, const StreamStateHandle& handle,
                                     const std::string& what, int64_t checkpoint_id) {
  absl::StatusOr<std::string> bytes = storage.Read(handle.path);
  if (!bytes.ok()) {
    return absl::Status(bytes.status().code(), absl::StrCat("checkpoint ", checkpoint_id, ": ", what, " (object ",
                                                            handle.path, "): ", bytes.status().message()));
  }
  if (bytes->size() != handle.size_bytes) {
    return absl::DataLossError(absl::StrCat("checkpoint ", checkpoint_id, ": ", what, " (object ", handle.path,
                                            "): expected ", handle.size_bytes, " bytes, found ", bytes->size()));
  }
  if (Crc32c(*bytes) != handle.checksum) {
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

// Moves (or, from a local-recovery directory, links and copies) the snapshot files into <instance>/db and opens
// the backend.
absl::StatusOr<std::unique_ptr<KeyedStateBackend>> OpenFromDirectory(const KeyedStateBackendConfig& config,
                                                                    const std::string& source, bool keep_source,
                                                                    const std::vector<StateMetaInfo>& metas) {
  rocksdb::Env* env = config.env;
  const std::string db = config.instance_path + "/db";
  absl::Status status =
      FromRocksDbStatus(env->CreateDirIfMissing(db), absl::StrCat("could not create RocksDB data directory ", db));
  if (!status.ok()) return status;
  absl::StatusOr<std::vector<std::string>> names = ListDirectory(env, source);
  if (!names.ok()) return names.status();
  for (const std::string& name : *names) {
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

absl::Status CheckTarget(const KeyedStateBackendConfig& config, const KeyGroupRange& handle_range) {
  if (handle_range != config.key_group_range) {
    return absl::UnimplementedError(absl::StrCat("restoring ", handle_range.ToString(), " into ",
                                                 config.key_group_range.ToString(),
                                                 " needs rescaling, which is not implemented yet"));
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

}  // namespace

absl::StatusOr<RestoreResult> RestoreFromRemoteHandle(const KeyedStateBackendConfig& config, Runtime& runtime,
                                                      CheckpointStorage& storage,
                                                      const IncrementalRemoteKeyedStateHandle& handle) {
  if (absl::Status status = CheckTarget(config, handle.key_group_range); !status.ok()) return status;
  rocksdb::Env* env = config.env;
  const bool instance_existed = LocalPathExists(env, config.instance_path);
  const std::string download = config.instance_path + "/" + runtime.NewUniqueId();
  // Whatever fails below, only what this restore created is removed.
  auto undo = [&] {
    (void)DeleteRecursively(env, download);
    (void)DeleteRecursively(env, config.instance_path + "/db");
    if (!instance_existed) (void)DeleteRecursively(env, config.instance_path);
  };
  absl::StatusOr<std::string> meta_bytes =
      Download(storage, handle.meta_state_handle, "metadata", handle.checkpoint_id);
  if (!meta_bytes.ok()) return meta_bytes.status();
  absl::StatusOr<std::vector<StateMetaInfo>> metas =
      ParseMetaData(*meta_bytes, handle.checkpoint_id, handle.meta_state_handle.path);
  if (!metas.ok()) return metas.status();

  absl::Status status = FromRocksDbStatus(env->CreateDirIfMissing(download),
                                          absl::StrCat("creating download directory ", download));
  for (const std::vector<HandleAndLocalPath>* group : {&handle.shared_state, &handle.private_state}) {
    for (const HandleAndLocalPath& file : *group) {
      if (!status.ok()) break;
      if (file.local_path.empty() || file.local_path.find('/') != std::string::npos) {
        status = absl::DataLossError(absl::StrCat("checkpoint ", handle.checkpoint_id, ": invalid local file name '",
                                                  file.local_path, "'"));
        break;
      }
      absl::StatusOr<std::string> bytes =
          Download(storage, file.handle, absl::StrCat("file ", file.local_path), handle.checkpoint_id);
      status = bytes.ok() ? WriteLocalFile(env, download + "/" + file.local_path, *bytes) : bytes.status();
    }
  }
  absl::StatusOr<std::unique_ptr<KeyedStateBackend>> backend =
      status.ok() ? OpenFromDirectory(config, download, /*keep_source=*/false, *metas)
                  : absl::StatusOr<std::unique_ptr<KeyedStateBackend>>(status);
  (void)DeleteRecursively(env, download);
  if (!backend.ok()) {
    undo();
    return absl::Status(backend.status().code(), absl::StrCat("restoring checkpoint ", handle.checkpoint_id, ": ",
                                                              backend.status().message()));
  }
  RestoreResult result;
  result.backend = *std::move(backend);
  result.backend_uid = handle.backend_uid;
  result.history = HistoryOf(handle.checkpoint_id, handle.shared_state);
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
  absl::StatusOr<std::unique_ptr<KeyedStateBackend>> backend =
      OpenFromDirectory(config, handle.directory, /*keep_source=*/true, *metas);
  if (!backend.ok()) {
    (void)DeleteRecursively(env, config.instance_path + "/db");
    if (!instance_existed) (void)DeleteRecursively(env, config.instance_path);
    return backend.status();
  }
  RestoreResult result;
  result.backend = *std::move(backend);
  result.backend_uid = handle.backend_uid;
  result.history = HistoryOf(handle.checkpoint_id, handle.shared_state);
  return result;
}

}  // namespace snapsim
