// SharedStateRegistry in its FLINK-29913 form; cases after Flink's SharedStateRegistryTest
// (shared/flink/JOBMANAGER_SIDE.md 1.10).
#include "snapshot/shared_state_registry.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace snapsim {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::UnorderedElementsAre;

StreamStateHandle File(const std::string& path, uint64_t size = 100) {
  return StreamStateHandle{StreamStateHandle::Kind::kFile, path, size, static_cast<uint32_t>(size * 7)};
}

IncrementalRemoteKeyedStateHandle Handle(const std::string& backend, int64_t checkpoint_id,
                                         std::vector<HandleAndLocalPath> shared) {
  IncrementalRemoteKeyedStateHandle handle;
  handle.backend_uid = backend;
  handle.key_group_range = KeyGroupRange(0, 63);
  handle.checkpoint_id = checkpoint_id;
  handle.shared_state = std::move(shared);
  return handle;
}

class SharedStateRegistryTest : public ::testing::Test {
 protected:
  SharedStateRegistryTest()
      : registry_([this](std::vector<StreamStateHandle> handles) {
          for (const StreamStateHandle& handle : handles) discarded_.push_back(handle.path);
        }) {}

  std::vector<std::string> discarded_;
  SharedStateRegistry registry_;
};

TEST_F(SharedStateRegistryTest, PlaceholderResolvesToTheRegisteredFile) {
  const StreamStateHandle a = File("job/shared/a");
  ASSERT_EQ(*registry_.RegisterReference(a, 1), a);
  absl::StatusOr<StreamStateHandle> resolved = registry_.RegisterReference(StreamStateHandle::PlaceholderFor(a), 2);
  ASSERT_TRUE(resolved.ok()) << resolved.status();
  EXPECT_EQ(*resolved, a);
  EXPECT_FALSE(resolved->is_placeholder());
  EXPECT_EQ(registry_.Entries().at("job/shared/a"), std::make_pair(int64_t{1}, int64_t{2}));
  EXPECT_THAT(discarded_, IsEmpty());
}

TEST_F(SharedStateRegistryTest, PlaceholderForUnknownStateIsAnErrorNamingIt) {
  absl::StatusOr<StreamStateHandle> resolved =
      registry_.RegisterReference(StreamStateHandle::PlaceholderFor(File("job/shared/gone")), 3);
  ASSERT_FALSE(resolved.ok());
  EXPECT_THAT(resolved.status().message(), HasSubstr("unknown state: job/shared/gone"));
  EXPECT_EQ(registry_.size(), 0u);
}

TEST_F(SharedStateRegistryTest, DifferentFileUnderTheSameKeyIsRejectedAndNothingIsDeleted) {
  ASSERT_TRUE(registry_.RegisterReference(File("job/shared/a", 100), 1).ok());
  absl::StatusOr<StreamStateHandle> other = registry_.RegisterReference(File("job/shared/a", 999), 2);
  ASSERT_FALSE(other.ok());
  EXPECT_THAT(other.status().message(), HasSubstr("should be equal"));
  EXPECT_THAT(discarded_, IsEmpty());
  EXPECT_EQ(registry_.Entries().at("job/shared/a"), std::make_pair(int64_t{1}, int64_t{1}));
}

TEST_F(SharedStateRegistryTest, SameLocalNameFromTwoBackendsOrTwoUploadsNeverCollides) {
  // Two backends, and two concurrent checkpoints of one backend, upload their 000012.sst as distinct objects.
  IncrementalRemoteKeyedStateHandle one = Handle("backend-1", 1, {{File("job/shared/u1"), "000012.sst"}});
  IncrementalRemoteKeyedStateHandle two = Handle("backend-2", 1, {{File("job/shared/u2"), "000012.sst"}});
  IncrementalRemoteKeyedStateHandle again = Handle("backend-1", 2, {{File("job/shared/u3"), "000012.sst"}});
  ASSERT_TRUE(registry_.RegisterAll(&one, 1).ok());
  ASSERT_TRUE(registry_.RegisterAll(&two, 1).ok());
  ASSERT_TRUE(registry_.RegisterAll(&again, 2).ok());
  EXPECT_EQ(registry_.size(), 3u);
  // Checkpoint 1 subsumed by 2: only the files nobody at 2 uses go (FLINK-29913's data loss was u1 going while a
  // retained checkpoint used it).
  EXPECT_THAT(registry_.UnregisterUnusedState(2), IsEmpty());
  EXPECT_THAT(discarded_, UnorderedElementsAre("job/shared/u1", "job/shared/u2"));
  EXPECT_TRUE(registry_.Contains("job/shared/u3"));
}

