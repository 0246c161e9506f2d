#include "sim/sim_object_store.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "sim/prng.h"
#include "sim/sim_scheduler.h"

namespace snapsim {
namespace {

// Runs `body` as an activity of a fresh simulation over a store whose faults `injector` decides.
void InStore(const std::function<void(SimObjectStore&)>& body, ObjectStoreFaultInjector injector = nullptr) {
  SimScheduler scheduler(7);
  SimObjectStore store(&scheduler, Prng(7).Child("object-store"));
  if (injector) store.SetFaultInjector(std::move(injector));
  scheduler.Spawn("test", [&] { body(store); });
  ASSERT_TRUE(scheduler.RunUntilQuiescent().quiescent);
}

// Every sync gets `effect`.
ObjectStoreFaultInjector EverySync(ObjectStoreFault::Effect effect) {
  return [effect](const ObjectStoreOperation& operation) {
    ObjectStoreFault fault;
    if (operation.kind == ObjectStoreOperationKind::kSync) {
      fault.effect = effect;
      fault.status = absl::UnavailableError("injected: sync fault");
    }
    return fault;
  };
}

// A physical file of checkpoint file merging: segments appended and synced one after another, finished at the end.
TEST(SimObjectStoreSyncTest, ASyncedPrefixIsReadableWhileTheStreamStaysOpen) {
  InStore([](SimObjectStore& store) {
    absl::StatusOr<std::unique_ptr<CheckpointOutputStream>> stream = store.Create("shared/physical");
    ASSERT_TRUE(stream.ok()) << stream.status();
    ASSERT_TRUE((*stream)->Write("segment-1").ok());
    EXPECT_FALSE(store.Inspect("shared/physical").has_value()) << "nothing is there before the first sync";
    absl::StatusOr<StoredObjectInfo> first = (*stream)->Sync();
    ASSERT_TRUE(first.ok()) << first.status();
    EXPECT_EQ(first->size_bytes, 9u);
    EXPECT_EQ(*store.Read("shared/physical"), "segment-1");
    ASSERT_TRUE((*stream)->Write("segment-2").ok());
    EXPECT_EQ(*store.Read("shared/physical"), "segment-1") << "unsynced bytes are not visible";
    ASSERT_TRUE((*stream)->Sync().ok());
    EXPECT_EQ(*store.Read("shared/physical"), "segment-1segment-2");
    ASSERT_TRUE((*stream)->Write("segment-3").ok());
    absl::StatusOr<StoredObjectInfo> finished = (*stream)->Finish();
    ASSERT_TRUE(finished.ok()) << finished.status();
    EXPECT_EQ(finished->size_bytes, 27u);
    EXPECT_EQ(store.Inspect("shared/physical")->checksum, finished->checksum);
    EXPECT_EQ(*store.Read("shared/physical"), "segment-1segment-2segment-3");
  });
}

TEST(SimObjectStoreSyncTest, ACancelledStreamLeavesWhatItSynced) {
  InStore([](SimObjectStore& store) {
    absl::StatusOr<std::unique_ptr<CheckpointOutputStream>> stream = store.Create("shared/physical");
    ASSERT_TRUE(stream.ok());
    ASSERT_TRUE((*stream)->Write("kept").ok());
    ASSERT_TRUE((*stream)->Sync().ok());
    ASSERT_TRUE((*stream)->Write("lost").ok());
    (*stream)->Cancel();
    EXPECT_TRUE(absl::IsCancelled((*stream)->Sync().status()));
    EXPECT_EQ(*store.Read("shared/physical"), "kept");
  });
}

TEST(SimObjectStoreSyncTest, AFailedSyncMayHaveMadePartOrAllOfTheNewBytesDurable) {
  // Every sync is cut short: the earlier synced bytes stay, half of the new ones join them.
  InStore(
      [](SimObjectStore& store) {
        absl::StatusOr<std::unique_ptr<CheckpointOutputStream>> stream = store.Create("shared/physical");
        ASSERT_TRUE(stream.ok());
        ASSERT_TRUE((*stream)->Write("abcd").ok());
        EXPECT_FALSE((*stream)->Sync().ok());
        EXPECT_EQ(*store.Read("shared/physical"), "ab");
        ASSERT_TRUE((*stream)->Write("efgh").ok());
        EXPECT_FALSE((*stream)->Sync().ok());
        EXPECT_EQ(*store.Read("shared/physical"), "abcde");  // 2 synced + half of the 6 after them
      },
      EverySync(ObjectStoreFault::Effect::kPartial));
  // A sync failing before it takes effect makes nothing durable.
  InStore(
      [](SimObjectStore& store) {
        absl::StatusOr<std::unique_ptr<CheckpointOutputStream>> stream = store.Create("shared/physical");
        ASSERT_TRUE(stream.ok());
        ASSERT_TRUE((*stream)->Write("abcd").ok());
        EXPECT_FALSE((*stream)->Sync().ok());
        EXPECT_FALSE(store.Inspect("shared/physical").has_value());
      },
      EverySync(ObjectStoreFault::Effect::kFailBefore));
}

}  // namespace
}  // namespace snapsim
