#include "sim/sim_scheduler.h"

#include <sched.h>
#include <semaphore.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace snapsim {
namespace {

enum class ActivityState {
  kRunnable,
  kRunning,
  kBlocked,
  kSleeping,
  kAwaitingQuiescence,  // main, inside RunUntilQuiescent
  kDone,
};

const char* StateName(ActivityState state) {
  switch (state) {
    case ActivityState::kRunnable:
      return "runnable";
    case ActivityState::kRunning:
      return "running";
    case ActivityState::kBlocked:
      return "blocked";
    case ActivityState::kSleeping:
      return "sleeping";
    case ActivityState::kAwaitingQuiescence:
      return "awaiting quiescence";
    case ActivityState::kDone:
      return "done";
  }
  return "?";
}

[[noreturn]] void Fail(const std::string& message) {
  std::fprintf(stderr, "snapsim scheduler: %s\n", message.c_str());
  std::abort();
}

// A binary hand-off between OS threads: Post by the giver, Wait by the receiver; a Post before the Wait is kept. A
// POSIX semaphore, so that a hand-off needs no shared lock on either side: with a condition variable and the
// scheduler's mutex, the woken thread first blocked again on the mutex its waker still held (issue #15: with this and
// BatchScheduling, a pinned sweep's context switches per seed went from about 8,600 to 6,200).
class Baton {
 public:
  Baton() { sem_init(&semaphore_, /*pshared=*/0, /*value=*/0); }
  ~Baton() { sem_destroy(&semaphore_); }
  Baton(const Baton&) = delete;
  Baton& operator=(const Baton&) = delete;
  void Post() { sem_post(&semaphore_); }
  void Wait() {
    while (sem_wait(&semaphore_) != 0) {
      if (errno != EINTR) Fail(absl::StrCat("sem_wait failed: errno ", errno));
    }
  }

 private:
  sem_t semaphore_;
};

// Puts the calling thread under SCHED_BATCH, whose threads do not preempt the running thread when woken: a hand-off
// posts the next activity's baton and then waits for its own, and a woken thread that preempted its waker between
// the two cost a context switch for nothing (it runs either way once the waker waits). Changes no scheduling
// decision of the simulation.
void BatchScheduling() {
  sched_param parameters{};
  parameters.sched_priority = 0;
  (void)sched_setscheduler(0, SCHED_BATCH, &parameters);
}

struct Activity {
  uint64_t id = 0;
  std::string name;
  // The part of the system it works for (trace.h: the Chrome trace's process); inherited from its spawner.
  std::string part;
  ActivityState state = ActivityState::kRunnable;
  std::string waiting_for;
  // Virtual time of Spawn: the start of the activity's span.
  int64_t spawned_micros = 0;
  bool has_baton = false;
  Baton baton;  // posted when the activity gets the baton
  std::function<void()> body;
  // Blocked in Signal::WaitUnlessDeadlocked: a deadlock wakes it (and sets woken_by_deadlock) instead of failing.
  bool deadlock_wakeable = false;
  bool woken_by_deadlock = false;
};

// An OS thread that runs activities one after another: a finished activity's thread parks until the next Spawn
// hands it a new one, so a run starts about as many threads as it ever has activities alive at once, not one per
// activity. Which thread runs an activity changes no scheduling decision.
struct Worker {
  std::thread thread;
  Baton wake;  // posted after `assigned` or `stop` is set
  std::shared_ptr<Activity> assigned;
  bool stop = false;
};

struct BackgroundJob {
  void (*function)(void*);
  void* argument;
  void* tag;
  void (*unschedule)(void*);
};

struct ThreadIdentity {
  SimScheduler::Core* core = nullptr;
  Activity* activity = nullptr;
};
thread_local ThreadIdentity current_thread;
thread_local bool on_blocking_call_helper = false;

}  // namespace

struct SimScheduler::Core : std::enable_shared_from_this<SimScheduler::Core> {
  Core(uint64_t seed, SimSchedulerOptions options)
      : options(options),
        prng(Prng(seed).Child("scheduler")),
        id_prng(Prng(seed).Child("unique-ids")),
        seed(seed),
        trace(options.keep_trace_events) {}

  const SimSchedulerOptions options;
  // Counted under `mutex` (benchmarks read them).
  uint64_t handoffs = 0;
  // AdvanceTime calls that moved the clock: time that passed while one activity ran.
  uint64_t clock_jumps = 0;
  uint64_t spawned = 0;
  Prng prng;
  Prng id_prng;
  const uint64_t seed;
  Trace trace;
  // The constructing thread's identity before this scheduler made it its main activity: a scheduler may be created
  // by another one's running activity (a checker's side world) and gives the thread back when destroyed.
  ThreadIdentity previous_identity;

