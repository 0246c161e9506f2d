#include "sim/sim_file_system.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace snapsim {
namespace {

using rocksdb::IOStatus;

class SimWritableFile : public rocksdb::FSWritableFile {
 public:
  SimWritableFile(std::shared_ptr<SimFileSystem> fs, std::string path, std::shared_ptr<SimFileSystem::Inode> inode,
                  const rocksdb::FileOptions& options)
      : rocksdb::FSWritableFile(options), fs_(std::move(fs)), path_(std::move(path)), inode_(std::move(inode)) {}

  IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& /*options*/,
                  rocksdb::IODebugContext* /*dbg*/) override {
    const FsOperation operation{FsOperationKind::kAppend, path_, "", data.size()};
    IOStatus status = fs_->Begin(operation);
    if (status.ok()) status = fs_->AppendTo(inode_, path_, absl::string_view(data.data(), data.size()));
    return fs_->Finish(operation, status);
  }
  IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                  const rocksdb::DataVerificationInfo& /*info*/, rocksdb::IODebugContext* dbg) override {
    return Append(data, options, dbg);
  }
  IOStatus Truncate(uint64_t size, const rocksdb::IOOptions& /*options*/, rocksdb::IODebugContext* /*dbg*/) override {
    const FsOperation operation{FsOperationKind::kTruncate, path_, "", size};
    IOStatus status = fs_->Begin(operation);
    if (status.ok()) status = fs_->TruncateInode(inode_, path_, size);
    return fs_->Finish(operation, status);
  }
  IOStatus Close(const rocksdb::IOOptions& /*options*/, rocksdb::IODebugContext* /*dbg*/) override {
    if (closed_) return IOStatus::OK();
    closed_ = true;
    const FsOperation operation{FsOperationKind::kClose, path_, "", 0};
    return fs_->Finish(operation, fs_->Begin(operation));
  }
  IOStatus Flush(const rocksdb::IOOptions& /*options*/, rocksdb::IODebugContext* /*dbg*/) override {
    return IOStatus::OK();  // No user-space buffer: Append already reached the "page cache".
  }
  IOStatus Sync(const rocksdb::IOOptions& /*options*/, rocksdb::IODebugContext* /*dbg*/) override {
    const FsOperation operation{FsOperationKind::kSync, path_, "", 0};
    IOStatus status = fs_->Begin(operation);
    if (status.ok()) status = fs_->SyncInode(inode_, path_);
    return fs_->Finish(operation, status);
  }
  IOStatus Fsync(const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override {
    return Sync(options, dbg);
  }
  bool IsSyncThreadSafe() const override { return true; }
  uint64_t GetFileSize(const rocksdb::IOOptions& /*options*/, rocksdb::IODebugContext* /*dbg*/) override {
    std::lock_guard<std::mutex> lock(fs_->mutex());
    return inode_->current.size();
  }

 private:
  std::shared_ptr<SimFileSystem> fs_;
  std::string path_;
  std::shared_ptr<SimFileSystem::Inode> inode_;
  bool closed_ = false;
};

// Reads see the inode's current bytes (a reader of a file being written sees what was appended so far).
class SimReadableFile : public rocksdb::FSSequentialFile, public rocksdb::FSRandomAccessFile {
 public:
  SimReadableFile(std::shared_ptr<SimFileSystem> fs, std::string path, std::shared_ptr<SimFileSystem::Inode> inode)
      : fs_(std::move(fs)), path_(std::move(path)), inode_(std::move(inode)) {}

  IOStatus Read(size_t n, const rocksdb::IOOptions& options, rocksdb::Slice* result, char* scratch,
                rocksdb::IODebugContext* dbg) override {
    IOStatus status = Read(position_, n, options, result, scratch, dbg);
    if (status.ok()) position_ += result->size();
    return status;
  }
  IOStatus Skip(uint64_t n) override {
    std::lock_guard<std::mutex> lock(fs_->mutex());
    position_ = std::min<uint64_t>(position_ + n, inode_->current.size());
    return IOStatus::OK();
  }
  IOStatus Read(uint64_t offset, size_t n, const rocksdb::IOOptions& /*options*/, rocksdb::Slice* result,
                char* scratch, rocksdb::IODebugContext* /*dbg*/) const override {
    const FsOperation operation{FsOperationKind::kRead, path_, "", n};
    IOStatus status = fs_->Begin(operation);
    if (status.ok()) {
      std::lock_guard<std::mutex> lock(fs_->mutex());
      const std::string& bytes = inode_->current;
      const size_t available = offset >= bytes.size() ? 0 : std::min<size_t>(n, bytes.size() - offset);
      if (available > 0) std::memcpy(scratch, bytes.data() + offset, available);
      *result = rocksdb::Slice(scratch, available);
    }
    return fs_->Finish(operation, status);
  }

