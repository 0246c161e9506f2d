// SimFileSystem: one simulated machine's local disk, an in-memory rocksdb::FileSystem. Files have current and
// synced contents; hard links share an inode; a file's name (create, rename, link, delete) becomes durable when
// its parent directory is fsynced, its bytes when the file is synced. Crash() keeps only what was durable and
// returns the rebooted disk; the crashed instance fails every later call. Every operation passes the fault hook
// first and then feeds the observer (the trace hash). After RocksDB's FaultInjectionTestFS and TigerBeetle's
// testing/storage.zig.
//
// Fault model (what a crash keeps): file bytes up to the last Sync/Fsync; directory entries as of the parent's
// last FsyncDir; directories themselves (create, delete, rename) at once, as a journaling file system's metadata.
// Capacity: appends beyond it fail with NoSpace. Never failed by this class on its own: reads of existing data.
#ifndef SNAPSIM_SIM_SIM_FILE_SYSTEM_H_
#define SNAPSIM_SIM_SIM_FILE_SYSTEM_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "rocksdb/file_system.h"

namespace snapsim {

enum class FsOperationKind {
  kNewWritableFile,
  kReopenWritableFile,
  kNewSequentialFile,
  kNewRandomAccessFile,
  kNewDirectory,
  kAppend,
  kSync,
  kClose,
  kRead,
  kTruncate,
  kFileExists,
  kGetChildren,
  kDeleteFile,
  kCreateDir,
  kDeleteDir,
  kGetFileSize,
  kRenameFile,
  kLinkFile,
  kFsyncDir,
  kLockFile,
  kUnlockFile,
  kIsDirectory,
  kNumFileLinks,
};

absl::string_view FsOperationKindName(FsOperationKind kind);

struct FsOperation {
  FsOperationKind kind;
  std::string path;
  // Rename and link: where to.
  std::string target_path;
  // Append: bytes to write; read: bytes asked for.
  uint64_t size = 0;
};

// Returns OK to let the operation proceed, or the error it fails with (faults/ marks injected errors).
using FsFaultHook = std::function<rocksdb::IOStatus(const FsOperation&)>;
// Sees every operation and its outcome, after it happened.
using FsObserver = std::function<void(const FsOperation&, const rocksdb::IOStatus&)>;

struct SimFileSystemOptions {
  // The machine's name, in errors and traces.
  std::string machine = "machine-0";
  // Bytes of file contents the disk holds (hard links count once).
  uint64_t capacity_bytes = uint64_t{8} << 30;
  // Virtual clock for modification times; none gives 0.
  std::function<int64_t()> now_micros;
};

class SimFileSystem : public rocksdb::FileSystem, public std::enable_shared_from_this<SimFileSystem> {
 public:
  static std::shared_ptr<SimFileSystem> Create(SimFileSystemOptions options);

  // Power loss: returns the disk as it comes back (durable state only, same options, no hooks); this instance
  // fails every later call with an IOError that says it crashed.
  std::shared_ptr<SimFileSystem> Crash();
  // The process using this instance died; the machine did not: returns the disk as the next process sees it
  // (everything, synced or not, as the operating system still has it; no locks, no hooks); this instance fails every
  // later call, so nothing the dead process still runs reaches the disk.
  std::shared_ptr<SimFileSystem> RestartProcess();
  bool crashed() const;

  void SetFaultHook(FsFaultHook hook);
  void SetObserver(FsObserver observer);
  const SimFileSystemOptions& options() const { return options_; }

  // Inspection for tests and the checker (no hooks, no trace).
  uint64_t UsedBytes() const;
  bool Exists(const std::string& path) const;
  // Current contents, or NotFound.
  rocksdb::IOStatus ReadWholeFile(const std::string& path, std::string* contents) const;
  // Every file path, sorted.
  std::vector<std::string> ListFilesRecursively(const std::string& directory) const;
  // Silent corruption (the world's, for the `corrupt` step): flips bit `bit` (modulo the length) of the file's
  // current and synced bytes, shared by its hard links. NotFound if there is no such file; an empty file stays.
  rocksdb::IOStatus CorruptFile(const std::string& path, uint64_t bit);

