// RocksDB option presets for the keyed state backend: one for deterministic simulation (no files written by the
// info log, no periodic stats, no automatic compaction, stable DB id and host id) and one for real disk.
// Follows Flink's RocksDBResourceContainer (WAL off for writes) plus ../shared/TOOLCHAIN.md's simulation facts.
#ifndef SNAPSIM_BACKEND_BACKEND_OPTIONS_H_
#define SNAPSIM_BACKEND_BACKEND_OPTIONS_H_

#include "rocksdb/options.h"

namespace snapsim {

enum class OptionsPreset {
  // Deterministic: every background job goes through Env::Schedule (the simulation queues and drains them),
  // nothing depends on the wall clock, and nothing is written that the simulation does not model.
  kSimulation,
  // Real disk: RocksDB's own thread pools and logging.
  kRealDisk,
};

// DB options for `preset`; the caller sets `env`.
rocksdb::DBOptions MakeDbOptions(OptionsPreset preset);
// Column family options for every state (list states rely on the merge operator set here).
rocksdb::ColumnFamilyOptions MakeColumnFamilyOptions(OptionsPreset preset);
// Flink writes without a WAL: durability comes from checkpoints, which flush memtables first.
rocksdb::WriteOptions MakeWriteOptions();

}  // namespace snapsim

#endif  // SNAPSIM_BACKEND_BACKEND_OPTIONS_H_
