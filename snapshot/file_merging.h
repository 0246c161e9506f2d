// Checkpoint file merging (Flink 1.20's FLIP-306): a checkpoint's many small state files written as segments of a
// few physical files in checkpoint storage. Follows Flink's runtime/checkpoint/filemerging package:
// FileMergingSnapshotManagerBase with its within- and across-checkpoint subclasses, PhysicalFile, LogicalFile, the
// blocking and non-blocking physical file pools, SegmentFileStateHandle and FileMergingCheckpointStateOutputStream,
// in the fixed form of FLINK-34936 / FLINK-35570 (reused handles advance their logical files, placeholders
// included), FLINK-35379 (a checkpoint is released only once every registered subtask was notified, in a bounded
// window of ids), FLINK-35446 (restored files of a manager that never initialised its directories are not owned)
// and FLINK-35803 (a restored physical file is never written again nor reused by a later checkpoint).
//
// Ownership, as in Flink: the job manager never deletes a segment (a SegmentFileStateHandle's discard does
// nothing); this manager, one per task manager and job, deletes a physical file once it is closed, no logical file
// uses it any more, and it lies under one of this manager's managed directories (it owns it). Logical files are
// released when a checkpoint that no longer uses them is subsumed, or when the checkpoint that wrote them aborts.
//
// Deviations (where Flink does it / what this does / why):
// - Flink's stream takes its physical file at its first buffer flush (4 KiB) and writes through; this one keeps a
//   segment's bytes until CloseAndGetHandle and then writes them in one go. Keyed state here is small, and it keeps
//   the physical file out of its pool for one write and one sync instead of for the whole snapshot of a state.
// - Flink's blocking pool keeps one physical file per queue and, when a stream fails before it made its logical
//   file, closes that file without putting another in its place: the next writer of that queue would wait for ever
//   (the across-checkpoint manager never re-seeds it). Here a queue knows how many of its files are out and creates
//   one when none is: one file circulates, and a failed write cannot stall the queue.
// - Flink's space control orders candidate files in a TreeSet by wasted bytes alone, so two files wasting the same
//   number of bytes count as one; here ties are broken by path.
// - Storage calls (create, write, sync, finish, delete, list) never run under this manager's lock: in simulation an
//   activity waiting on a lock held by one that sleeps in storage would stop the world. Files to close or delete are
//   collected under the lock and handled after it.
#ifndef SNAPSIM_SNAPSHOT_FILE_MERGING_H_
#define SNAPSIM_SNAPSHOT_FILE_MERGING_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "backend/runtime.h"
#include "snapshot/checkpoint_storage.h"
#include "snapshot/checkpoint_stream_factory.h"

namespace snapsim {

// Flink's execution.checkpointing.file-merging.* options (1.20 names; state.checkpoints.file-merging.* before).
struct FileMergingOptions {
  bool enabled = false;                     // .enabled
  bool across_checkpoint_boundary = false;  // .across-checkpoint-boundary
  uint64_t max_file_size = 32u << 20;       // .max-file-size
  bool pool_blocking = false;               // .pool-blocking
  double max_space_amplification = 2.0;    // .max-space-amplification; below 1 turns space control off
};

// Which subtask's shared state: Flink's SubtaskKey (job, operator, subtask index, parallelism).
struct SubtaskKey {
  std::string job_id;
  std::string operator_id;
  int subtask_index = 0;
  int parallelism = 1;

  // "job_<job>_op_<operator>_<index>_<parallelism>", every character outside [a-zA-Z0-9-] made '_'.
  std::string ManagedDirName() const;
  friend bool operator<(const SubtaskKey& a, const SubtaskKey& b) {
    return std::tie(a.job_id, a.operator_id, a.subtask_index, a.parallelism) <
           std::tie(b.job_id, b.operator_id, b.subtask_index, b.parallelism);
  }
  friend bool operator==(const SubtaskKey& a, const SubtaskKey& b) { return !(a < b) && !(b < a); }
};

// A segment of a physical file: Flink's SegmentFileStateHandle, plus the CRC-32C of the segment's bytes (every
// other stored state here carries its checksum, and restore verifies it).
struct SegmentHandle {
  std::string physical_path;
  uint64_t offset = 0;
  uint64_t length = 0;
  StateScope scope = StateScope::kShared;
  std::string logical_id;
  uint32_t checksum = 0;

