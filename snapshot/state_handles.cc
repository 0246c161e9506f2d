#include "snapshot/state_handles.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "backend/encoding.h"

namespace snapsim {
namespace {

constexpr absl::string_view kMagic = "SKH1";
constexpr uint16_t kVersion = 1;
// More entries than this is corruption, not a real checkpoint.
constexpr uint64_t kMaxFilesPerHandle = 1 << 20;

// The kind byte's high bit: a file-merged handle (a segment, or a placeholder for one), whose offset, logical file id
// and scope follow the checksum. Handles written before file merging never have it.
constexpr uint8_t kFileMergedBit = 0x80;

void PutStreamHandle(ByteWriter& writer, const StreamStateHandle& handle) {
  writer.PutU8(static_cast<uint8_t>(handle.kind) | (handle.is_file_merged() ? kFileMergedBit : 0));
  writer.PutLengthPrefixed(handle.path);
  writer.PutVarint64(handle.size_bytes);
  writer.PutFixed32BigEndian(handle.checksum);
  if (handle.is_inline()) writer.PutLengthPrefixed(handle.data);
  if (handle.is_file_merged()) {
    writer.PutVarint64(handle.offset);
    writer.PutLengthPrefixed(handle.logical_id);
    writer.PutU8(handle.exclusive ? 1 : 0);
  }
}

void PutFileList(ByteWriter& writer, const std::vector<HandleAndLocalPath>& files) {
  writer.PutVarint64(files.size());
  for (const HandleAndLocalPath& file : files) {
    writer.PutLengthPrefixed(file.local_path);
    PutStreamHandle(writer, file.handle);
  }
}

// A storage path as the stream factory writes it ("<checkpoint root>/shared/<id>", "<savepoint dir>/<id>"):
// relative to the checkpoint storage's root. Empty, absolute or ".."-climbing paths name no object of this
// storage (a restore would read, and a discard delete, outside it), so they are rejected when the handle is
// parsed, not on first read.
absl::Status CheckStoragePath(const ByteReader& reader, const std::string& field, absl::string_view path) {
  if (path.empty()) return reader.Corrupt(field, "empty storage path");
  if (path.front() == '/') {
    return reader.Corrupt(field, absl::StrCat("absolute path '", path, "' (storage paths are relative)"));
  }
  for (absl::string_view rest = path;;) {
    const size_t slash = rest.find('/');
    if (rest.substr(0, slash) == "..") {
      return reader.Corrupt(field, absl::StrCat("path '", path, "' leaves the checkpoint storage ('..')"));
    }
    if (slash == absl::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  return absl::OkStatus();
}

// The name of a file in a RocksDB native checkpoint directory ("000012.sst", "CURRENT"): a restore writes it into
// its download directory, so it must name a file of that directory.
absl::Status CheckLocalFileName(const ByteReader& reader, const std::string& field, absl::string_view name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != absl::string_view::npos) {
    return reader.Corrupt(field, absl::StrCat("invalid local file name '", name, "'"));
  }
  return absl::OkStatus();
}

absl::StatusOr<StreamStateHandle> ReadStreamHandle(ByteReader& reader, const std::string& field) {
  StreamStateHandle handle;
  absl::StatusOr<uint8_t> kind_byte = reader.ReadU8(field + ".kind");
  if (!kind_byte.ok()) return kind_byte.status();
  const bool file_merged = (*kind_byte & kFileMergedBit) != 0;
  const uint8_t kind = *kind_byte & ~kFileMergedBit;
  if (kind != static_cast<uint8_t>(StreamStateHandle::Kind::kFile) &&
      kind != static_cast<uint8_t>(StreamStateHandle::Kind::kPlaceholder) &&
      kind != static_cast<uint8_t>(StreamStateHandle::Kind::kInline) &&
      kind != static_cast<uint8_t>(StreamStateHandle::Kind::kSegment)) {
    return reader.Corrupt(field + ".kind", absl::StrCat("unknown handle kind ", *kind_byte));
  }
  handle.kind = static_cast<StreamStateHandle::Kind>(kind);
  // A segment is always file-merged; a file or inline state never is; a placeholder is when it stands for a segment.
  if (file_merged != handle.is_segment() && !handle.is_placeholder()) {
    return reader.Corrupt(field + ".kind", absl::StrCat("handle kind ", *kind_byte,
                                                        file_merged ? " cannot be" : " must be", " file-merged"));
  }
  absl::StatusOr<absl::string_view> path = reader.ReadLengthPrefixed(field + ".path");
  if (!path.ok()) return path.status();
  if (absl::Status status = CheckStoragePath(reader, field + ".path", *path); !status.ok()) return status;
  handle.path = std::string(*path);
  absl::StatusOr<uint64_t> size = reader.ReadVarint64(field + ".size");
  if (!size.ok()) return size.status();
  // Sizes are int64 wherever they are summed (checkpointed size); above that they are a negative size cast.
  if (*size > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return reader.Corrupt(field + ".size", absl::StrCat("negative size ", static_cast<int64_t>(*size)));
  }
  handle.size_bytes = *size;
  absl::StatusOr<uint32_t> checksum = reader.ReadFixed32BigEndian(field + ".checksum");
  if (!checksum.ok()) return checksum.status();
  handle.checksum = *checksum;
  if (handle.is_inline()) {
    absl::StatusOr<absl::string_view> data = reader.ReadLengthPrefixed(field + ".data");
    if (!data.ok()) return data.status();
    if (data->size() != handle.size_bytes || Crc32c(*data) != handle.checksum) {
      return reader.Corrupt(field + ".data", absl::StrCat("inline state of ", data->size(), " bytes does not match its "
                                                          "recorded size ", handle.size_bytes, " and checksum"));
    }
    handle.data = std::string(*data);
  }
  if (file_merged) {
    absl::StatusOr<uint64_t> offset = reader.ReadVarint64(field + ".offset");
    if (!offset.ok()) return offset.status();
    if (*offset > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) - handle.size_bytes) {
      return reader.Corrupt(field + ".offset", absl::StrCat("segment at ", *offset, " of ", handle.size_bytes,
                                                            " bytes ends past any file"));
    }
    handle.offset = *offset;
    absl::StatusOr<absl::string_view> logical_id = reader.ReadLengthPrefixed(field + ".logical_id");
    if (!logical_id.ok()) return logical_id.status();
    if (logical_id->empty()) return reader.Corrupt(field + ".logical_id", "empty logical file id");
    handle.logical_id = std::string(*logical_id);
    absl::StatusOr<uint8_t> exclusive = reader.ReadU8(field + ".exclusive");
    if (!exclusive.ok()) return exclusive.status();
    if (*exclusive > 1) return reader.Corrupt(field + ".exclusive", absl::StrCat("not a flag: ", *exclusive));
    handle.exclusive = *exclusive == 1;
  }
  return handle;
}

absl::Status ReadFileList(ByteReader& reader, const std::string& field, std::vector<HandleAndLocalPath>* files) {
  absl::StatusOr<uint64_t> count = reader.ReadVarint64(field + ".count");
  if (!count.ok()) return count.status();
  if (*count > kMaxFilesPerHandle) return reader.Corrupt(field + ".count", absl::StrCat("implausible ", *count));
  for (uint64_t i = 0; i < *count; ++i) {
    const std::string entry = absl::StrCat(field, "[", i, "]");
    absl::StatusOr<absl::string_view> local_path = reader.ReadLengthPrefixed(entry + ".local_path");
    if (!local_path.ok()) return local_path.status();
    if (absl::Status status = CheckLocalFileName(reader, entry + ".local_path", *local_path); !status.ok()) {
      return status;
    }
    absl::StatusOr<StreamStateHandle> handle = ReadStreamHandle(reader, entry);
    if (!handle.ok()) return handle.status();
    files->push_back(HandleAndLocalPath{*std::move(handle), std::string(*local_path)});
  }
  return absl::OkStatus();
}

}  // namespace

uint64_t IncrementalRemoteKeyedStateHandle::StateSize() const {
  uint64_t size = meta_state_handle.size_bytes;
  for (const HandleAndLocalPath& file : shared_state) size += file.handle.size_bytes;
  for (const HandleAndLocalPath& file : private_state) size += file.handle.size_bytes;
  return size;
}

bool operator==(const IncrementalRemoteKeyedStateHandle& a, const IncrementalRemoteKeyedStateHandle& b) {
  return a.backend_uid == b.backend_uid && a.key_group_range == b.key_group_range &&
         a.checkpoint_id == b.checkpoint_id && a.shared_state == b.shared_state &&
         a.private_state == b.private_state && a.meta_state_handle == b.meta_state_handle &&
         a.checkpointed_size_bytes == b.checkpointed_size_bytes && a.state_handle_id == b.state_handle_id;
}

namespace {

enum class HandleType : uint8_t { kIncrementalRemote = 1, kKeyGroups = 2, kIncrementalLocal = 3 };

void PutRange(ByteWriter& writer, const KeyGroupRange& range) {
  writer.PutFixed32BigEndian(static_cast<uint32_t>(range.start()));
  writer.PutFixed32BigEndian(static_cast<uint32_t>(range.end()));
}

absl::StatusOr<KeyGroupRange> ReadRange(ByteReader& reader) {
  absl::StatusOr<uint32_t> start = reader.ReadFixed32BigEndian("key_group_range.start");
  if (!start.ok()) return start.status();
  absl::StatusOr<uint32_t> end = reader.ReadFixed32BigEndian("key_group_range.end");
  if (!end.ok()) return end.status();
  const int32_t range_start = static_cast<int32_t>(*start);
  const int32_t range_end = static_cast<int32_t>(*end);
  if (range_start < 0 || range_start >= kUpperBoundMaxParallelism || range_end < range_start - 1 ||
      range_end >= kUpperBoundMaxParallelism) {
    return reader.Corrupt("key_group_range", absl::StrCat("invalid range ", range_start, "..", range_end));
  }
  return KeyGroupRange(range_start, range_end);
}

absl::Status ReadString(ByteReader& reader, const char* field, std::string* out) {
  absl::StatusOr<absl::string_view> value = reader.ReadLengthPrefixed(field);
  if (!value.ok()) return value.status();
  *out = std::string(*value);
  return absl::OkStatus();
}

absl::Status ReadInt64(ByteReader& reader, const char* field, int64_t* out) {
  absl::StatusOr<uint64_t> value = reader.ReadFixed64BigEndian(field);
  if (!value.ok()) return value.status();
  *out = static_cast<int64_t>(*value);
  return absl::OkStatus();
}

// A checkpoint id: ids count up from 1 (0 in some tests); a negative one is corruption.
absl::Status ReadCheckpointId(ByteReader& reader, int64_t* out) {
  if (absl::Status s = ReadInt64(reader, "checkpoint_id", out); !s.ok()) return s;
  if (*out < 0) return reader.Corrupt("checkpoint_id", absl::StrCat("negative checkpoint id ", *out));
  return absl::OkStatus();
}

std::string Seal(HandleType type, const std::string& body) {
  std::string blob(kMagic);
  ByteWriter writer(&blob);
  writer.PutU8(static_cast<uint8_t>(kVersion >> 8));
  writer.PutU8(static_cast<uint8_t>(kVersion & 0xFF));
  writer.PutU8(static_cast<uint8_t>(type));
  writer.PutRaw(body);
  writer.PutFixed32BigEndian(Crc32c(blob));
  return blob;
}

// Checks magic, checksum and version; returns the handle type and a reader over the body.
absl::StatusOr<std::pair<uint8_t, ByteReader>> Unseal(absl::string_view blob, const std::string& what) {
  absl::StatusOr<absl::string_view> sealed =
      CheckSealedBlob(blob, kMagic, kMagic.size() + 3 + 4, what, "snapsim keyed state handle");
  if (!sealed.ok()) return sealed.status();
  const absl::string_view body = *sealed;
  const uint16_t version = static_cast<uint16_t>((static_cast<uint8_t>(body[kMagic.size()]) << 8) |
                                                 static_cast<uint8_t>(body[kMagic.size() + 1]));
  if (version != kVersion) {
    return absl::DataLossError(absl::StrCat(what, ": field 'version' at byte ", kMagic.size(),
                                            ": unknown handle version ", version, " (this build reads ", kVersion,
                                            ")"));
  }
  ByteReader reader(body, what);
  (void)reader.ReadRaw(kMagic.size() + 2, "header");
  absl::StatusOr<uint8_t> type = reader.ReadU8("type");
  if (!type.ok()) return type.status();
  return std::make_pair(*type, std::move(reader));
}

std::string RemoteBody(const IncrementalRemoteKeyedStateHandle& handle) {
  std::string body;
  ByteWriter writer(&body);
  writer.PutLengthPrefixed(handle.backend_uid);
  PutRange(writer, handle.key_group_range);
  writer.PutFixed64BigEndian(static_cast<uint64_t>(handle.checkpoint_id));
  PutFileList(writer, handle.shared_state);
  PutFileList(writer, handle.private_state);
  PutStreamHandle(writer, handle.meta_state_handle);
  writer.PutFixed64BigEndian(static_cast<uint64_t>(handle.checkpointed_size_bytes));
  writer.PutLengthPrefixed(handle.state_handle_id);
  return body;
}

absl::StatusOr<IncrementalRemoteKeyedStateHandle> ReadRemoteBody(ByteReader& reader) {
  IncrementalRemoteKeyedStateHandle handle;
  if (absl::Status s = ReadString(reader, "backend_uid", &handle.backend_uid); !s.ok()) return s;
  absl::StatusOr<KeyGroupRange> range = ReadRange(reader);
  if (!range.ok()) return range.status();
  handle.key_group_range = *range;
  if (absl::Status s = ReadCheckpointId(reader, &handle.checkpoint_id); !s.ok()) return s;
  if (absl::Status s = ReadFileList(reader, "shared_state", &handle.shared_state); !s.ok()) return s;
  if (absl::Status s = ReadFileList(reader, "private_state", &handle.private_state); !s.ok()) return s;
  absl::StatusOr<StreamStateHandle> meta = ReadStreamHandle(reader, "meta_state_handle");
  if (!meta.ok()) return meta.status();
  handle.meta_state_handle = *std::move(meta);
  if (absl::Status s = ReadInt64(reader, "checkpointed_size", &handle.checkpointed_size_bytes); !s.ok()) return s;
  if (handle.checkpointed_size_bytes < kUnknownCheckpointedSize) {
    return reader.Corrupt("checkpointed_size",
                          absl::StrCat("negative size ", handle.checkpointed_size_bytes, " (only ",
                                       kUnknownCheckpointedSize, " = unknown is allowed)"));
  }
  if (absl::Status s = ReadString(reader, "state_handle_id", &handle.state_handle_id); !s.ok()) return s;
  return handle;
}

std::string KeyGroupsBody(const KeyGroupsStateHandle& handle) {
  std::string body;
  ByteWriter writer(&body);
  PutRange(writer, handle.offsets.range);
  writer.PutVarint64(handle.offsets.offsets.size());
  for (uint64_t offset : handle.offsets.offsets) writer.PutVarint64(offset);
  PutStreamHandle(writer, handle.delegate);
  return body;
}

absl::StatusOr<KeyGroupsStateHandle> ReadKeyGroupsBody(ByteReader& reader) {
  KeyGroupsStateHandle handle;
  absl::StatusOr<KeyGroupRange> range = ReadRange(reader);
  if (!range.ok()) return range.status();
  handle.offsets.range = *range;
  absl::StatusOr<uint64_t> count = reader.ReadVarint64("offsets.count");
  if (!count.ok()) return count.status();
  if (*count != static_cast<uint64_t>(std::max(0, range->size()))) {
    return reader.Corrupt("offsets.count", absl::StrCat(*count, " offsets for ", range->ToString()));
  }
  for (uint64_t i = 0; i < *count; ++i) {
    absl::StatusOr<uint64_t> offset = reader.ReadVarint64("offsets");
    if (!offset.ok()) return offset.status();
    handle.offsets.offsets.push_back(*offset);
  }
  absl::StatusOr<StreamStateHandle> delegate = ReadStreamHandle(reader, "delegate");
  if (!delegate.ok()) return delegate.status();
  handle.delegate = *std::move(delegate);
  for (uint64_t i = 0; i < *count; ++i) {
    // 0 means "no data for this key group"; any other offset must point into the stream.
    if (handle.offsets.offsets[i] != 0 && handle.offsets.offsets[i] >= handle.delegate.size_bytes) {
      return reader.Corrupt(absl::StrCat("offsets[", i, "]"),
                            absl::StrCat("offset ", handle.offsets.offsets[i], " of key group ", range->start() + i,
                                         " is past the end of ", handle.delegate.path, " (",
                                         handle.delegate.size_bytes, " bytes)"));
    }
  }
  return handle;
}

absl::Status CheckEnd(ByteReader& reader) {
  if (!reader.AtEnd()) return reader.Corrupt("end", absl::StrCat(reader.remaining(), " unexpected trailing bytes"));
  return absl::OkStatus();
}

std::string What(absl::string_view origin) { return absl::StrCat("keyed state handle in ", origin); }

}  // namespace

std::string SerializeKeyedStateHandle(const KeyedStateHandle& handle) {
  if (const auto* remote = std::get_if<IncrementalRemoteKeyedStateHandle>(&handle)) {
    return Seal(HandleType::kIncrementalRemote, RemoteBody(*remote));
  }
  return Seal(HandleType::kKeyGroups, KeyGroupsBody(std::get<KeyGroupsStateHandle>(handle)));
}

absl::StatusOr<KeyedStateHandle> ParseKeyedStateHandle(absl::string_view blob, absl::string_view origin) {
  absl::StatusOr<std::pair<uint8_t, ByteReader>> unsealed = Unseal(blob, What(origin));
  if (!unsealed.ok()) return unsealed.status();
  ByteReader& reader = unsealed->second;
  KeyedStateHandle handle;
  if (unsealed->first == static_cast<uint8_t>(HandleType::kIncrementalRemote)) {
    absl::StatusOr<IncrementalRemoteKeyedStateHandle> remote = ReadRemoteBody(reader);
    if (!remote.ok()) return remote.status();
    handle = *std::move(remote);
  } else if (unsealed->first == static_cast<uint8_t>(HandleType::kKeyGroups)) {
    absl::StatusOr<KeyGroupsStateHandle> key_groups = ReadKeyGroupsBody(reader);
    if (!key_groups.ok()) return key_groups.status();
    handle = *std::move(key_groups);
  } else {
    return reader.Corrupt("type", absl::StrCat("unknown handle type ", unsealed->first));
  }
  if (absl::Status status = CheckEnd(reader); !status.ok()) return status;
  return handle;
}

std::string SerializeIncrementalRemoteHandle(const IncrementalRemoteKeyedStateHandle& handle) {
  return SerializeKeyedStateHandle(handle);
}

absl::StatusOr<IncrementalRemoteKeyedStateHandle> ParseIncrementalRemoteHandle(absl::string_view blob,
                                                                               absl::string_view origin) {
  absl::StatusOr<KeyedStateHandle> handle = ParseKeyedStateHandle(blob, origin);
  if (!handle.ok()) return handle.status();
  if (auto* remote = std::get_if<IncrementalRemoteKeyedStateHandle>(&*handle)) return std::move(*remote);
  return absl::DataLossError(absl::StrCat(What(origin), ": field 'type': a key-groups handle, not incremental"));
}

std::string SerializeIncrementalLocalHandle(const IncrementalLocalKeyedStateHandle& handle) {
  std::string body;
  ByteWriter writer(&body);
  writer.PutLengthPrefixed(handle.backend_uid);
  writer.PutFixed64BigEndian(static_cast<uint64_t>(handle.checkpoint_id));
  writer.PutLengthPrefixed(handle.directory);
  PutRange(writer, handle.key_group_range);
  writer.PutLengthPrefixed(handle.local_meta_path);
  PutFileList(writer, handle.shared_state);
  return Seal(HandleType::kIncrementalLocal, body);
}

absl::StatusOr<IncrementalLocalKeyedStateHandle> ParseIncrementalLocalHandle(absl::string_view blob,
                                                                             absl::string_view origin) {
  absl::StatusOr<std::pair<uint8_t, ByteReader>> unsealed = Unseal(blob, What(origin));
  if (!unsealed.ok()) return unsealed.status();
  ByteReader& reader = unsealed->second;
  if (unsealed->first != static_cast<uint8_t>(HandleType::kIncrementalLocal)) {
    return reader.Corrupt("type", absl::StrCat("handle type ", unsealed->first, " is not a local handle"));
  }
  IncrementalLocalKeyedStateHandle handle;
  if (absl::Status s = ReadString(reader, "backend_uid", &handle.backend_uid); !s.ok()) return s;
  if (absl::Status s = ReadCheckpointId(reader, &handle.checkpoint_id); !s.ok()) return s;
  if (absl::Status s = ReadString(reader, "directory", &handle.directory); !s.ok()) return s;
  absl::StatusOr<KeyGroupRange> range = ReadRange(reader);
  if (!range.ok()) return range.status();
  handle.key_group_range = *range;
  if (absl::Status s = ReadString(reader, "local_meta_path", &handle.local_meta_path); !s.ok()) return s;
  if (absl::Status s = ReadFileList(reader, "shared_state", &handle.shared_state); !s.ok()) return s;
  if (absl::Status status = CheckEnd(reader); !status.ok()) return status;
  return handle;
}

StreamStateHandle StreamStateHandle::Inline(std::string name, std::string bytes) {
  StreamStateHandle handle;
  handle.kind = Kind::kInline;
  handle.path = std::move(name);
  handle.size_bytes = bytes.size();
  handle.checksum = Crc32c(bytes);
  handle.data = std::move(bytes);
  return handle;
}

absl::StatusOr<std::string> ReadStreamStateHandle(CheckpointStorage& storage, const StreamStateHandle& handle,
                                                  absl::string_view what) {
  if (handle.is_placeholder()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " (", handle.path, "): an unresolved placeholder"));
  }
  std::string bytes;
  if (handle.is_inline()) {
    bytes = handle.data;
  } else {
    absl::StatusOr<std::string> read = storage.Read(handle.path);
    if (!read.ok()) {
      return absl::Status(read.status().code(),
                          absl::StrCat(what, " (object ", handle.path, "): ", read.status().message()));
    }
    bytes = *std::move(read);
    if (handle.is_segment()) {
      if (handle.offset > bytes.size() || handle.size_bytes > bytes.size() - handle.offset) {
        return absl::DataLossError(absl::StrCat(what, " (segment [", handle.offset, ", +", handle.size_bytes, ") of ",
                                                handle.path, "): the physical file has ", bytes.size(), " bytes"));
      }
      bytes = bytes.substr(handle.offset, handle.size_bytes);
    }
  }
  if (bytes.size() != handle.size_bytes) {
    return absl::DataLossError(absl::StrCat(what, " (", handle.is_inline() ? "inline " : "object ", handle.path,
                                            "): expected ", handle.size_bytes, " bytes, found ", bytes.size()));
  }
  if (Crc32c(bytes) != handle.checksum) {
    const char* kind = handle.is_inline() ? "inline " : handle.is_segment() ? "segment of " : "object ";
    return absl::DataLossError(absl::StrCat(what, " (", kind, handle.path, "): checksum mismatch"));
  }
  return bytes;
}

}  // namespace snapsim