 private:
  std::shared_ptr<SimFileSystem> fs_;
  std::string path_;
  std::shared_ptr<SimFileSystem::Inode> inode_;
  uint64_t position_ = 0;
};

class SequentialAdapter : public rocksdb::FSSequentialFile {
 public:
  explicit SequentialAdapter(std::unique_ptr<SimReadableFile> file) : file_(std::move(file)) {}
  IOStatus Read(size_t n, const rocksdb::IOOptions& options, rocksdb::Slice* result, char* scratch,
                rocksdb::IODebugContext* dbg) override {
    return static_cast<rocksdb::FSSequentialFile*>(file_.get())->Read(n, options, result, scratch, dbg);
  }
  IOStatus Skip(uint64_t n) override { return file_->Skip(n); }

 private:
  std::unique_ptr<SimReadableFile> file_;
};

class RandomAccessAdapter : public rocksdb::FSRandomAccessFile {
 public:
  explicit RandomAccessAdapter(std::unique_ptr<SimReadableFile> file) : file_(std::move(file)) {}
  IOStatus Read(uint64_t offset, size_t n, const rocksdb::IOOptions& options, rocksdb::Slice* result, char* scratch,
                rocksdb::IODebugContext* dbg) const override {
    return static_cast<const rocksdb::FSRandomAccessFile*>(file_.get())
        ->Read(offset, n, options, result, scratch, dbg);
  }

 private:
  std::unique_ptr<SimReadableFile> file_;
};

class SimDirectory : public rocksdb::FSDirectory {
 public:
  SimDirectory(std::shared_ptr<SimFileSystem> fs, std::string path) : fs_(std::move(fs)), path_(std::move(path)) {}
  IOStatus Fsync(const rocksdb::IOOptions& /*options*/, rocksdb::IODebugContext* /*dbg*/) override {
    const FsOperation operation{FsOperationKind::kFsyncDir, path_, "", 0};
    IOStatus status = fs_->Begin(operation);
    if (status.ok()) status = fs_->FsyncDirectory(path_);
    return fs_->Finish(operation, status);
  }
  IOStatus Close(const rocksdb::IOOptions& /*options*/, rocksdb::IODebugContext* /*dbg*/) override {
    return IOStatus::OK();
  }

 private:
  std::shared_ptr<SimFileSystem> fs_;
  std::string path_;
};

class SimFileLock : public rocksdb::FileLock {
 public:
  explicit SimFileLock(std::string path) : path(std::move(path)) {}
  const std::string path;
};

class DiscardingLogger : public rocksdb::Logger {
 public:
  using rocksdb::Logger::Logv;
  void Logv(const char* /*format*/, va_list /*arguments*/) override {}
};

IOStatus NotFound(const std::string& machine, const std::string& path) {
  return IOStatus::PathNotFound(absl::StrCat(machine, ": ", path));
}

}  // namespace

absl::string_view FsOperationKindName(FsOperationKind kind) {
  switch (kind) {
    case FsOperationKind::kNewWritableFile:
      return "create";
    case FsOperationKind::kReopenWritableFile:
      return "reopen";
    case FsOperationKind::kNewSequentialFile:
      return "open-sequential";
    case FsOperationKind::kNewRandomAccessFile:
      return "open-random";
    case FsOperationKind::kNewDirectory:
      return "open-dir";
    case FsOperationKind::kAppend:
      return "append";
    case FsOperationKind::kSync:
      return "sync";
    case FsOperationKind::kClose:
      return "close";
    case FsOperationKind::kRead:
      return "read";
    case FsOperationKind::kTruncate:
      return "truncate";
    case FsOperationKind::kFileExists:
      return "exists";
    case FsOperationKind::kGetChildren:
      return "list";
    case FsOperationKind::kDeleteFile:
      return "delete";
    case FsOperationKind::kCreateDir:
      return "mkdir";
    case FsOperationKind::kDeleteDir:
      return "rmdir";
    case FsOperationKind::kGetFileSize:
      return "size";
    case FsOperationKind::kRenameFile:
      return "rename";
    case FsOperationKind::kLinkFile:
      return "link";
    case FsOperationKind::kFsyncDir:
      return "fsync-dir";
    case FsOperationKind::kLockFile:
      return "lock";
    case FsOperationKind::kUnlockFile:
      return "unlock";
    case FsOperationKind::kIsDirectory:
      return "is-dir";
    case FsOperationKind::kNumFileLinks:
      return "num-links";
  }
  return "?";
}

