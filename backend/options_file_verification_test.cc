#include "backend/options_file_verification.h"

#include <dlfcn.h>

#include <memory>
#include <thread>
#include <string>
#include <vector>

#include "backend/backend_options.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"

namespace snapsim {
namespace {

// Tears every OPTIONS file RocksDB writes while `tear` is set: only the first half of each append reaches it, and
// the write still reports success (PersistRocksDBOptions does not look at it anyway).
class TearingFileSystem : public rocksdb::FileSystemWrapper {
 public:
  explicit TearingFileSystem(const std::shared_ptr<rocksdb::FileSystem>& target) : FileSystemWrapper(target) {}
  const char* Name() const override { return "TearingFileSystem"; }

  rocksdb::IOStatus NewWritableFile(const std::string& name, const rocksdb::FileOptions& options,
                                    std::unique_ptr<rocksdb::FSWritableFile>* result,
                                    rocksdb::IODebugContext* debug) override {
    rocksdb::IOStatus status = target()->NewWritableFile(name, options, result, debug);
    if (status.ok() && tear && name.find("/OPTIONS-") != std::string::npos) {
      *result = std::make_unique<TornFile>(std::move(*result));
    }
    return status;
  }

  bool tear = false;

 private:
  class TornFile : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    explicit TornFile(std::unique_ptr<rocksdb::FSWritableFile>&& file) : FSWritableFileOwnerWrapper(std::move(file)) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& data, const rocksdb::IOOptions& options,
                             rocksdb::IODebugContext* debug) override {
      return target()->Append(rocksdb::Slice(data.data(), data.size() / 2), options, debug);
    }
  };
};

class OptionsFileVerificationTest : public ::testing::Test {
 protected:
  OptionsFileVerificationTest()
      : memory_(rocksdb::NewMemEnv(rocksdb::Env::Default())),
        file_system_(std::make_shared<TearingFileSystem>(memory_->GetFileSystem())),
        env_(rocksdb::NewCompositeEnv(file_system_)) {}

  // Opens (creating) a DB with three column families as a task does, and closes it.
  rocksdb::Status OpenAndClose(const std::string& path, bool fail_if_options_file_error = false,
                               std::vector<const char*> names = {"default", "counts", "lists"}) {
    rocksdb::DBOptions options = MakeDbOptions(OptionsPreset::kSimulation);
    options.env = env_.get();
    options.fail_if_options_file_error = fail_if_options_file_error;
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    for (const char* name : names) {
      families.emplace_back(name, MakeColumnFamilyOptions(OptionsPreset::kSimulation));
    }
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    rocksdb::Status status = rocksdb::DB::Open(options, path, families, &handles, &db);
    if (!status.ok()) return status;
    for (rocksdb::ColumnFamilyHandle* handle : handles) db->DestroyColumnFamilyHandle(handle);
    status = db->Close();
    delete db;
    return status;
  }

  std::unique_ptr<rocksdb::Env> memory_;
  std::shared_ptr<TearingFileSystem> file_system_;
  std::unique_ptr<rocksdb::Env> env_;
};

TEST_F(OptionsFileVerificationTest, AnOptionsFileEqualToOneVerifiedBeforeIsNotParsedAgain) {
  const OptionsFileVerifications before = OptionsFileVerificationCounts();
  ASSERT_TRUE(OpenAndClose("/db/one").ok());
  const OptionsFileVerifications after_first = OptionsFileVerificationCounts();
  // The replacement took RocksDB's place (if not, every count stays put and this program parses every file).
  EXPECT_GT(after_first.parsed + after_first.reused, before.parsed + before.reused);
  ASSERT_TRUE(OpenAndClose("/db/one").ok());  // reopened: the same options, the same column families
  ASSERT_TRUE(OpenAndClose("/db/two").ok());  // another DB with them
  const OptionsFileVerifications after_three = OptionsFileVerificationCounts();
  EXPECT_EQ(after_three.parsed, after_first.parsed);
  EXPECT_GE(after_three.reused, after_first.reused + 2);
  EXPECT_EQ(after_three.failed, before.failed);
}

TEST_F(OptionsFileVerificationTest, ATornOptionsFileStillFailsItsCheckAfterGoodOnes) {
  ASSERT_TRUE(OpenAndClose("/db/good").ok());
  file_system_->tear = true;
  // With fail_if_options_file_error (RocksDB 8's default), the failed check fails the open, as RocksDB's own does.
  // The default column family only: a DB::Open failing after it created column families trips RocksDB 7.8.3's
  // assertion in ~ColumnFamilySet (last_ref).
  OptionsFileVerifications before = OptionsFileVerificationCounts();
  rocksdb::Status status = OpenAndClose("/db/torn", /*fail_if_options_file_error=*/true, {"default"});
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.ToString().find("Unable to persist options"), std::string::npos) << status.ToString();
  EXPECT_GT(OptionsFileVerificationCounts().failed, before.failed);
  // Without it (7.8's default, snapsim's options), RocksDB logs the failed check and opens the DB anyway.
  before = OptionsFileVerificationCounts();
  EXPECT_TRUE(OpenAndClose("/db/torn-too").ok());
  EXPECT_GT(OptionsFileVerificationCounts().failed, before.failed);
  file_system_->tear = false;
  before = OptionsFileVerificationCounts();
  EXPECT_TRUE(OpenAndClose("/db/good", /*fail_if_options_file_error=*/true).ok()) << "an intact file verifies again";
  EXPECT_EQ(OptionsFileVerificationCounts().failed, before.failed);
}

TEST(CpuCountTest, TheCountOfOnlineCpusIsGlibcsAnswerAskedOnce) {
  using Function = int (*)();
  void* libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
  ASSERT_NE(libc, nullptr);
  auto glibc = reinterpret_cast<Function>(dlsym(libc, "get_nprocs"));
  ASSERT_NE(glibc, nullptr);
  const uint64_t before = CpuCountQueries();
  EXPECT_EQ(std::thread::hardware_concurrency(), static_cast<unsigned>(glibc()));
  EXPECT_EQ(std::thread::hardware_concurrency(), static_cast<unsigned>(glibc()));
  EXPECT_EQ(CpuCountQueries(), before + 2) << "std::thread::hardware_concurrency() did not reach the cached count";
}

}  // namespace
}  // namespace snapsim
