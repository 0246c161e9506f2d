#include "snapshot/state_handles.h"

#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "backend/encoding.h"

namespace snapsim {
namespace {

using ::testing::HasSubstr;

StreamStateHandle File(const std::string& path, uint64_t size) { return StreamStateHandle{StreamStateHandle::Kind::kFile, path, size, 77}; }

// A segment of a physical file (checkpoint file merging).
StreamStateHandle Segment() {
  return StreamStateHandle::Segment("job/shared/job_j_op_o_0_2/p1", 10, 40, 5, "logical-1", /*exclusive=*/false);
}

IncrementalRemoteKeyedStateHandle Remote() {
  IncrementalRemoteKeyedStateHandle handle;
  handle.backend_uid = "uid";
  handle.key_group_range = KeyGroupRange(10, 20);
  handle.checkpoint_id = 12;
  handle.shared_state = {{File("job/shared/a", 100), "000007.sst"},
                         {StreamStateHandle::PlaceholderFor(File("job/shared/b", 50)), "000009.sst"},
                         {Segment(), "000015.sst"},
                         {StreamStateHandle::PlaceholderFor(Segment()), "000017.sst"}};
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
  EXPECT_EQ(Remote().StateSize(), 100u + 50 + 40 + 40 + 9 + 30);
  const StreamStateHandle& placeholder = std::get<IncrementalRemoteKeyedStateHandle>(*parsed).shared_state[3].handle;
  EXPECT_TRUE(placeholder.is_placeholder());
  EXPECT_TRUE(placeholder.is_file_merged()) << "a placeholder for a segment keeps its logical file id (FLINK-35570)";
  EXPECT_EQ(placeholder.logical_id, "logical-1");
  EXPECT_EQ(placeholder.offset, 10u);

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

// A parse that must fail: data loss, naming the origin, the field and the offending value.
void ExpectRejected(const absl::Status& status, const std::string& field, const std::string& value) {
  ASSERT_FALSE(status.ok()) << "accepted; expected an error about " << field << " = " << value;
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("chk-12/_metadata")) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("'" + field + "'")) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr(value)) << status;
}

absl::Status ParseRemote(const IncrementalRemoteKeyedStateHandle& handle) {
  return ParseKeyedStateHandle(SerializeKeyedStateHandle(handle), "chk-12/_metadata").status();
}

TEST(StateHandlesTest, NegativeCheckpointIdsAndSizesAreRejected) {
  IncrementalRemoteKeyedStateHandle handle = Remote();
  handle.checkpoint_id = -3;
  ExpectRejected(ParseRemote(handle), "checkpoint_id", "-3");

  handle = Remote();
  handle.checkpointed_size_bytes = -40;
  ExpectRejected(ParseRemote(handle), "checkpointed_size", "-40");
  // -1 is Flink's "unknown", not a negative size.
  handle.checkpointed_size_bytes = kUnknownCheckpointedSize;
  EXPECT_TRUE(ParseRemote(handle).ok()) << ParseRemote(handle);

  // A file size written from a negative int64.
  handle = Remote();
  handle.private_state[0].handle.size_bytes = static_cast<uint64_t>(int64_t{-9});
  ExpectRejected(ParseRemote(handle), "private_state[0].size", "-9");

  IncrementalLocalKeyedStateHandle local{"uid", -77, "/local/chk_12/uid", KeyGroupRange(10, 20), "/local/chk_12/m",
                                         Remote().shared_state};
  ExpectRejected(ParseIncrementalLocalHandle(SerializeIncrementalLocalHandle(local), "chk-12/_metadata").status(),
                 "checkpoint_id", "-77");
}