TEST_F(SharedStateRegistryTest, RegisterAllIsAllOrNothing) {
  const StreamStateHandle known = File("job/shared/known");
  ASSERT_TRUE(registry_.RegisterReference(known, 1).ok());
  IncrementalRemoteKeyedStateHandle handle =
      Handle("b", 2,
             {{File("job/shared/new"), "000020.sst"},
              {StreamStateHandle::PlaceholderFor(known), "000010.sst"},
              {StreamStateHandle::PlaceholderFor(File("job/shared/unknown")), "000011.sst"}});
  const IncrementalRemoteKeyedStateHandle before = handle;
  ASSERT_FALSE(registry_.RegisterAll(&handle, 2).ok());
  EXPECT_EQ(handle, before);
  EXPECT_FALSE(registry_.Contains("job/shared/new"));
  EXPECT_EQ(registry_.Entries().at("job/shared/known").second, 1);

  handle.shared_state.pop_back();
  ASSERT_TRUE(registry_.RegisterAll(&handle, 2).ok());
  // The placeholder became the registered file.
  EXPECT_EQ(handle.shared_state[1].handle, known);
  EXPECT_EQ(registry_.Entries().at("job/shared/known").second, 2);
}

TEST_F(SharedStateRegistryTest, UnusedStateIsDeletedOnlyWhenNoRetainedCheckpointUsesIt) {
  const StreamStateHandle a = File("job/shared/a");
  const StreamStateHandle b = File("job/shared/b");
  ASSERT_TRUE(registry_.RegisterReference(a, 1).ok());
  ASSERT_TRUE(registry_.RegisterReference(b, 1).ok());
  ASSERT_TRUE(registry_.RegisterReference(StreamStateHandle::PlaceholderFor(a), 2).ok());
  EXPECT_THAT(registry_.UnregisterUnusedState(1), IsEmpty());
  EXPECT_THAT(discarded_, IsEmpty());
  EXPECT_THAT(registry_.UnregisterUnusedState(2), IsEmpty());
  EXPECT_THAT(discarded_, ElementsAre("job/shared/b"));
  EXPECT_THAT(registry_.UnregisterUnusedState(3), IsEmpty());
  EXPECT_THAT(discarded_, ElementsAre("job/shared/b", "job/shared/a"));
  EXPECT_EQ(registry_.size(), 0u);
}

TEST_F(SharedStateRegistryTest, RestoredSnapshotNotOwnedIsForgottenButNeverDeleted) {
  for (RestoreMode mode : {RestoreMode::kNoClaim, RestoreMode::kLegacy}) {
    discarded_.clear();
    SharedStateRegistry registry([this](std::vector<StreamStateHandle> handles) {
      for (const StreamStateHandle& handle : handles) discarded_.push_back(handle.path);
    });
    IncrementalRemoteKeyedStateHandle restored = Handle("b", 5, {{File("old-job/shared/r"), "000007.sst"}});
    ASSERT_TRUE(registry.RegisterAllAfterRestored({&restored}, 5, SharingFilesStrategy::kForwardBackward, mode).ok());
    EXPECT_EQ(registry.highest_not_claimed_checkpoint_id(), 5);
    IncrementalRemoteKeyedStateHandle own = Handle("b", 6, {{File("job/shared/n"), "000009.sst"}});
    ASSERT_TRUE(registry.RegisterAll(&own, 6).ok());
    EXPECT_THAT(registry.UnregisterUnusedState(7), IsEmpty());
    EXPECT_THAT(discarded_, ElementsAre("job/shared/n")) << RestoreModeName(mode);
    EXPECT_EQ(registry.size(), 0u);
  }
}

TEST_F(SharedStateRegistryTest, ClaimedRestoredFilesAreDeletedOnceUnused) {
  IncrementalRemoteKeyedStateHandle restored = Handle("b", 5, {{File("old-job/shared/r"), "000007.sst"}});
  ASSERT_TRUE(
      registry_.RegisterAllAfterRestored({&restored}, 5, SharingFilesStrategy::kForwardBackward, RestoreMode::kClaim)
          .ok());
  EXPECT_EQ(registry_.highest_not_claimed_checkpoint_id(), -1);
  // A restored checkpoint (FORWARD_BACKWARD) still in use does not pin itself.
  ASSERT_TRUE(registry_.RegisterReference(StreamStateHandle::PlaceholderFor(restored.shared_state[0].handle), 6).ok());
  EXPECT_THAT(registry_.UnregisterUnusedState(6), IsEmpty());
  EXPECT_THAT(registry_.UnregisterUnusedState(7), IsEmpty());
  EXPECT_THAT(discarded_, ElementsAre("old-job/shared/r"));
}

