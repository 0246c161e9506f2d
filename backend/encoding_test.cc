#include "backend/encoding.h"

#include <cstdio>

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

namespace snapsim {
namespace {

TEST(EncodingTest, Crc32cMatchesKnownValues) {
  // The CRC-32C check value (RFC 3720, appendix B.4).
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32c(""), 0u);
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8A9136AAu);
}

TEST(EncodingTest, PortableCrc32cMatchesKnownValues) {
  EXPECT_EQ(Crc32cPortable("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32cPortable(""), 0u);
  EXPECT_EQ(Crc32cPortable(std::string(32, '\0')), 0x8A9136AAu);
}

// Every length around the 8-byte stride, every alignment, chained seeds: the dispatched version (the CPU
// instruction where there is one) and the table version agree.
TEST(EncodingTest, Crc32cHardwareAndTablesAgree) {
  std::string bytes(4096 + 16, '\0');
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (char& c : bytes) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x);
  }
  for (size_t offset = 0; offset < 8; ++offset) {
    for (size_t length : {0, 1, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000, 4096}) {
      const absl::string_view data(bytes.data() + offset, length);
      ASSERT_EQ(Crc32c(data), Crc32cPortable(data)) << "offset " << offset << " length " << length;
      ASSERT_EQ(Crc32c(data, 0x12345678u), Crc32cPortable(data, 0x12345678u));
    }
  }
  const absl::string_view whole(bytes);
  EXPECT_EQ(Crc32c(whole.substr(1000), Crc32c(whole.substr(0, 1000))), Crc32c(whole));
  std::printf("Crc32c uses the CPU instruction: %s\n", Crc32cUsesHardware() ? "yes" : "no");
}

TEST(EncodingTest, ReaderNamesFieldAndOffsetWhenTruncated) {
  std::string data;
  ByteWriter writer(&data);
  writer.PutFixed32BigEndian(7);
  writer.PutVarint64(100);  // claims 100 bytes follow
  data += "short";
  ByteReader reader(data, "test blob");
  ASSERT_EQ(*reader.ReadFixed32BigEndian("first"), 7u);
  absl::StatusOr<absl::string_view> bytes = reader.ReadLengthPrefixed("payload");
  ASSERT_FALSE(bytes.ok());
  EXPECT_EQ(bytes.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(bytes.status().message().find("test blob"), absl::string_view::npos);
  EXPECT_NE(bytes.status().message().find("'payload'"), absl::string_view::npos);
  EXPECT_NE(bytes.status().message().find("byte 4"), absl::string_view::npos);
}

TEST(EncodingTest, OverlongVarintIsAnError) {
  const std::string data(11, '\xFF');
  ByteReader reader(data, "blob");
  EXPECT_FALSE(reader.ReadVarint64("count").ok());
}

RC_GTEST_PROP(EncodingProperty, RoundTrips, (uint64_t number, uint32_t fixed, std::string bytes)) {
  std::string data;
  ByteWriter writer(&data);
  writer.PutVarint64(number);
  writer.PutFixed32BigEndian(fixed);
  writer.PutLengthPrefixed(bytes);
  writer.PutFixed64BigEndian(number);
  ByteReader reader(data, "blob");
  RC_ASSERT(*reader.ReadVarint64("a") == number);
  RC_ASSERT(*reader.ReadFixed32BigEndian("b") == fixed);
  RC_ASSERT(std::string(*reader.ReadLengthPrefixed("c")) == bytes);
  RC_ASSERT(*reader.ReadFixed64BigEndian("d") == number);
  RC_ASSERT(reader.AtEnd());
}

}  // namespace
}  // namespace snapsim