SimFileSystem::SimFileSystem(SimFileSystemOptions options) : options_(std::move(options)) {
  directories_.insert("/");
}

std::shared_ptr<SimFileSystem> SimFileSystem::Create(SimFileSystemOptions options) {
  return std::shared_ptr<SimFileSystem>(new SimFileSystem(std::move(options)));
}

std::shared_ptr<SimFileSystem> SimFileSystem::Crash() {
  std::shared_ptr<SimFileSystem> rebooted = Create(options_);
  std::lock_guard<std::mutex> lock(mutex_);
  crashed_ = true;
  rebooted->directories_ = directories_;
  std::map<Inode*, std::shared_ptr<Inode>> survivors;  // keeps hard links linked
  for (const auto& [path, inode] : durable_files_) {
    std::shared_ptr<Inode>& survivor = survivors[inode.get()];
    if (survivor == nullptr) {
      survivor = std::make_shared<Inode>();
      survivor->current = inode->synced;
      survivor->synced = inode->synced;
      survivor->modification_micros = inode->modification_micros;
      rebooted->used_bytes_ += survivor->current.size();
    }
    ++survivor->links;
    rebooted->files_[path] = survivor;
    rebooted->durable_files_[path] = survivor;
  }
  return rebooted;
}

std::shared_ptr<SimFileSystem> SimFileSystem::RestartProcess() {
  std::shared_ptr<SimFileSystem> restarted = Create(options_);
  std::lock_guard<std::mutex> lock(mutex_);
  crashed_ = true;
  process_died_ = true;
  restarted->directories_ = directories_;
  restarted->used_bytes_ = used_bytes_;
  std::map<Inode*, std::shared_ptr<Inode>> copies;  // keeps hard links linked
  auto copy = [&copies](const std::shared_ptr<Inode>& inode) {
    std::shared_ptr<Inode>& copied = copies[inode.get()];
    if (copied == nullptr) copied = std::make_shared<Inode>(*inode);
    return copied;
  };
  for (const auto& [path, inode] : files_) restarted->files_[path] = copy(inode);
  for (const auto& [path, inode] : durable_files_) restarted->durable_files_[path] = copy(inode);
  return restarted;
}

bool SimFileSystem::crashed() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return crashed_;
}

void SimFileSystem::SetFaultHook(FsFaultHook hook) {
  std::lock_guard<std::mutex> lock(mutex_);
  fault_hook_ = std::move(hook);
}

void SimFileSystem::SetObserver(FsObserver observer) {
  std::lock_guard<std::mutex> lock(mutex_);
  observer_ = std::move(observer);
}

uint64_t SimFileSystem::UsedBytes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return used_bytes_;
}

bool SimFileSystem::Exists(const std::string& path) const {
  const std::string normalized = Normalize(path);
  std::lock_guard<std::mutex> lock(mutex_);
  return files_.count(normalized) > 0 || directories_.count(normalized) > 0;
}

IOStatus SimFileSystem::ReadWholeFile(const std::string& path, std::string* contents) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = files_.find(Normalize(path));
  if (found == files_.end()) return NotFound(options_.machine, path);
  *contents = found->second->current;
  return IOStatus::OK();
}

std::vector<std::string> SimFileSystem::ListFilesRecursively(const std::string& directory) const {
  const std::string prefix = Normalize(directory) == "/" ? "/" : Normalize(directory) + "/";
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::string> paths;
  for (auto it = files_.lower_bound(prefix); it != files_.end() && absl::StartsWith(it->first, prefix); ++it) {
    paths.push_back(it->first);
  }
  return paths;
}

IOStatus SimFileSystem::CorruptFile(const std::string& path, uint64_t bit) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = files_.find(Normalize(path));
  if (found == files_.end()) return NotFound(options_.machine, path);
  for (std::string* bytes : {&found->second->current, &found->second->synced}) {
    if (bytes->empty()) continue;
    const uint64_t at = bit % (bytes->size() * 8);
    (*bytes)[at / 8] = static_cast<char>((*bytes)[at / 8] ^ (1 << (at % 8)));
  }
  return IOStatus::OK();
}

std::string SimFileSystem::Normalize(const std::string& path) {
  std::string out = "/";
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    size_t end = path.find('/', i);
    if (end == std::string::npos) end = path.size();
    if (end > i) {
      const std::string part = path.substr(i, end - i);
      if (part != ".") {
        if (out.size() > 1) out += "/";
        out += part;
      }
    }
    i = end;
  }
  return out;
}

std::string SimFileSystem::Parent(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == 0 || slash == std::string::npos) return "/";
  return path.substr(0, slash);
}

