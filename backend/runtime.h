// The runtime seam: the one interface through which code under test spawns asynchronous work, waits, sleeps,
// reads the clock and makes RocksDB calls that block on RocksDB's own background jobs. Two implementations: real
// threads (ThreadRuntime, here) and the deterministic simulation (sim/sim_scheduler.h), where exactly one
// activity runs at a time and the seed picks who runs next at every wait point. Plays the role of Flink's
// executors and CompletableFutures for the snapshot code.
//
// Design (DESIGN.md, "The runtime seam"): hand-off threads. Code keeps Flink's blocking style; in simulation each
// spawned activity is a real thread that runs only while it holds the scheduler's single baton and hands it back
// at every Wait/Sleep/Yield. Code under test must never wait on anything this interface cannot see (a raw
// std::condition_variable, a sleep, a thread join).
#ifndef SNAPSIM_BACKEND_RUNTIME_H_
#define SNAPSIM_BACKEND_RUNTIME_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "rocksdb/status.h"

namespace snapsim {

// A one-shot event: once notified it stays notified. Wait() is a scheduling point.
class Signal {
 public:
  virtual ~Signal() = default;
  virtual void Notify() = 0;
  virtual void Wait() = 0;
  virtual bool IsNotified() const = 0;
  // Wait(), for the harness's driver only: false when nothing else could ever run and notify it (the simulation
  // wakes the waiter instead of stopping on the deadlock), so a snapshot that never ends is reported, not a crash.
  // Real threads cannot tell and wait.
  virtual bool WaitUnlessDeadlocked() {
    Wait();
    return true;
  }
};

class Runtime {
 public:
  virtual ~Runtime() = default;

  // Starts `body` as a new activity (a task on an executor). `name` appears in traces and reports.
  virtual void Spawn(std::string name, std::function<void()> body) = 0;
  virtual std::shared_ptr<Signal> NewSignal() = 0;
  // Microseconds on this runtime's clock (virtual in simulation).
  virtual int64_t NowMicros() = 0;
  // Suspends the caller for `micros` on this runtime's clock.
  virtual void SleepForMicros(int64_t micros) = 0;
  // SleepForMicros that may end early once `cancelled()` holds: a timer whose purpose is gone (Flink cancels a
  // completed checkpoint's canceller). Real threads poll `cancelled` so that an idle job does not wait a timeout out;
  // the simulation sleeps the whole time (its clock is virtual, so the timer costs nothing, and its schedule stays
  // what every recorded seed was run with). `cancelled` must not block.
  virtual void SleepForMicrosUnless(int64_t micros, const std::function<bool()>& /*cancelled*/) {
    SleepForMicros(micros);
  }
  // A scheduling point without waiting for anything.
  virtual void Yield() = 0;
  // A fresh 32-hex-digit id (Flink's random UUIDs: object names, backend UIDs); from the seed in simulation.
  virtual std::string NewUniqueId() = 0;
  // Runs a RocksDB call that may wait for RocksDB's background jobs (Flush with wait, CompactRange, a flushing
  // checkpoint, Close): in simulation those jobs are queued, and must be drained while the call waits.
  virtual rocksdb::Status RunBlockingRocksDbCall(const std::function<rocksdb::Status()>& call) = 0;
};

// The result of asynchronous work. Copyable; all copies share one state.
template <typename T>
class Future {
 public:
  struct State {
    std::mutex mutex;
    std::optional<T> value;
    std::shared_ptr<Signal> ready;
  };

  Future() = default;
  explicit Future(std::shared_ptr<State> state) : state_(std::move(state)) {}

  bool valid() const { return state_ != nullptr; }
  bool IsReady() const { return state_->ready->IsNotified(); }
  // Waits until ready, or (simulation) until nothing else could make it ready: false then. REQUIRES: valid().
  bool WaitUnlessDeadlocked() const { return state_->ready->WaitUnlessDeadlocked(); }
  // Waits (a scheduling point) and returns the value. REQUIRES: valid().
  const T& Get() const {
    state_->ready->Wait();
    std::lock_guard<std::mutex> lock(state_->mutex);
    return *state_->value;
  }

