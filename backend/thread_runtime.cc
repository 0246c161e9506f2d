// ThreadRuntime: the real-threads side of the runtime seam. Not part of the simulated path.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "backend/runtime.h"

namespace snapsim {

// Shared with the signals it creates (a signal may outlive the runtime).
struct ThreadRuntime::Threads {
  std::mutex mutex;
  // Sleepers wait here; notified when the runtime stops.
  std::condition_variable stopped_or_changed;
  std::map<uint64_t, std::thread> threads;
  std::vector<uint64_t> finished;
  uint64_t next_id = 0;
  bool stopping = false;
  // Activities executing: spawned and not finished, not sleeping, not waiting on a signal.
  int running = 0;
  // Wake times of sleeping activities (steady clock, microseconds).
  std::multiset<int64_t> wake_times;
  std::mt19937_64 id_generator{std::random_device{}()};
};

namespace {

// The runtime whose activity the calling thread is, if any.
thread_local ThreadRuntime::Threads* current_activity_of = nullptr;

int64_t SteadyMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class ThreadSignal : public Signal {
 public:
  explicit ThreadSignal(std::shared_ptr<ThreadRuntime::Threads> threads) : threads_(std::move(threads)) {}
  void Notify() override {
    std::lock_guard<std::mutex> lock(mutex_);
    notified_ = true;
    condition_.notify_all();
  }
  void Wait() override {
    const bool activity = current_activity_of == threads_.get();
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (notified_) return;
    }
    if (activity) {
      std::lock_guard<std::mutex> lock(threads_->mutex);
      --threads_->running;
    }
    {
      std::unique_lock<std::mutex> lock(mutex_);
      condition_.wait(lock, [this] { return notified_; });
    }
    if (activity) {
      std::lock_guard<std::mutex> lock(threads_->mutex);
      ++threads_->running;
    }
  }
  bool IsNotified() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return notified_;
  }

 private:
  std::shared_ptr<ThreadRuntime::Threads> threads_;
  mutable std::mutex mutex_;
  std::condition_variable condition_;
  bool notified_ = false;
};

// Joins the finished threads. REQUIRES: threads->mutex held through `lock`; released while joining.
void JoinFinished(ThreadRuntime::Threads* threads, std::unique_lock<std::mutex>& lock) {
  std::vector<std::thread> to_join;
  for (uint64_t id : threads->finished) {
    auto found = threads->threads.find(id);
    to_join.push_back(std::move(found->second));
    threads->threads.erase(found);
  }
  threads->finished.clear();
  lock.unlock();
  for (std::thread& thread : to_join) thread.join();
  lock.lock();
}

}  // namespace

ThreadRuntime::ThreadRuntime() : threads_(std::make_shared<Threads>()) {}

ThreadRuntime::~ThreadRuntime() {
  std::unique_lock<std::mutex> lock(threads_->mutex);
  threads_->stopping = true;
  threads_->stopped_or_changed.notify_all();
  // Activities may spawn activities: join until none are left.
  for (;;) {
    std::vector<std::thread> to_join;
    for (auto& [id, thread] : threads_->threads) to_join.push_back(std::move(thread));
    threads_->threads.clear();
    threads_->finished.clear();
    if (to_join.empty()) return;
    lock.unlock();
    for (std::thread& thread : to_join) thread.join();
    lock.lock();
  }
}

void ThreadRuntime::Spawn(std::string /*name*/, std::function<void()> body) {
  std::unique_lock<std::mutex> lock(threads_->mutex);
  if (threads_->finished.size() >= 32) JoinFinished(threads_.get(), lock);
  const uint64_t id = ++threads_->next_id;
  ++threads_->running;
  Threads* threads = threads_.get();
  threads_->threads.emplace(id, std::thread([threads, id, body = std::move(body)]() mutable {
    current_activity_of = threads;
    body();
    body = nullptr;  // what the body captured goes before the thread counts as finished
    std::lock_guard<std::mutex> guard(threads->mutex);
    --threads->running;
    threads->finished.push_back(id);
  }));
}

std::shared_ptr<Signal> ThreadRuntime::NewSignal() { return std::make_shared<ThreadSignal>(threads_); }

int64_t ThreadRuntime::NowMicros() { return SteadyMicros(); }

void ThreadRuntime::SleepForMicros(int64_t micros) { SleepForMicrosUnless(micros, nullptr); }

void ThreadRuntime::SleepForMicrosUnless(int64_t micros, const std::function<bool()>& cancelled) {
  // How often `cancelled` is asked: an idle job waits at most this long for a cancelled timer to go.
  constexpr int64_t kPollMicros = 2'000;
  const bool activity = current_activity_of == threads_.get();
  const int64_t wake = SteadyMicros() + micros;
  std::unique_lock<std::mutex> lock(threads_->mutex);
  if (threads_->stopping) return;
  std::multiset<int64_t>::iterator entry;
  if (activity) {
    --threads_->running;
    entry = threads_->wake_times.insert(wake);  // the timer's own end: WaitUntilIdle judges it by that
  }
  for (;;) {
    const int64_t until = cancelled == nullptr ? wake : std::min(wake, SteadyMicros() + kPollMicros);
    threads_->stopped_or_changed.wait_until(
        lock, std::chrono::steady_clock::time_point(std::chrono::microseconds(until)),
        [this] { return threads_->stopping; });
    if (threads_->stopping || SteadyMicros() >= wake) break;
    if (cancelled == nullptr) continue;  // a spurious wake-up before `wake`
    lock.unlock();
    const bool stop = cancelled();
    lock.lock();
    if (stop) break;
  }
  if (activity) {
    threads_->wake_times.erase(entry);
    ++threads_->running;
  }
}

void ThreadRuntime::Yield() { std::this_thread::yield(); }

bool ThreadRuntime::WaitUntilIdle(int64_t horizon_micros, int64_t limit_micros) {
  const int64_t give_up = SteadyMicros() + limit_micros;
  int idle_checks = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(threads_->mutex);
      JoinFinished(threads_.get(), lock);
      const int64_t now = SteadyMicros();
      const bool idle = threads_->running == 0 &&
                        (threads_->wake_times.empty() || *threads_->wake_times.begin() > now + horizon_micros);
      idle_checks = idle ? idle_checks + 1 : 0;
    }
    if (idle_checks >= 2) return true;
    if (SteadyMicros() > give_up) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

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