IOStatus SimFileSystem::CrashedError(const FsOperation& operation) const {
  // The crash is a fault the scenario injected (a `crash` step): what fails on the pre-crash disk carries faults/'
  // marker, so the checker takes a decline it causes (a trigger that reached the crashed machine's task before the
  // task was stopped; property seeds 525207 and 572380) for the fault's doing, not for a bug.
  if (process_died_) {
    return IOStatus::IOError(absl::StrCat("[injected] ", options_.machine, "'s process died: ",
                                          FsOperationKindName(operation.kind), " ", operation.path,
                                          " by the dead process"));
  }
  return IOStatus::IOError(absl::StrCat("[injected] ", options_.machine, " crashed: ",
                                        FsOperationKindName(operation.kind), " ",
                                        operation.path, " on the pre-crash disk"));
}

IOStatus SimFileSystem::FileNotFound(const std::string& path) const { return NotFound(options_.machine, path); }

IOStatus SimFileSystem::Begin(const FsOperation& operation) {
  FsFaultHook hook;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (crashed_) return CrashedError(operation);
    hook = fault_hook_;
  }
  return hook ? hook(operation) : IOStatus::OK();
}

IOStatus SimFileSystem::Finish(const FsOperation& operation, IOStatus status) {
  FsObserver observer;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    observer = observer_;
  }
  if (observer) observer(operation, status);
  return status;
}

IOStatus SimFileSystem::AppendTo(const std::shared_ptr<Inode>& inode, const std::string& path,
                                 absl::string_view data) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (crashed_) return CrashedError(FsOperation{FsOperationKind::kAppend, path, "", data.size()});
  if (used_bytes_ + data.size() > options_.capacity_bytes) {
    return IOStatus::NoSpace(absl::StrCat(options_.machine, ": disk full (", used_bytes_, " of ",
                                          options_.capacity_bytes, " bytes used) appending to ", path));
  }
  inode->current.append(data.data(), data.size());
  if (inode->links > 0) used_bytes_ += data.size();
  inode->modification_micros = Now();
  return IOStatus::OK();
}

IOStatus SimFileSystem::TruncateInode(const std::shared_ptr<Inode>& inode, const std::string& path,
                                      uint64_t size) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (crashed_) return CrashedError(FsOperation{FsOperationKind::kTruncate, path, "", size});
  if (size > inode->current.size()) {
    const uint64_t grow = size - inode->current.size();
    if (used_bytes_ + grow > options_.capacity_bytes) return IOStatus::NoSpace(options_.machine + ": disk full");
    if (inode->links > 0) used_bytes_ += grow;
  } else if (inode->links > 0) {
    used_bytes_ -= inode->current.size() - size;
  }
  inode->current.resize(size, '\0');
  return IOStatus::OK();
}

IOStatus SimFileSystem::SyncInode(const std::shared_ptr<Inode>& inode, const std::string& path) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (crashed_) return CrashedError(FsOperation{FsOperationKind::kSync, path, "", 0});
  inode->synced = inode->current;
  return IOStatus::OK();
}

