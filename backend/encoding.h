// Byte encoding helpers shared by the backend's on-disk and metadata formats: varints, fixed-width integers,
// length-prefixed strings, and a reader whose errors name the field and byte offset that failed.
// Plays the role of Flink's DataOutputView / DataInputView for snapsim's own formats.
#ifndef SNAPSIM_BACKEND_ENCODING_H_
#define SNAPSIM_BACKEND_ENCODING_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace snapsim {

// CRC-32C (Castagnoli), the checksum of every snapsim metadata blob and stored object. `seed` chains:
// Crc32c(a + b) == Crc32c(b, Crc32c(a)). Uses the CPU's CRC32 instruction when it has one (x86-64 with SSE 4.2,
// checked once at run time), else slicing-by-8 tables; both give the same values (backend/encoding_test.cc pins
// known ones), so stored checksums stay verifiable on any machine.
uint32_t Crc32c(absl::string_view data, uint32_t seed = 0);
// The table version alone, and whether Crc32c uses the instruction on this machine (for tests and benchmarks).
uint32_t Crc32cPortable(absl::string_view data, uint32_t seed = 0);
bool Crc32cUsesHardware();

// A sealed blob: `magic`, a body, and the CRC-32C of everything before the 4-byte trailer. Returns the blob without
// its trailer, or a DataLoss error naming `what` and the field: too short or another magic ("not a <kind>"), or a
// checksum mismatch. `min_size` counts the magic and the trailer.
absl::StatusOr<absl::string_view> CheckSealedBlob(absl::string_view blob, absl::string_view magic, size_t min_size,
                                                  absl::string_view what, absl::string_view kind);

// Appends encodings to a string.
class ByteWriter {
 public:
  explicit ByteWriter(std::string* out) : out_(out) {}
  void PutU8(uint8_t value) { out_->push_back(static_cast<char>(value)); }
  void PutFixed32BigEndian(uint32_t value);
  void PutFixed64BigEndian(uint64_t value);
  // LEB128: 7 bits per byte, high bit set on every byte but the last.
  void PutVarint64(uint64_t value);
  void PutLengthPrefixed(absl::string_view bytes);
  void PutRaw(absl::string_view bytes) { out_->append(bytes.data(), bytes.size()); }

 private:
  std::string* out_;
};

// Reads encodings from a byte string. Each read names the field it reads; a failure says which field, at which
// byte offset, in which object (`what`), so a corrupt blob yields an error a person can act on.
class ByteReader {
 public:
  // `data` must outlive the reader; `what` is copied (callers often build it on the fly).
  ByteReader(absl::string_view data, absl::string_view what) : data_(data), what_(what) {}

  absl::StatusOr<uint8_t> ReadU8(absl::string_view field);
  absl::StatusOr<uint32_t> ReadFixed32BigEndian(absl::string_view field);
  absl::StatusOr<uint64_t> ReadFixed64BigEndian(absl::string_view field);
  absl::StatusOr<uint64_t> ReadVarint64(absl::string_view field);
  absl::StatusOr<absl::string_view> ReadLengthPrefixed(absl::string_view field);
  absl::StatusOr<absl::string_view> ReadRaw(size_t size, absl::string_view field);

  size_t offset() const { return offset_; }
  size_t remaining() const { return data_.size() - offset_; }
  bool AtEnd() const { return offset_ == data_.size(); }
  // An error about `field` at the current offset.
  absl::Status Corrupt(absl::string_view field, absl::string_view problem) const;

 private:
  absl::string_view data_;
  std::string what_;
  size_t offset_ = 0;
};

}  // namespace snapsim

#endif  // SNAPSIM_BACKEND_ENCODING_H_