  // rocksdb::FileSystem.
  const char* Name() const override { return "SimFileSystem"; }
  rocksdb::IOStatus NewSequentialFile(const std::string& fname, const rocksdb::FileOptions& options,
                                      std::unique_ptr<rocksdb::FSSequentialFile>* result,
                                      rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewRandomAccessFile(const std::string& fname, const rocksdb::FileOptions& options,
                                        std::unique_ptr<rocksdb::FSRandomAccessFile>* result,
                                        rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewWritableFile(const std::string& fname, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus ReopenWritableFile(const std::string& fname, const rocksdb::FileOptions& options,
                                       std::unique_ptr<rocksdb::FSWritableFile>* result,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewDirectory(const std::string& name, const rocksdb::IOOptions& io_opts,
                                 std::unique_ptr<rocksdb::FSDirectory>* result,
                                 rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus FileExists(const std::string& fname, const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus GetChildren(const std::string& dir, const rocksdb::IOOptions& options,
                                std::vector<std::string>* result, rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus DeleteFile(const std::string& fname, const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus Truncate(const std::string& fname, size_t size, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus CreateDir(const std::string& dirname, const rocksdb::IOOptions& options,
                              rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus CreateDirIfMissing(const std::string& dirname, const rocksdb::IOOptions& options,
                                       rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus DeleteDir(const std::string& dirname, const rocksdb::IOOptions& options,
                              rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus GetFileSize(const std::string& fname, const rocksdb::IOOptions& options, uint64_t* file_size,
                                rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus GetFileModificationTime(const std::string& fname, const rocksdb::IOOptions& options,
                                            uint64_t* file_mtime, rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus RenameFile(const std::string& source, const std::string& target,
                               const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus LinkFile(const std::string& source, const std::string& target,
                             const rocksdb::IOOptions& options, rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NumFileLinks(const std::string& fname, const rocksdb::IOOptions& options, uint64_t* count,
                                 rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus AreFilesSame(const std::string& first, const std::string& second,
                                 const rocksdb::IOOptions& options, bool* result,
                                 rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus LockFile(const std::string& fname, const rocksdb::IOOptions& options,
                             rocksdb::FileLock** lock, rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus UnlockFile(rocksdb::FileLock* lock, const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus GetTestDirectory(const rocksdb::IOOptions& options, std::string* path,
                                     rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus NewLogger(const std::string& fname, const rocksdb::IOOptions& io_opts,
                              std::shared_ptr<rocksdb::Logger>* result, rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus GetAbsolutePath(const std::string& db_path, const rocksdb::IOOptions& options,
                                    std::string* output_path, rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus IsDirectory(const std::string& path, const rocksdb::IOOptions& options, bool* is_dir,
                                rocksdb::IODebugContext* dbg) override;
  rocksdb::IOStatus GetFreeSpace(const std::string& path, const rocksdb::IOOptions& options,
                                 uint64_t* free_space, rocksdb::IODebugContext* dbg) override;

  // Used by this file's handles (not part of the public surface).
  struct Inode {
    std::string current;
    std::string synced;
    int links = 0;  // names in the current namespace
    int64_t modification_micros = 0;
  };
  rocksdb::IOStatus Begin(const FsOperation& operation);
  rocksdb::IOStatus Finish(const FsOperation& operation, rocksdb::IOStatus status);
  rocksdb::IOStatus AppendTo(const std::shared_ptr<Inode>& inode, const std::string& path, absl::string_view data);
  rocksdb::IOStatus SyncInode(const std::shared_ptr<Inode>& inode, const std::string& path);
  rocksdb::IOStatus FsyncDirectory(const std::string& path);
  rocksdb::IOStatus TruncateInode(const std::shared_ptr<Inode>& inode, const std::string& path, uint64_t size);
  std::mutex& mutex() const { return mutex_; }

 private:
  explicit SimFileSystem(SimFileSystemOptions options);

  static std::string Normalize(const std::string& path);
  static std::string Parent(const std::string& path);
  bool IsDirLocked(const std::string& path) const { return directories_.count(path) > 0; }
  rocksdb::IOStatus CrashedError(const FsOperation& operation) const;
  rocksdb::IOStatus FileNotFound(const std::string& path) const;
  // Runs `body` with the mutex held, between the fault hook (which may fail the operation before it takes
  // effect) and the observer.
  template <typename Body>
  rocksdb::IOStatus Guarded(const FsOperation& operation, Body&& body) {
    rocksdb::IOStatus status = Begin(operation);
    if (status.ok()) {
      std::lock_guard<std::mutex> lock(mutex_);
      status = crashed_ ? CrashedError(operation) : body();
    }
    return Finish(operation, status);
  }
  // Guarded, for an operation on an existing file: NotFound if operation.path names none.
  template <typename Body>
  rocksdb::IOStatus GuardedOnFile(const FsOperation& operation, Body&& body) {
    return Guarded(operation, [&]() -> rocksdb::IOStatus {
      auto found = files_.find(operation.path);
      if (found == files_.end()) return FileNotFound(operation.path);
      return body(found->second);
    });
  }
  void UnlinkLocked(const std::string& path);
  void CreateDirsLocked(const std::string& path);
  int64_t Now() const { return options_.now_micros ? options_.now_micros() : 0; }

  const SimFileSystemOptions options_;
  mutable std::mutex mutex_;
  bool crashed_ = false;
  bool process_died_ = false;  // with crashed_: the instance of a dead process, not of a crashed machine
  FsFaultHook fault_hook_;
  FsObserver observer_;
  uint64_t used_bytes_ = 0;
  std::map<std::string, std::shared_ptr<Inode>> files_;          // current names
  std::map<std::string, std::shared_ptr<Inode>> durable_files_;  // names a crash keeps
  std::set<std::string> directories_;
  std::set<std::string> locks_;
};

}  // namespace snapsim

#endif  // SNAPSIM_SIM_SIM_FILE_SYSTEM_H_