IOStatus SimFileSystem::FsyncDirectory(const std::string& raw_path) {
  const std::string path = Normalize(raw_path);
  std::lock_guard<std::mutex> lock(mutex_);
  if (!IsDirLocked(path)) return NotFound(options_.machine, path);
  // Make the durable listing of `path` equal to the current one. Children sort right after "<path>/".
  const std::string prefix = path == "/" ? "/" : path + "/";
  for (auto it = durable_files_.lower_bound(prefix);
       it != durable_files_.end() && absl::StartsWith(it->first, prefix);) {
    if (Parent(it->first) == path && files_.count(it->first) == 0) {
      it = durable_files_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = files_.lower_bound(prefix); it != files_.end() && absl::StartsWith(it->first, prefix); ++it) {
    if (Parent(it->first) == path) durable_files_[it->first] = it->second;
  }
  return IOStatus::OK();
}

void SimFileSystem::UnlinkLocked(const std::string& path) {
  auto found = files_.find(path);
  if (found == files_.end()) return;
  std::shared_ptr<Inode> inode = found->second;
  files_.erase(found);
  if (--inode->links == 0) used_bytes_ -= inode->current.size();
}

void SimFileSystem::CreateDirsLocked(const std::string& path) {
  if (path == "/" || directories_.count(path) > 0) return;
  CreateDirsLocked(Parent(path));
  directories_.insert(path);
}

IOStatus SimFileSystem::NewSequentialFile(const std::string& fname, const rocksdb::FileOptions& /*options*/,
                                          std::unique_ptr<rocksdb::FSSequentialFile>* result,
                                          rocksdb::IODebugContext* /*dbg*/) {
  const std::string path = Normalize(fname);
  const FsOperation operation{FsOperationKind::kNewSequentialFile, path, "", 0};
  return GuardedOnFile(operation, [&](const std::shared_ptr<Inode>& inode) {
    result->reset(new SequentialAdapter(std::make_unique<SimReadableFile>(shared_from_this(), path, inode)));
    return IOStatus::OK();
  });
}

IOStatus SimFileSystem::NewRandomAccessFile(const std::string& fname, const rocksdb::FileOptions& /*options*/,
                                            std::unique_ptr<rocksdb::FSRandomAccessFile>* result,
                                            rocksdb::IODebugContext* /*dbg*/) {
  const std::string path = Normalize(fname);
  const FsOperation operation{FsOperationKind::kNewRandomAccessFile, path, "", 0};
  return GuardedOnFile(operation, [&](const std::shared_ptr<Inode>& inode) {
    result->reset(new RandomAccessAdapter(std::make_unique<SimReadableFile>(shared_from_this(), path, inode)));
    return IOStatus::OK();
  });
}

IOStatus SimFileSystem::NewWritableFile(const std::string& fname, const rocksdb::FileOptions& options,
                                        std::unique_ptr<rocksdb::FSWritableFile>* result,
                                        rocksdb::IODebugContext* /*dbg*/) {
  const std::string path = Normalize(fname);
  const FsOperation operation{FsOperationKind::kNewWritableFile, path, "", 0};
  return Guarded(operation, [&]() -> IOStatus {
    IOStatus status;
    if (!IsDirLocked(Parent(path))) {
      status = NotFound(options_.machine, Parent(path));
    } else if (IsDirLocked(path)) {
      status = IOStatus::IOError(absl::StrCat(options_.machine, ": ", path, " is a directory"));
    } else {
      UnlinkLocked(path);
      auto inode = std::make_shared<Inode>();
      inode->links = 1;
      inode->modification_micros = Now();
      files_[path] = inode;
      result->reset(new SimWritableFile(shared_from_this(), path, inode, options));
    }
    return status;
  });
}

IOStatus SimFileSystem::ReopenWritableFile(const std::string& fname, const rocksdb::FileOptions& options,
                                           std::unique_ptr<rocksdb::FSWritableFile>* result,
                                           rocksdb::IODebugContext* /*dbg*/) {
  const std::string path = Normalize(fname);
  const FsOperation operation{FsOperationKind::kReopenWritableFile, path, "", 0};
  return Guarded(operation, [&]() -> IOStatus {
    IOStatus status;
    if (!IsDirLocked(Parent(path))) {
      status = NotFound(options_.machine, Parent(path));
    } else {
      std::shared_ptr<Inode>& inode = files_[path];
      if (inode == nullptr) {
        inode = std::make_shared<Inode>();
        inode->links = 1;
      }
      result->reset(new SimWritableFile(shared_from_this(), path, inode, options));
    }
    return status;
  });
}

IOStatus SimFileSystem::NewDirectory(const std::string& name, const rocksdb::IOOptions& /*io_opts*/,
                                     std::unique_ptr<rocksdb::FSDirectory>* result,
                                     rocksdb::IODebugContext* /*dbg*/) {
  const std::string path = Normalize(name);
  const FsOperation operation{FsOperationKind::kNewDirectory, path, "", 0};
  return Guarded(operation, [&]() -> IOStatus {
    IOStatus status;
    if (!IsDirLocked(path)) {
      status = NotFound(options_.machine, path);
    } else {
      result->reset(new SimDirectory(shared_from_this(), path));
    }
    return status;
  });
}

IOStatus SimFileSystem::FileExists(const std::string& fname, const rocksdb::IOOptions& /*options*/,
                                   rocksdb::IODebugContext* /*dbg*/) {
  const std::string path = Normalize(fname);
  const FsOperation operation{FsOperationKind::kFileExists, path, "", 0};
  return Guarded(operation, [&]() -> IOStatus {
    IOStatus status;
    if (files_.count(path) == 0 && !IsDirLocked(path)) status = IOStatus::NotFound(path);
    return status;
  });
}

IOStatus SimFileSystem::GetChildren(const std::string& dir, const rocksdb::IOOptions& /*options*/,
                                    std::vector<std::string>* result, rocksdb::IODebugContext* /*dbg*/) {
  const std::string path = Normalize(dir);
  const FsOperation operation{FsOperationKind::kGetChildren, path, "", 0};
  return Guarded(operation, [&]() -> IOStatus {
    IOStatus status;
    if (!IsDirLocked(path)) {
      status = NotFound(options_.machine, path);
    } else {
      result->clear();
      const std::string prefix = path == "/" ? "/" : path + "/";
      for (auto it = files_.lower_bound(prefix); it != files_.end() && absl::StartsWith(it->first, prefix); ++it) {
        if (Parent(it->first) == path) result->push_back(it->first.substr(prefix.size()));
      }
      for (auto it = directories_.lower_bound(prefix);
           it != directories_.end() && absl::StartsWith(*it, prefix); ++it) {
        if (*it != path && Parent(*it) == path) result->push_back(it->substr(prefix.size()));
      }
      std::sort(result->begin(), result->end());
    }
    return status;
  });
}

IOStatus SimFileSystem::DeleteFile(const std::string& fname, const rocksdb::IOOptions& /*options*/,
                                   rocksdb::IODebugContext* /*dbg*/) {
  const std::string path = Normalize(fname);
  const FsOperation operation{FsOperationKind::kDeleteFile, path, "", 0};
  return GuardedOnFile(operation, [&](const std::shared_ptr<Inode>& /*inode*/) {
    UnlinkLocked(path);
    return IOStatus::OK();
  });
}

IOStatus SimFileSystem::Truncate(const std::string& fname, size_t size, const rocksdb::IOOptions& /*options*/,
                                 rocksdb::IODebugContext* /*dbg*/) {
  const std::string path = Normalize(fname);
  const FsOperation operation{FsOperationKind::kTruncate, path, "", size};
  IOStatus status = Begin(operation);
  std::shared_ptr<Inode> inode;
  if (status.ok()) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = files_.find(path);
    if (found == files_.end()) {
      status = NotFound(options_.machine, path);
    } else {
      inode = found->second;
    }
  }
  if (status.ok()) status = TruncateInode(inode, path, size);
  return Finish(operation, status);
}

