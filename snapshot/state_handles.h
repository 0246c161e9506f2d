// State handles: what a keyed-state snapshot is made of, and their versioned, checksummed serialization into
// checkpoint metadata. Follows Flink's StreamStateHandle, PlaceholderStreamStateHandle,
// IncrementalRemoteKeyedStateHandle, IncrementalLocalKeyedStateHandle, DirectoryStateHandle and SnapshotResult,
// in the fixed form of FLINK-29913: shared and private state are lists of (handle, local path), and a
// placeholder carries the physical id of the file it stands for.
#ifndef SNAPSIM_SNAPSHOT_STATE_HANDLES_H_
#define SNAPSIM_SNAPSHOT_STATE_HANDLES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "backend/key_groups.h"
#include "snapshot/checkpoint_storage.h"

namespace snapsim {

// A file in checkpoint storage, small state kept inline in the metadata, a segment of a physical file (checkpoint
// file merging, snapshot/file_merging.h), or a placeholder for a file that a confirmed checkpoint already uploaded.
struct StreamStateHandle {
  enum class Kind : uint8_t { kFile = 1, kPlaceholder = 2, kInline = 3, kSegment = 4 };

  Kind kind = Kind::kFile;
  // kFile: the object's path in checkpoint storage. kInline: the name it would have had there (Flink's
  // ByteStreamStateHandle handleName, its physical id; no object of that name is ever created). kSegment: the
  // physical file's path. kPlaceholder: the path (physical id) of the file or inline state it reuses.
  std::string path;
  // kSegment: the segment's length.
  uint64_t size_bytes = 0;
  // CRC-32C of the object's bytes (a segment's: of its own bytes; a placeholder's: of the state it stands for).
  uint32_t checksum = 0;
  // kInline: the bytes themselves (size_bytes of them).
  std::string data;
  // kSegment, and a placeholder standing for one (Flink's file-merged placeholder, FLINK-35570): where the segment
  // starts in its physical file, its logical file's id, and whether the physical file is a task manager's exclusive
  // one. Empty `logical_id`: not file-merged.
  uint64_t offset = 0;
  std::string logical_id;
  bool exclusive = false;

  static StreamStateHandle File(const StoredObjectInfo& info) {
    return StreamStateHandle{Kind::kFile, info.path, info.size_bytes, info.checksum, {}};
  }
  // Flink's ByteStreamStateHandle: state below state.storage.fs.memory-threshold, carried in the metadata.
  static StreamStateHandle Inline(std::string name, std::string bytes);
  // Flink's SegmentFileStateHandle.
  static StreamStateHandle Segment(std::string physical_path, uint64_t offset, uint64_t length, uint32_t checksum,
                                   std::string logical_id, bool exclusive) {
    return StreamStateHandle{Kind::kSegment, std::move(physical_path), length, checksum, {},
                             offset,         std::move(logical_id),    exclusive};
  }
  // A placeholder for `original`, carrying its physical id (path), size and checksum (FLINK-29913), and for a
  // segment its offset and logical file id (FLINK-35570); the registry gives the original back, inline bytes
  // included.
  static StreamStateHandle PlaceholderFor(const StreamStateHandle& original) {
    return StreamStateHandle{Kind::kPlaceholder, original.path,       original.size_bytes, original.checksum, {},
                             original.offset,    original.logical_id, original.exclusive};
  }
  bool is_placeholder() const { return kind == Kind::kPlaceholder; }
  bool is_inline() const { return kind == Kind::kInline; }
  bool is_segment() const { return kind == Kind::kSegment; }
  // A segment, or a placeholder for one.
  bool is_file_merged() const { return !logical_id.empty(); }
  // An object of its own in checkpoint storage: something to download, check for and delete. Not a segment: its
  // physical file belongs to the task managers' file-merging managers, and the job manager never deletes it (Flink's
  // SegmentFileStateHandle#discardState does nothing).
  bool in_storage() const { return kind == Kind::kFile; }
  // Whose bytes a restore reads from checkpoint storage: a file's, or a segment's.
  bool reads_storage() const { return kind == Kind::kFile || kind == Kind::kSegment; }

  friend bool operator==(const StreamStateHandle& a, const StreamStateHandle& b) {
    return a.kind == b.kind && a.path == b.path && a.size_bytes == b.size_bytes && a.checksum == b.checksum &&
           a.data == b.data && a.offset == b.offset && a.logical_id == b.logical_id && a.exclusive == b.exclusive;
  }
};

// The bytes `handle` stands for, checked against its size and checksum: an inline handle's own, else the object's in
// storage. A placeholder is an error (it must be resolved first). Errors name the object and `what`.
absl::StatusOr<std::string> ReadStreamStateHandle(CheckpointStorage& storage, const StreamStateHandle& handle,
                                                  absl::string_view what);

// A file of a RocksDB native checkpoint and where it lives in checkpoint storage.
struct HandleAndLocalPath {
  StreamStateHandle handle;
  // The file's name in the native checkpoint directory, e.g. "000012.sst", "MANIFEST-000005", "CURRENT".
  std::string local_path;

