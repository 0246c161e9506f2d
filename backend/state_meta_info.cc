#include "backend/state_meta_info.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "backend/encoding.h"

namespace snapsim {
namespace {

constexpr absl::string_view kInfoMagic = "SMI1";
constexpr absl::string_view kListMagic = "SML1";
// A list larger than this is corrupt, not real: no job registers that many states.
constexpr uint64_t kMaxStatesPerBackend = 1 << 16;

void AppendChecksum(std::string* blob) { ByteWriter(blob).PutFixed32BigEndian(Crc32c(*blob)); }

// Checks magic, checksum and version; returns a reader positioned after the version.
absl::StatusOr<ByteReader> OpenBlob(absl::string_view blob, absl::string_view magic, absl::string_view what) {
  ByteReader header(blob, what);
  absl::StatusOr<absl::string_view> found_magic = header.ReadRaw(magic.size(), "magic");
  if (!found_magic.ok()) return found_magic.status();
  if (*found_magic != magic) {
    return absl::DataLossError(absl::StrCat(what, ": field 'magic' at byte 0: expected '", magic, "'"));
  }
  if (blob.size() < magic.size() + 2 + 4) {
    return absl::DataLossError(absl::StrCat(what, ": field 'checksum': truncated (", blob.size(), " bytes)"));
  }
  const absl::string_view body = blob.substr(0, blob.size() - 4);
  ByteReader trailer(blob.substr(blob.size() - 4), what);
  const uint32_t stored = *trailer.ReadFixed32BigEndian("checksum");
  const uint32_t computed = Crc32c(body);
  if (stored != computed) {
    return absl::DataLossError(absl::StrCat(what, ": field 'checksum' at byte ", body.size(),
                                            ": mismatch (stored ", stored, ", computed ", computed, ")"));
  }
  ByteReader reader(body, what);
  (void)reader.ReadRaw(magic.size(), "magic");
  absl::StatusOr<absl::string_view> version_bytes = reader.ReadRaw(2, "version");
  if (!version_bytes.ok()) return version_bytes.status();
  const uint16_t version = static_cast<uint16_t>((static_cast<uint8_t>((*version_bytes)[0]) << 8) |
                                                 static_cast<uint8_t>((*version_bytes)[1]));
  if (version != kStateMetaInfoFormatVersion) {
    return absl::DataLossError(absl::StrCat(what, ": field 'version' at byte ", magic.size(), ": unknown version ",
                                            version, " (this build reads ", kStateMetaInfoFormatVersion, ")"));
  }
  return reader;
}

void PutVersion(ByteWriter& writer) {
  writer.PutU8(static_cast<uint8_t>(kStateMetaInfoFormatVersion >> 8));
  writer.PutU8(static_cast<uint8_t>(kStateMetaInfoFormatVersion & 0xFF));
}

absl::Status ReadString(ByteReader& reader, absl::string_view field, std::string* out) {
  absl::StatusOr<absl::string_view> value = reader.ReadLengthPrefixed(field);
  if (!value.ok()) return value.status();
  out->assign(value->data(), value->size());
  return absl::OkStatus();
}

}  // namespace

absl::string_view StateKindName(StateKind kind) {
  switch (kind) {
    case StateKind::kValue:
      return "VALUE";
    case StateKind::kList:
      return "LIST";
    case StateKind::kMap:
      return "MAP";
  }
  return "UNKNOWN";
}

StateMetaInfo StateMetaInfo::Of(absl::string_view name, StateKind kind) {
  StateMetaInfo info;
  info.name = std::string(name);
  info.kind = kind;
  if (kind == StateKind::kMap) info.user_key_serializer = std::string(kBytesSerializerId);
  return info;
}

bool operator==(const StateMetaInfo& a, const StateMetaInfo& b) {
  return a.name == b.name && a.kind == b.kind && a.key_serializer == b.key_serializer &&
         a.namespace_serializer == b.namespace_serializer && a.value_serializer == b.value_serializer &&
         a.user_key_serializer == b.user_key_serializer && a.schema_version == b.schema_version;
}

std::string SerializeStateMetaInfo(const StateMetaInfo& info) {
  std::string blob;
  ByteWriter writer(&blob);
  writer.PutRaw(kInfoMagic);
  PutVersion(writer);
  writer.PutLengthPrefixed(info.name);
  writer.PutU8(static_cast<uint8_t>(info.kind));
  writer.PutLengthPrefixed(info.key_serializer);
  writer.PutLengthPrefixed(info.namespace_serializer);
  writer.PutLengthPrefixed(info.value_serializer);
  writer.PutLengthPrefixed(info.user_key_serializer);
  writer.PutFixed32BigEndian(info.schema_version);
  AppendChecksum(&blob);
  return blob;
}

absl::StatusOr<StateMetaInfo> ParseStateMetaInfo(absl::string_view blob) {
  absl::StatusOr<ByteReader> opened = OpenBlob(blob, kInfoMagic, "state meta info");
  if (!opened.ok()) return opened.status();
  ByteReader& reader = *opened;
  StateMetaInfo info;
  if (absl::Status s = ReadString(reader, "name", &info.name); !s.ok()) return s;
  absl::StatusOr<uint8_t> kind = reader.ReadU8("kind");
  if (!kind.ok()) return kind.status();
  if (*kind < static_cast<uint8_t>(StateKind::kValue) || *kind > static_cast<uint8_t>(StateKind::kMap)) {
    return reader.Corrupt("kind", absl::StrCat("unknown state kind ", *kind, " for state '", info.name, "'"));
  }
  info.kind = static_cast<StateKind>(*kind);
  if (absl::Status s = ReadString(reader, "key_serializer", &info.key_serializer); !s.ok()) return s;
  // The key serializer fixes how every RocksDB key of the backend is laid out and which key group a key hashes
  // to; a restore cannot read keys written by one it does not know.
  if (info.key_serializer != kBytesSerializerId) {
    return reader.Corrupt("key_serializer", absl::StrCat("unknown key serializer '", info.key_serializer,
                                                         "' for state '", info.name, "' (this build knows '",
                                                         kBytesSerializerId, "')"));
  }
  if (absl::Status s = ReadString(reader, "namespace_serializer", &info.namespace_serializer); !s.ok()) return s;
  if (absl::Status s = ReadString(reader, "value_serializer", &info.value_serializer); !s.ok()) return s;
  if (absl::Status s = ReadString(reader, "user_key_serializer", &info.user_key_serializer); !s.ok()) return s;
  // Only a map state has user keys (StateMetaInfo::Of); anything else contradicts the kind.
  if (info.kind == StateKind::kMap && info.user_key_serializer.empty()) {
    return reader.Corrupt("user_key_serializer",
                          absl::StrCat("empty for state '", info.name, "' of kind MAP (a map state has user keys)"));
  }
  if (info.kind != StateKind::kMap && !info.user_key_serializer.empty()) {
    return reader.Corrupt("user_key_serializer",
                          absl::StrCat("'", info.user_key_serializer, "' for state '", info.name, "' of kind ",
                                       StateKindName(info.kind), " (only a MAP state has user keys)"));
  }
  absl::StatusOr<uint32_t> schema_version = reader.ReadFixed32BigEndian("schema_version");
  if (!schema_version.ok()) return schema_version.status();
  info.schema_version = *schema_version;
  if (!reader.AtEnd()) return reader.Corrupt("end", absl::StrCat(reader.remaining(), " unexpected trailing bytes"));
  return info;
}

std::string SerializeStateMetaInfoList(const std::vector<StateMetaInfo>& infos) {
  std::string blob;
  ByteWriter writer(&blob);
  writer.PutRaw(kListMagic);
  PutVersion(writer);
  writer.PutVarint64(infos.size());
  for (const StateMetaInfo& info : infos) writer.PutLengthPrefixed(SerializeStateMetaInfo(info));
  AppendChecksum(&blob);
  return blob;
}

absl::StatusOr<std::vector<StateMetaInfo>> ParseStateMetaInfoList(absl::string_view blob) {
  absl::StatusOr<ByteReader> opened = OpenBlob(blob, kListMagic, "state meta info list");
  if (!opened.ok()) return opened.status();
  ByteReader& reader = *opened;
  absl::StatusOr<uint64_t> count = reader.ReadVarint64("count");
  if (!count.ok()) return count.status();
  if (*count > kMaxStatesPerBackend) {
    return reader.Corrupt("count", absl::StrCat("implausible state count ", *count));
  }
  std::vector<StateMetaInfo> infos;
  std::map<std::string, uint64_t> index_of_name;
  for (uint64_t i = 0; i < *count; ++i) {
    const std::string field = absl::StrCat("entry[", i, "]");
    absl::StatusOr<absl::string_view> entry = reader.ReadLengthPrefixed(field);
    if (!entry.ok()) return entry.status();
    absl::StatusOr<StateMetaInfo> info = ParseStateMetaInfo(*entry);
    if (!info.ok()) {
      return absl::DataLossError(absl::StrCat("state meta info list: ", field, ": ", info.status().message()));
    }
    // States are column families by name: a second entry of the same name would restore into the first.
    const auto [first, inserted] = index_of_name.emplace(info->name, i);
    if (!inserted) {
      return reader.Corrupt(field + ".name", absl::StrCat("state '", info->name, "' appears twice (entry[",
                                                          first->second, "] and ", field, ")"));
    }
    infos.push_back(*std::move(info));
  }
  if (!reader.AtEnd()) return reader.Corrupt("end", absl::StrCat(reader.remaining(), " unexpected trailing bytes"));
  return infos;
}

}  // namespace snapsim
