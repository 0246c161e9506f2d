#include "sim/sim_scheduler.h"

#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"

namespace snapsim {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Two activities, each appending its letter at three wait points. Returns the interleaving.
std::string Interleaving(uint64_t seed) {
  SimScheduler scheduler(seed);
  std::string order;
  for (char letter : {'a', 'b'}) {
    scheduler.Spawn(std::string(1, letter), [&scheduler, &order, letter] {
      for (int i = 0; i < 6; ++i) {
        order.push_back(letter);
        scheduler.Yield();
      }
    });
  }
  const QuiescenceReport report = scheduler.RunUntilQuiescent();
  EXPECT_TRUE(report.quiescent) << report.ToString();
  EXPECT_TRUE(report.pending.empty()) << report.ToString();
  return order;
}

TEST(SimSchedulerTest, SameSeedSameInterleavingOtherSeedsDiffer) {
  const std::string first = Interleaving(1);
  EXPECT_EQ(first.size(), 12u);
  EXPECT_EQ(Interleaving(1), first);
  std::set<std::string> orders;
  for (uint64_t seed = 1; seed <= 8; ++seed) orders.insert(Interleaving(seed));
  EXPECT_GT(orders.size(), 1u) << "every seed produced " << first;
}

TEST(SimSchedulerTest, SleepersWakeInVirtualTimeOrderAndTimeAdvances) {
  SimScheduler scheduler(9);
  std::vector<std::string> wakeups;
  const int64_t delays[] = {300, 100, 200};
  for (int i = 0; i < 3; ++i) {
    scheduler.Spawn("sleeper", [&scheduler, &wakeups, delay = delays[i]] {
      scheduler.SleepForMicros(delay);
      wakeups.push_back(std::to_string(delay) + "@" + std::to_string(scheduler.NowMicros()));
    });
  }
  EXPECT_TRUE(scheduler.RunUntilQuiescent().quiescent);
  EXPECT_THAT(wakeups, ElementsAre("100@100", "200@200", "300@300"));
  EXPECT_EQ(scheduler.NowMicros(), 300);
}

TEST(SimSchedulerTest, FuturesConnectActivitiesAndMainCanWaitOnThem) {
  SimScheduler scheduler(4);
  Future<int> slow = SpawnWithResult<int>(scheduler, "slow", [&scheduler] {
    scheduler.SleepForMicros(50);
    return 6;
  });
  Future<int> dependent = SpawnWithResult<int>(scheduler, "dependent", [slow] { return slow.Get() * 7; });
  // Main is an activity too: waiting on a future runs the others until it is ready.
  EXPECT_EQ(dependent.Get(), 42);
  EXPECT_TRUE(scheduler.RunUntilQuiescent().quiescent);
}

TEST(SimSchedulerTest, AWaitNobodyEndsIsWokenAtItsHorizonWhileTimersKeepFiring) {
  SimScheduler scheduler(5);
  std::shared_ptr<Signal> never = scheduler.NewSignal();
  bool stop = false;
  int ticks = 0;
  // A periodic trigger: there is always a timer, so the run never comes to a standstill.
  scheduler.Spawn("ticker", [&] {
    while (!stop) {
      scheduler.SleepForMicros(40'000);
      ++ticks;
    }
  });
  scheduler.SetWaitHorizon(1'000'000);
  EXPECT_FALSE(never->WaitUnlessDeadlocked()) << "woken at the horizon, as on a deadlock";
  EXPECT_TRUE(scheduler.wait_horizon_reached());
  EXPECT_LE(scheduler.NowMicros(), 1'000'000) << "the clock does not pass the horizon";
  EXPECT_EQ(ticks, 25);
  // Without a horizon, a signal notified later is waited for as before.
  scheduler.SetWaitHorizon(INT64_MAX);
  EXPECT_FALSE(scheduler.wait_horizon_reached());
  scheduler.Spawn("notifier", [&] {
    scheduler.SleepForMicros(100'000);
    never->Notify();
  });
  EXPECT_TRUE(never->WaitUnlessDeadlocked());
  EXPECT_FALSE(scheduler.wait_horizon_reached());
  stop = true;
  EXPECT_TRUE(scheduler.RunUntilQuiescent().quiescent);
}

TEST(SimSchedulerTest, RuntimeMutexKeepsCriticalSectionsWholeAcrossSchedulingPoints) {
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    SimScheduler scheduler(seed);
    RuntimeMutex mutex(scheduler);
    std::string log;
    for (char letter : {'a', 'b', 'c'}) {
      scheduler.Spawn(std::string(1, letter), [&, letter] {
        for (int round = 0; round < 2; ++round) {
          RuntimeMutexLock lock(mutex);
          log.push_back(letter);
          scheduler.SleepForMicros(10);  // a storage call while holding the lock
          scheduler.Yield();
          log.push_back(static_cast<char>(letter - 'a' + 'A'));
        }
      });
    }
    const QuiescenceReport report = scheduler.RunUntilQuiescent();
    ASSERT_TRUE(report.quiescent && report.pending.empty()) << report.ToString();
    ASSERT_EQ(log.size(), 12u);
    // Every critical section is "xX": no other activity entered while one held the mutex.
    for (size_t i = 0; i < log.size(); i += 2) {
      EXPECT_EQ(log[i + 1], static_cast<char>(log[i] - 'a' + 'A')) << "seed " << seed << ": " << log;
    }
  }
}

TEST(SimSchedulerTest, QuiescenceReportsActivitiesWaitingForeverByName) {
  SimScheduler scheduler(2);
  std::shared_ptr<Signal> never = scheduler.NewSignal();
  scheduler.Spawn("waits-for-lost-notification", [never] { never->Wait(); });
  const QuiescenceReport report = scheduler.RunUntilQuiescent();
  EXPECT_TRUE(report.quiescent);
  ASSERT_EQ(report.pending.size(), 1u);
  EXPECT_THAT(report.pending[0], HasSubstr("waits-for-lost-notification (blocked on signal#"));
  // The notification arrives late: the activity finishes.
  never->Notify();
  EXPECT_TRUE(scheduler.RunUntilQuiescent().pending.empty());
}

TEST(SimSchedulerTest, StepLimitStopsARunThatNeverQuiesces) {
  SimScheduler scheduler(3);
  bool stop = false;
  scheduler.Spawn("spinner", [&] {
    while (!stop) scheduler.Yield();
  });
  const QuiescenceReport report = scheduler.RunUntilQuiescent(/*step_limit=*/100);
  EXPECT_FALSE(report.quiescent);
  EXPECT_LE(report.steps, 102u);
  EXPECT_THAT(report.ToString(), HasSubstr("step limit reached"));
  EXPECT_THAT(report.ToString(), HasSubstr("spinner"));
  stop = true;
  EXPECT_TRUE(scheduler.RunUntilQuiescent().quiescent);
}

TEST(SimSchedulerTest, TraceHashRepeatsForTheSameSeed) {
  auto hash_of = [](uint64_t seed) {
    SimScheduler scheduler(seed);
    for (int i = 0; i < 4; ++i) {
      scheduler.Spawn("worker", [&scheduler, i] {
        scheduler.SleepForMicros(10 * (i % 2));
        scheduler.Yield();
      });
    }
    scheduler.RunUntilQuiescent();
    return scheduler.trace().hash();
  };
  EXPECT_EQ(hash_of(17), hash_of(17));
  EXPECT_NE(hash_of(17), hash_of(18));
}

TEST(SimSchedulerTest, BackgroundJobsRunOnAnActivityAndCanBeUnscheduled) {
  SimScheduler scheduler(6);
  static int runs = 0;
  static int unscheduled = 0;
  runs = 0;
  unscheduled = 0;
  int tag_a = 0;
  int tag_b = 0;
  scheduler.EnqueueBackgroundJob([](void*) { ++runs; }, nullptr, &tag_a, nullptr);
  scheduler.EnqueueBackgroundJob([](void*) { ++runs; }, nullptr, &tag_b, [](void*) { ++unscheduled; });
  EXPECT_EQ(scheduler.QueuedBackgroundJobs(), 2);
  EXPECT_EQ(scheduler.UnscheduleBackgroundJobs(&tag_b), 1);
  EXPECT_EQ(unscheduled, 1);
  EXPECT_TRUE(scheduler.RunUntilQuiescent().quiescent);
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(scheduler.QueuedBackgroundJobs(), 0);
}

// Issue #15: an activity's OS thread runs the next activity spawned once it is done, so a run starts about as many
// threads as it has activities alive at once; the interleaving (the trace hash) is the same as with a thread each.
TEST(SimSchedulerTest, FinishedActivitiesThreadsRunTheNextOnes) {
  SimScheduler scheduler(8);
  int ran = 0;
  for (int round = 0; round < 50; ++round) {
    scheduler.Spawn(absl::StrCat("one-", round), [&] {
      scheduler.SleepForMicros(10);
      ++ran;
    });
    ASSERT_TRUE(scheduler.RunUntilQuiescent().quiescent);
  }
  EXPECT_EQ(ran, 50);
  EXPECT_EQ(scheduler.activities_spawned(), 50u);
  EXPECT_EQ(scheduler.threads_started(), 1u);
  // Five alive at once need five threads; the one parked above is one of them.
  for (int i = 0; i < 5; ++i) {
    scheduler.Spawn(absl::StrCat("together-", i), [&] {
      scheduler.SleepForMicros(100);
      ++ran;
    });
  }
  ASSERT_TRUE(scheduler.RunUntilQuiescent().quiescent);
  EXPECT_EQ(ran, 55);
  EXPECT_EQ(scheduler.threads_started(), 5u);
  // An activity spawned by another reuses a parked thread too, and a blocking RocksDB call's helper is one thread
  // for every call.
  scheduler.Spawn("parent", [&] {
    scheduler.Spawn("child", [&] { ++ran; });
    for (int call = 0; call < 3; ++call) {
      (void)scheduler.RunBlockingRocksDbCall([] { return rocksdb::Status::OK(); });
    }
  });
  ASSERT_TRUE(scheduler.RunUntilQuiescent().quiescent);
  EXPECT_EQ(ran, 56);
  EXPECT_EQ(scheduler.threads_started(), 6u);
}

}  // namespace
}  // namespace snapsim