  friend bool operator==(const SegmentHandle& a, const SegmentHandle& b) {
    return a.physical_path == b.physical_path && a.offset == b.offset && a.length == b.length &&
           a.scope == b.scope && a.logical_id == b.logical_id && a.checksum == b.checksum;
  }
  // As checkpoint metadata holds it (StreamStateHandle::Segment).
  StreamStateHandle ToStreamStateHandle() const {
    return StreamStateHandle::Segment(physical_path, offset, length, checksum, logical_id,
                                      scope == StateScope::kExclusive);
  }
};

// The segment's bytes, read from its physical file and checked against its length and checksum
// (ReadStreamStateHandle of its metadata handle). Errors name the physical file, the segment and `what`.
absl::StatusOr<std::string> ReadSegment(CheckpointStorage& storage, const SegmentHandle& segment,
                                        absl::string_view what);

class FileMergingSnapshotManager;

// A physical file in checkpoint storage (Flink's PhysicalFile). Its counters are guarded by the manager's lock.
class PhysicalFile {
 public:
  const std::string& path() const { return path_; }
  StateScope scope() const { return scope_; }
  bool owned() const { return owned_; }
  // Bytes in the file (durable: synced), and bytes of it that live logical files use.
  uint64_t size() const { return size_; }
  uint64_t data_size() const { return data_size_; }
  uint64_t wasted_size() const { return size_ > data_size_ ? size_ - data_size_ : 0; }
  int reference_count() const { return reference_count_; }
  bool closed() const { return closed_; }
  bool deleted() const { return deleted_; }
  bool could_reuse() const { return could_reuse_; }

 private:
  friend class FileMergingSnapshotManager;
  friend class FileMergingOutputStream;

  std::string path_;
  StateScope scope_ = StateScope::kShared;
  bool owned_ = true;
  std::shared_ptr<CheckpointOutputStream> stream_;  // null once closed (a restored file never had one)
  uint64_t size_ = 0;
  uint64_t data_size_ = 0;
  int reference_count_ = 0;
  bool closed_ = false;
  bool deleted_ = false;
  bool could_reuse_ = true;
  bool abandoned_ = false;  // a write into it failed: what its last sync made durable is all it holds
  // Which pool queue it belongs to (a blocking pool counts the files each queue has out).
  std::optional<SubtaskKey> pool_key_;  // nullopt: the exclusive queue
  int64_t pool_checkpoint_ = -1;        // the within-checkpoint manager's pool; -1 for the across one
};

// A segment as the manager tracks it (Flink's LogicalFile).
struct LogicalFile {
  std::string id;
  std::shared_ptr<PhysicalFile> physical;
  uint64_t offset = 0;
  uint64_t length = 0;
  SubtaskKey subtask;
  int64_t last_used_checkpoint = -1;
  bool discarded = false;
};

// A state stream whose bytes become one segment (Flink's FileMergingCheckpointStateOutputStream). Not thread safe
// except Cancel.
class FileMergingOutputStream {
 public:
  absl::Status Write(absl::string_view data);
  // The segment's handle; nullopt if nothing was written (no physical file is taken then, as in Flink).
  absl::StatusOr<std::optional<SegmentHandle>> CloseAndGetHandle();
  // Later Write / CloseAndGetHandle calls fail with Cancelled.
  void Cancel();

 private:
  friend class FileMergingSnapshotManager;
  FileMergingOutputStream(FileMergingSnapshotManager* manager, SubtaskKey key, int64_t checkpoint_id,
                          StateScope scope)
      : manager_(manager), key_(std::move(key)), checkpoint_id_(checkpoint_id), scope_(scope) {}

