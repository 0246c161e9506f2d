#include "backend/resource_guard.h"

#include <atomic>
#include <optional>

#include <gtest/gtest.h>

namespace snapsim {
namespace {

TEST(ResourceGuardTest, CloseWaitsForLeasesAndRefusesNewOnes) {
  ThreadRuntime runtime;
  ResourceGuard guard(&runtime);
  std::atomic<bool> released{false};
  auto lease = std::make_unique<std::optional<ResourceGuard::Lease>>(*guard.Acquire("test"));
  EXPECT_EQ(guard.leases(), 1);
  runtime.Spawn("holder", [&] {
    runtime.SleepForMicros(20000);
    released = true;
    lease->reset();
  });
  guard.Close();
  EXPECT_TRUE(released.load());  // Close returned only after the lease was given back
  EXPECT_EQ(guard.leases(), 0);
  absl::StatusOr<ResourceGuard::Lease> refused = guard.Acquire("snapshot");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(ResourceGuardTest, CloseWithoutLeasesReturnsAtOnce) {
  ResourceGuard guard(nullptr);
  { auto lease = guard.Acquire("a"); }
  guard.Close();
  EXPECT_EQ(guard.leases(), 0);
}

}  // namespace
}  // namespace snapsim
