#include "sim/sim_env.h"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"

// RocksDB 7.8.3's encoding of a session id (table/unique_id_impl.h, exported by librocksdb but not in its public
// headers): 20 base-36 characters holding 39 + 64 bits.
namespace rocksdb {
std::string EncodeSessionId(uint64_t upper, uint64_t lower);
}  // namespace rocksdb

namespace snapsim {
namespace {

// The mangled name of `static std::string rocksdb::DBImpl::GenerateDbSessionId(rocksdb::Env*)`.
constexpr char kGenerateDbSessionIdSymbol[] = "_ZN7rocksdb6DBImpl19GenerateDbSessionIdB5cxx11EPNS_3EnvE";

}  // namespace

// Replaces RocksDB's DBImpl::GenerateDbSessionId. The library draws a DB's session id (and an SstFileWriter's) from
// process-wide randomness (/proc's uuid, the time, the pid) and writes it into every SST's table properties, so two
// runs of one seed stored different bytes. librocksdb calls the function through its PLT, and the executable (or a
// library linked ahead of librocksdb) that holds this definition is searched first, so this one is called: for a
// SimEnv the id comes from the machine's seeded stream; for any other Env (the real-disk worlds, nullptr) from the
// library's own generator, found with RTLD_NEXT. scenarios/determinism_across_processes_test.sh fails if the
// replacement stops taking effect (the stored bytes, digested into the trace hash, would differ across processes).
std::string GenerateDbSessionIdForRocksDb(rocksdb::Env* env) __asm__(
    "_ZN7rocksdb6DBImpl19GenerateDbSessionIdB5cxx11EPNS_3EnvE");
std::string GenerateDbSessionIdForRocksDb(rocksdb::Env* env) {
  if (env != nullptr && std::strcmp(env->Name(), SimEnv::kClassName()) == 0) {
    return static_cast<SimEnv*>(env)->NextDbSessionId();
  }
  using Generator = std::string (*)(rocksdb::Env*);
  static const Generator library_generator =
      reinterpret_cast<Generator>(dlsym(RTLD_NEXT, kGenerateDbSessionIdSymbol));
  if (library_generator == nullptr) {
    std::fprintf(stderr, "snapsim: librocksdb has no %s (not RocksDB 7.8?)\n", kGenerateDbSessionIdSymbol);
    std::abort();
  }
  return library_generator(env);
}

uint64_t SimClock::NowMicros() {
  return static_cast<uint64_t>(kSimulatedEpochSeconds) * 1'000'000 + static_cast<uint64_t>(scheduler_->NowMicros());
}

void SimClock::SleepForMicroseconds(int micros) { scheduler_->AdvanceTime(micros); }

rocksdb::Status SimClock::GetCurrentTime(int64_t* unix_time) {
  *unix_time = static_cast<int64_t>(NowMicros() / 1'000'000);
  return rocksdb::Status::OK();
}

std::string SimClock::TimeToString(uint64_t time) {
  return absl::StrCat("sim+", time - static_cast<uint64_t>(kSimulatedEpochSeconds), "s");
}

SimEnv::SimEnv(SimScheduler* scheduler, std::shared_ptr<SimFileSystem> file_system, Prng prng)
    : rocksdb::EnvWrapper(rocksdb::NewCompositeEnv(file_system)),
      scheduler_(scheduler),
      sim_file_system_(std::move(file_system)),
      clock_(std::make_shared<SimClock>(scheduler)),
      prng_(std::move(prng)),
      session_id_prng_(prng_.Child("rocksdb-db-session-id")) {
  // The wrapped composite Env forwards file operations to the SimFileSystem; replace the clock that
  // rocksdb::Env hands out (GetSystemClock) with virtual time.
  file_system_ = sim_file_system_;
  system_clock_ = clock_;
}

SimEnv::~SimEnv() = default;

void SimEnv::Schedule(void (*function)(void* arg), void* arg, Priority /*pri*/, void* tag,
                      void (*unschedule_function)(void* arg)) {
  scheduler_->EnqueueBackgroundJob(function, arg, tag, unschedule_function);
}

int SimEnv::UnSchedule(void* tag, Priority /*pri*/) { return scheduler_->UnscheduleBackgroundJobs(tag); }

void SimEnv::StartThread(void (*function)(void* arg), void* arg) {
  scheduler_->Spawn("rocksdb-thread", [function, arg] { function(arg); });
}

unsigned int SimEnv::GetThreadPoolQueueLen(Priority /*pri*/) const {
  return static_cast<unsigned int>(scheduler_->QueuedBackgroundJobs());
}

void SimEnv::SetBackgroundThreads(int number, Priority pri) { background_threads_[pri] = number; }

int SimEnv::GetBackgroundThreads(Priority pri) { return background_threads_[pri]; }

void SimEnv::IncBackgroundThreadsIfNeeded(int number, Priority pri) {
  if (background_threads_[pri] < number) background_threads_[pri] = number;
}

rocksdb::Status SimEnv::GetHostName(char* name, uint64_t length) {
  const std::string& host = sim_file_system_->options().machine;
  if (length == 0) return rocksdb::Status::InvalidArgument("empty host name buffer");
  const size_t copied = std::min<size_t>(host.size(), length - 1);
  std::memcpy(name, host.data(), copied);
  name[copied] = '\0';
  return rocksdb::Status::OK();
}

std::string SimEnv::NextDbSessionId() {
  std::lock_guard<std::mutex> lock(mutex_);
  const uint64_t upper = session_id_prng_.NextU64() >> 25;  // 39 bits: what the encoding's first 8 digits hold
  uint64_t lower = session_id_prng_.NextU64();
  if (lower == 0) lower = 1;  // RocksDB never emits a zero lower half (SST unique ids must be non-zero)
  return rocksdb::EncodeSessionId(upper, lower);
}

std::string SimEnv::GenerateUniqueId() {
  std::lock_guard<std::mutex> lock(mutex_);
  const uint64_t high = prng_.NextU64();
  const uint64_t low = prng_.NextU64();
  char buffer[40];
  std::snprintf(buffer, sizeof(buffer), "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(high >> 32),
                static_cast<unsigned>((high >> 16) & 0xFFFF), static_cast<unsigned>(high & 0xFFFF),
                static_cast<unsigned>(low >> 48), static_cast<unsigned long long>(low & 0xFFFFFFFFFFFFull));
  return buffer;
}

}  // namespace snapsim
