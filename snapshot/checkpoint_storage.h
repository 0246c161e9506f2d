// Checkpoint storage: the remote "DFS" that snapshots upload to and restores download from, as the snapshot code
// sees it. Implementations: a directory on real disk (snapshot/, later) and the simulated object store
// (sim/sim_object_store.h). Follows Flink's CheckpointStreamFactory / CheckpointStateOutputStream /
// FileSystem as used by FsCheckpointStorageAccess.
#ifndef SNAPSIM_SNAPSHOT_CHECKPOINT_STORAGE_H_
#define SNAPSIM_SNAPSHOT_CHECKPOINT_STORAGE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace snapsim {

// What storage knows of a complete object.
struct StoredObjectInfo {
  std::string path;
  uint64_t size_bytes = 0;
  // CRC-32C of the bytes.
  uint32_t checksum = 0;
};

// An object being written. The object appears in storage only when Finish succeeds (atomic put); destroying the
// stream without Finish, or Cancel, discards what was written (Flink: closing a checkpoint stream without
// closeAndGetHandle deletes the partial file).
class CheckpointOutputStream {
 public:
  virtual ~CheckpointOutputStream() = default;
  virtual absl::Status Write(absl::string_view data) = 0;
  virtual absl::StatusOr<StoredObjectInfo> Finish() = 0;
  // Makes what was written so far durable and readable under the stream's path, as a file system's sync does
  // (Flink's FSDataOutputStream#sync); the stream stays open and later writes append. A sync that fails may have
  // made part or all of the new bytes durable. Nothing a cancelled stream synced is taken back: its path then holds
  // the last synced bytes. Checkpoint file merging (Flink's FileMergingSnapshotManager) syncs a physical file after
  // every segment and finishes it when it is full or no longer needed.
  virtual absl::StatusOr<StoredObjectInfo> Sync() {
    return absl::UnimplementedError("this checkpoint storage cannot sync an open stream");
  }
  // May be called from another activity (cancellation through a registry of open streams): later Write and
  // Finish calls fail with Cancelled.
  virtual void Cancel() = 0;
};

class CheckpointStorage {
 public:
  virtual ~CheckpointStorage() = default;
  // Fails if `path` already exists: checkpoint files are written once.
  virtual absl::StatusOr<std::unique_ptr<CheckpointOutputStream>> Create(const std::string& path) = 0;
  virtual absl::StatusOr<std::string> Read(const std::string& path) = 0;
  // NotFound if absent.
  virtual absl::Status Delete(const std::string& path) = 0;
  // Paths starting with `prefix`, sorted.
  virtual absl::StatusOr<std::vector<std::string>> List(const std::string& prefix) = 0;
  virtual absl::StatusOr<bool> Exists(const std::string& path) = 0;
  virtual absl::StatusOr<StoredObjectInfo> Stat(const std::string& path) = 0;
};

}  // namespace snapsim

#endif  // SNAPSIM_SNAPSHOT_CHECKPOINT_STORAGE_H_
