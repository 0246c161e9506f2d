// Small helpers for a machine's local disk through rocksdb::Env: create with parents, recursive delete, list,
// whole-file read and write. Every failure is an absl::Status naming the path.
#ifndef SNAPSIM_BACKEND_LOCAL_FILES_H_
#define SNAPSIM_BACKEND_LOCAL_FILES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "rocksdb/env.h"

namespace snapsim {

// Creates `path` and any missing parents (mkdir -p); rocksdb::Env::CreateDirIfMissing creates one level only.
absl::Status CreateDirectories(rocksdb::Env* env, const std::string& path);
// Deletes `path` (file or directory, recursively). A missing path is not an error.
absl::Status DeleteRecursively(rocksdb::Env* env, const std::string& path);
// The names in `directory` (not recursive), sorted.
absl::StatusOr<std::vector<std::string>> ListDirectory(rocksdb::Env* env, const std::string& directory);
// Writes and syncs the file (its bytes; the name is durable once its directory is synced: SyncDirectory).
absl::Status WriteLocalFile(rocksdb::Env* env, const std::string& path, const std::string& contents);
// fsync of a directory: the names in it survive power loss.
absl::Status SyncDirectory(rocksdb::Env* env, const std::string& directory);
absl::StatusOr<std::string> ReadLocalFile(rocksdb::Env* env, const std::string& path);
bool LocalPathExists(rocksdb::Env* env, const std::string& path);

}  // namespace snapsim

#endif  // SNAPSIM_BACKEND_LOCAL_FILES_H_
