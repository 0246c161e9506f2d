// Benchmarks 4 (first figure), 6 and 7 (issue #12), on the simulated world and a real directory:
//  - checkpoint-and-restore cycles per CPU-second at about 1 MiB of state (a cycle: a few writes, an incremental
//    checkpoint, its completion, a restore into a fresh backend); goal >= 200 (simulated);
//  - cycle time against state size (1, 16, 64, 256 MiB; each cycle a first, so full, incremental checkpoint and a
//    restore);
//  - restore time against the length of an incremental chain with the same live state (each checkpoint overwrites
//    a tenth of the keys; a compaction every fourth): it should follow the live SST bytes, not the chain length;
//  - restore time against download threads (1, 2, 4 parallel transfers; issue #13 part 5), with how much of a
//    one-thread restore the downloads are (what parallel downloads can overlap).
//
//   bazel run -c opt //tests/bench:cycle_scaling_benchmark -- [--sizes_mib=1,16,64,256] [--chains=1,4,16,32]
//                                                              [--sides=simulated|real] [--directory=DIR]
//                                                              [--json=FILE] [--smoke]
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "snapshot/incremental_restore_operation.h"
#include "tests/bench/bench_report.h"
#include "tests/bench/bench_world.h"

namespace snapsim {
namespace bench {
namespace {

std::vector<uint64_t> ListFlag(const BenchFlags& flags, const std::string& name, std::vector<uint64_t> fallback) {
  if (flags.other.count(name) == 0) return fallback;
  std::vector<uint64_t> values;
  for (absl::string_view part : absl::StrSplit(flags.other.at(name), ',')) {
    uint64_t value = 0;
    if (!absl::SimpleAtoi(part, &value) || value == 0) {
      std::fprintf(stderr, "bad --%s\n", name.c_str());
      std::exit(2);
    }
    values.push_back(value);
  }
  return values;
}

int counter = 0;
std::string Fresh(const std::string& what) { return absl::StrCat(what, "-", counter++); }

uint64_t LiveSstBytes(const IncrementalRemoteKeyedStateHandle& handle) {
  uint64_t bytes = 0;
  for (const HandleAndLocalPath& file : handle.shared_state) bytes += file.handle.size_bytes;
  return bytes;
}

double RestoreSeconds(BenchSide& side, const IncrementalRemoteKeyedStateHandle& handle, int threads = 4) {
  KeyedStateBackendConfig config = side.Config(Fresh("restore"));
  config.transfer_threads = threads;
  Stopwatch clock;
  RestoreResult restored = Must(RestoreKeyedState(config, side.runtime(), side.storage(), {handle}), "restore");
  const double seconds = clock.WallSeconds();
  restored.backend.reset();
  return seconds;
}

// Reads every file of `handle` from storage, as a restore downloads them, without writing or opening anything.
double DownloadOnlySeconds(BenchSide& side, const IncrementalRemoteKeyedStateHandle& handle) {
  Stopwatch clock;
  for (const auto* files : {&handle.shared_state, &handle.private_state}) {
    for (const HandleAndLocalPath& file : *files) Must(side.storage().Read(file.handle.path), "read");
  }
  return clock.WallSeconds();
}

// Wall seconds of a cycle's parts, summed over the cycles.
struct CycleParts {
  double writes_s = 0, checkpoint_s = 0, restore_s = 0;
};

// Cycles per CPU-second at about `bytes` of state.
double CyclesPerCpuSecond(BenchSide& side, uint64_t bytes, int cycles, CycleParts* parts) {
  std::unique_ptr<KeyedStateBackend> backend = Must(KeyedStateBackend::Open(side.Config(Fresh("cycle"))), "open");
  Must(FillState(*backend, bytes), "fill");
  IncrementalSnapshotStrategy strategy(backend.get(), &side.runtime(), &side.uploader(), LocalRecoveryConfig{},
                                       backend->config().backend_uid);
  Stopwatch clock;
  for (int id = 1; id <= cycles; ++id) {
    Stopwatch writes;
    Must(FillState(*backend, 2000, id * 20, static_cast<char>('a' + id % 26)), "writes");
    parts->writes_s += writes.WallSeconds();
    Stopwatch checkpoint;
    const SnapshotResult result = Must(TakeSnapshot(side, strategy, id), "checkpoint");
    strategy.NotifyCheckpointComplete(id);
    parts->checkpoint_s += checkpoint.WallSeconds();
    parts->restore_s += RestoreSeconds(side, *result.remote);
  }
  const double cpu = clock.CpuSeconds();
  backend.reset();
  side.Settle();
  return cycles / cpu;
}

int Main(int argc, char** argv) {
  const BenchFlags flags =
      ParseBenchFlags(argc, argv, "cycle_scaling_benchmark",
                      {{"sizes_mib=A,B,...", "state sizes in MiB of the take/restore table (default 1,16,64,256)"},
                       {"chains=A,B,...", "incremental chain lengths (default 1,4,16,32)"},
                       {"sides=simulated|real", "run one side only (default both)"}});
  const std::vector<uint64_t> sizes =
      flags.smoke ? std::vector<uint64_t>{1} : ListFlag(flags, "sizes_mib", {1, 16, 64, 256});
  const std::vector<uint64_t> chains =
      flags.smoke ? std::vector<uint64_t>{1, 2} : ListFlag(flags, "chains", {1, 4, 16, 32});
  const uint64_t cycle_bytes = flags.smoke ? 64 * 1024 : 1024 * 1024;
  const int cycles = flags.smoke ? 2 : 40;
  BenchReport report("cycle_scaling_benchmark", flags, argc, argv);
  // --sides=simulated|real (default both): one side only, e.g. to profile it.
  const std::string only = flags.other.count("sides") ? flags.other.at("sides") : "";
  // Each measurement gets a fresh world: the simulated store keeps every object in memory, and a measurement after
  // another's objects measures that memory too (see native_vs_canonical_benchmark.cc).
  std::vector<bool> simulated_sides;
  if (only.empty() || only == "simulated") simulated_sides.push_back(true);
  if (only.empty() || only == "real") simulated_sides.push_back(false);
  if (simulated_sides.empty()) return std::fprintf(stderr, "--sides takes simulated or real\n"), 2;
  auto new_side = [&flags](bool simulated) {
    return simulated ? BenchSide::Simulated() : BenchSide::RealDisk(flags.directory);
  };

  report.Table("checkpoint + restore cycles at ~1 MiB (ms per cycle: writes and flush, checkpoint, restore)",
               {"side", "cycles", "cycles/CPU-s", "writes ms", "checkpoint ms", "restore ms"});
  std::vector<double> throughput;
  for (const bool simulated : simulated_sides) {
    std::unique_ptr<BenchSide> side = new_side(simulated);
    CycleParts parts;
    throughput.push_back(CyclesPerCpuSecond(*side, cycle_bytes, cycles, &parts));
    report.Row({side->name(), std::to_string(cycles), Fixed(throughput.back(), 1),
                Fixed(1000 * parts.writes_s / cycles), Fixed(1000 * parts.checkpoint_s / cycles),
                Fixed(1000 * parts.restore_s / cycles)});
  }

  report.Table("cycle time against state size (wall seconds)",
               {"side", "state MiB", "checkpoint", "restore", "cycle", "SST MiB"});
  for (const bool simulated : simulated_sides) {
    for (uint64_t mib : sizes) {
      std::unique_ptr<BenchSide> side = new_side(simulated);
      const uint64_t bytes = flags.smoke ? 64 * 1024 : mib * 1024 * 1024;
      std::unique_ptr<KeyedStateBackend> backend = Must(KeyedStateBackend::Open(side->Config(Fresh("size"))), "open");
      Must(FillState(*backend, bytes), "fill");
      IncrementalSnapshotStrategy strategy(backend.get(), &side->runtime(), &side->uploader(), LocalRecoveryConfig{},
                                           backend->config().backend_uid);
      Stopwatch take;
      const SnapshotResult result = Must(TakeSnapshot(*side, strategy, 1), "checkpoint");
      const double take_s = take.WallSeconds();
      const double restore_s = RestoreSeconds(*side, *result.remote);
      report.Row({side->name(), flags.smoke ? "0.06" : std::to_string(mib), Fixed(take_s, 3), Fixed(restore_s, 3),
                  Fixed(take_s + restore_s, 3), Mib(LiveSstBytes(*result.remote))});
      backend.reset();
      side->Settle();
    }
  }

  report.Table("restore time against incremental chain length (same live state)",
               {"side", "chain", "SST files", "live SST MiB", "restore s", "s per live MiB"});
  const uint64_t chain_bytes = flags.smoke ? 64 * 1024 : 16 * 1024 * 1024;
  for (const bool simulated : simulated_sides) {
    for (uint64_t length : chains) {
      std::unique_ptr<BenchSide> side = new_side(simulated);
      std::unique_ptr<KeyedStateBackend> backend = Must(KeyedStateBackend::Open(side->Config(Fresh("chain"))), "open");
      Must(FillState(*backend, chain_bytes), "fill");
      IncrementalSnapshotStrategy strategy(backend.get(), &side->runtime(), &side->uploader(), LocalRecoveryConfig{},
                                           backend->config().backend_uid);
      std::optional<SnapshotResult> last;
      for (uint64_t id = 1; id <= length; ++id) {
        if (id > 1) {
          Must(FillState(*backend, chain_bytes / 10, (id * chain_bytes / 1000) % (chain_bytes / 100),
                         static_cast<char>('a' + id % 26)),
               "overwrite");
          if (id % 4 == 0) Must(backend->Compact(), "compact");
        }
        last = Must(TakeSnapshot(*side, strategy, static_cast<int64_t>(id)), "checkpoint");
        strategy.NotifyCheckpointComplete(static_cast<int64_t>(id));
      }
      const double restore_s = RestoreSeconds(*side, *last->remote);
      const uint64_t live = LiveSstBytes(*last->remote);
      report.Row({side->name(), std::to_string(length), std::to_string(last->remote->shared_state.size()),
                  Mib(live), Fixed(restore_s, 3),
                  Fixed(restore_s / (live / 1048576.0), 4)});
      backend.reset();
      side->Settle();
    }
  }

  report.Table("restore time against download threads (64 MiB; issue #13 part 5)",
               {"side", "threads", "restore s", "download-only s", "download share"});
  std::vector<double> shares;
  for (const bool simulated : simulated_sides) {
    std::unique_ptr<BenchSide> side = new_side(simulated);
    std::unique_ptr<KeyedStateBackend> backend = Must(KeyedStateBackend::Open(side->Config(Fresh("threads"))), "open");
    Must(FillState(*backend, flags.smoke ? 64 * 1024 : 64 * 1024 * 1024), "fill");
    IncrementalSnapshotStrategy strategy(backend.get(), &side->runtime(), &side->uploader(), LocalRecoveryConfig{},
                                         backend->config().backend_uid);
    const SnapshotResult result = Must(TakeSnapshot(*side, strategy, 1), "checkpoint");
    const double download_s = DownloadOnlySeconds(*side, *result.remote);
    for (const int threads : {1, 2, 4}) {
      const double restore_s = RestoreSeconds(*side, *result.remote, threads);
      if (threads == 1) shares.push_back(download_s / restore_s);
      report.Row({side->name(), std::to_string(threads), Fixed(restore_s, 3), threads == 1 ? Fixed(download_s, 3) : "",
                  threads == 1 ? Fixed(100 * shares.back(), 1) + "%" : ""});
    }
    backend.reset();
    side->Settle();
  }
  for (size_t i = 0; i < simulated_sides.size(); ++i) {
    const bool simulated = simulated_sides[i];
    const char* name = simulated ? "simulated" : "real disk";
    report.Summary(absl::StrCat(name, ": checkpoint + restore cycles per CPU-second at ~1 MiB"),
                   Fixed(throughput[i], 1), simulated ? ">= 200" : "(>= 100, issue #15)");
    report.Summary(absl::StrCat(name, ": share of a one-thread 64 MiB restore spent downloading"),
                   Fixed(100 * shares[i], 1) + "%", "what parallel downloads can overlap");
  }
  return report.Finish();
}

}  // namespace
}  // namespace bench
}  // namespace snapsim

int main(int argc, char** argv) { return snapsim::bench::Main(argc, argv); }
