// What kind of snapshot a task is asked for, and how it may share files with other snapshots. Flink's
// SnapshotType / CheckpointType / SavepointType and SharingFilesStrategy (shared/flink/JOBMANAGER_SIDE.md 6.1).
#ifndef SNAPSIM_SNAPSHOT_SNAPSHOT_TYPE_H_
#define SNAPSIM_SNAPSHOT_SNAPSHOT_TYPE_H_

namespace snapsim {

enum class SharingFilesStrategy { kForwardBackward, kForward, kNoSharing };

enum class SnapshotType {
  kCheckpoint,      // FORWARD_BACKWARD: may reuse confirmed files; later checkpoints may reuse its files
  kFullCheckpoint,  // FORWARD: reuses nothing (first checkpoint after a NO_CLAIM restore, manual FULL)
  kSavepoint,       // NO_SHARING: a savepoint owns all its files
};

inline SharingFilesStrategy SharingFilesStrategyOf(SnapshotType type) {
  switch (type) {
    case SnapshotType::kCheckpoint:
      return SharingFilesStrategy::kForwardBackward;
    case SnapshotType::kFullCheckpoint:
      return SharingFilesStrategy::kForward;
    case SnapshotType::kSavepoint:
      return SharingFilesStrategy::kNoSharing;
  }
  return SharingFilesStrategy::kNoSharing;
}

}  // namespace snapsim

#endif  // SNAPSIM_SNAPSHOT_SNAPSHOT_TYPE_H_
