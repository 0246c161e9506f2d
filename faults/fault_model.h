// The fault model: every kind of fault snapsim injects, declared in one place. Each kind says what it models, why
// the system must survive it (or what it may lose), and where it is injected. A scenario arms faults with the
// `fault` step (a kind, a chance as an integer ratio, a count, a path filter) and ends them with `faults-off`; the
// swarm generator draws which kinds a seed uses. After TigerBeetle's storage fault model and RocksDB's
// FaultInjectionTestFS: check whether a fault is armed, maybe inject, mark the error, forward.
//
// Injected errors carry a marker (IsInjected): the checker treats an unmarked I/O error as a bug. The marker is a
// status payload and the text "[injected]" in the message, so it survives conversion through RocksDB's statuses.
//
// Kinds, with where they are injected (sim/sim_object_store.h's ObjectStoreFaultInjector, the checkpoint storage):
//   upload-fails-before   create / write / sync / finish of an object fails before it takes effect: a transient
//                         storage error. Recoverable: the snapshot fails, the checkpoint is declined, a later one
//                         completes.
//   upload-fails-after    finish (or a sync) stores the bytes, then reports failure (the response was lost).
//                         Recoverable: the writer must delete what it could not confirm (Flink's
//                         FsCheckpointStateOutputStream does).
//   upload-partial        finish (or a sync) leaves an object cut short under its path and reports failure (an
//                         interrupted put on a store without atomic puts). Recoverable like upload-fails-after.
//                         Never injected on the completed checkpoint store's records (`<job root>/ha/`): they stand
//                         for Flink's HA store (ZooKeeper, Kubernetes ConfigMaps), whose writes are atomic, so a
//                         record cut short cannot exist (swarm seed 626: one whose delete also failed made every
//                         later coordinator's recovery fail on its checksum).
//   storage-slow          a request takes `ms` longer: a latency tail long enough to time checkpoints out.
//                         Recoverable: the timeout aborts the checkpoint and its cleanup runs.
//   delete-fails          a delete fails and the object stays. Recoverable: Flink logs and leaves the file, and the
//                         checker accepts it as an orphan with this reason (nothing else may leak); a store record
//                         whose delete failed keeps its checkpoint retained (Flink's tryRemove), so no record ever
//                         names a discarded checkpoint. Counted recoverable since 2,000 swarm-recoverable seeds with
//                         it drawn passed (2026-11-30).
//   download-fails        a read fails (restore downloads, metadata loads). Recoverable: a failed restore is
//                         retried by the job's restart (Flink's restart strategy), a failed resume is refused.
//   download-corrupts     a read succeeds but one bit of what it returns is flipped; the stored object stays
//                         intact (corruption in transit that the transport did not catch). Recoverable because every
//                         reader verifies what it read against a checksum (a handle's CRC-32C for downloaded files,
//                         FLINK-27681's download side; the trailing CRC of metadata and store records): the read
//                         fails with an error naming the object, and the restart strategy or the user reads again.
//                         Such an error carries no marker (the system detected it; nothing told it): Explains()
//                         accepts an error that names an object whose read was corrupted. Corrupted bytes accepted
//                         anywhere show as a restore that differs from the model or an unexplained error.
//   storage-rot           unrecoverable: before a read, one bit of the stored object flips for good (bit rot at rest,
//                         a store that lost data). It may lose every snapshot that references the object: restoring
//                         one must fail with an error naming the object, never give other state; a job whose
//                         restart needs it fails for good (Flink: the restart strategy gives up, the job is FAILED)
//                         and the run goes on without it. Drawn only by the unrestricted sweep (`swarm`), whose
//                         checker accepts exactly these losses (ExplainsLoss); every other invariant still holds.
//   disk-fails            an operation that changes a machine's local disk (create, write, sync, link, rename, create
//                         or fsync a directory, truncate) fails before its effect with an I/O error: a failing disk or
//                         a file system gone read-only. Injected through SimFileSystem's fault hook on every machine
//                         (sim/sim_machine.h), the rebooted disk after a crash included; not on the thread that
//                         runs RocksDB's background jobs during a blocking call (Flush, CompactRange, a flushing
//                         checkpoint, Close), where RocksDB 7.8.3's error path races with the caller it wakes
//                         (sim/sim_scheduler.h: OnBlockingCallHelper), so flushes and compactions fail only when
//                         RocksDB runs them on its own (the background activity). Never a read, an existence
//                         check or a delete: RocksDB 7.8.3 aborts on an I/O error from FileExists(<db>/archive)
//                         (TOOLCHAIN.md), and a failed delete on local disk only leaves garbage no invariant judges.
//                         Recoverable: RocksDB reports the error (a flush or MANIFEST write failing makes the DB's
//                         background error fatal); a write, flush or compaction that fails fails the task, and the
//                         job restarts it from the latest checkpoint, as Flink's restart strategy does; a snapshot's
//                         synchronous part that fails declines the checkpoint; a restore that fails is retried by the
//                         restart strategy; a local-recovery copy that fails to restore falls back to storage.
//   disk-full             the disk has no space: an append, a file or directory creation fails with NoSpace.
//                         Recoverable like disk-fails. RocksDB would start its own recovery thread for NoSpace (its
//                         SstFileManager polls for free space): the simulation preset turns automatic recovery off
//                         (backend/backend_options.cc), so a DB that hit it stays failed until the task restarts.
// Message faults, restarts and local-disk corruption are scenario steps of their own (`message`, `failover-*`,
// `crash`, `corrupt`). `corrupt` flips a bit in files on a machine's disk (SimFileSystem::CorruptFile); snapshots
// verify SST files before upload (FLINK-27681's proposal) and fail naming the file, which Explains accepts; a local
// restore checks its copy against the checkpoint's checksums first and falls back to storage naming the file. The
// swarm draws it only right before a task manager process dies (`crash how=restart|reboot`): the task-local snapshot
// file, or SST files of local copies. Anywhere else a compaction of the running database could read the flipped bit
// on RocksDB's blocking-call helper (see disk-fails), which would make runs nondeterministic.
//
// Two modes: recoverable only (the `swarm-recoverable` sweep, the property tests: every invariant must hold) and
// unrestricted (the `swarm` sweep: storage-rot too, whose losses the checker accepts through ExplainsLoss and
// nothing else).
#ifndef SNAPSIM_FAULTS_FAULT_MODEL_H_
#define SNAPSIM_FAULTS_FAULT_MODEL_H_

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "sim/prng.h"
#include "rocksdb/io_status.h"
#include "sim/sim_file_system.h"
#include "sim/sim_object_store.h"

