// The number of online CPUs, read from /sys once per process instead of once per memtable.
//
// RocksDB 7.8.3 sizes the per-core shards of every memtable's ConcurrentArena (CoreLocalArray) with
// std::thread::hardware_concurrency(), which is glibc's get_nprocs(): an open, read and close of
// /sys/devices/system/cpu/online each time. A swarm seed creates about 400 memtables (every DB open, column family
// and flush), so that was about 4% of its CPU, all in the kernel (issue #29's profile). This definition of get_nprocs
// comes first for every library that calls it through its PLT (libstdc++ does; glibc's own sysconf does not): it asks
// glibc's once and returns that answer afterwards. What RocksDB makes of the number is unchanged (a host's CPUs do not
// go on or off line under a run).
#include <dlfcn.h>

#include <atomic>

#include "backend/options_file_verification.h"

namespace snapsim {
namespace {

std::atomic<uint64_t> queries{0};

int RealGetNprocs() {
  using Function = int (*)();
  auto real = reinterpret_cast<Function>(dlsym(RTLD_NEXT, "get_nprocs"));
  return real != nullptr ? real() : 1;
}

}  // namespace

uint64_t CpuCountQueries() { return queries.load(); }

}  // namespace snapsim

extern "C" int get_nprocs() {
  static const int online = snapsim::RealGetNprocs();
  ++snapsim::queries;
  return online;
}
