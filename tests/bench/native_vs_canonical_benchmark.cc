// Benchmark 1 (issue #12): a native full checkpoint against a canonical savepoint of the same state (value, list and
// map state, 100-byte values), on the simulated world and on a real directory: time to take, bytes written, time to
// restore into a fresh backend. Goal: native at least 3x faster to take and to restore. Wall-clock figures; the
// ratios are measured in the same run on the same state.
//
//   bazel run -c opt //tests/bench:native_vs_canonical_benchmark -- [--sizes_mib=64,256] [--directory=DIR]
//                                                                    [--json=FILE] [--smoke]
#include <string>
#include <vector>

#include <cstring>

#include "absl/strings/numbers.h"
#include "backend/encoding.h"
#include "absl/strings/str_split.h"
#include "backend/local_files.h"
#include "backend/rocksdb_status.h"
#include "rocksdb/utilities/checkpoint.h"
#include "snapshot/canonical_savepoint.h"
#include "snapshot/checkpoint_stream_factory.h"
#include "snapshot/incremental_restore_operation.h"
#include "tests/bench/bench_report.h"
#include "tests/bench/bench_world.h"

namespace snapsim {
namespace bench {
namespace {

struct Figures {
  double native_take_s = 0, canonical_take_s = 0, native_restore_s = 0, canonical_restore_s = 0;
  // The physical limits, measured side by side (issue #15): copying the same files into checkpoint storage (read
  // each local file, write it as one object, one after another), and copying the stored objects back to a local
  // directory and opening RocksDB on it.
  double copy_out_s = 0, copy_in_and_open_s = 0;
  uint64_t native_bytes = 0, canonical_bytes = 0;
};

// Copies every file of `remote` from the checkpoint directory RocksDB makes of `source` (hard links, as the native
// take starts) into storage under "copy-<tag>/". Only the copy is timed.
double CopyOut(BenchSide& side, KeyedStateBackend& source, const IncrementalRemoteKeyedStateHandle& remote,
               const std::string& tag) {
  rocksdb::Env* env = source.config().env;
  const std::string directory = source.config().instance_path + "/copy-" + tag;
  rocksdb::Checkpoint* raw = nullptr;
  Must(FromRocksDbStatus(rocksdb::Checkpoint::Create(source.db(), &raw), "checkpoint object"), "checkpoint");
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  Must(FromRocksDbStatus(checkpoint->CreateCheckpoint(directory), "checkpoint"), "checkpoint");
  Stopwatch clock;
  for (const std::vector<HandleAndLocalPath>* group : {&remote.shared_state, &remote.private_state}) {
    for (const HandleAndLocalPath& file : *group) {
      const std::string bytes = Must(ReadLocalFile(env, directory + "/" + file.local_path), "read local file");
      std::unique_ptr<CheckpointOutputStream> stream =
          Must(side.storage().Create("copy-" + tag + "/" + file.local_path), "create object");
      Must(stream->Write(bytes), "write object");
      (void)Must(stream->Finish(), "finish object");
    }
  }
  const double seconds = clock.WallSeconds();
  (void)DeleteRecursively(env, directory);
  return seconds;
}

// Copies the objects of `remote` to <instance>/db and opens RocksDB on them (what a restore cannot avoid).
double CopyInAndOpen(BenchSide& side, const IncrementalRemoteKeyedStateHandle& remote, const std::string& tag) {
  KeyedStateBackendConfig config = side.Config("copy-in-" + tag);
  const std::vector<StateMetaInfo> metas =
      Must(ParseStateMetaInfoList(Must(side.storage().Read(remote.meta_state_handle.path), "read metadata")),
           "parse metadata");
  Stopwatch clock;
  Must(CreateDirectories(config.env, config.instance_path + "/db"), "create db directory");
  for (const std::vector<HandleAndLocalPath>* group : {&remote.shared_state, &remote.private_state}) {
    for (const HandleAndLocalPath& file : *group) {
      Must(WriteLocalFile(config.env, config.instance_path + "/db/" + file.local_path,
                          Must(side.storage().Read(file.handle.path), "read object")),
           "write local file");
    }
  }
  std::unique_ptr<KeyedStateBackend> backend = Must(KeyedStateBackend::Open(config, metas), "open copied files");
  const double seconds = clock.WallSeconds();
  backend.reset();
  return seconds;
}

Figures Measure(BenchSide& side, uint64_t bytes, int index) {
  Figures figures;
  const std::string tag = std::to_string(index);
  std::unique_ptr<KeyedStateBackend> source = Must(KeyedStateBackend::Open(side.Config("source-" + tag)), "open");
  Must(FillState(*source, bytes), "fill");
  {
    NativeFullSnapshotStrategy native(source.get(), &side.runtime(), &side.uploader(), LocalRecoveryConfig{},
                                      source->config().backend_uid);
    Stopwatch take;
    SnapshotResult result = Must(TakeSnapshot(side, native, 10 + index), "native full checkpoint");
    figures.native_take_s = take.WallSeconds();
    figures.native_bytes = result.remote->StateSize();
    Stopwatch restore;
    RestoreResult restored =
        Must(RestoreKeyedState(side.Config("native-restore-" + tag), side.runtime(), side.storage(), {*result.remote}),
             "native restore");
    figures.native_restore_s = restore.WallSeconds();
    restored.backend.reset();
    figures.copy_out_s = CopyOut(side, *source, *result.remote, tag);
    figures.copy_in_and_open_s = CopyInAndOpen(side, *result.remote, tag);
  }
  {
    CheckpointStreamFactory factory(&side.storage(), &side.runtime(), "job/shared", "savepoints/sp-" + tag);
    CloseableRegistry registry;
    Stopwatch take;
    std::optional<KeyGroupsStateHandle> savepoint =
        Must(WriteCanonicalSavepoint(*source, factory, registry), "canonical savepoint");
    figures.canonical_take_s = take.WallSeconds();
    figures.canonical_bytes = savepoint->delegate.size_bytes;
    Stopwatch restore;
    RestoreResult restored = Must(RestoreFromCanonicalSavepoint(side.Config("canonical-restore-" + tag),
                                                                side.runtime(), side.storage(), {*savepoint}),
                                  "canonical restore");
    figures.canonical_restore_s = restore.WallSeconds();
    restored.backend.reset();
  }
  source.reset();
  side.Settle();
  return figures;
}

int Main(int argc, char** argv) {
  const BenchFlags flags = ParseBenchFlags(argc, argv, "native_vs_canonical_benchmark",
                                           {{"sizes_mib=A,B,...", "state sizes in MiB (default 1,16,64,256)"}});
  std::vector<uint64_t> sizes_mib = {64, 256};
  if (flags.other.count("sizes_mib")) {
    sizes_mib.clear();
    for (absl::string_view part : absl::StrSplit(flags.other.at("sizes_mib"), ',')) {
      uint64_t mib = 0;
      if (!absl::SimpleAtoi(part, &mib) || mib == 0) return std::fprintf(stderr, "bad --sizes_mib\n"), 2;
      sizes_mib.push_back(mib);
    }
  }
  BenchReport report("native_vs_canonical_benchmark", flags, argc, argv);
  report.Table("native full checkpoint vs canonical savepoint (wall seconds; MiB stored)",
               {"side", "state MiB", "native take", "canon. take", "take ratio", "native MiB", "canon. MiB",
                "native restore", "canon. restore", "restore ratio"});
  std::vector<std::vector<std::string>> limits;
  int index = 0;
  std::vector<std::pair<std::string, Figures>> largest;
  for (const bool real : {false, true}) {
    Figures last;
    std::string side_name;
    for (uint64_t mib : sizes_mib) {
      // A fresh world per size: the simulated store keeps every object in memory, and a 256 MiB restore measured
      // after the 64 MiB run's objects measured that memory too (2.3 s instead of 1.1 s).
      std::unique_ptr<BenchSide> side = real ? BenchSide::RealDisk(flags.directory) : BenchSide::Simulated();
      side_name = side->name();
      const uint64_t bytes = flags.smoke ? 64 * 1024 : mib * 1024 * 1024;
      const Figures f = Measure(*side, bytes, index++);
      report.Row({side->name(), flags.smoke ? "0.06" : std::to_string(mib), Fixed(f.native_take_s, 3),
                  Fixed(f.canonical_take_s, 3), Fixed(f.canonical_take_s / f.native_take_s), Mib(f.native_bytes),
                  Mib(f.canonical_bytes), Fixed(f.native_restore_s, 3), Fixed(f.canonical_restore_s, 3),
                  Fixed(f.canonical_restore_s / f.native_restore_s)});
      limits.push_back({side->name(), flags.smoke ? "0.06" : std::to_string(mib), Fixed(f.copy_out_s, 3),
                        Fixed(f.native_take_s / f.copy_out_s), Fixed(f.copy_in_and_open_s, 3),
                        Fixed(f.native_restore_s / f.copy_in_and_open_s)});
      last = f;
      if (flags.smoke) break;
    }
    largest.emplace_back(side_name, last);
  }
  report.Table("native against the physical limit (wall seconds): copying the same files into storage; copying them "
               "back and opening RocksDB",
               {"side", "state MiB", "copy out", "take/copy", "copy in+open", "restore/copy"});
  for (const std::vector<std::string>& row : limits) report.Row(row);
  // Where a native take's time can go: every stored byte is checksummed (CRC-32C) and copied at least once.
  const std::string buffer(flags.smoke ? 1 << 20 : 64 << 20, 'x');
  std::string copy(buffer.size(), '\0');
  Stopwatch crc_clock;
  volatile uint32_t crc = Crc32c(buffer);
  (void)crc;
  const double crc_rate = buffer.size() / crc_clock.WallSeconds();
  Stopwatch copy_clock;
  std::memcpy(copy.data(), buffer.data(), buffer.size());
  const double copy_rate = buffer.size() / copy_clock.WallSeconds();
  report.Table("what every stored byte costs at least (GB/s, this machine)", {"CRC-32C", "memcpy"});
  report.Row({Fixed(crc_rate / 1e9, 2), Fixed(copy_rate / 1e9, 2)});
  for (const auto& [name, f] : largest) {
    // CPU seconds of checksumming what the native take stored, over its wall seconds: above 100% when the
    // uploader's threads checksum in parallel.
    report.Summary(std::string(name) + ": CRC-32C seconds / native take seconds",
                   Fixed(100 * (f.native_bytes / crc_rate) / f.native_take_s, 1) + "%", "(cause of a gap)");
  }
  for (const auto& [name, f] : largest) {
    report.Summary(std::string(name) + ": canonical take / native take", Fixed(f.canonical_take_s / f.native_take_s),
                   ">= 3.00");
    report.Summary(std::string(name) + ": canonical restore / native restore",
                   Fixed(f.canonical_restore_s / f.native_restore_s), ">= 3.00");
    report.Summary(std::string(name) + ": native take / copying its files into storage",
                   Fixed(f.native_take_s / f.copy_out_s), "<= 2.00");
    report.Summary(std::string(name) + ": native restore / (copying its files back + RocksDB open)",
                   Fixed(f.native_restore_s / f.copy_in_and_open_s), "<= 2.00");
  }
  return report.Finish();
}

}  // namespace
}  // namespace bench
}  // namespace snapsim

int main(int argc, char** argv) { return snapsim::bench::Main(argc, argv); }