namespace snapsim {

enum class FaultKind { kUploadFailsBefore, kUploadFailsAfter, kUploadPartial, kStorageSlow, kDeleteFails,
                       kDownloadFails, kDownloadCorrupts, kStorageRot, kDiskFails, kDiskFull };

struct FaultKindInfo {
  FaultKind kind;
  const char* name;
  // Every invariant must hold under it (recoverable-only sweeps use only these).
  bool recoverable;
  // Injected on machines' local disks (DecideDisk), not on the object store (Decide).
  bool local_disk;
};
const std::vector<FaultKindInfo>& FaultKinds();
std::optional<FaultKind> ParseFaultKind(absl::string_view name);
absl::string_view FaultKindName(FaultKind kind);

// An error that a fault injected: `code` with "[injected] <what>" and the marker payload.
absl::Status InjectedError(absl::StatusCode code, absl::string_view what);
bool IsInjected(const absl::Status& status);
bool IsInjectedMessage(absl::string_view message);

// One armed fault: each matching operation is hit with probability `chance_numerator / chance_denominator`, at most
// `count` times (-1: no limit), on paths containing `path_contains` ("" matches every path; a local disk's paths
// start with its machine's name: "/tm-0/").
struct FaultRule {
  FaultKind kind = FaultKind::kUploadFailsBefore;
  uint64_t chance_numerator = 1;
  uint64_t chance_denominator = 1;
  int count = 1;
  std::string path_contains;
  int64_t latency_micros = 0;  // storage-slow
  int armed_at_step = 0;       // the scenario step that armed it (0: armed outside a scenario's steps)
};

// One fault that fired, as the trace shows it.
struct FiredFault {
  FaultKind kind;
  std::string operation;  // "finish", "read", "append", ...
  std::string path;
  std::string machine;    // the local disk's machine; "" for the object store
  int armed_at_step = 0;
};

// Applies armed rules to the object store's and the local disks' operations. Thread-safe; draws from its own PRNG
// stream, so a run with faults armed differs from one without only where a fault fires.
class FaultInjector {
 public:
  explicit FaultInjector(Prng prng) : prng_(std::move(prng)) {}
  void Install(SimObjectStore* store);
  void Arm(FaultRule rule);
  // Called for every fault that fires, from the operation's activity, with the injector's lock held: it must not
  // call back into the injector.
  void SetObserver(std::function<void(const FiredFault&)> observer);
  void DisarmAll();
  // From now on, draws from a stream of `seed` instead (`snapsim explain`: the rest of a run redrawn, its prefix
  // replayed exactly).
  void Reseed(uint64_t seed);
  bool armed() const;
  // How many faults of each kind fired.
  std::map<std::string, int> Injected() const;
  // Objects a failed delete left behind, with the reason (the checker accepts them).
  std::map<std::string, std::string> AcceptedOrphans() const;
  // Whether an error is a fault's doing: injected (IsInjectedMessage), or a detected corruption (a checksum
  // mismatch, RocksDB's Corruption) naming an object download-corrupts or storage-rot corrupted, or a file the
  // `corrupt` step corrupted.
  bool Explains(absl::string_view error) const;
  // Files the `corrupt` step corrupted on a local disk: Explains accepts an error that names one (or a hard link
  // of it: same machine, same file name) and reports corruption or a checksum mismatch.
  void NoteLocalCorruption(const std::string& path);
  // Whether an error may end in a loss the fault model allows: a detected corruption naming an object storage-rot
  // rotted.
  bool ExplainsLoss(absl::string_view error) const;

  ObjectStoreFault Decide(const ObjectStoreOperation& operation);
  // For SimWorld::SetDiskFaultHook: OK, or the injected error `operation` on `machine`'s disk fails with.
  rocksdb::IOStatus DecideDisk(const std::string& machine, const FsOperation& operation);

 private:
  mutable std::mutex mutex_;
  Prng prng_;
  std::vector<FaultRule> rules_;
  std::map<std::string, int> injected_;
  std::map<std::string, std::string> failed_deletes_;
  std::set<std::string> corrupted_reads_;
  std::set<std::string> rotted_;
  std::set<std::string> corrupted_local_;
  // The first armed rule of a kind in `applies` that matches `path` and wins its draw (consumed), or null.
  FaultRule* Draw(const std::string& path, const std::function<bool(FaultKind)>& applies);
  std::function<void(const FiredFault&)> observer_;
  // Counts one firing of `rule` against its count; removes it when spent.
  void Consume(FaultRule* rule);
};

}  // namespace snapsim

#endif  // SNAPSIM_FAULTS_FAULT_MODEL_H_
