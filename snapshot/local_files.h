// Small helpers for the task's local disk through rocksdb::Env: recursive delete, copy, list. Used by the
// snapshot strategies and restore; every failure is an absl::Status naming the path.
#ifndef SNAPSIM_SNAPSHOT_LOCAL_FILES_H_
#define SNAPSIM_SNAPSHOT_LOCAL_FILES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "rocksdb/env.h"

namespace snapsim {

// Deletes `path` (file or directory, recursively). A missing path is not an error.
absl::Status DeleteRecursively(rocksdb::Env* env, const std::string& path);
// The names in `directory` (not recursive), sorted.
absl::StatusOr<std::vector<std::string>> ListDirectory(rocksdb::Env* env, const std::string& directory);
absl::Status WriteLocalFile(rocksdb::Env* env, const std::string& path, const std::string& contents);
absl::StatusOr<std::string> ReadLocalFile(rocksdb::Env* env, const std::string& path);
bool LocalPathExists(rocksdb::Env* env, const std::string& path);

}  // namespace snapsim

#endif  // SNAPSIM_SNAPSHOT_LOCAL_FILES_H_
