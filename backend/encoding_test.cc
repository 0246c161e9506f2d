#include "backend/encoding.h"

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