  friend bool operator==(const HandleAndLocalPath& a, const HandleAndLocalPath& b) {
    return a.handle == b.handle && a.local_path == b.local_path;
  }
};

inline constexpr int64_t kUnknownCheckpointedSize = -1;

// The remote part of a RocksDB native snapshot (written by both the incremental and the native full strategy).
struct IncrementalRemoteKeyedStateHandle {
  std::string backend_uid;
  KeyGroupRange key_group_range;
  int64_t checkpoint_id = 0;
  // SST files that later checkpoints may reuse (empty for a native full snapshot).
  std::vector<HandleAndLocalPath> shared_state;
  // MANIFEST, CURRENT, OPTIONS (and every file of a native full snapshot).
  std::vector<HandleAndLocalPath> private_state;
  // The serialized state meta info list.
  StreamStateHandle meta_state_handle;
  // Bytes this checkpoint newly persisted (metadata + uploaded files; reused placeholders excluded).
  int64_t checkpointed_size_bytes = kUnknownCheckpointedSize;
  std::string state_handle_id;

  // Full logical size: metadata + every shared (placeholders at their recorded size) and private file.
  uint64_t StateSize() const;

  friend bool operator==(const IncrementalRemoteKeyedStateHandle& a, const IncrementalRemoteKeyedStateHandle& b);
};

// The local-recovery copy of a snapshot: the native checkpoint directory on the task's machine and a local copy
// of the metadata.
struct IncrementalLocalKeyedStateHandle {
  std::string backend_uid;
  int64_t checkpoint_id = 0;
  std::string directory;
  KeyGroupRange key_group_range;
  std::string local_meta_path;
  std::vector<HandleAndLocalPath> shared_state;

  friend bool operator==(const IncrementalLocalKeyedStateHandle& a, const IncrementalLocalKeyedStateHandle& b) {
    return a.backend_uid == b.backend_uid && a.checkpoint_id == b.checkpoint_id && a.directory == b.directory &&
           a.key_group_range == b.key_group_range && a.local_meta_path == b.local_meta_path &&
           a.shared_state == b.shared_state;
  }
};

// Flink's KeyGroupRangeOffsets: the stream offset of each key group of `range` in a canonical savepoint; 0 = no
// data for that key group.
struct KeyGroupRangeOffsets {
  KeyGroupRange range;
  std::vector<uint64_t> offsets;  // offsets[key_group - range.start()]

  friend bool operator==(const KeyGroupRangeOffsets& a, const KeyGroupRangeOffsets& b) {
    return a.range == b.range && a.offsets == b.offsets;
  }
};

// Flink's KeyGroupsSavepointStateHandle: a canonical savepoint stream and its key-group offsets.
struct KeyGroupsStateHandle {
  KeyGroupRangeOffsets offsets;
  StreamStateHandle delegate;

  friend bool operator==(const KeyGroupsStateHandle& a, const KeyGroupsStateHandle& b) {
    return a.offsets == b.offsets && a.delegate == b.delegate;
  }
};

// What checkpoint metadata holds for one task's keyed state.
using KeyedStateHandle = std::variant<IncrementalRemoteKeyedStateHandle, KeyGroupsStateHandle>;

// Flink's SnapshotResult: the job-manager-owned remote part and the optional task-local part. Both empty when
// the backend had no state.
struct SnapshotResult {
  std::optional<IncrementalRemoteKeyedStateHandle> remote;
  std::optional<IncrementalLocalKeyedStateHandle> local;
  bool empty() const { return !remote.has_value(); }
};

// Serialized handles: magic "SKH1", u16 version, u8 handle type (1 incremental remote, 2 key groups, 3 incremental
// local), the handle's fields, CRC-32C of all before. `origin` names the checkpoint or file in errors; a
// corrupt, truncated, unknown-version or unknown-type blob is an error naming the field, never a crash.
// A well-formed blob whose fields contradict each other or the storage is rejected the same way: a negative
// checkpoint id, checkpointed size (other than kUnknownCheckpointedSize) or file size; a storage path that is
// empty, absolute or has a ".." segment (paths are relative to the storage root, as the stream factory writes
// them); a local file name that is not a plain file name; a canonical offset past the end of its stream. What
// needs the whole checkpoint (ranges against max parallelism, overlaps) is ParseCheckpointMetadata's.
std::string SerializeKeyedStateHandle(const KeyedStateHandle& handle);
absl::StatusOr<KeyedStateHandle> ParseKeyedStateHandle(absl::string_view blob, absl::string_view origin);
std::string SerializeIncrementalRemoteHandle(const IncrementalRemoteKeyedStateHandle& handle);
absl::StatusOr<IncrementalRemoteKeyedStateHandle> ParseIncrementalRemoteHandle(absl::string_view blob,
                                                                               absl::string_view origin);
// The local-recovery handle (what the task-local state store persists next to the local snapshot).
std::string SerializeIncrementalLocalHandle(const IncrementalLocalKeyedStateHandle& handle);
absl::StatusOr<IncrementalLocalKeyedStateHandle> ParseIncrementalLocalHandle(absl::string_view blob,
                                                                             absl::string_view origin);

}  // namespace snapsim

#endif  // SNAPSIM_SNAPSHOT_STATE_HANDLES_H_
