#include <atomic>
#include <chrono>
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

TEST(ThreadRuntimeTest, DestructionEndsLongSleeps) {
  std::atomic<bool> woke{false};
  const auto start = std::chrono::steady_clock::now();
  {
    ThreadRuntime runtime;
    runtime.Spawn("timer", [&] {
      runtime.SleepForMicros(60'000'000);  // a checkpoint timeout
      woke = true;
    });
    runtime.SleepForMicros(10'000);
  }
  EXPECT_TRUE(woke.load());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
}

TEST(ThreadRuntimeTest, IdleOnlyOnceShortSleepersAndRunnersAreDone) {
  ThreadRuntime runtime;
  std::atomic<int> done{0};
  Promise<int> never(runtime);
  runtime.Spawn("long-timer", [&] { runtime.SleepForMicros(60'000'000); });
  runtime.Spawn("waiter", [&, future = never.GetFuture()] { (void)future; });
  for (int i = 0; i < 4; ++i) {
    runtime.Spawn("message", [&] {
      runtime.SleepForMicros(20'000);
      done.fetch_add(1);
    });
  }
  // The 60 s timer is beyond the horizon; the 20 ms messages are not.
  ASSERT_TRUE(runtime.WaitUntilIdle(/*horizon_micros=*/1'000'000, /*limit_micros=*/10'000'000));
  EXPECT_EQ(done.load(), 4);
  // A horizon past the long timer: never idle while it sleeps.
  EXPECT_FALSE(runtime.WaitUntilIdle(/*horizon_micros=*/120'000'000, /*limit_micros=*/100'000));
  never.Set(1);
}

// A checkpoint's canceller (a 60 s timer) ends once its checkpoint is decided, so the job is idle at once even for a
// horizon past the timer; an undecided one keeps it busy.
TEST(ThreadRuntimeTest, CancelledTimerEndsEarlyAndLeavesTheJobIdle) {
  ThreadRuntime runtime;
  Promise<int> decided(runtime);
  std::atomic<bool> timer_done{false};
  runtime.Spawn("canceller", [&, future = decided.GetFuture()] {
    runtime.SleepForMicrosUnless(60'000'000, [&future] { return future.IsReady(); });
    timer_done = true;
  });
  EXPECT_FALSE(runtime.WaitUntilIdle(/*horizon_micros=*/120'000'000, /*limit_micros=*/50'000));
  EXPECT_FALSE(timer_done.load());
  decided.Set(1);
  ASSERT_TRUE(runtime.WaitUntilIdle(/*horizon_micros=*/120'000'000, /*limit_micros=*/10'000'000));
  EXPECT_TRUE(timer_done.load());
}

}  // namespace
}  // namespace snapsim