IOStatus SimFileSystem::CreateDir(const std::string& dirname, const rocksdb::IOOptions& /*options*/,
                                  rocksdb::IODebugContext* /*dbg*/) {
  const std::string path = Normalize(dirname);
  const FsOperation operation{FsOperationKind::kCreateDir, path, "", 0};
  return Guarded(operation, [&]() -> IOStatus {
    IOStatus status;
    if (IsDirLocked(path) || files_.count(path) > 0) {
      status = IOStatus::IOError(absl::StrCat(options_.machine, ": ", path, " already exists"));
    } else if (!IsDirLocked(Parent(path))) {
      status = NotFound(options_.machine, Parent(path));
    } else {
      directories_.insert(path);
    }
    return status;
  });
}

IOStatus SimFileSystem::CreateDirIfMissing(const std::string& dirname, const rocksdb::IOOptions& /*options*/,
                                           rocksdb::IODebugContext* /*dbg*/) {
  const std::string path = Normalize(dirname);
  const FsOperation operation{FsOperationKind::kCreateDir, path, "", 0};
  return Guarded(operation, [&]() -> IOStatus {
    IOStatus status;
    if (files_.count(path) > 0) {
      status = IOStatus::IOError(absl::StrCat(options_.machine, ": ", path, " is a file"));
    } else if (!IsDirLocked(path) && !IsDirLocked(Parent(path))) {
      // As mkdir(2), and as RocksDB's POSIX file system: the parent must exist.
      status = NotFound(options_.machine, Parent(path));
    } else {
      directories_.insert(path);
    }
    return status;
  });
}

IOStatus SimFileSystem::DeleteDir(const std::string& dirname, const rocksdb::IOOptions& /*options*/,
                                  rocksdb::IODebugContext* /*dbg*/) {
  const std::string path = Normalize(dirname);
  const FsOperation operation{FsOperationKind::kDeleteDir, path, "", 0};
  return Guarded(operation, [&]() -> IOStatus {
    IOStatus status;
    const std::string prefix = path + "/";
    const auto file = files_.lower_bound(prefix);
    const auto directory = directories_.lower_bound(prefix);
    if (!IsDirLocked(path) || path == "/") {
      status = NotFound(options_.machine, path);
    } else if ((file != files_.end() && absl::StartsWith(file->first, prefix)) ||
               (directory != directories_.end() && absl::StartsWith(*directory, prefix))) {
      status = IOStatus::IOError(absl::StrCat(options_.machine, ": directory ", path, " is not empty"));
    } else {
      directories_.erase(path);
      // Names that were durable inside it cannot come back without their directory.
      for (auto it = durable_files_.lower_bound(prefix);
           it != durable_files_.end() && absl::StartsWith(it->first, prefix);) {
        it = durable_files_.erase(it);
      }
    }
    return status;
  });
}

