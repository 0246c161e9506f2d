#include "snapshot/closeable_registry.h"

#include <vector>

namespace snapsim {

std::optional<uint64_t> CloseableRegistry::Register(Closer closer) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!closed_) {
      const uint64_t token = ++next_token_;
      closers_[token] = std::move(closer);
      return token;
    }
  }
  closer();
  return std::nullopt;
}

bool CloseableRegistry::Unregister(uint64_t token) {
  std::lock_guard<std::mutex> lock(mutex_);
  return closers_.erase(token) > 0;
}

void CloseableRegistry::Close() {
  std::map<uint64_t, Closer> to_close;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return;
    closed_ = true;
    to_close.swap(closers_);
  }
  // Closers may wait (a storage delete takes virtual time): run them without holding the lock.
  for (auto it = to_close.rbegin(); it != to_close.rend(); ++it) it->second();
}

bool CloseableRegistry::closed() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return closed_;
}

}  // namespace snapsim