  // Guards everything below. Held only for bookkeeping and hand-offs, never while user code runs.
  std::mutex mutex;
  std::map<uint64_t, std::shared_ptr<Activity>> live;  // ordered by id: deterministic candidate order
  std::vector<std::unique_ptr<Worker>> workers;        // every thread this scheduler started
  std::vector<Worker*> idle;                            // parked, waiting for an activity
  uint64_t threads_started = 0;
  std::shared_ptr<Activity> main;
  uint64_t next_id = 0;
  int64_t now_micros = 0;
  uint64_t timer_sequence = 0;
  std::set<std::tuple<int64_t, uint64_t, uint64_t>> timers;  // (time, sequence, activity id)
  uint64_t steps = 0;
  uint64_t step_limit = UINT64_MAX;
  int64_t wait_horizon_micros = INT64_MAX;  // SetWaitHorizon
  bool wait_horizon_reached = false;
  bool background_activity_pending = false;

  // Background jobs have their own lock: RocksDB enqueues while holding its DB mutex, from the caller thread or
  // the blocking-call helper.
  mutable std::mutex jobs_mutex;
  std::condition_variable jobs_condition;
  std::deque<BackgroundJob> jobs;
  int blocking_calls = 0;
  // The blocking-call helper (RunBlockingRocksDbCall): one thread, started by the first call and parked between
  // calls. A call activates it with the caller's identity; it runs queued jobs until the call is done and the queue
  // empty, then deactivates, which the caller waits for.
  std::thread helper;
  bool helper_active = false;
  bool helper_call_done = false;
  bool helper_stop = false;
  ThreadIdentity helper_caller;

  void HelperMain() {
    BatchScheduling();
    on_blocking_call_helper = true;
    std::unique_lock<std::mutex> lock(jobs_mutex);
    for (;;) {
      jobs_condition.wait(lock, [this] { return helper_active || helper_stop; });
      if (!helper_active) return;
      current_thread = helper_caller;
      for (;;) {
        if (!jobs.empty()) {
          BackgroundJob job = jobs.front();
          jobs.pop_front();
          lock.unlock();
          job.function(job.argument);
          lock.lock();
          continue;
        }
        if (helper_call_done) break;
        jobs_condition.wait(lock);
      }
      current_thread = ThreadIdentity{};
      helper_active = false;
      jobs_condition.notify_all();
    }
  }

  // The calling activity's part, or "" from a thread that is none of this scheduler's activities.
  std::string CurrentPart() const {
    return current_thread.core == this && current_thread.activity != nullptr ? current_thread.activity->part : "";
  }

  void RecordLocked(absl::string_view component, absl::string_view event, int64_t duration = 0,
                    TraceArgs args = {}) {
    if (options.record_trace) trace.Record(now_micros, component, event, duration, CurrentPart(), std::move(args));
  }

  Activity* Self(const char* operation) {
    if (current_thread.core != this || current_thread.activity == nullptr) {
      Fail(absl::StrCat(operation, " called from a thread that is not an activity of this scheduler"));
    }
    return current_thread.activity;
  }

  // Chooses who runs next. REQUIRES: mutex held.
  Activity* PickNext() {
    ++steps;
    for (;;) {
      const bool limit_reached = steps > step_limit && main->state == ActivityState::kAwaitingQuiescence;
      if (!limit_reached) {
        std::vector<Activity*> runnable;
        for (const auto& [id, activity] : live) {
          if (activity->state == ActivityState::kRunnable) runnable.push_back(activity.get());
        }
        if (!runnable.empty()) return runnable[prng.UniformBelow(runnable.size())];
        if (!timers.empty()) {
          const auto [time, sequence, id] = *timers.begin();
          // Past the horizon of a waiting driver: it is woken (SwitchAway) before the clock gets there.
          if (time > wait_horizon_micros && main->state == ActivityState::kBlocked && main->deadlock_wakeable) {
            wait_horizon_reached = true;
            return nullptr;
          }
          timers.erase(timers.begin());
          if (time > now_micros) now_micros = time;
          auto found = live.find(id);
          if (found != live.end() && found->second->state == ActivityState::kSleeping) {
            found->second->state = ActivityState::kRunnable;
          }
          continue;
        }
      }
      if (main->state == ActivityState::kAwaitingQuiescence) {
        main->state = ActivityState::kRunnable;
        return main.get();
      }
      return nullptr;
    }
  }