  FileMergingSnapshotManager* manager_;
  const SubtaskKey key_;
  const int64_t checkpoint_id_;
  const StateScope scope_;
  std::string buffer_;
  bool closed_ = false;
  std::atomic<bool> cancelled_{false};
};

// What a manager did, for tests, the checker and benchmarks.
struct FileMergingStats {
  uint64_t physical_files_created = 0;
  uint64_t physical_files_deleted = 0;
  uint64_t physical_file_delete_failures = 0;
  uint64_t segments_written = 0;
  uint64_t logical_files_discarded = 0;
  // Flink's SpaceStat, over owned files only.
  uint64_t physical_file_count = 0;
  uint64_t physical_file_size = 0;
  uint64_t logical_file_count = 0;
  uint64_t logical_file_size = 0;
};

class FileMergingSnapshotManager {
 public:
  // One per task manager and job. `id`: Flink's "job_<job>_tm_<resource id>", the exclusive directory's name.
  FileMergingSnapshotManager(std::string id, FileMergingOptions options, Runtime* runtime);
  ~FileMergingSnapshotManager();

  // Flink's initFileSystem: the storage and the directories under which the managed ones are made. Idempotent; a
  // second call with other directories is an error. Until it is called, restored files are not owned (FLINK-35446).
  absl::Status InitFileSystem(CheckpointStorage* storage, std::string shared_state_dir,
                              std::string task_owned_state_dir);
  // The managed shared directory of `key` (<shared dir>/<escaped managed dir name>).
  absl::Status RegisterSubtaskForSharedStates(const SubtaskKey& key);
  // Drops the subtask's pool queue and deletes its managed directory if no checkpoint ever included it.
  void UnregisterSubtask(const SubtaskKey& key);

  std::unique_ptr<FileMergingOutputStream> CreateStream(const SubtaskKey& key, int64_t checkpoint_id,
                                                        StateScope scope);

  void NotifyCheckpointStart(const SubtaskKey& key, int64_t checkpoint_id);
  void NotifyCheckpointComplete(const SubtaskKey& key, int64_t checkpoint_id);
  void NotifyCheckpointAborted(const SubtaskKey& key, int64_t checkpoint_id);
  void NotifyCheckpointSubsumed(const SubtaskKey& key, int64_t checkpoint_id);

  // An incremental checkpoint `checkpoint_id` reuses these segments (by logical id; a placeholder for a merged file
  // carries it too): they live on until a checkpoint at least as new is subsumed (FLINK-34936, FLINK-35570).
  void ReusePreviousStateHandles(int64_t checkpoint_id, const std::vector<std::string>& logical_ids);
  // Whether a later checkpoint may reference the segment instead of uploading its state again: false for unknown
  // segments, restored physical files (FLINK-35803) and files space control gave up.
  bool CouldReusePreviousStateHandle(const std::string& logical_id) const;

  // Takes over the segments a restored snapshot `checkpoint_id` of `key` consists of. Their physical files are never
  // written again; those under this manager's directories are owned (deleted once unused), others not.
  absl::Status RestoreStateHandles(int64_t checkpoint_id, const SubtaskKey& key,
                                   const std::vector<SegmentHandle>& segments);

  // Closes every pooled physical file and deletes the managed directories no checkpoint included.
  void Close();

  FileMergingStats stats() const;
  const FileMergingOptions& options() const { return options_; }
  std::string managed_directory(const SubtaskKey& key, StateScope scope) const;
  // Live segments by logical id (tests and the checker).
  std::map<std::string, LogicalFile> KnownLogicalFiles() const;

 private:
  friend class FileMergingOutputStream;
  struct Queue {
    std::deque<std::shared_ptr<PhysicalFile>> files;
    int out = 0;  // files taken from the queue and not yet returned or closed
    std::deque<std::shared_ptr<Signal>> waiters;
  };
  struct Pool {
    std::map<SubtaskKey, Queue> shared;
    Queue exclusive;
  };
  struct ManagedDirectory {
    std::string path;
    bool own = false;       // this manager created it
    int ongoing = 0;        // checkpoints started and neither completed nor aborted
    bool tracking = false;  // not yet handed to the job manager by a completed or subsumed checkpoint
  };