TEST_F(SharedStateRegistryTest, ClaimedNativeSavepointIsPinnedWhileItsFilesAreInUse) {
  // Flink's test: initial NATIVE savepoint 1 restored, its file reused by 2 and 3, new state at 4.
  IncrementalRemoteKeyedStateHandle savepoint = Handle("b", 1, {{File("savepoint-1/s"), "000003.sst"}});
  ASSERT_TRUE(
      registry_.RegisterAllAfterRestored({&savepoint}, 1, SharingFilesStrategy::kNoSharing, RestoreMode::kClaim).ok());
  const StreamStateHandle placeholder = StreamStateHandle::PlaceholderFor(savepoint.shared_state[0].handle);
  ASSERT_TRUE(registry_.RegisterReference(placeholder, 2).ok());
  ASSERT_TRUE(registry_.RegisterReference(placeholder, 3).ok());
  ASSERT_TRUE(registry_.RegisterReference(File("job/shared/new"), 4).ok());
  EXPECT_THAT(registry_.UnregisterUnusedState(3), ElementsAre(1));
  EXPECT_THAT(discarded_, IsEmpty());
  EXPECT_THAT(registry_.UnregisterUnusedState(4), IsEmpty());
  EXPECT_THAT(discarded_, ElementsAre("savepoint-1/s"));
}

TEST_F(SharedStateRegistryTest, AbortedCheckpointNeitherPinsFilesNorKeepsItsOwnUploads) {
  const StreamStateHandle old_file = File("job/shared/old");
  ASSERT_TRUE(registry_.RegisterReference(old_file, 11).ok());  // checkpoint 11 completes
  // Checkpoint 13 reuses it and uploads a file of its own, then is aborted.
  ASSERT_TRUE(registry_.RegisterReference(StreamStateHandle::PlaceholderFor(old_file), 13).ok());
  ASSERT_TRUE(registry_.RegisterReference(File("job/shared/fresh"), 13).ok());
  registry_.UnregisterAbortedCheckpoint(13);
  EXPECT_THAT(discarded_, ElementsAre("job/shared/fresh"));
  EXPECT_EQ(registry_.Entries().at("job/shared/old").second, 11);
  // Checkpoint 12 (which did not use it) completes and subsumes 11: nothing keeps the file any more. Flink's
  // last-used rule would keep it until a checkpoint above 13 is the lowest retained.
  ASSERT_TRUE(registry_.RegisterReference(File("job/shared/twelve"), 12).ok());
  EXPECT_THAT(registry_.UnregisterUnusedState(12), IsEmpty());
  EXPECT_THAT(discarded_, ElementsAre("job/shared/fresh", "job/shared/old"));
}

TEST_F(SharedStateRegistryTest, ClosedRegistryRefusesRegistrationButStillUnregisters) {
  ASSERT_TRUE(registry_.RegisterReference(File("job/shared/a"), 1).ok());
  registry_.Close();
  EXPECT_THAT(registry_.RegisterReference(File("job/shared/b"), 2).status().message(), HasSubstr("closed"));
  EXPECT_THAT(registry_.UnregisterUnusedState(std::numeric_limits<int64_t>::max()), IsEmpty());
  EXPECT_THAT(discarded_, ElementsAre("job/shared/a"));
}

TEST_F(SharedStateRegistryTest, CheckpointDiscardedAtShutdownFreesItsFilesBesideAnUnclaimedRestoredOne) {
  // A job restored in NO_CLAIM mode from checkpoint 5 keeps that (unclaimed) checkpoint; its own checkpoint 6 reuses
  // nothing of it and is discarded when the job finishes. The lowest retained checkpoint is 5, so
  // UnregisterUnusedState(5) keeps checkpoint 6's file: only unregistering checkpoint 6 itself frees it.
  IncrementalRemoteKeyedStateHandle restored = Handle("b", 5, {{File("old-job/shared/r"), "000007.sst"}});
  ASSERT_TRUE(
      registry_.RegisterAllAfterRestored({&restored}, 5, SharingFilesStrategy::kForwardBackward, RestoreMode::kNoClaim)
          .ok());
  IncrementalRemoteKeyedStateHandle own = Handle("b", 6, {{File("job/shared/n"), "000009.sst"}});
  ASSERT_TRUE(registry_.RegisterAll(&own, 6).ok());
  registry_.Close();
  registry_.UnregisterDiscardedCheckpoint(6);
  EXPECT_THAT(registry_.UnregisterUnusedState(5), IsEmpty());
  EXPECT_THAT(discarded_, ElementsAre("job/shared/n"));
  EXPECT_TRUE(registry_.Contains("old-job/shared/r"));
}

