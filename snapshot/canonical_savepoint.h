// The canonical savepoint: every state's entries, key group by key group, in a backend-independent stream, with
// the stream offset of each key group, so any backend configuration (incremental or native full, any
// parallelism) can restore it. Follows Flink's FullSnapshotAsyncWriter / KeyGroupsStateHandle /
// RocksDBFullRestoreOperation (section 4 of shared/flink/TASKMANAGER_SIDE.md); the header is snapsim's own
// (magic, version, max parallelism, the state meta info list) instead of Java serializer snapshots, and there is
// no compression.
//
// Key-group block: int16 state id, then entries (int32 key length, key, int32 value length, value); the last
// entry before a state change or the end of the key group has bit 0x80 of its first key byte set, and is
// followed by the next int16 state id, or 0xFFFF at the end of the key group (possible because key groups are
// < 2^15, so that bit of a key's first byte is otherwise 0).
#ifndef SNAPSIM_SNAPSHOT_CANONICAL_SAVEPOINT_H_
#define SNAPSIM_SNAPSHOT_CANONICAL_SAVEPOINT_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "backend/keyed_state_backend.h"
#include "backend/runtime.h"
#include "snapshot/checkpoint_stream_factory.h"
#include "snapshot/closeable_registry.h"
#include "snapshot/incremental_restore_operation.h"
#include "snapshot/state_handles.h"

namespace snapsim {

// Writes a canonical savepoint of `backend` from a consistent RocksDB snapshot, in EXCLUSIVE scope. An empty
// backend yields nullopt. A failure or cancellation (closing `registry`) leaves no object behind.
absl::StatusOr<std::optional<KeyGroupsStateHandle>> WriteCanonicalSavepoint(KeyedStateBackend& backend,
                                                                            CheckpointStreamFactory& factory,
                                                                            CloseableRegistry& registry);

// Restores the key groups of `config.key_group_range` from canonical savepoint handles (any number, any ranges:
// key groups outside the target range are skipped) into a new backend at `config.instance_path`. The restored
// backend starts a new lineage (fresh UID, no SST history). Bad input is an error naming the object and offset;
// every entry is decoded as a read would decode it (composite key, its key group, a list's elements) before it is
// ingested, so a savepoint that restores is one that reads.
absl::StatusOr<RestoreResult> RestoreFromCanonicalSavepoint(const KeyedStateBackendConfig& config, Runtime& runtime,
                                                            CheckpointStorage& storage,
                                                            const std::vector<KeyGroupsStateHandle>& handles);

}  // namespace snapsim

#endif  // SNAPSIM_SNAPSHOT_CANONICAL_SAVEPOINT_H_