  std::vector<std::string> PendingLocked() const {
    std::vector<std::string> pending;
    for (const auto& [id, activity] : live) {
      if (activity.get() == main.get()) continue;
      std::string line = absl::StrCat(activity->name, " (", StateName(activity->state));
      if (!activity->waiting_for.empty()) absl::StrAppend(&line, " on ", activity->waiting_for);
      pending.push_back(line + ")");
    }
    return pending;
  }

  // Gives the baton away and, unless `self` is done, waits until it comes back. REQUIRES: mutex held via `lock`,
  // self holds the baton and its state is already set. Returns with the mutex held, except for a done `self` (its
  // thread touches nothing shared afterwards). The mutex is released before the hand-off: only the baton's holder
  // takes it, so the taker never waits for it.
  void SwitchAway(std::unique_lock<std::mutex>& lock, Activity* self) {
    Activity* next = PickNext();
    if (next == nullptr && main->state == ActivityState::kBlocked && main->deadlock_wakeable) {
      // Nothing can ever notify what main waits for: it learns so instead of the run stopping here.
      main->state = ActivityState::kRunnable;
      main->woken_by_deadlock = true;
      next = main.get();
    }
    if (next == nullptr) {
      Fail(absl::StrCat("deadlock: no activity can run and no timer is pending; waiting: ",
                        absl::StrJoin(PendingLocked(), ", "),
                        "; main is ", StateName(main->state), " on ", main->waiting_for));
    }
    next->state = ActivityState::kRunning;
    if (next == self) return;
    ++handoffs;
    if (options.record_trace) RecordLocked("scheduler", absl::StrCat("run ", next->name, "#", next->id));
    self->has_baton = false;
    next->has_baton = true;
    const bool done = self->state == ActivityState::kDone;
    lock.unlock();
    next->baton.Post();
    if (done) return;
    self->baton.Wait();
    lock.lock();
    self->waiting_for.clear();
  }

  void WorkerMain(Worker* worker) {
    BatchScheduling();
    for (;;) {
      worker->wake.Wait();
      if (worker->assigned == nullptr) return;  // stopped by the scheduler's destructor
      std::shared_ptr<Activity> activity = std::move(worker->assigned);
      worker->assigned = nullptr;
      current_thread = ThreadIdentity{this, activity.get()};
      activity->baton.Wait();
      activity->body();
      activity->body = nullptr;
      std::unique_lock<std::mutex> lock(mutex);
      activity->state = ActivityState::kDone;
      trace.RecordSpan(activity->spawned_micros, "activity", activity->name, now_micros - activity->spawned_micros,
                       activity->part);
      RecordLocked("scheduler", absl::StrCat("done ", activity->name, "#", activity->id));
      live.erase(activity->id);
      current_thread = ThreadIdentity{};
      // Parked before the baton goes: the next Spawn, by whoever holds it, may hand this thread its activity (its
      // post of `wake` is kept until this thread waits).
      idle.push_back(worker);
      SwitchAway(lock, activity.get());  // returns with the mutex released: the activity is done
    }
  }

  void Spawn(std::string name, std::function<void()> body) {
    std::unique_lock<std::mutex> lock(mutex);
    ++spawned;
    if (static_cast<int>(live.size()) >= options.max_live_activities) {
      Fail(absl::StrCat("more than ", options.max_live_activities, " live activities (spawning ", name, ")"));
    }
    auto activity = std::make_shared<Activity>();
    activity->id = ++next_id;
    activity->name = std::move(name);
    activity->part = CurrentPart();
    activity->body = std::move(body);
    activity->spawned_micros = now_micros;
    live[activity->id] = activity;
    RecordLocked("scheduler", absl::StrCat("spawn ", activity->name, "#", activity->id));
    if (!idle.empty()) {
      Worker* worker = idle.back();
      idle.pop_back();
      worker->assigned = std::move(activity);
      worker->wake.Post();
      return;
    }
    auto worker = std::make_unique<Worker>();
    worker->assigned = std::move(activity);
    worker->wake.Post();
    Worker* raw = worker.get();
    ++threads_started;
    std::shared_ptr<Core> self = shared_from_this();
    worker->thread = std::thread([self, raw] { self->WorkerMain(raw); });
    workers.push_back(std::move(worker));
  }

