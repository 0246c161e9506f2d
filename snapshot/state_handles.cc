#include "snapshot/state_handles.h"

#include "absl/strings/str_cat.h"
#include "backend/encoding.h"

namespace snapsim {
namespace {

constexpr absl::string_view kMagic = "SKH1";
constexpr uint16_t kVersion = 1;
// More entries than this is corruption, not a real checkpoint.
constexpr uint64_t kMaxFilesPerHandle = 1 << 20;

void PutStreamHandle(ByteWriter& writer, const StreamStateHandle& handle) {
  writer.PutU8(static_cast<uint8_t>(handle.kind));
  writer.PutLengthPrefixed(handle.path);
  writer.PutVarint64(handle.size_bytes);
  writer.PutFixed32BigEndian(handle.checksum);
}

void PutFileList(ByteWriter& writer, const std::vector<HandleAndLocalPath>& files) {
  writer.PutVarint64(files.size());
  for (const HandleAndLocalPath& file : files) {
    writer.PutLengthPrefixed(file.local_path);
    PutStreamHandle(writer, file.handle);
  }
}

absl::StatusOr<StreamStateHandle> ReadStreamHandle(ByteReader& reader, const std::string& field) {
  StreamStateHandle handle;
  absl::StatusOr<uint8_t> kind = reader.ReadU8(field + ".kind");
  if (!kind.ok()) return kind.status();
  if (*kind != static_cast<uint8_t>(StreamStateHandle::Kind::kFile) &&
      *kind != static_cast<uint8_t>(StreamStateHandle::Kind::kPlaceholder)) {
    return reader.Corrupt(field + ".kind", absl::StrCat("unknown handle kind ", *kind));
  }
  handle.kind = static_cast<StreamStateHandle::Kind>(*kind);
  absl::StatusOr<absl::string_view> path = reader.ReadLengthPrefixed(field + ".path");
  if (!path.ok()) return path.status();
  handle.path = std::string(*path);
  absl::StatusOr<uint64_t> size = reader.ReadVarint64(field + ".size");
  if (!size.ok()) return size.status();
  handle.size_bytes = *size;
  absl::StatusOr<uint32_t> checksum = reader.ReadFixed32BigEndian(field + ".checksum");
  if (!checksum.ok()) return checksum.status();
  handle.checksum = *checksum;
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

std::string SerializeIncrementalRemoteHandle(const IncrementalRemoteKeyedStateHandle& handle) {
  std::string blob;
  ByteWriter writer(&blob);
  writer.PutRaw(kMagic);
  writer.PutU8(static_cast<uint8_t>(kVersion >> 8));
  writer.PutU8(static_cast<uint8_t>(kVersion & 0xFF));
  writer.PutLengthPrefixed(handle.backend_uid);
  writer.PutFixed32BigEndian(static_cast<uint32_t>(handle.key_group_range.start()));
  writer.PutFixed32BigEndian(static_cast<uint32_t>(handle.key_group_range.end()));
  writer.PutFixed64BigEndian(static_cast<uint64_t>(handle.checkpoint_id));
  PutFileList(writer, handle.shared_state);
  PutFileList(writer, handle.private_state);
  PutStreamHandle(writer, handle.meta_state_handle);
  writer.PutFixed64BigEndian(static_cast<uint64_t>(handle.checkpointed_size_bytes));
  writer.PutLengthPrefixed(handle.state_handle_id);
  writer.PutFixed32BigEndian(Crc32c(blob));
  return blob;
}

absl::StatusOr<IncrementalRemoteKeyedStateHandle> ParseIncrementalRemoteHandle(absl::string_view blob,
                                                                               absl::string_view origin) {
  const std::string what = absl::StrCat("keyed state handle in ", origin);
  if (blob.size() < kMagic.size() + 2 + 4 || blob.substr(0, kMagic.size()) != kMagic) {
    return absl::DataLossError(absl::StrCat(what, ": field 'magic' at byte 0: not a snapsim keyed state handle (",
                                            blob.size(), " bytes)"));
  }
  const absl::string_view body = blob.substr(0, blob.size() - 4);
  ByteReader trailer(blob.substr(blob.size() - 4), what);
  const uint32_t stored = *trailer.ReadFixed32BigEndian("checksum");
  if (stored != Crc32c(body)) {
    return absl::DataLossError(absl::StrCat(what, ": field 'checksum' at byte ", body.size(),
                                            ": mismatch (corrupt or truncated)"));
  }
  ByteReader reader(body, what);
  (void)reader.ReadRaw(kMagic.size(), "magic");
  absl::StatusOr<absl::string_view> version = reader.ReadRaw(2, "version");
  const uint16_t found_version =
      static_cast<uint16_t>((static_cast<uint8_t>((*version)[0]) << 8) | static_cast<uint8_t>((*version)[1]));
  if (found_version != kVersion) {
    return absl::DataLossError(absl::StrCat(what, ": field 'version' at byte 4: unknown handle version ",
                                            found_version, " (this build reads ", kVersion, ")"));
  }
  IncrementalRemoteKeyedStateHandle handle;
  absl::StatusOr<absl::string_view> uid = reader.ReadLengthPrefixed("backend_uid");
  if (!uid.ok()) return uid.status();
  handle.backend_uid = std::string(*uid);
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
  handle.key_group_range = KeyGroupRange(range_start, range_end);
  absl::StatusOr<uint64_t> checkpoint_id = reader.ReadFixed64BigEndian("checkpoint_id");
  if (!checkpoint_id.ok()) return checkpoint_id.status();
  handle.checkpoint_id = static_cast<int64_t>(*checkpoint_id);
  if (absl::Status s = ReadFileList(reader, "shared_state", &handle.shared_state); !s.ok()) return s;
  if (absl::Status s = ReadFileList(reader, "private_state", &handle.private_state); !s.ok()) return s;
  absl::StatusOr<StreamStateHandle> meta = ReadStreamHandle(reader, "meta_state_handle");
  if (!meta.ok()) return meta.status();
  handle.meta_state_handle = *std::move(meta);
  absl::StatusOr<uint64_t> checkpointed = reader.ReadFixed64BigEndian("checkpointed_size");
  if (!checkpointed.ok()) return checkpointed.status();
  handle.checkpointed_size_bytes = static_cast<int64_t>(*checkpointed);
  absl::StatusOr<absl::string_view> id = reader.ReadLengthPrefixed("state_handle_id");
  if (!id.ok()) return id.status();
  handle.state_handle_id = std::string(*id);
  if (!reader.AtEnd()) return reader.Corrupt("end", absl::StrCat(reader.remaining(), " unexpected trailing bytes"));
  return handle;
}

}  // namespace snapsim