TEST_F(SharedStateRegistryTest, APlaceholderForInlineStateGetsTheBytesBackAndNothingIsEverDeletedForIt) {
  // FLINK-29913 with Flink's ByteStreamStateHandle: small state is registered under its name like a file, a later
  // checkpoint's placeholder resolves to the original inline handle (its bytes go into that checkpoint's metadata
  // too), and unregistering it hands the discarder a handle that names no object.
  const StreamStateHandle small = StreamStateHandle::Inline("job/shared/small", "tiny sst");
  IncrementalRemoteKeyedStateHandle first = Handle("uid", 1, {{small, "000004.sst"}});
  ASSERT_TRUE(registry_.RegisterAll(&first, 1).ok());
  IncrementalRemoteKeyedStateHandle second =
      Handle("uid", 2, {{StreamStateHandle::PlaceholderFor(small), "000004.sst"}});
  ASSERT_TRUE(registry_.RegisterAll(&second, 2).ok());
  EXPECT_EQ(second.shared_state[0].handle, small);
  EXPECT_EQ(second.shared_state[0].handle.data, "tiny sst");
  EXPECT_THAT(registry_.UnregisterUnusedState(3), IsEmpty());
  EXPECT_THAT(discarded_, ElementsAre("job/shared/small"));
}

TEST_F(SharedStateRegistryTest, APendingCheckpointKeepsItsBasesFilesWhenAnOlderOneSubsumesTheBase) {
  // #13 part 1: checkpoint 13 is triggered on base 11 while 12 (triggered on an older base) still uploads its own copy
  // of an SST that 11 holds. 12 completes and subsumes 11; 13's placeholder for 11's copy must still resolve.
  const StreamStateHandle eleven = File("job/shared/x-by-11");
  const StreamStateHandle twelve = File("job/shared/x-by-12");
  IncrementalRemoteKeyedStateHandle c11 = Handle("uid", 11, {{eleven, "000009.sst"}});
  ASSERT_TRUE(registry_.RegisterAll(&c11, 11).ok());
  EXPECT_THAT(registry_.UnregisterUnusedState(11), IsEmpty());
  registry_.HoldForPending(13, /*floor=*/11);  // triggered while 11 was the latest completed
  IncrementalRemoteKeyedStateHandle c12 = Handle("uid", 12, {{twelve, "000009.sst"}});
  ASSERT_TRUE(registry_.RegisterAll(&c12, 12).ok());
  EXPECT_THAT(registry_.UnregisterUnusedState(12), IsEmpty());  // 12 completes, 11 is subsumed
  EXPECT_THAT(discarded_, IsEmpty()) << "13 may still reference 11's copy";
  IncrementalRemoteKeyedStateHandle c13 =
      Handle("uid", 13, {{StreamStateHandle::PlaceholderFor(eleven), "000009.sst"}});
  ASSERT_TRUE(registry_.RegisterAll(&c13, 13).ok());
  EXPECT_EQ(c13.shared_state[0].handle, eleven);
  registry_.ReleasePending(13);
  EXPECT_THAT(discarded_, IsEmpty()) << "13 uses it now";
  EXPECT_THAT(registry_.UnregisterUnusedState(13), IsEmpty());  // 13 completes, 12 is subsumed
  EXPECT_THAT(discarded_, ElementsAre("job/shared/x-by-12"));

  // An aborted pending checkpoint's hold ends with it: what only the hold kept goes at once.
  registry_.HoldForPending(15, /*floor=*/13);
  IncrementalRemoteKeyedStateHandle c14 = Handle("uid", 14, {{File("job/shared/y-by-14"), "000011.sst"}});
  ASSERT_TRUE(registry_.RegisterAll(&c14, 14).ok());
  EXPECT_THAT(registry_.UnregisterUnusedState(14), IsEmpty());
  EXPECT_THAT(discarded_, ElementsAre("job/shared/x-by-12")) << "15 may still reference 13's files";
  // Were the coordinator to die now, 13's file (no retained checkpoint uses it) would be its orphan.
  EXPECT_THAT(registry_.DeferredDeletions({14}), ElementsAre("job/shared/x-by-11"));
  registry_.UnregisterAbortedCheckpoint(15);
  registry_.ReleasePending(15);
  EXPECT_THAT(discarded_, ElementsAre("job/shared/x-by-12", "job/shared/x-by-11"));
}

}  // namespace
}  // namespace snapsim