TEST(StateHandlesTest, PathsOutsideTheCheckpointStorageAreRejectedWhenParsed) {
  struct Case {
    const char* path;
    const char* problem;
  };
  for (const Case& bad : {Case{"", "empty"}, Case{"/etc/passwd", "/etc/passwd"},
                          Case{"../other-job/shared/a", "../other-job/shared/a"},
                          Case{"job/shared/../../../x", "job/shared/../../../x"}, Case{"job/shared/..", "'..'"}}) {
    SCOPED_TRACE(std::string("path '") + bad.path + "'");
    IncrementalRemoteKeyedStateHandle handle = Remote();
    handle.shared_state[0].handle.path = bad.path;
    ExpectRejected(ParseRemote(handle), "shared_state[0].path", bad.problem);
    handle = Remote();
    handle.shared_state[1].handle.path = bad.path;  // a placeholder's path is the file it stands for
    ExpectRejected(ParseRemote(handle), "shared_state[1].path", bad.problem);
    handle = Remote();
    handle.private_state[0].handle.path = bad.path;
    ExpectRejected(ParseRemote(handle), "private_state[0].path", bad.problem);
    handle = Remote();
    handle.meta_state_handle.path = bad.path;
    ExpectRejected(ParseRemote(handle), "meta_state_handle.path", bad.problem);
    KeyGroupsStateHandle key_groups = KeyGroups();
    key_groups.delegate.path = bad.path;
    ExpectRejected(ParseKeyedStateHandle(SerializeKeyedStateHandle(key_groups), "chk-12/_metadata").status(),
                   "delegate.path", bad.problem);
    IncrementalLocalKeyedStateHandle local{"uid", 12, "/local/chk_12/uid", KeyGroupRange(10, 20), "/local/chk_12/m",
                                           handle.shared_state};
    local.shared_state[0].handle.path = bad.path;
    ExpectRejected(ParseIncrementalLocalHandle(SerializeIncrementalLocalHandle(local), "chk-12/_metadata").status(),
                   "shared_state[0].path", bad.problem);
  }
  // Dots inside a name are not a ".." segment; paths as the stream factory writes them are accepted.
  IncrementalRemoteKeyedStateHandle handle = Remote();
  handle.shared_state[0].handle.path = "checkpoints/job-1/shared/a..b";
  handle.private_state[0].handle.path = "savepoints/savepoint-job-1-17fcaf66f57c/.x";
  EXPECT_TRUE(ParseRemote(handle).ok()) << ParseRemote(handle);
}

TEST(StateHandlesTest, LocalFileNamesThatLeaveTheRestoreDirectoryAreRejected) {
  for (const char* bad : {"", "..", "../CURRENT", "sub/000007.sst", "/tmp/000007.sst"}) {
    SCOPED_TRACE(std::string("local path '") + bad + "'");
    IncrementalRemoteKeyedStateHandle handle = Remote();
    handle.private_state[0].local_path = bad;
    ExpectRejected(ParseRemote(handle), "private_state[0].local_path", std::string("'") + bad + "'");
  }
}

TEST(StateHandlesTest, CanonicalOffsetPastTheEndOfItsStreamIsRejected) {
  KeyGroupsStateHandle handle = KeyGroups();
  handle.offsets.offsets[3] = 120;  // the stream has 120 bytes: 0..119
  ExpectRejected(ParseKeyedStateHandle(SerializeKeyedStateHandle(handle), "chk-12/_metadata").status(), "offsets[3]",
                 "offset 120 of key group 3");
}

TEST(StateHandlesTest, InlineStateRoundTripsWithItsBytesAndIsCheckedAgainstItsChecksum) {
  IncrementalRemoteKeyedStateHandle handle = Remote();
  handle.shared_state.push_back({StreamStateHandle::Inline("job/shared/i", std::string("\0inline\xff", 8)), "000011.sst"});
  handle.meta_state_handle = StreamStateHandle::Inline("job/chk-12/meta", "meta bytes");
  const std::string blob = SerializeKeyedStateHandle(handle);
  absl::StatusOr<KeyedStateHandle> parsed = ParseKeyedStateHandle(blob, "chk-12");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(std::get<IncrementalRemoteKeyedStateHandle>(*parsed), handle);
  EXPECT_EQ(std::get<IncrementalRemoteKeyedStateHandle>(*parsed).shared_state.back().handle.data,
            std::string("\0inline\xff", 8));

  // Bytes that disagree with the recorded size and checksum (the blob's own checksum recomputed) are refused.
  IncrementalRemoteKeyedStateHandle lying = handle;
  lying.meta_state_handle.data = "META BYTES";
  absl::StatusOr<KeyedStateHandle> refused = ParseKeyedStateHandle(SerializeKeyedStateHandle(lying), "chk-12");
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("meta_state_handle.data"));
  EXPECT_THAT(refused.status().message(), HasSubstr("chk-12"));
}