  // Runs one queued background job on the calling thread; false if none was queued.
  bool RunOneBackgroundJob() {
    BackgroundJob job;
    {
      std::lock_guard<std::mutex> lock(jobs_mutex);
      if (jobs.empty()) return false;
      job = jobs.front();
      jobs.pop_front();
    }
    job.function(job.argument);
    return true;
  }

  // Makes sure a "rocksdb-background" activity will drain the job queue.
  void EnsureBackgroundActivity() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (background_activity_pending) return;
      background_activity_pending = true;
    }
    Spawn("rocksdb-background", [this] {
      {
        std::lock_guard<std::mutex> lock(mutex);
        background_activity_pending = false;
      }
      while (RunOneBackgroundJob()) {
      }
    });
  }
};

namespace {

class SimSignal : public Signal {
 public:
  explicit SimSignal(std::shared_ptr<SimScheduler::Core> core, uint64_t id) : core_(std::move(core)), id_(id) {}

  void Notify() override {
    std::lock_guard<std::mutex> lock(core_->mutex);
    if (notified_) return;
    notified_ = true;
    for (Activity* waiter : waiters_) {
      if (waiter->state == ActivityState::kBlocked) waiter->state = ActivityState::kRunnable;
    }
    waiters_.clear();
  }

  void Wait() override {
    Activity* self = core_->Self("Signal::Wait");
    std::unique_lock<std::mutex> lock(core_->mutex);
    if (notified_) {
      self->state = ActivityState::kRunnable;  // still a scheduling point
    } else {
      self->state = ActivityState::kBlocked;
      self->waiting_for = absl::StrCat("signal#", id_);
      waiters_.push_back(self);
    }
    core_->SwitchAway(lock, self);
  }

  bool IsNotified() const override {
    std::lock_guard<std::mutex> lock(core_->mutex);
    return notified_;
  }

  bool WaitUnlessDeadlocked() override {
    Activity* self = core_->Self("Signal::WaitUnlessDeadlocked");
    std::unique_lock<std::mutex> lock(core_->mutex);
    if (notified_) {
      self->state = ActivityState::kRunnable;
    } else {
      self->state = ActivityState::kBlocked;
      self->waiting_for = absl::StrCat("signal#", id_);
      self->deadlock_wakeable = true;
      waiters_.push_back(self);
    }
    core_->SwitchAway(lock, self);
    self->deadlock_wakeable = false;
    if (!self->woken_by_deadlock) return true;
    self->woken_by_deadlock = false;
    waiters_.erase(std::remove(waiters_.begin(), waiters_.end(), self), waiters_.end());
    return false;
  }

 private:
  std::shared_ptr<SimScheduler::Core> core_;
  const uint64_t id_;
  bool notified_ = false;
  std::vector<Activity*> waiters_;
};

}  // namespace

std::string QuiescenceReport::ToString() const {
  std::string out = absl::StrCat(quiescent ? "quiescent" : "step limit reached", " after ", steps, " steps");
  if (!pending.empty()) absl::StrAppend(&out, "; pending: ", absl::StrJoin(pending, ", "));
  return out;
}

SimScheduler::SimScheduler(uint64_t seed, SimSchedulerOptions options)
    : core_(std::make_shared<Core>(seed, options)) {
  auto main = std::make_shared<Activity>();
  main->id = 0;
  main->name = "main";
  main->part = "scenario";
  main->state = ActivityState::kRunning;
  main->has_baton = true;
  core_->main = main;
  core_->live[0] = main;
  core_->previous_identity = current_thread;
  current_thread = ThreadIdentity{core_.get(), main.get()};
}

SimScheduler::~SimScheduler() {
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<Worker*> idle;
  {
    std::lock_guard<std::mutex> lock(core_->mutex);
    workers.swap(core_->workers);
    idle.swap(core_->idle);
    for (Worker* worker : idle) {
      worker->stop = true;
      worker->wake.Post();
    }
  }
  bool helper_busy = false;
  {
    std::lock_guard<std::mutex> lock(core_->jobs_mutex);
    core_->helper_stop = true;
    helper_busy = core_->helper_active;
  }
  core_->jobs_condition.notify_all();
  if (core_->helper.joinable()) {
    // A call that never ends (its activity waits forever) keeps the helper; its caller's thread keeps the core.
    if (helper_busy) {
      core_->helper.detach();
    } else {
      core_->helper.join();
    }
  }
  for (std::unique_ptr<Worker>& worker : workers) {
    if (std::find(idle.begin(), idle.end(), worker.get()) != idle.end()) {
      worker->thread.join();
    } else {
      // Its activity never finished (it waits for a baton that will not come): the thread keeps the core and itself.
      worker->thread.detach();
      worker.release();
    }
  }
  if (current_thread.core == core_.get()) current_thread = core_->previous_identity;
}

