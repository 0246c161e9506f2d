#include "sim/sim_file_system.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace snapsim {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using rocksdb::IOStatus;

class SimFileSystemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SimFileSystemOptions options;
    options.machine = "m1";
    options.capacity_bytes = 1000;
    fs_ = SimFileSystem::Create(options);
    ASSERT_TRUE(fs_->CreateDirIfMissing("/data", io_, nullptr).ok());
  }

  void Write(const std::string& path, const std::string& bytes, bool sync) {
    std::unique_ptr<rocksdb::FSWritableFile> file;
    ASSERT_TRUE(fs_->NewWritableFile(path, rocksdb::FileOptions(), &file, nullptr).ok());
    ASSERT_TRUE(file->Append(bytes, io_, nullptr).ok());
    if (sync) {
      ASSERT_TRUE(file->Sync(io_, nullptr).ok());
    }
    ASSERT_TRUE(file->Close(io_, nullptr).ok());
  }

  void FsyncDir(const std::string& path) {
    std::unique_ptr<rocksdb::FSDirectory> directory;
    ASSERT_TRUE(fs_->NewDirectory(path, io_, &directory, nullptr).ok());
    ASSERT_TRUE(directory->Fsync(io_, nullptr).ok());
  }

  std::string Contents(const std::shared_ptr<SimFileSystem>& fs, const std::string& path) {
    std::string contents;
    return fs->ReadWholeFile(path, &contents).ok() ? contents : "<missing>";
  }

  rocksdb::IOOptions io_;
  std::shared_ptr<SimFileSystem> fs_;
};

TEST_F(SimFileSystemTest, CrashKeepsSyncedBytesOfDurableNamesOnly) {
  Write("/data/synced", "durable", /*sync=*/true);
  Write("/data/unsynced", "volatile", /*sync=*/false);
  FsyncDir("/data");
  Write("/data/name-not-durable", "synced bytes", /*sync=*/true);  // created after the directory fsync
  // Appending after a sync: only the synced prefix survives.
  std::unique_ptr<rocksdb::FSWritableFile> file;
  ASSERT_TRUE(fs_->ReopenWritableFile("/data/synced", rocksdb::FileOptions(), &file, nullptr).ok());
  ASSERT_TRUE(file->Append("+tail", io_, nullptr).ok());
  EXPECT_EQ(Contents(fs_, "/data/synced"), "durable+tail");

  std::shared_ptr<SimFileSystem> rebooted = fs_->Crash();
  EXPECT_EQ(Contents(rebooted, "/data/synced"), "durable");
  EXPECT_EQ(Contents(rebooted, "/data/unsynced"), "");  // the name was durable, the bytes were not
  EXPECT_EQ(Contents(rebooted, "/data/name-not-durable"), "<missing>");
  EXPECT_TRUE(rebooted->Exists("/data"));
}

TEST_F(SimFileSystemTest, CrashedInstanceRejectsFurtherUse) {
  std::unique_ptr<rocksdb::FSWritableFile> file;
  ASSERT_TRUE(fs_->NewWritableFile("/data/open", rocksdb::FileOptions(), &file, nullptr).ok());
  std::shared_ptr<SimFileSystem> rebooted = fs_->Crash();
  EXPECT_TRUE(fs_->crashed());
  IOStatus append = file->Append("x", io_, nullptr);
  EXPECT_FALSE(append.ok());
  EXPECT_THAT(append.ToString(), HasSubstr("m1 crashed"));
  EXPECT_FALSE(fs_->FileExists("/data", io_, nullptr).ok());
  EXPECT_TRUE(rebooted->FileExists("/data", io_, nullptr).ok());
}

TEST_F(SimFileSystemTest, HardLinksShareBytesAndSurviveCrashAndDeletion) {
  Write("/data/a.sst", "table", /*sync=*/true);
  ASSERT_TRUE(fs_->CreateDir("/data/checkpoint", io_, nullptr).ok());
  ASSERT_TRUE(fs_->LinkFile("/data/a.sst", "/data/checkpoint/a.sst", io_, nullptr).ok());
  uint64_t links = 0;
  ASSERT_TRUE(fs_->NumFileLinks("/data/a.sst", io_, &links, nullptr).ok());
  EXPECT_EQ(links, 2u);
  bool same = false;
  ASSERT_TRUE(fs_->AreFilesSame("/data/a.sst", "/data/checkpoint/a.sst", io_, &same, nullptr).ok());
  EXPECT_TRUE(same);
  EXPECT_EQ(fs_->UsedBytes(), 5u);  // linked bytes count once
  FsyncDir("/data");
  FsyncDir("/data/checkpoint");
  ASSERT_TRUE(fs_->DeleteFile("/data/a.sst", io_, nullptr).ok());
  FsyncDir("/data");
  ASSERT_TRUE(fs_->NumFileLinks("/data/checkpoint/a.sst", io_, &links, nullptr).ok());
  EXPECT_EQ(links, 1u);
  std::shared_ptr<SimFileSystem> rebooted = fs_->Crash();
  EXPECT_EQ(Contents(rebooted, "/data/checkpoint/a.sst"), "table");
  EXPECT_EQ(Contents(rebooted, "/data/a.sst"), "<missing>");
}