TEST(StateHandlesTest, ReadingAHandleReturnsInlineBytesWithoutStorageAndRefusesAPlaceholder) {
  class NoStorage : public CheckpointStorage {
   public:
    absl::StatusOr<std::unique_ptr<CheckpointOutputStream>> Create(const std::string&) override {
      return absl::UnimplementedError("no storage");
    }
    absl::StatusOr<std::string> Read(const std::string& path) override {
      return absl::NotFoundError(absl::StrCat("no object ", path));
    }
    absl::Status Delete(const std::string&) override { return absl::UnimplementedError("no storage"); }
    absl::StatusOr<std::vector<std::string>> List(const std::string&) override { return std::vector<std::string>{}; }
    absl::StatusOr<bool> Exists(const std::string&) override { return false; }
    absl::StatusOr<StoredObjectInfo> Stat(const std::string& path) override {
      return absl::NotFoundError(path);
    }
  } storage;
  const StreamStateHandle small = StreamStateHandle::Inline("job/shared/s", "abc");
  EXPECT_EQ(*ReadStreamStateHandle(storage, small, "test"), "abc");
  absl::StatusOr<std::string> file = ReadStreamStateHandle(storage, File("job/shared/f", 3), "the file");
  ASSERT_FALSE(file.ok());
  EXPECT_THAT(file.status().message(), HasSubstr("the file (object job/shared/f)"));
  EXPECT_FALSE(ReadStreamStateHandle(storage, StreamStateHandle::PlaceholderFor(small), "p").ok());
}

// Storage of one object.
class OneObject : public CheckpointStorage {
 public:
  OneObject(std::string path, std::string bytes) : path_(std::move(path)), bytes_(std::move(bytes)) {}
  absl::StatusOr<std::unique_ptr<CheckpointOutputStream>> Create(const std::string&) override {
    return absl::UnimplementedError("read only");
  }
  absl::StatusOr<std::string> Read(const std::string& path) override {
    if (path != path_) return absl::NotFoundError(absl::StrCat("no object ", path));
    return bytes_;
  }
  absl::Status Delete(const std::string&) override { return absl::UnimplementedError("read only"); }
  absl::StatusOr<std::vector<std::string>> List(const std::string&) override { return std::vector<std::string>{path_}; }
  absl::StatusOr<bool> Exists(const std::string& path) override { return path == path_; }
  absl::StatusOr<StoredObjectInfo> Stat(const std::string& path) override {
    return StoredObjectInfo{path, bytes_.size(), Crc32c(bytes_)};
  }

 private:
  std::string path_;
  std::string bytes_;
};

TEST(StateHandlesTest, ASegmentIsReadFromItsPhysicalFileByOffsetAndLengthAndChecked) {
  OneObject storage("job/shared/p", "headerSEGMENTtrailer");
  const StreamStateHandle segment =
      StreamStateHandle::Segment("job/shared/p", 6, 7, Crc32c("SEGMENT"), "logical-2", /*exclusive=*/false);
  EXPECT_FALSE(segment.in_storage()) << "never deleted as an object of its own";
  EXPECT_TRUE(segment.reads_storage());
  EXPECT_EQ(*ReadStreamStateHandle(storage, segment, "the segment"), "SEGMENT");
  StreamStateHandle shifted = segment;
  shifted.offset = 5;
  absl::StatusOr<std::string> wrong = ReadStreamStateHandle(storage, shifted, "the segment");
  EXPECT_TRUE(absl::IsDataLoss(wrong.status())) << wrong.status();
  EXPECT_THAT(wrong.status().message(), HasSubstr("segment of job/shared/p"));
  StreamStateHandle beyond = segment;
  beyond.offset = 15;
  absl::StatusOr<std::string> past = ReadStreamStateHandle(storage, beyond, "the segment");
  EXPECT_TRUE(absl::IsDataLoss(past.status())) << past.status();
  EXPECT_THAT(past.status().message(), HasSubstr("the physical file has 20 bytes"));
}

}  // namespace
}  // namespace snapsim
