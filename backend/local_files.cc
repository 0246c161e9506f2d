#include "backend/local_files.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "backend/rocksdb_status.h"

namespace snapsim {

absl::Status CreateDirectories(rocksdb::Env* env, const std::string& path) {
  if (path.empty() || path == "/" || LocalPathExists(env, path)) return absl::OkStatus();
  const size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    if (absl::Status status = CreateDirectories(env, path.substr(0, slash)); !status.ok()) return status;
  }
  return FromRocksDbStatus(env->CreateDirIfMissing(path), absl::StrCat("creating directory ", path));
}

bool LocalPathExists(rocksdb::Env* env, const std::string& path) { return env->FileExists(path).ok(); }

absl::Status DeleteRecursively(rocksdb::Env* env, const std::string& path) {
  if (!LocalPathExists(env, path)) return absl::OkStatus();
  bool is_directory = false;
  absl::Status status = FromRocksDbStatus(env->IsDirectory(path, &is_directory), absl::StrCat("inspecting ", path));
  if (!status.ok()) return status;
  if (!is_directory) return FromRocksDbStatus(env->DeleteFile(path), absl::StrCat("deleting ", path));
  absl::StatusOr<std::vector<std::string>> children = ListDirectory(env, path);
  if (!children.ok()) return children.status();
  for (const std::string& child : *children) {
    status = DeleteRecursively(env, path + "/" + child);
    if (!status.ok()) return status;
  }
  return FromRocksDbStatus(env->DeleteDir(path), absl::StrCat("deleting directory ", path));
}

absl::StatusOr<std::vector<std::string>> ListDirectory(rocksdb::Env* env, const std::string& directory) {
  std::vector<std::string> children;
  absl::Status status =
      FromRocksDbStatus(env->GetChildren(directory, &children), absl::StrCat("listing ", directory));
  if (!status.ok()) return status;
  children.erase(std::remove_if(children.begin(), children.end(),
                                [](const std::string& name) { return name == "." || name == ".."; }),
                 children.end());
  std::sort(children.begin(), children.end());
  return children;
}

absl::Status WriteLocalFile(rocksdb::Env* env, const std::string& path, const std::string& contents) {
  return FromRocksDbStatus(rocksdb::WriteStringToFile(env, contents, path, /*should_sync=*/true),
                           absl::StrCat("writing ", path));
}

absl::Status SyncDirectory(rocksdb::Env* env, const std::string& directory) {
  std::unique_ptr<rocksdb::Directory> handle;
  absl::Status status =
      FromRocksDbStatus(env->NewDirectory(directory, &handle), absl::StrCat("opening directory ", directory));
  if (!status.ok()) return status;
  return FromRocksDbStatus(handle->Fsync(), absl::StrCat("syncing directory ", directory));
}

absl::StatusOr<std::string> ReadLocalFile(rocksdb::Env* env, const std::string& path) {
  std::string contents;
  absl::Status status =
      FromRocksDbStatus(rocksdb::ReadFileToString(env, path, &contents), absl::StrCat("reading ", path));
  if (!status.ok()) return status;
  return contents;
}

}  // namespace snapsim
