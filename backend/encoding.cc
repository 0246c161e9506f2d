#include "backend/encoding.h"

#include <array>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace snapsim {
namespace {

// Slicing-by-8 tables of the reflected CRC-32C polynomial 0x82F63B78: table[k][b] is the CRC of byte b followed
// by k zero bytes, so eight input bytes cost eight lookups and no dependency chain per byte.
std::array<std::array<uint32_t, 256>, 8> MakeCrc32cTables() {
  std::array<std::array<uint32_t, 256>, 8> tables{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc & 1) ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
    tables[0][i] = crc;
  }
  for (uint32_t i = 0; i < 256; ++i) {
    for (int k = 1; k < 8; ++k) tables[k][i] = (tables[k - 1][i] >> 8) ^ tables[0][tables[k - 1][i] & 0xFF];
  }
  return tables;
}

uint64_t LoadLittleEndian64(const unsigned char* p) {
  uint64_t value;
  std::memcpy(&value, p, sizeof(value));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  value = __builtin_bswap64(value);
#endif
  return value;
}

// `crc` is the running (inverted) register.
uint32_t Crc32cSoftware(uint32_t crc, const unsigned char* p, size_t n) {
  static const std::array<std::array<uint32_t, 256>, 8> t = MakeCrc32cTables();
  while (n >= 8) {
    const uint64_t word = LoadLittleEndian64(p) ^ crc;
    crc = t[7][word & 0xFF] ^ t[6][(word >> 8) & 0xFF] ^ t[5][(word >> 16) & 0xFF] ^ t[4][(word >> 24) & 0xFF] ^
          t[3][(word >> 32) & 0xFF] ^ t[2][(word >> 40) & 0xFF] ^ t[1][(word >> 48) & 0xFF] ^ t[0][word >> 56];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) crc = t[0][(crc ^ *p++) & 0xFF] ^ (crc >> 8);
  return crc;
}

#if defined(__x86_64__)
// The CPU's CRC32 instruction (SSE 4.2), which computes exactly CRC-32C, eight bytes per instruction.
__attribute__((target("sse4.2"))) uint32_t Crc32cHardware(uint32_t crc, const unsigned char* p, size_t n) {
  uint64_t wide = crc;
  while (n >= 8) {
    wide = __builtin_ia32_crc32di(wide, LoadLittleEndian64(p));
    p += 8;
    n -= 8;
  }
  crc = static_cast<uint32_t>(wide);
  while (n-- > 0) crc = __builtin_ia32_crc32qi(crc, *p++);
  return crc;
}

bool CpuHasCrc32Instruction() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("sse4.2");
}
#endif

}  // namespace

uint32_t Crc32cPortable(absl::string_view data, uint32_t seed) {
  return ~Crc32cSoftware(~seed, reinterpret_cast<const unsigned char*>(data.data()), data.size());
}

bool Crc32cUsesHardware() {
#if defined(__x86_64__)
  static const bool hardware = CpuHasCrc32Instruction();
  return hardware;
#else
  return false;
#endif
}

uint32_t Crc32c(absl::string_view data, uint32_t seed) {
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
#if defined(__x86_64__)
  if (Crc32cUsesHardware()) return ~Crc32cHardware(~seed, bytes, data.size());
#endif
  return ~Crc32cSoftware(~seed, bytes, data.size());
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

absl::StatusOr<absl::string_view> CheckSealedBlob(absl::string_view blob, absl::string_view magic, size_t min_size,
                                                  absl::string_view what, absl::string_view kind) {
  if (blob.size() < min_size || blob.substr(0, magic.size()) != magic) {
    return absl::DataLossError(
        absl::StrCat(what, ": field 'magic' at byte 0: not a ", kind, " (", blob.size(), " bytes)"));
  }
  const absl::string_view body = blob.substr(0, blob.size() - 4);
  ByteReader trailer(blob.substr(blob.size() - 4), what);
  if (*trailer.ReadFixed32BigEndian("checksum") != Crc32c(body)) {
    return absl::DataLossError(
        absl::StrCat(what, ": field 'checksum' at byte ", body.size(), ": mismatch (corrupt or truncated)"));
  }
  return body;
}

}  // namespace snapsim
