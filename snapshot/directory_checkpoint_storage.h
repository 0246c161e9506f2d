// Checkpoint storage in a directory on real disk (the `--fs=posix` counterpart of the simulated object store).
// An object is written to "<path>.inprogress" and renamed into place by Finish, so readers never see a partial
// object; cancelling or dropping an unfinished stream deletes the partial file. Follows Flink's
// FsCheckpointStreamFactory on a local file system.
#ifndef SNAPSIM_SNAPSHOT_DIRECTORY_CHECKPOINT_STORAGE_H_
#define SNAPSIM_SNAPSHOT_DIRECTORY_CHECKPOINT_STORAGE_H_

#include <memory>
#include <string>
#include <vector>

#include "rocksdb/file_system.h"
#include "snapshot/checkpoint_storage.h"

namespace snapsim {

class DirectoryCheckpointStorage : public CheckpointStorage {
 public:
  // Objects live under `root` (created if missing). Object paths are relative, '/'-separated, without "..".
  explicit DirectoryCheckpointStorage(std::string root,
                                      std::shared_ptr<rocksdb::FileSystem> file_system = rocksdb::FileSystem::Default());

  absl::StatusOr<std::unique_ptr<CheckpointOutputStream>> Create(const std::string& path) override;
  absl::StatusOr<std::string> Read(const std::string& path) override;
  absl::Status Delete(const std::string& path) override;
  absl::StatusOr<std::vector<std::string>> List(const std::string& prefix) override;
  absl::StatusOr<bool> Exists(const std::string& path) override;
  // Reads the object to compute its checksum.
  absl::StatusOr<StoredObjectInfo> Stat(const std::string& path) override;

  const std::string& root() const { return root_; }

 private:
  absl::StatusOr<std::string> FullPath(const std::string& path) const;
  absl::Status ListInto(const std::string& directory, const std::string& relative,
                        std::vector<std::string>* paths) const;

  const std::string root_;
  std::shared_ptr<rocksdb::FileSystem> file_system_;
};

}  // namespace snapsim

#endif  // SNAPSIM_SNAPSHOT_DIRECTORY_CHECKPOINT_STORAGE_H_
