// A completed checkpoint or savepoint as the job manager holds it, its metadata file in checkpoint storage, and
// what discarding it deletes. After Flink's CompletedCheckpoint, Checkpoints (the _metadata format) and
// CompletedCheckpointDiscardObject (shared/flink/JOBMANAGER_SIDE.md 3.7, 4.5, 7).
//
// Metadata file "<directory>/_metadata": u32 magic 0x4960672d (Flink's), u32 version, job id, checkpoint id,
// timestamp, properties, max parallelism, the operator count and per operator (Flink's OperatorState) its ID and
// one optional keyed state handle per subtask (SKH1 blobs), CRC-32C of all before. Version 2; version 1 (one
// operator, no IDs) is not read. The directory holding it is the checkpoint's external pointer: a job is resumed
// from that path. Paths in handles are full storage paths, relative to the storage root, never to the metadata
// (Flink stores exclusive files relative to the metadata, which makes savepoints relocatable; snapsim does not
// relocate).
#ifndef SNAPSIM_SNAPSHOT_COMPLETED_CHECKPOINT_H_
#define SNAPSIM_SNAPSHOT_COMPLETED_CHECKPOINT_H_

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "backend/encoding.h"
#include "snapshot/checkpoint_properties.h"
#include "snapshot/checkpoint_storage.h"
#include "snapshot/state_handles.h"

namespace snapsim {

inline constexpr char kMetadataFileName[] = "_metadata";

// The ID of the keyed operator at `index` of the job's operator chain. Flink derives an operator's ID from its uid,
// so state follows an operator across restores; the simulated job's operators are identified by their place.
std::string ChainedOperatorId(int index);
// The inverse: the chain position an ID names, or -1 for an ID no chain position has.
int ChainedOperatorIndex(absl::string_view operator_id);

// One operator's keyed state in a checkpoint (Flink's OperatorState).
struct OperatorState {
  std::string operator_id;
  // The keyed state of each subtask at checkpoint time (index = subtask); nullopt for a subtask without state.
  std::vector<std::optional<KeyedStateHandle>> subtask_states;

  bool HasState() const;
  bool operator==(const OperatorState& other) const {
    return operator_id == other.operator_id && subtask_states == other.subtask_states;
  }
};

struct CompletedCheckpoint {
  std::string job_id;
  int64_t checkpoint_id = 0;
  int64_t timestamp_micros = 0;
  CheckpointProperties properties;
  // When the job was started from this snapshot's path: the properties stored in its metadata (Flink's
  // restoredProps, metadata V4). Not serialized.
  std::optional<CheckpointProperties> restored_properties;
  int32_t max_parallelism = 0;
  // Each keyed operator's state, in chain order.
  std::vector<OperatorState> operator_states;
  // The directory holding the metadata; a job can be resumed from it.
  std::string external_pointer;
  // True once this checkpoint's shared files are registered: the registry then owns them and a discard leaves them.
  bool shared_state_registered = false;

  std::string metadata_path() const { return external_pointer + "/" + kMetadataFileName; }
  // Every incremental handle, for registration.
  std::vector<IncrementalRemoteKeyedStateHandle*> IncrementalHandles();
  // Every keyed state handle of every operator and subtask.
  std::vector<const KeyedStateHandle*> Handles() const;
  // The state of the operator with that ID, or null.
  const OperatorState* FindOperator(absl::string_view operator_id) const;
  std::string Describe() const;
};

// The properties' wire form, shared by the metadata and the store's records.
void PutCheckpointProperties(ByteWriter& writer, const CheckpointProperties& properties);
absl::StatusOr<CheckpointProperties> ReadCheckpointProperties(ByteReader& reader);

std::string SerializeCheckpointMetadata(const CompletedCheckpoint& checkpoint);
// `origin` names the file in errors. Corrupt, truncated or unknown-version metadata is an error naming the field.
// So is well-formed metadata that contradicts itself: no operator, two with one ID, no subtask state at all, or every
// subtask of every operator absent (a resume would silently start empty), more subtasks than the max parallelism, a
// subtask's key-group range beyond the max parallelism, overlapping another's of its operator, or other than the
// range subtask i of that many owns.
absl::StatusOr<CompletedCheckpoint> ParseCheckpointMetadata(absl::string_view bytes, absl::string_view origin);

// Writes `checkpoint.metadata_path()`; fails if it already exists.
absl::Status WriteCheckpointMetadata(CheckpointStorage& storage, const CompletedCheckpoint& checkpoint);
// `pointer`: a checkpoint or savepoint directory, or its _metadata file itself.
absl::StatusOr<CompletedCheckpoint> LoadCheckpointMetadata(CheckpointStorage& storage, const std::string& pointer);

// Best-effort deletion of what a keyed state handle references: metadata and private files always; shared files
// only if `shared_files_registered` is false (then nobody else owns them); placeholders never. Missing files are
// fine. Returns the first error.
absl::Status DiscardKeyedState(CheckpointStorage& storage, const KeyedStateHandle& handle,
                               bool shared_files_registered);
// Deletes the metadata, then every operator's and subtask's state (shared files only if not registered). The first
// error.
absl::Status DiscardCompletedCheckpoint(CheckpointStorage& storage, const CompletedCheckpoint& checkpoint);
// Deletes every object under `directory` (Flink: the recursive delete of an aborted checkpoint's chk-<id>).
absl::Status DeleteDirectoryRecursively(CheckpointStorage& storage, const std::string& directory);

// The paths a keyed state handle brought into storage: metadata, private and non-placeholder shared files.
std::vector<std::string> OwnedPaths(const KeyedStateHandle& handle);

// Every storage path `checkpoint` references: metadata, private, meta and shared files (placeholders by the path
// they stand for).
std::set<std::string> ReferencedPaths(const CompletedCheckpoint& checkpoint);

}  // namespace snapsim

#endif  // SNAPSIM_SNAPSHOT_COMPLETED_CHECKPOINT_H_