  // The physical file a segment of (key, checkpoint, scope) goes into: from the pool, or new.
  absl::StatusOr<std::shared_ptr<PhysicalFile>> TakePhysicalFile(const SubtaskKey& key, int64_t checkpoint_id,
                                                                 StateScope scope);
  absl::StatusOr<std::shared_ptr<PhysicalFile>> CreatePhysicalFile(const SubtaskKey& key, StateScope scope,
                                                                   int64_t pool_checkpoint);
  // After a segment went in: back into its pool, or closed when full (Flink's returnPhysicalFileForNextReuse).
  void ReturnPhysicalFile(const std::shared_ptr<PhysicalFile>& file);
  // A file whose write failed: closed for good, deleted if nothing uses it.
  void AbandonPhysicalFile(const std::shared_ptr<PhysicalFile>& file);
  absl::StatusOr<SegmentHandle> AddSegment(const SubtaskKey& key, int64_t checkpoint_id,
                                           const std::shared_ptr<PhysicalFile>& file, uint64_t offset,
                                           uint64_t length, uint32_t checksum, StateScope scope);

  // REQUIRES: mutex_. The queue a file of (key, scope) comes from, in the pool of `checkpoint` (within mode).
  Queue& QueueLocked(const std::optional<SubtaskKey>& key, int64_t pool_checkpoint);
  int64_t PoolCheckpoint(int64_t checkpoint_id) const {
    return options_.across_checkpoint_boundary ? -1 : checkpoint_id;
  }
  // REQUIRES: mutex_. One out of the file's queue; wakes a waiter of a blocking pool.
  void ReleaseFromQueueLocked(const PhysicalFile& file);
  // REQUIRES: mutex_. Marks closed; returns it if it must now be closed (and maybe deleted) outside the lock.
  void CloseLocked(const std::shared_ptr<PhysicalFile>& file, std::vector<std::shared_ptr<PhysicalFile>>* release);
  void DecReferenceLocked(const std::shared_ptr<PhysicalFile>& file,
                          std::vector<std::shared_ptr<PhysicalFile>>* release);
  // REQUIRES: mutex_. Closes (and collects) every file of the queues `close_queue` selects.
  void ClosePoolQueuesLocked(int64_t pool_checkpoint, const std::optional<SubtaskKey>& only_shared_of,
                             std::vector<std::shared_ptr<PhysicalFile>>* release);
  // Outside the lock: finishes (or cancels) the streams of closed files, deletes the unused owned ones.
  void Release(const std::vector<std::shared_ptr<PhysicalFile>>& files);
  // REQUIRES: mutex_.
  bool DiscardLogicalFilesLocked(const SubtaskKey& key, int64_t checkpoint_id, std::set<std::string>* ids,
                                 std::vector<std::shared_ptr<PhysicalFile>>* release);
  void NotifyReleaseCheckpointLocked(const SubtaskKey& key, int64_t checkpoint_id,
                                     std::vector<std::shared_ptr<PhysicalFile>>* release);
  void TryDiscardCheckpointLocked(int64_t checkpoint_id, std::vector<std::shared_ptr<PhysicalFile>>* release);
  void ControlSpaceLocked();
  void HandOverDirectoriesLocked(const SubtaskKey& key);
  // Deletes every object under `directory` (a directory of an object store is its objects).
  void DeleteDirectory(const std::string& directory);

  const std::string id_;
  const FileMergingOptions options_;
  const double max_space_amplification_;  // options_'s, or +inf when off
  Runtime* runtime_;

  mutable std::mutex mutex_;
  CheckpointStorage* storage_ = nullptr;  // set by InitFileSystem
  std::string shared_state_dir_;
  std::string task_owned_state_dir_;
  std::map<SubtaskKey, ManagedDirectory> shared_directories_;
  std::optional<ManagedDirectory> exclusive_directory_;
  std::map<int64_t, Pool> pools_;  // by pool checkpoint (-1: the across-checkpoint manager's one pool)
  std::map<std::string, LogicalFile> known_logical_files_;
  std::map<int64_t, std::set<std::string>> uploaded_states_;  // logical ids by the checkpoint that wrote them
  std::map<int64_t, std::set<SubtaskKey>> notified_subtasks_;  // Flink's notifiedSubtaskCheckpoint
  std::set<int64_t> notified_checkpoints_;                     // Flink's notifiedCheckpoint
  FileMergingStats stats_;
};

// Flink's NUM_GHOST_CHECKPOINT_IDS: how many released checkpoint ids (and partly notified ones) are remembered.
inline constexpr size_t kFileMergingNotifiedWindow = 16;

}  // namespace snapsim

#endif  // SNAPSIM_SNAPSHOT_FILE_MERGING_H_
