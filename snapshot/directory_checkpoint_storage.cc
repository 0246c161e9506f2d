#include "snapshot/directory_checkpoint_storage.h"

#include <algorithm>
#include <atomic>
#include <mutex>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "backend/encoding.h"
#include "backend/rocksdb_status.h"

namespace snapsim {
namespace {

constexpr absl::string_view kInProgressSuffix = ".inprogress";

absl::Status CreateParents(rocksdb::FileSystem* fs, const std::string& full_path) {
  std::string directory;
  const std::vector<std::string> parts = absl::StrSplit(full_path, '/');
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    if (parts[i].empty()) {
      if (i == 0) directory = "";
      continue;
    }
    directory += "/" + parts[i];
    rocksdb::IOStatus status = fs->CreateDirIfMissing(directory, rocksdb::IOOptions(), nullptr);
    if (!status.ok()) return FromRocksDbStatus(status, absl::StrCat("creating directory ", directory));
  }
  return absl::OkStatus();
}

class DirectoryOutputStream : public CheckpointOutputStream {
 public:
  DirectoryOutputStream(rocksdb::FileSystem* fs, std::string path, std::string final_path,
                        std::unique_ptr<rocksdb::FSWritableFile> file)
      : fs_(fs), path_(std::move(path)), final_path_(std::move(final_path)), file_(std::move(file)) {}

  ~DirectoryOutputStream() override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!finished_) Discard();
  }

  absl::Status Write(absl::string_view data) override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cancelled_) return absl::CancelledError(absl::StrCat("stream to ", path_, " was cancelled"));
    if (finished_) return absl::FailedPreconditionError(absl::StrCat("stream to ", path_, " is finished"));
    checksum_ = Crc32c(data, checksum_);
    size_ += data.size();
    return FromRocksDbStatus(file_->Append(ToSlice(data), rocksdb::IOOptions(), nullptr),
                             absl::StrCat("writing ", path_));
  }

  absl::StatusOr<StoredObjectInfo> Finish() override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cancelled_) return absl::CancelledError(absl::StrCat("stream to ", path_, " was cancelled"));
    if (finished_) return absl::FailedPreconditionError(absl::StrCat("stream to ", path_, " is finished"));
    const rocksdb::IOOptions io;
    absl::Status status = FromRocksDbStatus(file_->Sync(io, nullptr), absl::StrCat("syncing ", path_));
    if (status.ok()) status = FromRocksDbStatus(file_->Close(io, nullptr), absl::StrCat("closing ", path_));
    if (status.ok() && !published_) status = Publish();
    if (!status.ok()) {
      Discard();
      finished_ = true;
      return status;
    }
    finished_ = true;
    return StoredObjectInfo{path_, size_, checksum_};
  }

  // The first sync publishes the file under its path (renamed while open: later writes still reach it).
  absl::StatusOr<StoredObjectInfo> Sync() override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (cancelled_) return absl::CancelledError(absl::StrCat("stream to ", path_, " was cancelled"));
    if (finished_) return absl::FailedPreconditionError(absl::StrCat("stream to ", path_, " is finished"));
    absl::Status status =
        FromRocksDbStatus(file_->Sync(rocksdb::IOOptions(), nullptr), absl::StrCat("syncing ", path_));
    if (status.ok() && !published_) status = Publish();
    if (!status.ok()) return status;
    return StoredObjectInfo{path_, size_, checksum_};
  }

  void Cancel() override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (finished_ || cancelled_) return;
    cancelled_ = true;
    Discard();
  }

 private:
  // REQUIRES: mutex_ held.
  absl::Status Publish() {
    absl::Status status = FromRocksDbStatus(
        fs_->RenameFile(final_path_ + std::string(kInProgressSuffix), final_path_, rocksdb::IOOptions(), nullptr),
        absl::StrCat("publishing ", path_));
    if (status.ok()) published_ = true;
    return status;
  }

  // REQUIRES: mutex_ held. What a sync published stays (its last synced bytes); an unpublished file goes.
  void Discard() {
    if (file_ != nullptr) (void)file_->Close(rocksdb::IOOptions(), nullptr);
    file_.reset();
    if (!published_) {
      (void)fs_->DeleteFile(final_path_ + std::string(kInProgressSuffix), rocksdb::IOOptions(), nullptr);
    }
  }

  rocksdb::FileSystem* fs_;
  const std::string path_;
  const std::string final_path_;
  std::mutex mutex_;  // Cancel comes from another thread
  std::unique_ptr<rocksdb::FSWritableFile> file_;
  uint32_t checksum_ = 0;
  uint64_t size_ = 0;
  bool published_ = false;  // under final_path_ (a sync renamed it there)
  bool finished_ = false;
  bool cancelled_ = false;
};

}  // namespace

