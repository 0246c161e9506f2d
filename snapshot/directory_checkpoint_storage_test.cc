#include "snapshot/directory_checkpoint_storage.h"

#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "backend/local_files.h"
#include "gtest/gtest.h"
#include "rocksdb/env.h"

namespace snapsim {
namespace {

std::string FreshRoot() {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string root = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/directory_checkpoint_storage_test/",
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
  (void)DeleteRecursively(rocksdb::Env::Default(), root);
  EXPECT_TRUE(CreateDirectories(rocksdb::Env::Default(), root).ok());
  return root;
}

TEST(DirectoryCheckpointStorageSyncTest, ASyncedPrefixIsReadableWhileTheFileStaysOpen) {
  DirectoryCheckpointStorage storage(FreshRoot());
  absl::StatusOr<std::unique_ptr<CheckpointOutputStream>> stream = storage.Create("shared/physical");
  ASSERT_TRUE(stream.ok()) << stream.status();
  ASSERT_TRUE((*stream)->Write("segment-1").ok());
  EXPECT_FALSE(*storage.Exists("shared/physical")) << "in progress until the first sync";
  absl::StatusOr<StoredObjectInfo> synced = (*stream)->Sync();
  ASSERT_TRUE(synced.ok()) << synced.status();
  EXPECT_EQ(*storage.Read("shared/physical"), "segment-1");
  EXPECT_EQ(storage.Stat("shared/physical")->checksum, synced->checksum);
  ASSERT_TRUE((*stream)->Write("segment-2").ok());
  ASSERT_TRUE((*stream)->Sync().ok());
  EXPECT_EQ(*storage.Read("shared/physical"), "segment-1segment-2");
  ASSERT_TRUE((*stream)->Write("segment-3").ok());
  absl::StatusOr<StoredObjectInfo> finished = (*stream)->Finish();
  ASSERT_TRUE(finished.ok()) << finished.status();
  EXPECT_EQ(*storage.Read("shared/physical"), "segment-1segment-2segment-3");
  EXPECT_EQ(storage.Stat("shared/physical")->checksum, finished->checksum);
  EXPECT_EQ(*storage.List("shared/"), std::vector<std::string>{"shared/physical"});
}

TEST(DirectoryCheckpointStorageSyncTest, ACancelledFileKeepsWhatItSyncedAndAnUnsyncedOneGoes) {
  DirectoryCheckpointStorage storage(FreshRoot());
  absl::StatusOr<std::unique_ptr<CheckpointOutputStream>> synced = storage.Create("shared/synced");
  ASSERT_TRUE(synced.ok());
  ASSERT_TRUE((*synced)->Write("kept").ok());
  ASSERT_TRUE((*synced)->Sync().ok());
  (*synced)->Cancel();
  EXPECT_EQ(*storage.Read("shared/synced"), "kept");
  absl::StatusOr<std::unique_ptr<CheckpointOutputStream>> unsynced = storage.Create("shared/unsynced");
  ASSERT_TRUE(unsynced.ok());
  ASSERT_TRUE((*unsynced)->Write("gone").ok());
  (*unsynced)->Cancel();
  EXPECT_EQ(*storage.List("shared/"), std::vector<std::string>{"shared/synced"});
}

}  // namespace
}  // namespace snapsim
