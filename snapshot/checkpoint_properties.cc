#include "snapshot/checkpoint_properties.h"

#include "absl/strings/str_cat.h"

namespace snapsim {

absl::string_view RestoreModeName(RestoreMode mode) {
  switch (mode) {
    case RestoreMode::kClaim:
      return "CLAIM";
    case RestoreMode::kNoClaim:
      return "NO_CLAIM";
    case RestoreMode::kLegacy:
      return "LEGACY";
  }
  return "?";
}

absl::string_view SavepointFormatName(SavepointFormat format) {
  return format == SavepointFormat::kNative ? "NATIVE" : "CANONICAL";
}

absl::string_view JobStatusName(JobStatus status) {
  switch (status) {
    case JobStatus::kFinished:
      return "FINISHED";
    case JobStatus::kCanceled:
      return "CANCELED";
    case JobStatus::kFailed:
      return "FAILED";
    case JobStatus::kSuspended:
      return "SUSPENDED";
  }
  return "?";
}

absl::string_view CheckpointKindName(CheckpointKind kind) {
  switch (kind) {
    case CheckpointKind::kCheckpoint:
      return "checkpoint";
    case CheckpointKind::kFullCheckpoint:
      return "full checkpoint";
    case CheckpointKind::kSavepoint:
      return "savepoint";
    case CheckpointKind::kSyncSavepoint:
      return "synchronous savepoint";
  }
  return "?";
}

CheckpointProperties CheckpointProperties::ForCheckpoint(CheckpointRetention retention, CheckpointKind kind) {
  CheckpointProperties properties;
  properties.kind = kind;
  switch (retention) {
    case CheckpointRetention::kNeverRetainAfterTermination:
      break;
    case CheckpointRetention::kRetainOnFailure:
      properties.discard_failed = false;
      break;
    case CheckpointRetention::kRetainOnCancellation:
      properties.discard_cancelled = false;
      properties.discard_failed = false;
      properties.discard_suspended = false;
      break;
  }
  return properties;
}

CheckpointProperties CheckpointProperties::ForSavepoint(SavepointFormat format, bool synchronous) {
  CheckpointProperties properties;
  properties.kind = synchronous ? CheckpointKind::kSyncSavepoint : CheckpointKind::kSavepoint;
  properties.format = format;
  properties.discard_subsumed = false;
  properties.discard_finished = false;
  properties.discard_cancelled = false;
  properties.discard_failed = false;
  properties.discard_suspended = false;
  return properties;
}

CheckpointProperties CheckpointProperties::ForUnclaimedSnapshot() {
  CheckpointProperties properties = ForSavepoint(SavepointFormat::kCanonical);
  properties.unclaimed = true;
  return properties;
}

SnapshotType CheckpointProperties::snapshot_type() const {
  switch (kind) {
    case CheckpointKind::kCheckpoint:
      return SnapshotType::kCheckpoint;
    case CheckpointKind::kFullCheckpoint:
      return SnapshotType::kFullCheckpoint;
    case CheckpointKind::kSavepoint:
    case CheckpointKind::kSyncSavepoint:
      return SnapshotType::kSavepoint;
  }
  return SnapshotType::kSavepoint;
}

bool CheckpointProperties::ShouldBeDiscardedOnShutdown(JobStatus status) const {
  switch (status) {
    case JobStatus::kFinished:
      return discard_finished;
    case JobStatus::kCanceled:
      return discard_cancelled;
    case JobStatus::kFailed:
      return discard_failed;
    case JobStatus::kSuspended:
      return discard_suspended;
  }
  return false;
}

std::string CheckpointProperties::ToString() const {
  return absl::StrCat(CheckpointKindName(kind), is_savepoint() ? absl::StrCat(" ", SavepointFormatName(format)) : "",
                      unclaimed ? " unclaimed" : "", " discard{subsumed=", discard_subsumed,
                      " finished=", discard_finished, " cancelled=", discard_cancelled, " failed=", discard_failed,
                      " suspended=", discard_suspended, "}");
}

}  // namespace snapsim
