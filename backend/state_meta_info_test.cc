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

// A parse that must fail: data loss, naming the field, the state and the offending value.
void ExpectRejected(const absl::Status& status, const std::string& field, const std::string& value) {
  ASSERT_FALSE(status.ok()) << "accepted; expected an error about " << field << " = " << value;
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("'" + field + "'")) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr(value)) << status;
}

TEST(StateMetaInfoTest, UserKeySerializerThatContradictsTheKindIsRejected) {
  StateMetaInfo value = StateMetaInfo::Of("visits", StateKind::kValue);
  value.user_key_serializer = std::string(kBytesSerializerId);
  ExpectRejected(ParseStateMetaInfo(SerializeStateMetaInfo(value)).status(), "user_key_serializer",
                 "for state 'visits' of kind VALUE");
  StateMetaInfo list = StateMetaInfo::Of("events", StateKind::kList);
  list.user_key_serializer = "snapsim.bytes.v1";
  ExpectRejected(ParseStateMetaInfo(SerializeStateMetaInfo(list)).status(), "user_key_serializer",
                 "for state 'events' of kind LIST");
  StateMetaInfo map = StateMetaInfo::Of("attributes", StateKind::kMap);
  map.user_key_serializer.clear();
  ExpectRejected(ParseStateMetaInfo(SerializeStateMetaInfo(map)).status(), "user_key_serializer",
                 "state 'attributes' of kind MAP");
  // In a list, the entry is named too.
  absl::Status in_list =
      ParseStateMetaInfoList(SerializeStateMetaInfoList({StateMetaInfo::Of("v", StateKind::kValue), map})).status();
  ExpectRejected(in_list, "user_key_serializer", "state 'attributes'");
  EXPECT_THAT(std::string(in_list.message()), HasSubstr("entry[1]"));
}

TEST(StateMetaInfoTest, UnknownKeySerializerIsRejected) {
  StateMetaInfo info = StateMetaInfo::Of("visits", StateKind::kValue);
  info.key_serializer = "java.lang.Long";
  ExpectRejected(ParseStateMetaInfo(SerializeStateMetaInfo(info)).status(), "key_serializer",
                 "unknown key serializer 'java.lang.Long' for state 'visits'");
}

TEST(StateMetaInfoTest, AStateNameTwiceIsRejected) {
  const std::string blob = SerializeStateMetaInfoList({StateMetaInfo::Of("visits", StateKind::kValue),
                                                       StateMetaInfo::Of("events", StateKind::kList),
                                                       StateMetaInfo::Of("visits", StateKind::kMap)});
  ExpectRejected(ParseStateMetaInfoList(blob).status(), "entry[2].name",
                 "state 'visits' appears twice (entry[0] and entry[2])");
}

}  // namespace
}  // namespace snapsim
