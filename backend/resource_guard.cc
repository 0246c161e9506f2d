#include "backend/resource_guard.h"

#include "absl/strings/str_cat.h"

namespace snapsim {

absl::StatusOr<ResourceGuard::Lease> ResourceGuard::Acquire(const std::string& purpose) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_) return absl::FailedPreconditionError(absl::StrCat("cannot ", purpose, ": the backend is closing"));
  ++leases_;
  return Lease(this);
}

void ResourceGuard::Release() {
  std::shared_ptr<Signal> to_notify;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (--leases_ > 0) return;
    to_notify = all_released_;
  }
  released_.notify_all();
  if (to_notify != nullptr) to_notify->Notify();
}

void ResourceGuard::Close() {
  std::shared_ptr<Signal> wait_for;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    closed_ = true;
    if (leases_ == 0) return;
    if (runtime_ == nullptr) {
      released_.wait(lock, [this] { return leases_ == 0; });
      return;
    }
    if (all_released_ == nullptr) all_released_ = runtime_->NewSignal();
    wait_for = all_released_;
  }
  wait_for->Wait();
}

int ResourceGuard::leases() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return leases_;
}

}  // namespace snapsim