TEST_F(SimFileSystemTest, RenameIsDurableOnlyAfterDirectoryFsync) {
  Write("/data/CURRENT.tmp", "MANIFEST-1", /*sync=*/true);
  FsyncDir("/data");
  ASSERT_TRUE(fs_->RenameFile("/data/CURRENT.tmp", "/data/CURRENT", io_, nullptr).ok());
  EXPECT_EQ(Contents(fs_, "/data/CURRENT"), "MANIFEST-1");
  std::shared_ptr<SimFileSystem> lost = fs_->Crash();
  EXPECT_EQ(Contents(lost, "/data/CURRENT"), "<missing>");
  EXPECT_EQ(Contents(lost, "/data/CURRENT.tmp"), "MANIFEST-1");

  // Same again on the rebooted disk, this time with the directory fsync.
  fs_ = lost;
  ASSERT_TRUE(fs_->RenameFile("/data/CURRENT.tmp", "/data/CURRENT", io_, nullptr).ok());
  FsyncDir("/data");
  std::shared_ptr<SimFileSystem> kept = fs_->Crash();
  EXPECT_EQ(Contents(kept, "/data/CURRENT"), "MANIFEST-1");
  EXPECT_EQ(Contents(kept, "/data/CURRENT.tmp"), "<missing>");
}

TEST_F(SimFileSystemTest, DirectoryRenameMovesContents) {
  ASSERT_TRUE(fs_->CreateDir("/data/chk.tmp", io_, nullptr).ok());
  Write("/data/chk.tmp/MANIFEST", "m", /*sync=*/true);
  ASSERT_TRUE(fs_->RenameFile("/data/chk.tmp", "/data/chk", io_, nullptr).ok());
  std::vector<std::string> children;
  ASSERT_TRUE(fs_->GetChildren("/data", io_, &children, nullptr).ok());
  EXPECT_THAT(children, ElementsAre("chk"));
  EXPECT_EQ(Contents(fs_, "/data/chk/MANIFEST"), "m");
  EXPECT_FALSE(fs_->DeleteDir("/data/chk", io_, nullptr).ok());  // not empty
}

TEST_F(SimFileSystemTest, DiskFullFailsTheAppendAndKeepsEarlierData) {
  Write("/data/big", std::string(900, 'x'), /*sync=*/true);
  std::unique_ptr<rocksdb::FSWritableFile> file;
  ASSERT_TRUE(fs_->NewWritableFile("/data/more", rocksdb::FileOptions(), &file, nullptr).ok());
  IOStatus full = file->Append(std::string(200, 'y'), io_, nullptr);
  EXPECT_TRUE(full.IsNoSpace()) << full.ToString();
  EXPECT_EQ(Contents(fs_, "/data/big").size(), 900u);
  ASSERT_TRUE(fs_->DeleteFile("/data/big", io_, nullptr).ok());
  EXPECT_TRUE(file->Append(std::string(200, 'y'), io_, nullptr).ok());  // space freed
}

// Never more forgiving than a real disk: code that relies on mkdir -p would pass here and fail on POSIX.
TEST_F(SimFileSystemTest, CreatingADirectoryNeedsItsParentAsOnPosix) {
  EXPECT_TRUE(fs_->CreateDirIfMissing("/missing/child", io_, nullptr).IsPathNotFound());
  EXPECT_FALSE(fs_->Exists("/missing"));
  EXPECT_TRUE(fs_->CreateDirIfMissing("/data", io_, nullptr).ok());  // existing: fine
  EXPECT_TRUE(fs_->CreateDirIfMissing("/data/child", io_, nullptr).ok());
}

TEST_F(SimFileSystemTest, LocksAreExclusive) {
  rocksdb::FileLock* lock = nullptr;
  ASSERT_TRUE(fs_->LockFile("/data/LOCK", io_, &lock, nullptr).ok());
  rocksdb::FileLock* second = nullptr;
  EXPECT_FALSE(fs_->LockFile("/data/LOCK", io_, &second, nullptr).ok());
  ASSERT_TRUE(fs_->UnlockFile(lock, io_, nullptr).ok());
  ASSERT_TRUE(fs_->LockFile("/data/LOCK", io_, &second, nullptr).ok());
  ASSERT_TRUE(fs_->UnlockFile(second, io_, nullptr).ok());
}

TEST_F(SimFileSystemTest, EveryOperationPassesTheFaultHookAndTheObserver) {
  std::vector<std::string> observed;
  fs_->SetObserver([&](const FsOperation& operation, const IOStatus& status) {
    observed.push_back(std::string(FsOperationKindName(operation.kind)) + (status.ok() ? "" : "!"));
  });
  fs_->SetFaultHook([](const FsOperation& operation) {
    if (operation.kind == FsOperationKind::kLinkFile) return IOStatus::IOError("injected: link");
    return IOStatus::OK();
  });
  Write("/data/f", "abc", /*sync=*/true);
  IOStatus link = fs_->LinkFile("/data/f", "/data/g", io_, nullptr);
  EXPECT_THAT(link.ToString(), HasSubstr("injected: link"));
  EXPECT_FALSE(fs_->Exists("/data/g"));  // a failed operation takes no effect
  EXPECT_THAT(observed, ElementsAre("create", "append", "sync", "close", "link!"));
}

}  // namespace
}  // namespace snapsim
