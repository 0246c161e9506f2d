#include "backend/state_meta_info.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "backend/encoding.h"

namespace snapsim {
namespace {

using ::testing::HasSubstr;

// Rewrites the trailing checksum so that a deliberately altered field reaches the field parser.
std::string Reseal(std::string blob) {
  blob.resize(blob.size() - 4);
  ByteWriter(&blob).PutFixed32BigEndian(Crc32c(blob));
  return blob;
}

StateMetaInfo Sample() {
  StateMetaInfo info = StateMetaInfo::Of("clicks-per-user", StateKind::kMap);
  info.schema_version = 3;
  return info;
}

TEST(StateMetaInfoTest, RoundTrips) {
  const StateMetaInfo info = Sample();
  absl::StatusOr<StateMetaInfo> parsed = ParseStateMetaInfo(SerializeStateMetaInfo(info));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, info);
  EXPECT_EQ(parsed->user_key_serializer, kBytesSerializerId);
}

TEST(StateMetaInfoTest, ListRoundTripsInOrder) {
  const std::vector<StateMetaInfo> infos = {StateMetaInfo::Of("b", StateKind::kValue),
                                            StateMetaInfo::Of("a", StateKind::kList), Sample()};
  absl::StatusOr<std::vector<StateMetaInfo>> parsed = ParseStateMetaInfoList(SerializeStateMetaInfoList(infos));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, infos);
}

TEST(StateMetaInfoTest, FlippedBitIsAChecksumError) {
  std::string blob = SerializeStateMetaInfo(Sample());
  blob[8] ^= 0x10;
  absl::StatusOr<StateMetaInfo> parsed = ParseStateMetaInfo(blob);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(std::string(parsed.status().message()), HasSubstr("'checksum'"));
}

TEST(StateMetaInfoTest, EveryTruncationIsAnErrorNotACrash) {
  const std::string blob = SerializeStateMetaInfoList({Sample(), StateMetaInfo::Of("v", StateKind::kValue)});
  for (size_t size = 0; size < blob.size(); ++size) {
    EXPECT_FALSE(ParseStateMetaInfoList(blob.substr(0, size)).ok()) << "size " << size;
  }
}

TEST(StateMetaInfoTest, UnknownVersionIsNamed) {
  std::string blob = SerializeStateMetaInfo(Sample());
  blob[5] = 9;  // version is the two bytes after the 4-byte magic
  absl::StatusOr<StateMetaInfo> parsed = ParseStateMetaInfo(Reseal(blob));
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(std::string(parsed.status().message()), HasSubstr("'version'"));
  EXPECT_THAT(std::string(parsed.status().message()), HasSubstr("unknown version 9"));
}

TEST(StateMetaInfoTest, UnknownKindIsNamed) {
  const StateMetaInfo info = StateMetaInfo::Of("v", StateKind::kValue);
  std::string blob = SerializeStateMetaInfo(info);
  // magic(4) version(2) name(varint 1 + 'v') -> kind at byte 8
  blob[8] = 42;
  absl::StatusOr<StateMetaInfo> parsed = ParseStateMetaInfo(Reseal(blob));
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(std::string(parsed.status().message()), HasSubstr("'kind'"));
  EXPECT_THAT(std::string(parsed.status().message()), HasSubstr("unknown state kind 42"));
}

TEST(StateMetaInfoTest, WrongMagicIsNamed) {
  absl::StatusOr<StateMetaInfo> parsed = ParseStateMetaInfo("not a meta info blob");
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(std::string(parsed.status().message()), HasSubstr("'magic'"));
}

}  // namespace
}  // namespace snapsim