void SimScheduler::Spawn(std::string name, std::function<void()> body) {
  core_->Spawn(std::move(name), std::move(body));
}

std::shared_ptr<Signal> SimScheduler::NewSignal() {
  uint64_t id;
  {
    std::lock_guard<std::mutex> lock(core_->mutex);
    id = ++core_->timer_sequence;
  }
  return std::make_shared<SimSignal>(core_, id);
}

int64_t SimScheduler::NowMicros() {
  std::lock_guard<std::mutex> lock(core_->mutex);
  return core_->now_micros;
}

void SimScheduler::AdvanceTime(int64_t micros) {
  std::lock_guard<std::mutex> lock(core_->mutex);
  if (micros <= 0) return;
  core_->now_micros += micros;
  ++core_->clock_jumps;
}

uint64_t SimScheduler::clock_jumps() const {
  std::lock_guard<std::mutex> lock(core_->mutex);
  return core_->clock_jumps;
}

void SimScheduler::SleepForMicros(int64_t micros) {
  Activity* self = core_->Self("SleepForMicros");
  std::unique_lock<std::mutex> lock(core_->mutex);
  if (micros <= 0) {
    self->state = ActivityState::kRunnable;
  } else {
    self->state = ActivityState::kSleeping;
    self->waiting_for = absl::StrCat("timer at ", core_->now_micros + micros, "us");
    core_->timers.emplace(core_->now_micros + micros, ++core_->timer_sequence, self->id);
  }
  core_->SwitchAway(lock, self);
}

std::string SimScheduler::NewUniqueId() {
  std::lock_guard<std::mutex> lock(core_->mutex);
  const uint64_t high = core_->id_prng.NextU64();
  const uint64_t low = core_->id_prng.NextU64();
  char buffer[33];
  std::snprintf(buffer, sizeof(buffer), "%016llx%016llx", static_cast<unsigned long long>(high),
                static_cast<unsigned long long>(low));
  return buffer;
}

void SimScheduler::Yield() {
  Activity* self = core_->Self("Yield");
  std::unique_lock<std::mutex> lock(core_->mutex);
  self->state = ActivityState::kRunnable;
  core_->SwitchAway(lock, self);
}

QuiescenceReport SimScheduler::RunUntilQuiescent(uint64_t step_limit) {
  Activity* self = core_->Self("RunUntilQuiescent");
  std::unique_lock<std::mutex> lock(core_->mutex);
  if (self != core_->main.get()) Fail("RunUntilQuiescent called by an activity other than main");
  const uint64_t start_steps = core_->steps;
  core_->step_limit = start_steps + step_limit;
  self->state = ActivityState::kAwaitingQuiescence;
  core_->SwitchAway(lock, self);
  core_->step_limit = UINT64_MAX;
  QuiescenceReport report;
  report.steps = core_->steps - start_steps;
  report.pending = core_->PendingLocked();
  bool runnable_left = !core_->timers.empty();
  for (const auto& [id, activity] : core_->live) {
    if (activity->state == ActivityState::kRunnable) runnable_left = true;
  }
  report.quiescent = !runnable_left;
  return report;
}

rocksdb::Status SimScheduler::RunBlockingRocksDbCall(const std::function<rocksdb::Status()>& call) {
  core_->Self("RunBlockingRocksDbCall");
  Core* core = core_.get();
  bool start_helper = false;
  {
    std::lock_guard<std::mutex> lock(core->jobs_mutex);
    ++core->blocking_calls;
    // The helper runs RocksDB's queued jobs while the caller waits inside RocksDB; it acts under the caller's baton.
    core->helper_caller = current_thread;
    core->helper_call_done = false;
    core->helper_active = true;
    start_helper = !core->helper.joinable();
  }
  if (start_helper) {
    {
      std::lock_guard<std::mutex> lock(core->mutex);
      ++core->threads_started;
    }
    core->helper = std::thread([core] { core->HelperMain(); });
  }
  core->jobs_condition.notify_all();
  const rocksdb::Status status = call();
  {
    std::unique_lock<std::mutex> lock(core->jobs_mutex);
    core->helper_call_done = true;
    --core->blocking_calls;
    core->jobs_condition.notify_all();
    core->jobs_condition.wait(lock, [core] { return !core->helper_active; });
  }
  // Whatever the call left queued runs now, so the state after the call does not depend on thread timing.
  while (core->RunOneBackgroundJob()) {
  }
  return status;
}

