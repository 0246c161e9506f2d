#include "backend/composite_key.h"

#include "absl/strings/str_cat.h"
#include "backend/encoding.h"

namespace snapsim {
namespace {

// Flink's length suffix: little-endian base-256 without continuation bits, at least one byte.
void AppendLengthSuffix(std::string* out, size_t length) {
  do {
    out->push_back(static_cast<char>(length & 0xFF));
    length >>= 8;
  } while (length != 0);
}

size_t LengthSuffixBytes(size_t length) {
  size_t bytes = 0;
  do {
    ++bytes;
    length >>= 8;
  } while (length != 0);
  return bytes;
}

// Appends a variable-length serialized value (the "bytes serializer": varint length + bytes) and its suffix.
void AppendWithSuffix(std::string* out, absl::string_view bytes) {
  const size_t before = out->size();
  ByteWriter(out).PutLengthPrefixed(bytes);
  AppendLengthSuffix(out, out->size() - before);
}

absl::StatusOr<std::string> ReadWithSuffix(ByteReader& reader, absl::string_view field) {
  const size_t before = reader.offset();
  absl::StatusOr<absl::string_view> bytes = reader.ReadLengthPrefixed(field);
  if (!bytes.ok()) return bytes.status();
  const size_t consumed = reader.offset() - before;
  absl::StatusOr<absl::string_view> suffix = reader.ReadRaw(LengthSuffixBytes(consumed), field);
  if (!suffix.ok()) return suffix.status();
  return std::string(*bytes);
}

}  // namespace

std::string SerializeKeyGroupPrefix(int key_group, int prefix_bytes) {
  std::string out;
  if (prefix_bytes == 2) out.push_back(static_cast<char>((key_group >> 8) & 0xFF));
  out.push_back(static_cast<char>(key_group & 0xFF));
  return out;
}

int ReadKeyGroupPrefix(absl::string_view key, int prefix_bytes) {
  int key_group = 0;
  for (int i = 0; i < prefix_bytes; ++i) key_group = (key_group << 8) | static_cast<uint8_t>(key[i]);
  return key_group;
}

KeyGroupKeyBounds KeyBoundsOfKeyGroupRange(const KeyGroupRange& range, int prefix_bytes) {
  // end + 1 always fits: key groups are < max parallelism <= 128 (1 byte) or <= 32768 (2 bytes).
  return KeyGroupKeyBounds{SerializeKeyGroupPrefix(range.start(), prefix_bytes),
                           SerializeKeyGroupPrefix(range.end() + 1, prefix_bytes)};
}

void CompositeKeyBuilder::SetKeyAndKeyGroup(absl::string_view key, int key_group) {
  key_part_ = SerializeKeyGroupPrefix(key_group, prefix_bytes_);
  AppendWithSuffix(&key_part_, key);
  has_key_ = true;
}

std::string CompositeKeyBuilder::BuildKeyNamespace(absl::string_view name_space) const {
  std::string out = key_part_;
  AppendWithSuffix(&out, name_space);
  return out;
}

std::string CompositeKeyBuilder::BuildKeyNamespaceUserKey(absl::string_view name_space,
                                                          absl::string_view user_key) const {
  std::string out = BuildKeyNamespace(name_space);
  ByteWriter(&out).PutLengthPrefixed(user_key);
  return out;
}

absl::StatusOr<CompositeKey> DecodeCompositeKey(absl::string_view raw, int prefix_bytes, bool has_user_key) {
  ByteReader reader(raw, "composite key");
  absl::StatusOr<absl::string_view> prefix = reader.ReadRaw(prefix_bytes, "key group");
  if (!prefix.ok()) return prefix.status();
  CompositeKey result;
  result.key_group = ReadKeyGroupPrefix(*prefix, prefix_bytes);
  absl::StatusOr<std::string> key = ReadWithSuffix(reader, "key");
  if (!key.ok()) return key.status();
  result.key = *std::move(key);
  absl::StatusOr<std::string> name_space = ReadWithSuffix(reader, "namespace");
  if (!name_space.ok()) return name_space.status();
  result.name_space = *std::move(name_space);
  if (has_user_key) {
    absl::StatusOr<absl::string_view> user_key = reader.ReadLengthPrefixed("user key");
    if (!user_key.ok()) return user_key.status();
    result.user_key = std::string(*user_key);
  }
  if (!reader.AtEnd()) return reader.Corrupt("end", absl::StrCat(reader.remaining(), " unexpected trailing bytes"));
  return result;
}

}  // namespace snapsim
