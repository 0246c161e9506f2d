// What kind of snapshot a completed checkpoint is and who may delete it: Flink's CheckpointProperties with its
// discard decision table, RestoreMode (FLIP-193), the savepoint formats and the job statuses that end a store
// (shared/flink/JOBMANAGER_SIDE.md 3.5 and 6).
#ifndef SNAPSIM_SNAPSHOT_CHECKPOINT_PROPERTIES_H_
#define SNAPSIM_SNAPSHOT_CHECKPOINT_PROPERTIES_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "snapshot/snapshot_type.h"

namespace snapsim {

// Who owns a snapshot a job is started from.
enum class RestoreMode : uint8_t {
  kClaim = 1,    // the job owns it: deletes its files once no retained checkpoint uses them
  kNoClaim = 2,  // never deletes it; the first checkpoint after restore is full and shares nothing with it
  kLegacy = 3,   // never deletes it, yet later checkpoints may keep referencing its files indefinitely
};
absl::string_view RestoreModeName(RestoreMode mode);

enum class SavepointFormat : uint8_t { kNative = 1, kCanonical = 2 };
absl::string_view SavepointFormatName(SavepointFormat format);

// externalized-checkpoint-retention.
enum class CheckpointRetention : uint8_t {
  kNeverRetainAfterTermination = 1,
  kRetainOnFailure = 2,
  kRetainOnCancellation = 3,
};

enum class JobStatus : uint8_t { kFinished = 1, kCanceled = 2, kFailed = 3, kSuspended = 4 };
absl::string_view JobStatusName(JobStatus status);
inline bool IsGloballyTerminal(JobStatus status) { return status != JobStatus::kSuspended; }

enum class CheckpointKind : uint8_t {
  kCheckpoint = 1,      // periodic or manual; the backend decides incremental or full
  kFullCheckpoint = 2,  // manual FULL: shares nothing with earlier checkpoints
  kSavepoint = 3,
  kSyncSavepoint = 4,  // stop-with-savepoint: no checkpoint follows it
};
absl::string_view CheckpointKindName(CheckpointKind kind);

struct CheckpointProperties {
  CheckpointKind kind = CheckpointKind::kCheckpoint;
  SavepointFormat format = SavepointFormat::kNative;
  // The NO_CLAIM-restored snapshot: never discarded, never registered.
  bool unclaimed = false;
  bool discard_subsumed = true;
  bool discard_finished = true;
  bool discard_cancelled = true;
  bool discard_failed = true;
  bool discard_suspended = true;

  static CheckpointProperties ForCheckpoint(CheckpointRetention retention,
                                            CheckpointKind kind = CheckpointKind::kCheckpoint);
  static CheckpointProperties ForSavepoint(SavepointFormat format, bool synchronous = false);
  static CheckpointProperties ForUnclaimedSnapshot();

  bool is_savepoint() const { return kind == CheckpointKind::kSavepoint || kind == CheckpointKind::kSyncSavepoint; }
  bool is_synchronous_savepoint() const { return kind == CheckpointKind::kSyncSavepoint; }
  SnapshotType snapshot_type() const;
  SharingFilesStrategy sharing_files_strategy() const { return SharingFilesStrategyOf(snapshot_type()); }
  bool ShouldBeDiscardedOnShutdown(JobStatus status) const;
  std::string ToString() const;

  friend bool operator==(const CheckpointProperties& a, const CheckpointProperties& b) {
    return a.kind == b.kind && a.format == b.format && a.unclaimed == b.unclaimed &&
           a.discard_subsumed == b.discard_subsumed && a.discard_finished == b.discard_finished &&
           a.discard_cancelled == b.discard_cancelled && a.discard_failed == b.discard_failed &&
           a.discard_suspended == b.discard_suspended;
  }
};

// What the coordinator asks a task to snapshot, and where its files go (Flink's CheckpointOptions with the
// storage location reference).
struct CheckpointOptions {
  SnapshotType type = SnapshotType::kCheckpoint;
  // For savepoints: NATIVE (the backend's own files) or CANONICAL (backend-independent key/values).
  SavepointFormat format = SavepointFormat::kNative;
  // SHARED scope ("<checkpoint root>/shared"; a savepoint's own directory for savepoints).
  std::string shared_directory;
  // EXCLUSIVE scope: the checkpoint's "chk-<id>" or the savepoint's directory; its metadata goes there too.
  std::string exclusive_directory;
};

}  // namespace snapsim

#endif  // SNAPSIM_SNAPSHOT_CHECKPOINT_PROPERTIES_H_
