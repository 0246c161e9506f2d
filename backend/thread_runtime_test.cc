#include <atomic>
#include <vector>

#include <gtest/gtest.h>

#include "backend/runtime.h"

namespace snapsim {
namespace {

TEST(ThreadRuntimeTest, FuturesCarryResultsOfSpawnedWork) {
  ThreadRuntime runtime;
  std::vector<Future<int>> futures;
  for (int i = 0; i < 8; ++i) {
    futures.push_back(SpawnWithResult<int>(runtime, "square", [i] { return i * i; }));
  }
  for (int i = 0; i < 8; ++i) EXPECT_EQ(futures[i].Get(), i * i);
}

TEST(ThreadRuntimeTest, FirstCompletionWins) {
  ThreadRuntime runtime;
  Promise<int> promise(runtime);
  promise.Set(1);
  promise.Set(2);
  EXPECT_TRUE(promise.GetFuture().IsReady());
  EXPECT_EQ(promise.GetFuture().Get(), 1);
}

TEST(ThreadRuntimeTest, DestructorJoinsActivitiesSpawnedByActivities) {
  std::atomic<int> finished{0};
  {
    ThreadRuntime runtime;
    runtime.Spawn("parent", [&] {
      runtime.SleepForMicros(1000);
      runtime.Spawn("child", [&] { finished.fetch_add(1); });
      finished.fetch_add(1);
    });
  }
  EXPECT_EQ(finished.load(), 2);
}

}  // namespace
}  // namespace snapsim
