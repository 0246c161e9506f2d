// ThreadRuntime: the real-threads side of the runtime seam. Not part of the simulated path.
#include <chrono>
#include <cstdio>
#include <random>
#include <condition_variable>
#include <thread>
#include <vector>

#include "backend/runtime.h"

namespace snapsim {
namespace {

class ThreadSignal : public Signal {
 public:
  void Notify() override {
    std::lock_guard<std::mutex> lock(mutex_);
    notified_ = true;
    condition_.notify_all();
  }
  void Wait() override {
    std::unique_lock<std::mutex> lock(mutex_);
    condition_.wait(lock, [this] { return notified_; });
  }
  bool IsNotified() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return notified_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable condition_;
  bool notified_ = false;
};

}  // namespace

struct ThreadRuntime::Threads {
  std::mutex mutex;
  std::vector<std::thread> threads;
  std::mt19937_64 id_generator{std::random_device{}()};
};

ThreadRuntime::ThreadRuntime() : threads_(std::make_unique<Threads>()) {}

ThreadRuntime::~ThreadRuntime() {
  // Activities may spawn activities: join until none are left.
  for (;;) {
    std::vector<std::thread> to_join;
    {
      std::lock_guard<std::mutex> lock(threads_->mutex);
      to_join.swap(threads_->threads);
    }
    if (to_join.empty()) return;
    for (std::thread& thread : to_join) thread.join();
  }
}

void ThreadRuntime::Spawn(std::string /*name*/, std::function<void()> body) {
  std::lock_guard<std::mutex> lock(threads_->mutex);
  threads_->threads.emplace_back(std::move(body));
}

std::shared_ptr<Signal> ThreadRuntime::NewSignal() { return std::make_shared<ThreadSignal>(); }

int64_t ThreadRuntime::NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void ThreadRuntime::SleepForMicros(int64_t micros) {
  std::this_thread::sleep_for(std::chrono::microseconds(micros));
}

void ThreadRuntime::Yield() { std::this_thread::yield(); }

std::string ThreadRuntime::NewUniqueId() {
  std::lock_guard<std::mutex> lock(threads_->mutex);
  char buffer[33];
  std::snprintf(buffer, sizeof(buffer), "%016llx%016llx",
                static_cast<unsigned long long>(threads_->id_generator()),
                static_cast<unsigned long long>(threads_->id_generator()));
  return buffer;
}

rocksdb::Status ThreadRuntime::RunBlockingRocksDbCall(const std::function<rocksdb::Status()>& call) {
  return call();
}

}  // namespace snapsim
