#include "snapshot/state_handles.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "backend/encoding.h"

namespace snapsim {
namespace {

using ::testing::HasSubstr;

StreamStateHandle File(const std::string& path, uint64_t size) { return StreamStateHandle{StreamStateHandle::Kind::kFile, path, size, 77}; }

IncrementalRemoteKeyedStateHandle Remote() {
  IncrementalRemoteKeyedStateHandle handle;
  handle.backend_uid = "uid";
  handle.key_group_range = KeyGroupRange(10, 20);
  handle.checkpoint_id = 12;
  handle.shared_state = {{File("job/shared/a", 100), "000007.sst"},
                         {StreamStateHandle::PlaceholderFor(File("job/shared/b", 50)), "000009.sst"}};
  handle.private_state = {{File("job/chk-12/c", 9), "CURRENT"}};
  handle.meta_state_handle = File("job/chk-12/m", 30);
  handle.checkpointed_size_bytes = 139;
  handle.state_handle_id = "sid";
  return handle;
}

KeyGroupsStateHandle KeyGroups() {
  return KeyGroupsStateHandle{KeyGroupRangeOffsets{KeyGroupRange(0, 3), {0, 17, 0, 90}}, File("sp/x", 120)};
}

TEST(StateHandlesTest, EveryHandleTypeRoundTrips) {
  const std::string remote = SerializeKeyedStateHandle(Remote());
  absl::StatusOr<KeyedStateHandle> parsed = ParseKeyedStateHandle(remote, "chk-12");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(std::get<IncrementalRemoteKeyedStateHandle>(*parsed), Remote());
  EXPECT_EQ(Remote().StateSize(), 100u + 50 + 9 + 30);

  absl::StatusOr<KeyedStateHandle> key_groups = ParseKeyedStateHandle(SerializeKeyedStateHandle(KeyGroups()), "sp");
  ASSERT_TRUE(key_groups.ok()) << key_groups.status();
  EXPECT_EQ(std::get<KeyGroupsStateHandle>(*key_groups), KeyGroups());

  IncrementalLocalKeyedStateHandle local{"uid", 12, "/local/chk_12/uid", KeyGroupRange(10, 20), "/local/chk_12/m",
                                         Remote().shared_state};
  absl::StatusOr<IncrementalLocalKeyedStateHandle> parsed_local =
      ParseIncrementalLocalHandle(SerializeIncrementalLocalHandle(local), "local");
  ASSERT_TRUE(parsed_local.ok()) << parsed_local.status();
  EXPECT_EQ(*parsed_local, local);
  // A local handle is not checkpoint metadata, and the other way round.
  EXPECT_FALSE(ParseKeyedStateHandle(SerializeIncrementalLocalHandle(local), "x").ok());
  EXPECT_FALSE(ParseIncrementalLocalHandle(SerializeKeyedStateHandle(Remote()), "x").ok());
}

TEST(StateHandlesTest, EveryTruncationAndBitFlipIsAnErrorNamingTheOrigin) {
  for (const std::string& blob : {SerializeKeyedStateHandle(Remote()), SerializeKeyedStateHandle(KeyGroups())}) {
    for (size_t size = 0; size < blob.size(); ++size) {
      absl::StatusOr<KeyedStateHandle> parsed = ParseKeyedStateHandle(blob.substr(0, size), "chk-12/_metadata");
      ASSERT_FALSE(parsed.ok()) << size;
      EXPECT_THAT(std::string(parsed.status().message()), HasSubstr("chk-12/_metadata"));
    }
    for (size_t byte = 0; byte < blob.size(); ++byte) {
      std::string flipped = blob;
      flipped[byte] ^= 0x01;
      EXPECT_FALSE(ParseKeyedStateHandle(flipped, "chk-12/_metadata").ok()) << byte;
    }
  }
}

TEST(StateHandlesTest, UnknownTypeIsNamed) {
  std::string blob = SerializeKeyedStateHandle(KeyGroups());
  blob[6] = 9;  // the type byte after magic and version
  blob.resize(blob.size() - 4);
  ByteWriter(&blob).PutFixed32BigEndian(Crc32c(blob));
  absl::StatusOr<KeyedStateHandle> parsed = ParseKeyedStateHandle(blob, "chk-3");
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(std::string(parsed.status().message()), HasSubstr("unknown handle type 9"));
}

}  // namespace
}  // namespace snapsim