IOStatus SimFileSystem::GetFileSize(const std::string& fname, const rocksdb::IOOptions& /*options*/,
                                    uint64_t* file_size, rocksdb::IODebugContext* /*dbg*/) {
  const std::string path = Normalize(fname);
  const FsOperation operation{FsOperationKind::kGetFileSize, path, "", 0};
  return GuardedOnFile(operation, [&](const std::shared_ptr<Inode>& inode) {
    *file_size = inode->current.size();
    return IOStatus::OK();
  });
}

IOStatus SimFileSystem::GetFileModificationTime(const std::string& fname, const rocksdb::IOOptions& /*options*/,
                                                uint64_t* file_mtime, rocksdb::IODebugContext* /*dbg*/) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto found = files_.find(Normalize(fname));
  if (found == files_.end()) return NotFound(options_.machine, fname);
  *file_mtime = static_cast<uint64_t>(found->second->modification_micros / 1'000'000);
  return IOStatus::OK();
}

IOStatus SimFileSystem::RenameFile(const std::string& source_name, const std::string& target_name,
                                   const rocksdb::IOOptions& /*options*/, rocksdb::IODebugContext* /*dbg*/) {
  const std::string source = Normalize(source_name);
  const std::string target = Normalize(target_name);
  const FsOperation operation{FsOperationKind::kRenameFile, source, target, 0};
  return Guarded(operation, [&]() -> IOStatus {
    IOStatus status;
    if (source == target) {
      // rename(2) of a name onto itself does nothing.
    } else if (files_.count(source) > 0) {
      if (!IsDirLocked(Parent(target))) {
        status = NotFound(options_.machine, Parent(target));
      } else if (IsDirLocked(target)) {
        status = IOStatus::IOError(absl::StrCat(options_.machine, ": rename onto directory ", target));
      } else {
        std::shared_ptr<Inode> inode = files_[source];
        UnlinkLocked(target);
        files_.erase(source);
        files_[target] = inode;
      }
    } else if (IsDirLocked(source) && source != "/") {
      if (IsDirLocked(target) || files_.count(target) > 0) {
        status = IOStatus::IOError(absl::StrCat(options_.machine, ": rename target ", target, " exists"));
      } else if (!IsDirLocked(Parent(target))) {
        status = NotFound(options_.machine, Parent(target));
      } else {
        // Directory renames are durable at once (see the fault model), with everything beneath them.
        const std::string prefix = source + "/";
        auto move_entries = [&](auto& entries) {
          std::vector<std::string> moved;
          for (auto it = entries.lower_bound(prefix); it != entries.end() && absl::StartsWith(it->first, prefix);
               ++it) {
            moved.push_back(it->first);
          }
          for (const std::string& name : moved) {
            auto node = entries.extract(name);
            node.key() = target + name.substr(source.size());
            entries.insert(std::move(node));
          }
        };
        move_entries(files_);
        move_entries(durable_files_);
        std::vector<std::string> moved_directories;
        for (auto it = directories_.lower_bound(source);
             it != directories_.end() && (*it == source || absl::StartsWith(*it, prefix)); ++it) {
          moved_directories.push_back(*it);
        }
        for (const std::string& name : moved_directories) {
          directories_.erase(name);
          directories_.insert(target + name.substr(source.size()));
        }
      }
    } else {
      status = NotFound(options_.machine, source);
    }
    return status;
  });
}

IOStatus SimFileSystem::LinkFile(const std::string& source_name, const std::string& target_name,
                                 const rocksdb::IOOptions& /*options*/, rocksdb::IODebugContext* /*dbg*/) {
  const std::string source = Normalize(source_name);
  const std::string target = Normalize(target_name);
  const FsOperation operation{FsOperationKind::kLinkFile, source, target, 0};
  return Guarded(operation, [&]() -> IOStatus {
    IOStatus status;
    auto found = files_.find(source);
    if (found == files_.end()) {
      status = NotFound(options_.machine, source);
    } else if (files_.count(target) > 0 || IsDirLocked(target)) {
      status = IOStatus::IOError(absl::StrCat(options_.machine, ": link target ", target, " exists"));
    } else if (!IsDirLocked(Parent(target))) {
      status = NotFound(options_.machine, Parent(target));
    } else {
      ++found->second->links;
      files_[target] = found->second;
    }
    return status;
  });
}

