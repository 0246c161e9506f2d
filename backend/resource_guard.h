// Flink's ResourceGuard: users of the DB (a snapshot taking its native checkpoint) hold a lease; closing the guard
// refuses new leases and waits until every lease is returned, so the DB is never closed under a snapshot. Waits go
// through the runtime seam (a scheduling point in simulation).
#ifndef SNAPSIM_BACKEND_RESOURCE_GUARD_H_
#define SNAPSIM_BACKEND_RESOURCE_GUARD_H_

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "backend/runtime.h"

namespace snapsim {

class ResourceGuard {
 public:
  class Lease {
   public:
    Lease(Lease&& other) noexcept : guard_(other.guard_) { other.guard_ = nullptr; }
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (guard_ != nullptr) guard_->Release();
    }

   private:
    friend class ResourceGuard;
    explicit Lease(ResourceGuard* guard) : guard_(guard) {}
    ResourceGuard* guard_;
  };

  // `runtime` may be null: then Close waits on a condition variable (real threads only).
  explicit ResourceGuard(Runtime* runtime) : runtime_(runtime) {}

  // FailedPrecondition once Close has begun.
  absl::StatusOr<Lease> Acquire(const std::string& purpose);
  // Refuses new leases and returns when every lease has been released.
  void Close();
  int leases() const;

 private:
  void Release();

  Runtime* runtime_;
  mutable std::mutex mutex_;
  std::condition_variable released_;
  int leases_ = 0;
  bool closed_ = false;
  std::shared_ptr<Signal> all_released_;
};

}  // namespace snapsim

#endif  // SNAPSIM_BACKEND_RESOURCE_GUARD_H_