 private:
  std::shared_ptr<State> state_;
};

template <typename T>
class Promise {
 public:
  explicit Promise(Runtime& runtime) : state_(std::make_shared<typename Future<T>::State>()) {
    state_->ready = runtime.NewSignal();
  }
  Future<T> GetFuture() const { return Future<T>(state_); }
  // Sets the value once; later calls are ignored (first completion wins, as with CompletableFuture).
  void Set(T value) {
    {
      std::lock_guard<std::mutex> lock(state_->mutex);
      if (state_->value.has_value()) return;
      state_->value = std::move(value);
    }
    state_->ready->Notify();
  }

 private:
  std::shared_ptr<typename Future<T>::State> state_;
};

// Runs `body` as an activity and returns a future of its result.
template <typename T>
Future<T> SpawnWithResult(Runtime& runtime, std::string name, std::function<T()> body) {
  Promise<T> promise(runtime);
  Future<T> future = promise.GetFuture();
  runtime.Spawn(std::move(name), [promise, body = std::move(body)]() mutable { promise.Set(body()); });
  return future;
}

// A mutex that may be held across scheduling points (storage calls, futures): a waiter waits on a runtime Signal,
// never on an OS primitive the scheduler cannot see, and ownership passes to waiters first come, first served.
// Flink's coordinator-wide lock. Not reentrant.
class RuntimeMutex {
 public:
  explicit RuntimeMutex(Runtime& runtime) : runtime_(&runtime) {}
  RuntimeMutex(const RuntimeMutex&) = delete;
  RuntimeMutex& operator=(const RuntimeMutex&) = delete;

  void Lock() {
    std::shared_ptr<Signal> turn;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!locked_) {
        locked_ = true;
        return;
      }
      turn = runtime_->NewSignal();
      waiters_.push_back(turn);
    }
    turn->Wait();  // Unlock hands the mutex over, still locked.
  }

  void Unlock() {
    std::shared_ptr<Signal> next;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (waiters_.empty()) {
        locked_ = false;
        return;
      }
      next = waiters_.front();
      waiters_.pop_front();
    }
    next->Notify();
  }

 private:
  Runtime* runtime_;
  std::mutex mutex_;
  bool locked_ = false;
  std::deque<std::shared_ptr<Signal>> waiters_;
};

class RuntimeMutexLock {
 public:
  explicit RuntimeMutexLock(RuntimeMutex& mutex) : mutex_(mutex) { mutex_.Lock(); }
  ~RuntimeMutexLock() { mutex_.Unlock(); }
  RuntimeMutexLock(const RuntimeMutexLock&) = delete;
  RuntimeMutexLock& operator=(const RuntimeMutexLock&) = delete;

 private:
  RuntimeMutex& mutex_;
};

// Real threads: one thread per spawned activity (finished ones are joined as new ones start, the rest when the
// runtime is destroyed); the steady clock; RocksDB's own thread pools run its background jobs, so blocking calls
// run inline. Sleeps end early once the runtime is being destroyed, so a long timer (a checkpoint timeout) never
// holds up teardown. For --fs=posix and production use; never in the simulated path.
class ThreadRuntime : public Runtime {
 public:
  ThreadRuntime();
  ~ThreadRuntime() override;
  // Waits until no activity runs and none sleeps with less than `horizon_micros` left (timers further out do not
  // count), seen twice in a row; false if that did not happen within `limit_micros`. Activities waiting on a
  // signal count as idle: whoever will notify them is running or sleeping. The real-threads counterpart of the
  // simulation's quiescence.
  bool WaitUntilIdle(int64_t horizon_micros, int64_t limit_micros);
  void Spawn(std::string name, std::function<void()> body) override;
  std::shared_ptr<Signal> NewSignal() override;
  int64_t NowMicros() override;
  void SleepForMicros(int64_t micros) override;
  void SleepForMicrosUnless(int64_t micros, const std::function<bool()>& cancelled) override;
  void Yield() override;
  std::string NewUniqueId() override;
  rocksdb::Status RunBlockingRocksDbCall(const std::function<rocksdb::Status()>& call) override;

  // The activities' bookkeeping (thread_runtime.cc); public only so that its signals can name it.
  struct Threads;

 private:
  std::shared_ptr<Threads> threads_;
};

}  // namespace snapsim

#endif  // SNAPSIM_BACKEND_RUNTIME_H_
