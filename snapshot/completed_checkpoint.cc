#include "snapshot/completed_checkpoint.h"

#include <map>
#include <set>
#include <utility>
#include <variant>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "backend/encoding.h"
#include "backend/key_groups.h"
#include "backend/mutation.h"

namespace snapsim {
namespace {

constexpr uint32_t kMetadataMagic = 0x4960672d;
constexpr uint32_t kMetadataVersion = 2;
constexpr uint64_t kMaxSubtasks = 1 << 15;
constexpr uint64_t kMaxOperators = 256;

const KeyGroupRange& RangeOf(const KeyedStateHandle& handle) {
  if (const auto* incremental = std::get_if<IncrementalRemoteKeyedStateHandle>(&handle)) {
    return incremental->key_group_range;
  }
  return std::get<KeyGroupsStateHandle>(handle).offsets.range;
}

// What one operator's subtask states must agree on; each handle was already checked on its own. Subtask i of
// P (the number of subtask states, which is the job's parallelism when the coordinator wrote it) owns exactly
// ComputeKeyGroupRangeForOperatorIndex(max parallelism, P, i), so the ranges lie within the max parallelism,
// never overlap, and together cover every key group. A subtask may have no keyed state (an empty backend), but
// not every subtask of every operator: such metadata restores an empty job, silently losing whatever the
// checkpoint was of (counted in `present`).
absl::Status CheckSubtaskStates(const CompletedCheckpoint& checkpoint, const OperatorState& operator_state,
                                const std::string& prefix, const std::string& what, int* present) {
  const auto inconsistent = [&what](const std::string& field, const std::string& problem) {
    return absl::DataLossError(absl::StrCat(what, ": field '", field, "': ", problem));
  };
  const int64_t parallelism = static_cast<int64_t>(operator_state.subtask_states.size());
  if (parallelism == 0) return inconsistent(prefix + "subtask_count", "0 subtask states (a resume would start empty)");
  if (parallelism > checkpoint.max_parallelism) {
    return inconsistent(prefix + "subtask_count", absl::StrCat(parallelism, " subtask states exceed max parallelism ",
                                                               checkpoint.max_parallelism));
  }
  // Start of each accepted range -> (range, subtask).
  std::map<int, std::pair<KeyGroupRange, int64_t>> accepted;
  for (int64_t i = 0; i < parallelism; ++i) {
    const std::optional<KeyedStateHandle>& state = operator_state.subtask_states[i];
    if (!state.has_value()) continue;
    ++*present;
    const std::string field = absl::StrCat(prefix, "subtask[", i, "].key_group_range");
    const KeyGroupRange& range = RangeOf(*state);
    if (!range.empty() && range.end() >= checkpoint.max_parallelism) {
      return inconsistent(field, absl::StrCat(range.ToString(), " is beyond max parallelism ",
                                              checkpoint.max_parallelism, " (key groups 0..",
                                              checkpoint.max_parallelism - 1, ")"));
    }
    // The ranges accepted so far are disjoint, so the one starting last at or before range.end() is the only
    // one that can reach back into `range` (a log-time check: there may be 32768 subtasks).
    if (!range.empty()) {
      auto candidate = accepted.upper_bound(range.end());
      if (candidate != accepted.begin()) {
        --candidate;
        const auto& [other_range, other_subtask] = candidate->second;
        if (other_range.end() >= range.start()) {
          return inconsistent(field, absl::StrCat(range.ToString(), " overlaps subtask ", other_subtask, "'s ",
                                                  other_range.ToString()));
        }
      }
    }
    absl::StatusOr<KeyGroupRange> expected = ComputeKeyGroupRangeForOperatorIndex(
        checkpoint.max_parallelism, static_cast<int>(parallelism), static_cast<int>(i));
    if (!expected.ok()) return inconsistent(field, std::string(expected.status().message()));
    if (range != *expected) {
      return inconsistent(field, absl::StrCat(range.ToString(), ", but subtask ", i, " of ", parallelism,
                                              " with max parallelism ", checkpoint.max_parallelism, " owns ",
                                              expected->ToString()));
    }
    accepted.emplace(range.start(), std::make_pair(range, i));
  }
  return absl::OkStatus();
}

absl::Status CheckOperatorStates(const CompletedCheckpoint& checkpoint, const std::string& what) {
  if (checkpoint.operator_states.empty()) {
    return absl::DataLossError(absl::StrCat(what, ": field 'operator_count': 0 operators (a resume would start "
                                            "empty)"));
  }
  int present = 0;
  std::set<std::string> ids;
  for (size_t op = 0; op < checkpoint.operator_states.size(); ++op) {
    const OperatorState& operator_state = checkpoint.operator_states[op];
    const std::string prefix = absl::StrCat("operator[", op, "].");
    if (!ids.insert(operator_state.operator_id).second) {
      return absl::DataLossError(absl::StrCat(what, ": field '", prefix, "id': operator ", operator_state.operator_id,
                                              " appears twice"));
    }
    if (absl::Status status = CheckSubtaskStates(checkpoint, operator_state, prefix, what, &present); !status.ok()) {
      return status;
    }
  }
  if (present == 0) {
    return absl::DataLossError(absl::StrCat(what, ": field 'operator[*].subtask[*].present': every subtask of ",
                                            checkpoint.operator_states.size(),
                                            " operator(s) absent (a resume would start empty)"));
  }
  return absl::OkStatus();
}

}  // namespace

void PutCheckpointProperties(ByteWriter& writer, const CheckpointProperties& properties) {
  writer.PutU8(static_cast<uint8_t>(properties.kind));
  writer.PutU8(static_cast<uint8_t>(properties.format));
  const uint8_t flags = (properties.unclaimed ? 1 : 0) | (properties.discard_subsumed ? 2 : 0) |
                        (properties.discard_finished ? 4 : 0) | (properties.discard_cancelled ? 8 : 0) |
                        (properties.discard_failed ? 16 : 0) | (properties.discard_suspended ? 32 : 0);
  writer.PutU8(flags);
}

absl::StatusOr<CheckpointProperties> ReadCheckpointProperties(ByteReader& reader) {
  CheckpointProperties properties;
  absl::StatusOr<uint8_t> kind = reader.ReadU8("properties.kind");
  if (!kind.ok()) return kind.status();
  if (*kind < static_cast<uint8_t>(CheckpointKind::kCheckpoint) ||
      *kind > static_cast<uint8_t>(CheckpointKind::kSyncSavepoint)) {
    return reader.Corrupt("properties.kind", absl::StrCat("unknown checkpoint kind ", *kind));
  }
  properties.kind = static_cast<CheckpointKind>(*kind);
  absl::StatusOr<uint8_t> format = reader.ReadU8("properties.format");
  if (!format.ok()) return format.status();
  if (*format != static_cast<uint8_t>(SavepointFormat::kNative) &&
      *format != static_cast<uint8_t>(SavepointFormat::kCanonical)) {
    return reader.Corrupt("properties.format", absl::StrCat("unknown savepoint format ", *format));
  }
  properties.format = static_cast<SavepointFormat>(*format);
  absl::StatusOr<uint8_t> flags = reader.ReadU8("properties.flags");
  if (!flags.ok()) return flags.status();
  if ((*flags & ~uint8_t{63}) != 0) return reader.Corrupt("properties.flags", absl::StrCat("unknown flags ", *flags));
  properties.unclaimed = (*flags & 1) != 0;
  properties.discard_subsumed = (*flags & 2) != 0;
  properties.discard_finished = (*flags & 4) != 0;
  properties.discard_cancelled = (*flags & 8) != 0;
  properties.discard_failed = (*flags & 16) != 0;
  properties.discard_suspended = (*flags & 32) != 0;
  return properties;
}

namespace {

void DeleteBestEffort(CheckpointStorage& storage, const std::string& path, absl::Status* first_error) {
  absl::Status status = storage.Delete(path);
  if (!status.ok() && !absl::IsNotFound(status) && first_error->ok()) {
    *first_error = absl::Status(status.code(), absl::StrCat("deleting ", path, ": ", status.message()));
  }
}

void DeleteFiles(CheckpointStorage& storage, const std::vector<HandleAndLocalPath>& files,
                 absl::Status* first_error) {
  for (const HandleAndLocalPath& file : files) {
    if (file.handle.is_inline()) continue;  // no object: the metadata held it
    // A segment's physical file is its task manager's to delete (Flink's SegmentFileStateHandle#discardState does
    // nothing): other segments of it may belong to other checkpoints.
    if (file.handle.is_segment()) continue;
    if (!file.handle.is_placeholder() || SNAPSIM_MUTANT("abort-deletes-reused")) {
      DeleteBestEffort(storage, file.handle.path, first_error);
    }
  }
}

}  // namespace

std::string ChainedOperatorId(int index) { return absl::StrCat("op-", index); }

int ChainedOperatorIndex(absl::string_view operator_id) {
  int index = -1;
  if (!absl::ConsumePrefix(&operator_id, "op-") || !absl::SimpleAtoi(operator_id, &index) || index < 0 ||
      ChainedOperatorId(index) != absl::StrCat("op-", operator_id)) {
    return -1;
  }
  return index;
}

bool OperatorState::HasState() const {
  for (const std::optional<KeyedStateHandle>& state : subtask_states) {
    if (state.has_value()) return true;
  }
  return false;
}

std::vector<IncrementalRemoteKeyedStateHandle*> CompletedCheckpoint::IncrementalHandles() {
  std::vector<IncrementalRemoteKeyedStateHandle*> handles;
  for (OperatorState& operator_state : operator_states) {
    for (std::optional<KeyedStateHandle>& state : operator_state.subtask_states) {
      if (!state.has_value()) continue;
      if (auto* incremental = std::get_if<IncrementalRemoteKeyedStateHandle>(&*state)) handles.push_back(incremental);
    }
  }
  return handles;
}

std::vector<const KeyedStateHandle*> CompletedCheckpoint::Handles() const {
  std::vector<const KeyedStateHandle*> handles;
  for (const OperatorState& operator_state : operator_states) {
    for (const std::optional<KeyedStateHandle>& state : operator_state.subtask_states) {
      if (state.has_value()) handles.push_back(&*state);
    }
  }
  return handles;
}

const OperatorState* CompletedCheckpoint::FindOperator(absl::string_view operator_id) const {
  for (const OperatorState& operator_state : operator_states) {
    if (operator_state.operator_id == operator_id) return &operator_state;
  }
  return nullptr;
}

std::string CompletedCheckpoint::Describe() const {
  return absl::StrCat(CheckpointKindName(properties.kind), " ", checkpoint_id, " of job ", job_id, " at ",
                      external_pointer);
}

std::string SerializeCheckpointMetadata(const CompletedCheckpoint& checkpoint) {
  std::string bytes;
  ByteWriter writer(&bytes);
  writer.PutFixed32BigEndian(kMetadataMagic);
  writer.PutFixed32BigEndian(kMetadataVersion);
  writer.PutLengthPrefixed(checkpoint.job_id);
  writer.PutFixed64BigEndian(static_cast<uint64_t>(checkpoint.checkpoint_id));
  writer.PutFixed64BigEndian(static_cast<uint64_t>(checkpoint.timestamp_micros));
  PutCheckpointProperties(writer, checkpoint.properties);
  writer.PutFixed32BigEndian(static_cast<uint32_t>(checkpoint.max_parallelism));
  writer.PutVarint64(checkpoint.operator_states.size());
  for (const OperatorState& operator_state : checkpoint.operator_states) {
    writer.PutLengthPrefixed(operator_state.operator_id);
    writer.PutVarint64(operator_state.subtask_states.size());
    for (const std::optional<KeyedStateHandle>& state : operator_state.subtask_states) {
      writer.PutU8(state.has_value() ? 1 : 0);
      if (state.has_value()) writer.PutLengthPrefixed(SerializeKeyedStateHandle(*state));
    }
  }
  writer.PutFixed32BigEndian(Crc32c(bytes));
  return bytes;
}

absl::StatusOr<CompletedCheckpoint> ParseCheckpointMetadata(absl::string_view bytes, absl::string_view origin) {
  const std::string what = absl::StrCat("checkpoint metadata ", origin);
  if (bytes.size() < 12) {
    return absl::DataLossError(absl::StrCat(what, ": field 'magic' at byte 0: too short to be checkpoint metadata (",
                                            bytes.size(), " bytes)"));
  }
  ByteReader header(bytes, what);
  const absl::string_view body = bytes.substr(0, bytes.size() - 4);
  ByteReader trailer(bytes.substr(bytes.size() - 4), what);
  const bool checksum_matches = *trailer.ReadFixed32BigEndian("checksum") == Crc32c(body);
  if (*header.ReadFixed32BigEndian("magic") != kMetadataMagic) {
    // A flipped bit in the magic is corruption, not another kind of file: the checksum tells them apart (swarm seed
    // 893: a corrupted read of _metadata was reported as a foreign file, which no fault explained).
    return header.Corrupt("magic", checksum_matches ? "not a checkpoint metadata file"
                                                    : "not a checkpoint metadata file, or a corrupt one (its checksum "
                                                      "does not match either)");
  }
  if (!checksum_matches) {
    return absl::DataLossError(
        absl::StrCat(what, ": field 'checksum' at byte ", body.size(), ": mismatch (corrupt or truncated)"));
  }
  ByteReader reader(body, what);
  (void)reader.ReadFixed32BigEndian("magic");
  absl::StatusOr<uint32_t> version = reader.ReadFixed32BigEndian("version");
  if (!version.ok()) return version.status();
  if (*version != kMetadataVersion) {
    return reader.Corrupt("version", absl::StrCat("unknown metadata version ", *version, " (this build reads ",
                                                  kMetadataVersion, ")"));
  }
  CompletedCheckpoint checkpoint;
  absl::StatusOr<absl::string_view> job_id = reader.ReadLengthPrefixed("job_id");
  if (!job_id.ok()) return job_id.status();
  checkpoint.job_id = std::string(*job_id);
  absl::StatusOr<uint64_t> id = reader.ReadFixed64BigEndian("checkpoint_id");
  if (!id.ok()) return id.status();
  checkpoint.checkpoint_id = static_cast<int64_t>(*id);
  if (checkpoint.checkpoint_id < 0) {
    return reader.Corrupt("checkpoint_id", absl::StrCat("negative checkpoint id ", checkpoint.checkpoint_id));
  }
  absl::StatusOr<uint64_t> timestamp = reader.ReadFixed64BigEndian("timestamp");
  if (!timestamp.ok()) return timestamp.status();
  checkpoint.timestamp_micros = static_cast<int64_t>(*timestamp);
  absl::StatusOr<CheckpointProperties> properties = ReadCheckpointProperties(reader);
  if (!properties.ok()) return properties.status();
  checkpoint.properties = *properties;
  absl::StatusOr<uint32_t> max_parallelism = reader.ReadFixed32BigEndian("max_parallelism");
  if (!max_parallelism.ok()) return max_parallelism.status();
  if (*max_parallelism == 0 || *max_parallelism > kUpperBoundMaxParallelism) {
    return reader.Corrupt("max_parallelism", absl::StrCat("invalid ", *max_parallelism));
  }
  checkpoint.max_parallelism = static_cast<int32_t>(*max_parallelism);
  absl::StatusOr<uint64_t> operators = reader.ReadVarint64("operator_count");
  if (!operators.ok()) return operators.status();
  if (*operators > kMaxOperators) return reader.Corrupt("operator_count", absl::StrCat("implausible ", *operators));
  for (uint64_t op = 0; op < *operators; ++op) {
    const std::string prefix = absl::StrCat("operator[", op, "].");
    OperatorState& operator_state = checkpoint.operator_states.emplace_back();
    absl::StatusOr<absl::string_view> operator_id = reader.ReadLengthPrefixed(prefix + "id");
    if (!operator_id.ok()) return operator_id.status();
    if (operator_id->empty()) return reader.Corrupt(prefix + "id", "empty operator ID");
    operator_state.operator_id = std::string(*operator_id);
    absl::StatusOr<uint64_t> subtasks = reader.ReadVarint64(prefix + "subtask_count");
    if (!subtasks.ok()) return subtasks.status();
    if (*subtasks > kMaxSubtasks) {
      return reader.Corrupt(prefix + "subtask_count", absl::StrCat("implausible ", *subtasks));
    }
    for (uint64_t i = 0; i < *subtasks; ++i) {
      const std::string field = absl::StrCat(prefix, "subtask[", i, "]");
      absl::StatusOr<uint8_t> present = reader.ReadU8(field + ".present");
      if (!present.ok()) return present.status();
      if (*present > 1) return reader.Corrupt(field + ".present", absl::StrCat("not a flag: ", *present));
      if (*present == 0) {
        operator_state.subtask_states.emplace_back();
        continue;
      }
      absl::StatusOr<absl::string_view> blob = reader.ReadLengthPrefixed(field + ".handle");
      if (!blob.ok()) return blob.status();
      absl::StatusOr<KeyedStateHandle> handle = ParseKeyedStateHandle(*blob, absl::StrCat(origin, " ", field));
      if (!handle.ok()) return handle.status();
      operator_state.subtask_states.emplace_back(*std::move(handle));
    }
  }
  if (!reader.AtEnd()) return reader.Corrupt("end", absl::StrCat(reader.remaining(), " trailing bytes"));
  if (absl::Status status = CheckOperatorStates(checkpoint, what); !status.ok()) return status;
  return checkpoint;
}

absl::Status WriteCheckpointMetadata(CheckpointStorage& storage, const CompletedCheckpoint& checkpoint) {
  const std::string path = checkpoint.metadata_path();
  absl::StatusOr<std::unique_ptr<CheckpointOutputStream>> stream = storage.Create(path);
  if (!stream.ok()) return absl::Status(stream.status().code(), absl::StrCat("creating ", path, ": ",
                                                                              stream.status().message()));
  if (absl::Status status = (*stream)->Write(SerializeCheckpointMetadata(checkpoint)); !status.ok()) {
    return absl::Status(status.code(), absl::StrCat("writing ", path, ": ", status.message()));
  }
  absl::StatusOr<StoredObjectInfo> info = (*stream)->Finish();
  if (!info.ok()) return absl::Status(info.status().code(), absl::StrCat("writing ", path, ": ",
                                                                          info.status().message()));
  return absl::OkStatus();
}

absl::StatusOr<CompletedCheckpoint> LoadCheckpointMetadata(CheckpointStorage& storage, const std::string& pointer) {
  std::string directory = pointer;
  while (absl::EndsWith(directory, "/")) directory.pop_back();
  const std::string suffix = absl::StrCat("/", kMetadataFileName);
  if (absl::EndsWith(directory, suffix)) directory.resize(directory.size() - suffix.size());
  const std::string path = directory + suffix;
  absl::StatusOr<std::string> bytes = storage.Read(path);
  if (!bytes.ok()) {
    if (absl::IsNotFound(bytes.status())) {
      return absl::NotFoundError(absl::StrCat("no checkpoint metadata at ", path, " (resuming from '", pointer,
                                              "' needs a checkpoint or savepoint directory)"));
    }
    return absl::Status(bytes.status().code(), absl::StrCat("reading ", path, ": ", bytes.status().message()));
  }
  absl::StatusOr<CompletedCheckpoint> checkpoint = ParseCheckpointMetadata(*bytes, path);
  if (!checkpoint.ok()) return checkpoint.status();
  checkpoint->external_pointer = directory;
  return checkpoint;
}

absl::Status DiscardKeyedState(CheckpointStorage& storage, const KeyedStateHandle& handle,
                               bool shared_files_registered) {
  absl::Status first_error;
  if (const auto* incremental = std::get_if<IncrementalRemoteKeyedStateHandle>(&handle)) {
    if (incremental->meta_state_handle.in_storage()) {
      DeleteBestEffort(storage, incremental->meta_state_handle.path, &first_error);
    }
    DeleteFiles(storage, incremental->private_state, &first_error);
    if (!shared_files_registered) DeleteFiles(storage, incremental->shared_state, &first_error);
  } else if (const StreamStateHandle& delegate = std::get<KeyGroupsStateHandle>(handle).delegate;
             delegate.in_storage()) {
    DeleteBestEffort(storage, delegate.path, &first_error);
  }
  return first_error;
}

absl::Status DiscardCompletedCheckpoint(CheckpointStorage& storage, const CompletedCheckpoint& checkpoint) {
  absl::Status first_error;
  DeleteBestEffort(storage, checkpoint.metadata_path(), &first_error);
  for (const KeyedStateHandle* state : checkpoint.Handles()) {
    absl::Status status = DiscardKeyedState(storage, *state, checkpoint.shared_state_registered);
    if (!status.ok() && first_error.ok()) first_error = status;
  }
  return first_error;
}

absl::Status DeleteDirectoryRecursively(CheckpointStorage& storage, const std::string& directory) {
  absl::StatusOr<std::vector<std::string>> paths = storage.List(directory + "/");
  if (!paths.ok()) return paths.status();
  absl::Status first_error;
  for (const std::string& path : *paths) DeleteBestEffort(storage, path, &first_error);
  return first_error;
}

std::vector<std::string> OwnedPaths(const KeyedStateHandle& handle) {
  std::vector<std::string> paths;
  auto add = [&paths](const StreamStateHandle& stream) {
    if (stream.in_storage()) paths.push_back(stream.path);
  };
  if (const auto* incremental = std::get_if<IncrementalRemoteKeyedStateHandle>(&handle)) {
    add(incremental->meta_state_handle);
    for (const auto* files : {&incremental->shared_state, &incremental->private_state}) {
      for (const HandleAndLocalPath& file : *files) add(file.handle);
    }
  } else {
    add(std::get<KeyGroupsStateHandle>(handle).delegate);
  }
  return paths;
}

std::set<std::string> ReferencedPaths(const CompletedCheckpoint& checkpoint) {
  std::set<std::string> paths = {checkpoint.metadata_path()};
  auto add = [&paths](const StreamStateHandle& stream) {
    if (!stream.is_inline()) paths.insert(stream.path);
  };
  for (const KeyedStateHandle* state : checkpoint.Handles()) {
    if (const auto* incremental = std::get_if<IncrementalRemoteKeyedStateHandle>(&*state)) {
      add(incremental->meta_state_handle);
      for (const HandleAndLocalPath& file : incremental->private_state) add(file.handle);
      for (const HandleAndLocalPath& file : incremental->shared_state) add(file.handle);
    } else {
      add(std::get<KeyGroupsStateHandle>(*state).delegate);
    }
  }
  return paths;
}

}  // namespace snapsim
