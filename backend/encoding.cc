#include "backend/encoding.h"

#include <array>

#include "absl/strings/str_cat.h"

namespace snapsim {
namespace {

std::array<uint32_t, 256> MakeCrc32cTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
    table[i] = crc;
  }
  return table;
}

}  // namespace

uint32_t Crc32c(absl::string_view data, uint32_t seed) {
  static const std::array<uint32_t, 256> table = MakeCrc32cTable();
  uint32_t crc = ~seed;
  for (unsigned char c : data) crc = table[(crc ^ c) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

void ByteWriter::PutFixed32BigEndian(uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) PutU8(static_cast<uint8_t>(value >> shift));
}

void ByteWriter::PutFixed64BigEndian(uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) PutU8(static_cast<uint8_t>(value >> shift));
}

void ByteWriter::PutVarint64(uint64_t value) {
  while (value >= 0x80) {
    PutU8(static_cast<uint8_t>(value | 0x80));
    value >>= 7;
  }
  PutU8(static_cast<uint8_t>(value));
}

void ByteWriter::PutLengthPrefixed(absl::string_view bytes) {
  PutVarint64(bytes.size());
  PutRaw(bytes);
}

absl::Status ByteReader::Corrupt(absl::string_view field, absl::string_view problem) const {
  return absl::DataLossError(
      absl::StrCat(what_, ": field '", field, "' at byte ", offset_, ": ", problem));
}

absl::StatusOr<uint8_t> ByteReader::ReadU8(absl::string_view field) {
  if (remaining() < 1) return Corrupt(field, "truncated");
  return static_cast<uint8_t>(data_[offset_++]);
}

absl::StatusOr<uint32_t> ByteReader::ReadFixed32BigEndian(absl::string_view field) {
  if (remaining() < 4) return Corrupt(field, absl::StrCat("truncated (need 4 bytes, have ", remaining(), ")"));
  uint32_t value = 0;
  for (int i = 0; i < 4; ++i) value = (value << 8) | static_cast<uint8_t>(data_[offset_++]);
  return value;
}

absl::StatusOr<uint64_t> ByteReader::ReadFixed64BigEndian(absl::string_view field) {
  if (remaining() < 8) return Corrupt(field, absl::StrCat("truncated (need 8 bytes, have ", remaining(), ")"));
  uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = (value << 8) | static_cast<uint8_t>(data_[offset_++]);
  return value;
}

absl::StatusOr<uint64_t> ByteReader::ReadVarint64(absl::string_view field) {
  uint64_t value = 0;
  const size_t start = offset_;
  for (int shift = 0; shift <= 63; shift += 7) {
    if (remaining() < 1) {
      offset_ = start;
      return Corrupt(field, "truncated varint");
    }
    const uint8_t byte = static_cast<uint8_t>(data_[offset_++]);
    value |= static_cast<uint64_t>(byte & 0x7F) << shift;
    if ((byte & 0x80) == 0) return value;
  }
  offset_ = start;
  return Corrupt(field, "varint longer than 10 bytes");
}

absl::StatusOr<absl::string_view> ByteReader::ReadLengthPrefixed(absl::string_view field) {
  const size_t start = offset_;
  absl::StatusOr<uint64_t> size = ReadVarint64(field);
  if (!size.ok()) return size.status();
  if (*size > remaining()) {
    const uint64_t wanted = *size;
    offset_ = start;
    return Corrupt(field, absl::StrCat("length ", wanted, " exceeds the ", remaining(), " bytes left"));
  }
  absl::string_view result = data_.substr(offset_, *size);
  offset_ += *size;
  return result;
}

absl::StatusOr<absl::string_view> ByteReader::ReadRaw(size_t size, absl::string_view field) {
  if (size > remaining()) {
    return Corrupt(field, absl::StrCat("truncated (need ", size, " bytes, have ", remaining(), ")"));
  }
  absl::string_view result = data_.substr(offset_, size);
  offset_ += size;
  return result;
}

}  // namespace snapsim