IOStatus SimFileSystem::NumFileLinks(const std::string& fname, const rocksdb::IOOptions& /*options*/,
                                     uint64_t* count, rocksdb::IODebugContext* /*dbg*/) {
  const std::string path = Normalize(fname);
  const FsOperation operation{FsOperationKind::kNumFileLinks, path, "", 0};
  return GuardedOnFile(operation, [&](const std::shared_ptr<Inode>& inode) {
    *count = static_cast<uint64_t>(inode->links);
    return IOStatus::OK();
  });
}

IOStatus SimFileSystem::AreFilesSame(const std::string& first, const std::string& second,
                                     const rocksdb::IOOptions& /*options*/, bool* result,
                                     rocksdb::IODebugContext* /*dbg*/) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto a = files_.find(Normalize(first));
  auto b = files_.find(Normalize(second));
  if (a == files_.end()) return NotFound(options_.machine, first);
  if (b == files_.end()) return NotFound(options_.machine, second);
  *result = a->second == b->second;
  return IOStatus::OK();
}

IOStatus SimFileSystem::LockFile(const std::string& fname, const rocksdb::IOOptions& /*options*/,
                                 rocksdb::FileLock** lock_out, rocksdb::IODebugContext* /*dbg*/) {
  const std::string path = Normalize(fname);
  const FsOperation operation{FsOperationKind::kLockFile, path, "", 0};
  return Guarded(operation, [&]() -> IOStatus {
    IOStatus status;
    if (locks_.count(path) > 0) {
      status = IOStatus::IOError(absl::StrCat(options_.machine, ": lock ", path, " is held"));
    } else if (!IsDirLocked(Parent(path))) {
      status = NotFound(options_.machine, Parent(path));
    } else {
      locks_.insert(path);
      if (files_.count(path) == 0) {
        auto inode = std::make_shared<Inode>();
        inode->links = 1;
        files_[path] = inode;
      }
      *lock_out = new SimFileLock(path);
    }
    return status;
  });
}

IOStatus SimFileSystem::UnlockFile(rocksdb::FileLock* lock_in, const rocksdb::IOOptions& /*options*/,
                                   rocksdb::IODebugContext* /*dbg*/) {
  auto* file_lock = static_cast<SimFileLock*>(lock_in);
  const FsOperation operation{FsOperationKind::kUnlockFile, file_lock->path, "", 0};
  IOStatus status = Begin(operation);
  {
    // Released even on a crashed disk: a lock dies with its process.
    std::lock_guard<std::mutex> lock(mutex_);
    locks_.erase(file_lock->path);
  }
  delete file_lock;
  if (crashed()) status = IOStatus::OK();
  return Finish(operation, status);
}

IOStatus SimFileSystem::GetTestDirectory(const rocksdb::IOOptions& /*options*/, std::string* path,
                                         rocksdb::IODebugContext* /*dbg*/) {
  *path = "/test";
  std::lock_guard<std::mutex> lock(mutex_);
  CreateDirsLocked("/test");
  return IOStatus::OK();
}

IOStatus SimFileSystem::NewLogger(const std::string& /*fname*/, const rocksdb::IOOptions& /*io_opts*/,
                                  std::shared_ptr<rocksdb::Logger>* result, rocksdb::IODebugContext* /*dbg*/) {
  *result = std::make_shared<DiscardingLogger>();
  return IOStatus::OK();
}

IOStatus SimFileSystem::GetAbsolutePath(const std::string& db_path, const rocksdb::IOOptions& /*options*/,
                                        std::string* output_path, rocksdb::IODebugContext* /*dbg*/) {
  *output_path = Normalize(db_path);
  return IOStatus::OK();
}

IOStatus SimFileSystem::IsDirectory(const std::string& raw_path, const rocksdb::IOOptions& /*options*/,
                                    bool* is_dir, rocksdb::IODebugContext* /*dbg*/) {
  const std::string path = Normalize(raw_path);
  const FsOperation operation{FsOperationKind::kIsDirectory, path, "", 0};
  return Guarded(operation, [&]() -> IOStatus {
    IOStatus status;
    if (IsDirLocked(path)) {
      *is_dir = true;
    } else if (files_.count(path) > 0) {
      *is_dir = false;
    } else {
      status = NotFound(options_.machine, path);
    }
    return status;
  });
}

IOStatus SimFileSystem::GetFreeSpace(const std::string& /*path*/, const rocksdb::IOOptions& /*options*/,
                                     uint64_t* /*free_space*/, rocksdb::IODebugContext* /*dbg*/) {
  // Deliberately unsupported: RocksDB's ErrorHandler then does not hand a NoSpace background error to the
  // SstFileManager, whose recovery is a real thread polling for free space (backend/backend_options.cc).
  return IOStatus::NotSupported("GetFreeSpace: the simulated disk does not report free space");
}

}  // namespace snapsim
