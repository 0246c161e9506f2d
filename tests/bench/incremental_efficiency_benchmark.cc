// Benchmark 2 (issue #12): incremental efficiency over a chain of checkpoints with writes, flushes and compactions.
// For each checkpoint: the SST bytes it uploaded, against the SST bytes its confirmed base lacked (the physical
// minimum: files in this checkpoint's SST set that the previous completed checkpoint's set did not have), and the
// metadata and misc files (MANIFEST, CURRENT, OPTIONS, meta info) apart. Goal: exactly 1.000, and 0 SST bytes for an
// unchanged database. Runs in the simulated world (the figures are byte counts, the same on any disk).
//
//   bazel run -c opt //tests/bench:incremental_efficiency_benchmark -- [--checkpoints=24] [--json=FILE] [--smoke]
#include <map>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "tests/bench/bench_report.h"
#include "tests/bench/bench_world.h"

namespace snapsim {
namespace bench {
namespace {

int Main(int argc, char** argv) {
  const BenchFlags flags = ParseBenchFlags(argc, argv, "incremental_efficiency_benchmark",
                                           {{"checkpoints=N", "checkpoints per mode (default 24)"}});
  int checkpoints = 24;
  if (flags.other.count("checkpoints") && !absl::SimpleAtoi(flags.other.at("checkpoints"), &checkpoints)) {
    return std::fprintf(stderr, "bad --checkpoints\n"), 2;
  }
  if (flags.smoke) checkpoints = 4;
  const uint64_t batch_bytes = flags.smoke ? 32 * 1024 : 2 * 1024 * 1024;
  BenchReport report("incremental_efficiency_benchmark", flags, argc, argv);
  report.Table("incremental checkpoints (bytes)", {"checkpoint", "what changed", "SST files", "uploaded SST",
                                                   "base lacked", "ratio", "misc + meta"});
  std::unique_ptr<BenchSide> side = BenchSide::Simulated();
  std::unique_ptr<KeyedStateBackend> backend = Must(KeyedStateBackend::Open(side->Config("chain")), "open");
  IncrementalSnapshotStrategy strategy(backend.get(), &side->runtime(), &side->uploader(), LocalRecoveryConfig{},
                                       backend->config().backend_uid);
  std::map<std::string, uint64_t> confirmed;  // the previous completed checkpoint's SST files
  uint64_t total_uploaded = 0, total_minimum = 0, unchanged_sst_bytes = 0;
  int unchanged_checkpoints = 0;
  uint64_t next_key = 0;
  for (int id = 1; id <= checkpoints; ++id) {
    // A cycle of what happens between checkpoints: new keys, overwrites of old ones, a compaction, nothing at all.
    std::string what;
    switch (id % 4) {
      case 1:
        Must(FillState(*backend, batch_bytes, next_key, static_cast<char>('a' + id % 26)), "write new keys");
        next_key += batch_bytes / 100;
        what = "new keys";
        break;
      case 2:
        Must(FillState(*backend, batch_bytes / 2, next_key / 2, static_cast<char>('a' + id % 26)), "overwrite");
        what = "overwrites";
        break;
      case 3:
        Must(backend->Compact(), "compact");
        what = "compaction";
        break;
      default:
        what = "nothing";
        break;
    }
    const SnapshotResult result = Must(TakeSnapshot(*side, strategy, id), "incremental checkpoint");
    strategy.NotifyCheckpointComplete(id);
    std::map<std::string, uint64_t> files;
    uint64_t uploaded = 0;
    for (const HandleAndLocalPath& file : result.remote->shared_state) {
      files[file.local_path] = file.handle.size_bytes;
      if (!file.handle.is_placeholder()) uploaded += file.handle.size_bytes;
    }
    uint64_t minimum = 0;
    for (const auto& [name, size] : files) {
      if (confirmed.count(name) == 0) minimum += size;
    }
    uint64_t misc = result.remote->meta_state_handle.size_bytes;
    for (const HandleAndLocalPath& file : result.remote->private_state) misc += file.handle.size_bytes;
    total_uploaded += uploaded;
    total_minimum += minimum;
    if (what == "nothing") {
      unchanged_sst_bytes += uploaded;
      ++unchanged_checkpoints;
    }
    report.Row({std::to_string(id), what, std::to_string(files.size()), std::to_string(uploaded),
                std::to_string(minimum), minimum == 0 ? (uploaded == 0 ? "-" : "inf") : Fixed(1.0 * uploaded / minimum, 3),
                std::to_string(misc)});
    confirmed = std::move(files);
  }
  backend.reset();
  side->Settle();
  report.Summary("uploaded SST bytes / bytes the confirmed bases lacked (whole chain)",
                 total_minimum == 0 ? "-" : Fixed(1.0 * total_uploaded / total_minimum, 3), "1.000");
  report.Summary(absl::StrCat("SST bytes uploaded by the ", unchanged_checkpoints, " unchanged checkpoints"),
                 std::to_string(unchanged_sst_bytes), "0");
  return report.Finish();
}

}  // namespace
}  // namespace bench
}  // namespace snapsim

int main(int argc, char** argv) { return snapsim::bench::Main(argc, argv); }