DirectoryCheckpointStorage::DirectoryCheckpointStorage(std::string root,
                                                       std::shared_ptr<rocksdb::FileSystem> file_system)
    : root_(std::move(root)), file_system_(std::move(file_system)) {}

absl::StatusOr<std::string> DirectoryCheckpointStorage::FullPath(const std::string& path) const {
  if (path.empty() || path.front() == '/' || absl::EndsWith(path, kInProgressSuffix)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid checkpoint object path '", path, "'"));
  }
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    if (part.empty() || part == "." || part == "..") {
      return absl::InvalidArgumentError(absl::StrCat("invalid checkpoint object path '", path, "'"));
    }
  }
  return root_ + "/" + path;
}

absl::StatusOr<std::unique_ptr<CheckpointOutputStream>> DirectoryCheckpointStorage::Create(const std::string& path) {
  absl::StatusOr<std::string> full = FullPath(path);
  if (!full.ok()) return full.status();
  const rocksdb::IOOptions io;
  if (file_system_->FileExists(*full, io, nullptr).ok()) {
    return absl::AlreadyExistsError(absl::StrCat("object ", path, " exists"));
  }
  if (absl::Status status = CreateParents(file_system_.get(), *full); !status.ok()) return status;
  std::unique_ptr<rocksdb::FSWritableFile> file;
  absl::Status status = FromRocksDbStatus(
      file_system_->NewWritableFile(*full + std::string(kInProgressSuffix), rocksdb::FileOptions(), &file, nullptr),
      absl::StrCat("creating ", path));
  if (!status.ok()) return status;
  return std::unique_ptr<CheckpointOutputStream>(
      new DirectoryOutputStream(file_system_.get(), path, *full, std::move(file)));
}

absl::StatusOr<std::string> DirectoryCheckpointStorage::Read(const std::string& path) {
  absl::StatusOr<std::string> full = FullPath(path);
  if (!full.ok()) return full.status();
  std::string contents;
  absl::Status status =
      FromRocksDbStatus(rocksdb::ReadFileToString(file_system_.get(), *full, &contents), absl::StrCat("object ", path));
  if (!status.ok()) return status;
  return contents;
}

absl::Status DirectoryCheckpointStorage::Delete(const std::string& path) {
  absl::StatusOr<std::string> full = FullPath(path);
  if (!full.ok()) return full.status();
  if (!file_system_->FileExists(*full, rocksdb::IOOptions(), nullptr).ok()) {
    return absl::NotFoundError(absl::StrCat("object ", path, " not found"));
  }
  return FromRocksDbStatus(file_system_->DeleteFile(*full, rocksdb::IOOptions(), nullptr),
                           absl::StrCat("deleting object ", path));
}

absl::Status DirectoryCheckpointStorage::ListInto(const std::string& directory, const std::string& relative,
                                                  std::vector<std::string>* paths) const {
  std::vector<std::string> children;
  rocksdb::IOStatus status = file_system_->GetChildren(directory, rocksdb::IOOptions(), &children, nullptr);
  if (status.IsNotFound() || status.IsPathNotFound()) return absl::OkStatus();
  if (!status.ok()) return FromRocksDbStatus(status, absl::StrCat("listing ", directory));
  for (const std::string& child : children) {
    if (child == "." || child == ".." || absl::EndsWith(child, kInProgressSuffix)) continue;
    const std::string full = directory + "/" + child;
    const std::string name = relative.empty() ? child : relative + "/" + child;
    bool is_directory = false;
    if (file_system_->IsDirectory(full, rocksdb::IOOptions(), &is_directory, nullptr).ok() && is_directory) {
      if (absl::Status nested = ListInto(full, name, paths); !nested.ok()) return nested;
    } else {
      paths->push_back(name);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> DirectoryCheckpointStorage::List(const std::string& prefix) {
  std::vector<std::string> all;
  if (absl::Status status = ListInto(root_, "", &all); !status.ok()) return status;
  std::vector<std::string> matching;
  for (const std::string& path : all) {
    if (absl::StartsWith(path, prefix)) matching.push_back(path);
  }
  std::sort(matching.begin(), matching.end());
  return matching;
}

absl::StatusOr<bool> DirectoryCheckpointStorage::Exists(const std::string& path) {
  absl::StatusOr<std::string> full = FullPath(path);
  if (!full.ok()) return full.status();
  return file_system_->FileExists(*full, rocksdb::IOOptions(), nullptr).ok();
}

absl::StatusOr<StoredObjectInfo> DirectoryCheckpointStorage::Stat(const std::string& path) {
  absl::StatusOr<std::string> contents = Read(path);
  if (!contents.ok()) return contents.status();
  return StoredObjectInfo{path, contents->size(), Crc32c(*contents)};
}

}  // namespace snapsim
