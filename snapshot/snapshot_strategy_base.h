// The shared base of the RocksDB native snapshot strategies, after FLINK-28699's RocksDBSnapshotStrategyBase.
// Synchronous part (on the task's activity): prepare the local snapshot directory (temporary under the instance
// path, or permanent under local recovery with the backend UID in its name), snapshot the state meta info, take a
// native RocksDB checkpoint. Asynchronous part (its own activity, see SnapshotRunner): write the metadata,
// upload files (subclass), build the result with an optional local-recovery handle, and on any failure delete
// exactly what this snapshot created.
#ifndef SNAPSIM_SNAPSHOT_SNAPSHOT_STRATEGY_BASE_H_
#define SNAPSIM_SNAPSHOT_SNAPSHOT_STRATEGY_BASE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "backend/keyed_state_backend.h"
#include "backend/runtime.h"
#include "snapshot/checkpoint_stream_factory.h"
#include "snapshot/closeable_registry.h"
#include "snapshot/snapshot_type.h"
#include "snapshot/state_handles.h"
#include "snapshot/state_uploader.h"

namespace snapsim {


// Local recovery: when enabled, each checkpoint's native checkpoint stays on local disk under
// <subtask_directory>/chk_<id>/<backend UID without '-'> together with a local copy of the metadata.
struct LocalRecoveryConfig {
  bool enabled = false;
  std::string subtask_directory;
  std::string CheckpointDirectory(int64_t checkpoint_id) const {
    return subtask_directory + "/chk_" + std::to_string(checkpoint_id);
  }
};

// Flink's SnapshotDirectory: temporary (always deleted by Cleanup) or permanent (kept once completed).
class SnapshotDirectory {
 public:
  enum class State { kOngoing, kCompleted, kDeleted };
  static SnapshotDirectory Temporary(std::string path) { return SnapshotDirectory(std::move(path), false); }
  static SnapshotDirectory Permanent(std::string path) { return SnapshotDirectory(std::move(path), true); }

  const std::string& path() const { return path_; }
  bool permanent() const { return permanent_; }
  State state() const { return state_; }
  // Deletes the directory unless it was completed. Idempotent.
  absl::Status Cleanup(rocksdb::Env* env);
  // Permanent: marks it completed and returns its path (ownership moves to the local handle). Temporary: nullopt.
  absl::StatusOr<std::optional<std::string>> CompleteAndGetPath();

 private:
  SnapshotDirectory(std::string path, bool permanent) : path_(std::move(path)), permanent_(permanent) {}
  std::string path_;
  bool permanent_;
  State state_ = State::kOngoing;
};

// The SST files of the last checkpoint confirmed to this backend, by local file name (FLINK-25395: never files
// of an unconfirmed checkpoint).
class PreviousSnapshot {
 public:
  PreviousSnapshot() = default;
  explicit PreviousSnapshot(const std::vector<HandleAndLocalPath>& confirmed);
  // A placeholder for the confirmed upload of `local_name`, if there is one.
  std::optional<StreamStateHandle> GetUploaded(const std::string& local_name) const;
  size_t size() const { return confirmed_.size(); }

 private:
  std::map<std::string, StreamStateHandle> confirmed_;
};

struct NativeSnapshotResources {
  SnapshotDirectory directory = SnapshotDirectory::Temporary("");
  PreviousSnapshot previous_snapshot;
  std::vector<StateMetaInfo> meta_infos;
};

class SnapshotStrategyBase {
 public:
  SnapshotStrategyBase(std::string description, KeyedStateBackend* backend, Runtime* runtime,
                       StateUploader* uploader, LocalRecoveryConfig local_recovery, std::string backend_uid);
  virtual ~SnapshotStrategyBase() = default;

  // The synchronous part. On failure nothing it created is left behind.
  absl::StatusOr<NativeSnapshotResources> SyncPrepareResources(int64_t checkpoint_id);
  // The asynchronous part. `snapshot_registry` holds this snapshot's open streams; closing it cancels.
  absl::StatusOr<SnapshotResult> AsyncSnapshot(NativeSnapshotResources& resources, int64_t checkpoint_id,
                                               CheckpointStreamFactory& factory, SnapshotType type,
                                               CloseableRegistry& snapshot_registry);
  // Deletes the local snapshot directory unless a local-recovery handle owns it.
  void Release(NativeSnapshotResources& resources);

  virtual void NotifyCheckpointComplete(int64_t checkpoint_id) = 0;
  virtual void NotifyCheckpointAborted(int64_t checkpoint_id) = 0;

  const std::string& description() const { return description_; }
  const std::string& backend_uid() const { return backend_uid_; }
  KeyedStateBackend* backend() const { return backend_; }

 protected:
  // Snapshot of the meta info (appended to `meta_infos`) and the files this snapshot may reuse.
  virtual PreviousSnapshot SnapshotMetaData(int64_t checkpoint_id, std::vector<StateMetaInfo>* meta_infos) = 0;
  // Uploads the native checkpoint's files and fills `handle`'s shared and private state and checkpointed size.
  virtual absl::Status UploadSnapshotFiles(NativeSnapshotResources& resources, int64_t checkpoint_id,
                                           CheckpointStreamFactory& factory, SnapshotType type,
                                           CloseableRegistry& snapshot_registry, CloseableRegistry& tmp_resources,
                                           IncrementalRemoteKeyedStateHandle* handle) = 0;

  rocksdb::Env* env() const { return backend_->config().env; }
  // FLINK-27681 (its proposal; not merged in Flink): every SST file in `directory` named in `names` is read through
  // RocksDB's table reader and its block checksums verified before it is uploaded, so a file corrupted on local disk
  // is never uploaded (later incremental checkpoints would reuse the corrupt object). The error names the file.
  absl::Status VerifySstFiles(const std::string& directory, const std::vector<std::string>& names) const;
  StateUploader* uploader() const { return uploader_; }

 private:
  absl::StatusOr<SnapshotDirectory> PrepareLocalSnapshotDirectory(int64_t checkpoint_id);
  absl::Status TakeDbNativeCheckpoint(SnapshotDirectory& directory);
  absl::StatusOr<std::string> MaterializeMetaData(const std::vector<StateMetaInfo>& meta_infos,
                                                  int64_t checkpoint_id, CheckpointStreamFactory& factory,
                                                  CloseableRegistry& snapshot_registry,
                                                  CloseableRegistry& tmp_resources, StreamStateHandle* remote);

  const std::string description_;
  KeyedStateBackend* backend_;
  Runtime* runtime_;
  StateUploader* uploader_;
  const LocalRecoveryConfig local_recovery_;
  const std::string backend_uid_;
  // backend_uid_ without '-': the backend's own sub-directory under a checkpoint's local directory.
  const std::string local_directory_name_;
};

}  // namespace snapsim

#endif  // SNAPSIM_SNAPSHOT_SNAPSHOT_STRATEGY_BASE_H_