void SimScheduler::EnqueueBackgroundJob(void (*function)(void*), void* argument, void* tag,
                                        void (*unschedule)(void*)) {
  bool during_blocking_call;
  {
    std::lock_guard<std::mutex> lock(core_->jobs_mutex);
    if (static_cast<int>(core_->jobs.size()) >= core_->options.max_queued_background_jobs) {
      Fail(absl::StrCat("more than ", core_->options.max_queued_background_jobs, " queued RocksDB jobs"));
    }
    core_->jobs.push_back(BackgroundJob{function, argument, tag, unschedule});
    during_blocking_call = core_->blocking_calls > 0;
  }
  if (during_blocking_call) {
    core_->jobs_condition.notify_all();
  } else {
    core_->EnsureBackgroundActivity();
  }
}

int SimScheduler::UnscheduleBackgroundJobs(void* tag) {
  std::vector<BackgroundJob> removed;
  {
    std::lock_guard<std::mutex> lock(core_->jobs_mutex);
    for (auto it = core_->jobs.begin(); it != core_->jobs.end();) {
      if (it->tag == tag) {
        removed.push_back(*it);
        it = core_->jobs.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (const BackgroundJob& job : removed) {
    if (job.unschedule != nullptr) job.unschedule(job.argument);
  }
  return static_cast<int>(removed.size());
}

int SimScheduler::QueuedBackgroundJobs() const {
  std::lock_guard<std::mutex> lock(core_->jobs_mutex);
  return static_cast<int>(core_->jobs.size());
}

uint64_t SimScheduler::seed() const { return core_->seed; }

bool SimScheduler::OnBlockingCallHelper() { return on_blocking_call_helper; }

uint64_t SimScheduler::handoffs() const {
  std::lock_guard<std::mutex> lock(core_->mutex);
  return core_->handoffs;
}

uint64_t SimScheduler::activities_spawned() const {
  std::lock_guard<std::mutex> lock(core_->mutex);
  return core_->spawned;
}

uint64_t SimScheduler::threads_started() const {
  std::lock_guard<std::mutex> lock(core_->mutex);
  return core_->threads_started;
}

Trace& SimScheduler::trace() { return core_->trace; }

void SimScheduler::RecordTrace(absl::string_view component, absl::string_view event, int64_t duration_micros,
                               TraceArgs args) {
  std::lock_guard<std::mutex> lock(core_->mutex);
  core_->RecordLocked(component, event, duration_micros, std::move(args));
}

void SimScheduler::RecordSpan(absl::string_view component, absl::string_view event, int64_t start_micros,
                              TraceArgs args) {
  std::lock_guard<std::mutex> lock(core_->mutex);
  if (start_micros > core_->now_micros) {
    Fail(absl::StrCat("span '", event, "' of ", component, " starts at ", start_micros, "us, after now (",
                      core_->now_micros, "us)"));
  }
  if (core_->options.record_trace) {
    core_->trace.RecordSpan(start_micros, component, event, core_->now_micros - start_micros, core_->CurrentPart(),
                            std::move(args));
  }
}

void SimScheduler::Reseed(uint64_t seed) {
  std::lock_guard<std::mutex> lock(core_->mutex);
  core_->prng = Prng(seed).Child("scheduler");
  core_->id_prng = Prng(seed).Child("unique-ids");
}

void SimScheduler::SetWaitHorizon(int64_t micros) {
  std::lock_guard<std::mutex> lock(core_->mutex);
  core_->wait_horizon_micros = micros;
  core_->wait_horizon_reached = false;
}

bool SimScheduler::wait_horizon_reached() const {
  std::lock_guard<std::mutex> lock(core_->mutex);
  return core_->wait_horizon_reached;
}

void SimScheduler::SetPart(absl::string_view part) {
  std::lock_guard<std::mutex> lock(core_->mutex);
  if (current_thread.core == core_.get() && current_thread.activity != nullptr) {
    current_thread.activity->part = std::string(part);
  }
}

std::string SimScheduler::part() const {
  std::lock_guard<std::mutex> lock(core_->mutex);
  return core_->CurrentPart();
}

}  // namespace snapsim
