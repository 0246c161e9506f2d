#include "backend/backend_options.h"

#include <memory>
#include <string>

#include "backend/list_merge_operator.h"
#include "rocksdb/env.h"

namespace snapsim {
namespace {

// Discards RocksDB's info log: in simulation a LOG file would be I/O the model does not care about, and its
// lines carry wall-clock timestamps.
class DiscardingLogger : public rocksdb::Logger {
 public:
  DiscardingLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::HEADER_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* /*format*/, va_list /*arguments*/) override {}
};


}  // namespace

rocksdb::DBOptions MakeDbOptions(OptionsPreset preset) {
  rocksdb::DBOptions options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  // Restore renames and reuses checkpoints: keep the DB id in the MANIFEST, since checkpoints do not copy IDENTITY.
  options.write_dbid_to_manifest = true;
  options.stats_dump_period_sec = 0;
  options.stats_persist_period_sec = 0;
  if (preset == OptionsPreset::kSimulation) {
    options.info_log = std::make_shared<DiscardingLogger>();
    options.db_host_id = "snapsim-simulated-host";
    options.avoid_unnecessary_blocking_io = false;
    options.enable_thread_tracking = false;
    options.max_file_opening_threads = 1;
    options.max_background_jobs = 2;
    options.allow_mmap_reads = false;
    options.allow_mmap_writes = false;
    options.use_direct_reads = false;
    options.use_direct_io_for_flush_and_compaction = false;
    options.dump_malloc_stats = false;
    // RocksDB's automatic recovery from background errors stays off: for retryable I/O errors ErrorHandler would
    // start a thread of its own (max_bgerror_resume_count = 0 stops it), and for NoSpace the SstFileManager one polling
    // for free space (SimFileSystem::GetFreeSpace answers NotSupported, which stops it: ErrorHandler's
    // OverrideNoSpaceError). Real threads the simulation cannot schedule. A DB whose background error is set stays
    // failed; the task fails and restarts (faults/fault_model.h).
    // No event listener: with any listener registered, RocksDB unlocks its DB mutex around every flush and
    // compaction notification, and a caller waiting in a blocking call (a checkpoint's flush) may take it and run
    // beside the background job's tail on the blocking-call helper. That made swarm seed 21 give another trace hash
    // about once in 60 runs under load (the SstFileManager's size query after a flush moved past the checkpoint's
    // links); the listener that used to turn recovery off was the only one.
    options.max_bgerror_resume_count = 0;
  }
  return options;
}

rocksdb::ColumnFamilyOptions MakeColumnFamilyOptions(OptionsPreset preset) {
  rocksdb::ColumnFamilyOptions options;
  options.merge_operator = std::make_shared<ListMergeOperator>();
  if (preset == OptionsPreset::kSimulation) {
    // The simulation compacts on request, at points the scenario (or seed) chooses.
    options.disable_auto_compactions = true;
  }
  return options;
}

rocksdb::WriteOptions MakeWriteOptions() {
  rocksdb::WriteOptions options;
  options.disableWAL = true;
  return options;
}

}  // namespace snapsim
