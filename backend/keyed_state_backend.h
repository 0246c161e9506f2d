// The keyed state backend on RocksDB: named value, list and map states, one column family each, keys prefixed with
// their key group so that a key-group range is one contiguous key interval. Follows Flink's
// RocksDBKeyedStateBackend without snapshots (snapshot/ builds those on top of db(), column families and meta info).
// Not thread-safe: like Flink's backend it is used from the task's one thread.
#ifndef SNAPSIM_BACKEND_KEYED_STATE_BACKEND_H_
#define SNAPSIM_BACKEND_KEYED_STATE_BACKEND_H_

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "backend/backend_options.h"
#include "backend/cancellation.h"
#include "backend/composite_key.h"
#include "backend/key_groups.h"
#include "backend/resource_guard.h"
#include "backend/runtime.h"
#include "backend/state_meta_info.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/write_batch.h"

namespace snapsim {

struct KeyedStateBackendConfig {
  // Local disk and clock; not owned, must outlive the backend. A SimEnv in simulation, Env::Default() for real.
  rocksdb::Env* env = nullptr;
  // The backend's working directory; the RocksDB instance lives in <instance_path>/db (as in Flink).
  std::string instance_path;
  // Number of key groups, in (0, 32768].
  int max_parallelism = kDefaultMaxParallelism;
  // The key groups this backend owns; keys outside it are rejected. Must lie within [0, max_parallelism).
  KeyGroupRange key_group_range = KeyGroupRange(0, kDefaultMaxParallelism - 1);
  OptionsPreset preset = OptionsPreset::kSimulation;
  // Identity of this backend's state lineage (Flink's backendUID); kept across restores of its snapshots.
  std::string backend_uid;
  // Runs RocksDB calls that wait for background jobs (flush, compaction, close); not owned. nullptr runs them
  // inline, which is right only when RocksDB has its own thread pools (a real Env).
  Runtime* runtime = nullptr;
  // Parallel downloads when restoring a native snapshot into this backend (Flink's
  // state.backend.rocksdb.checkpoint.transfer.thread.num, 4; snapshot/incremental_restore_operation.h).
  int transfer_threads = 4;
  // Cancels a restore into this backend in progress (Flink's cancelStreamRegistry of the backend builder): the restore
  // stops at its next check, waits for its transfers in flight, removes what it created and fails with Cancelled.
  // nullptr: nothing can cancel it.
  std::shared_ptr<const CancellationToken> cancellation;
};

// One entry of a state, decoded.
struct StateEntry {
  CompositeKey key;
  // The raw value: a value state's bytes, a list state's encoded list (DecodeList), a map entry's value.
  std::string value;
};

class KeyedStateBackend {
 public:
  // Opens (creating if missing) <instance_path>/db. `restored_states` re-registers the states of a restored
  // instance, in order; every column family already in the DB must have one.
  static absl::StatusOr<std::unique_ptr<KeyedStateBackend>> Open(
      const KeyedStateBackendConfig& config, const std::vector<StateMetaInfo>& restored_states = {});

  ~KeyedStateBackend();
  KeyedStateBackend(const KeyedStateBackend&) = delete;
  KeyedStateBackend& operator=(const KeyedStateBackend&) = delete;

  // Waits until no snapshot holds a lease on the DB, then flushes memtables and closes it. Further calls fail.
  // Called by the destructor if not called before.
  absl::Status Close();

  // Registers a state, creating its column family. Registering the same name again with equal meta info is a
  // no-op; with another kind or serializers it is an error.
  absl::Status RegisterState(const StateMetaInfo& info) { return RegisterStates({info}); }
  absl::Status RegisterState(absl::string_view name, StateKind kind) {
    return RegisterState(StateMetaInfo::Of(name, kind));
  }
  // Registers several states at once, as RegisterState each; the new ones' column families are created together.
  // RocksDB writes and re-reads its whole OPTIONS file for every column family creation (every creation call: one
  // for all of them here), the largest part of opening a small backend (issue #15). A state that conflicts with a
  // registered one (or another of the call) registers none of them; on an I/O error the states created before it stay
  // registered (RocksDB keeps their column families).
  absl::Status RegisterStates(const std::vector<StateMetaInfo>& infos);
  // Meta info of every registered state, in registration order.
  std::vector<StateMetaInfo> MetaInfos() const;

  // Sets the key that the state operations below act on. Fails if its key group is outside the backend's range.
  absl::Status SetCurrentKey(absl::string_view key);
  // The namespace the operations act on; "" (Flink's VoidNamespace) by default.
  void SetCurrentNamespace(absl::string_view name_space) { current_namespace_ = std::string(name_space); }
  int CurrentKeyGroup() const { return current_key_group_; }

  // Value state.
  absl::StatusOr<std::optional<std::string>> GetValue(absl::string_view state);
  absl::Status PutValue(absl::string_view state, absl::string_view value);
  // List state.
  absl::Status AppendToList(absl::string_view state, absl::string_view element);
  absl::StatusOr<std::vector<std::string>> GetList(absl::string_view state);
  // Map state.
  absl::Status PutMapEntry(absl::string_view state, absl::string_view user_key, absl::string_view value);
  absl::StatusOr<std::optional<std::string>> GetMapEntry(absl::string_view state, absl::string_view user_key);
  absl::Status RemoveMapEntry(absl::string_view state, absl::string_view user_key);
  // (user key, value) pairs of the current key and namespace, ordered by serialized user key.
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> GetMapEntries(absl::string_view state);
  // Removes the current key's entry (value, list) or all its entries (map) in the current namespace.
  absl::Status Clear(absl::string_view state);

  // Calls `visit` for every entry of `state` whose key group is in `range`, in key order; stops early when
  // `visit` returns false.
  absl::Status ForEachEntry(absl::string_view state, const KeyGroupRange& range,
                            const std::function<bool(const StateEntry&)>& visit);
  // As ForEachEntry, with the raw RocksDB key and value (the canonical savepoint writes them as they are), read
  // from `snapshot` if given (a consistent view, see db()->GetSnapshot()).
  absl::Status ForEachRawEntry(absl::string_view state, const KeyGroupRange& range,
                               const std::function<bool(absl::string_view key, absl::string_view value)>& visit,
                               const rocksdb::Snapshot* snapshot = nullptr);
  // Writes one raw entry of `state` (restore of a canonical savepoint). The key must be a composite key of this
  // backend's layout whose key group is in its range.
  absl::Status PutRawEntry(absl::string_view state, absl::string_view key, absl::string_view value);

  // PutRawEntry in write batches of about `batch_bytes` (Flink's RocksDBWriteBatchWrapper, used by its full
  // restore): one RocksDB write per batch instead of one per entry. Entries become visible at Flush() (or when a
  // batch fills); a writer that is destroyed unflushed drops what it holds. Not thread-safe.
  class RawEntryWriter {
   public:
    explicit RawEntryWriter(KeyedStateBackend* backend, size_t batch_bytes = 2 << 20);
    absl::Status Put(absl::string_view state, absl::string_view key, absl::string_view value);
    absl::Status Flush();

   private:
    KeyedStateBackend* backend_;
    size_t batch_bytes_;
    rocksdb::WriteBatch batch_;
  };

  // Deletes every entry of every state in the key groups of `range` (Flink's clip on rescale).
  absl::Status DeleteKeyGroupRange(const KeyGroupRange& range);
  // Copies every entry of `source` in the key groups of `range` into this backend, registering the source's
  // states here if needed (Flink's rescaling restore of a further handle). Both must use the same max parallelism.
  absl::Status CopyKeyGroupRangeFrom(KeyedStateBackend& source, const KeyGroupRange& range);

  absl::Status Flush();
  absl::Status Compact();

  // For the snapshot layer.
  rocksdb::DB* db() const { return db_.get(); }
  // Leases keep the DB open while a snapshot uses it (Flink's rocksDBResourceGuard).
  ResourceGuard& resource_guard() { return resource_guard_; }
  // nullptr if `state` is not registered.
  rocksdb::ColumnFamilyHandle* ColumnFamily(absl::string_view state) const;
  const KeyedStateBackendConfig& config() const { return config_; }
  const KeyGroupRange& key_group_range() const { return config_.key_group_range; }
  int key_group_prefix_bytes() const { return prefix_bytes_; }
  std::string db_path() const { return config_.instance_path + "/db"; }

 private:
  // The column family of `state` for a raw entry with `key`, or why the entry does not belong here.
  absl::StatusOr<rocksdb::ColumnFamilyHandle*> RawEntryTarget(absl::string_view state, absl::string_view key);
  struct RegisteredState {
    StateMetaInfo info;
    rocksdb::ColumnFamilyHandle* column_family = nullptr;
  };

  explicit KeyedStateBackend(const KeyedStateBackendConfig& config);
  absl::StatusOr<RegisteredState*> Lookup(absl::string_view state, std::optional<StateKind> kind);
  absl::Status CheckOpenWithKey() const;
  rocksdb::Status RunBlocking(const std::function<rocksdb::Status()>& call);

  KeyedStateBackendConfig config_;
  int prefix_bytes_;
  ResourceGuard resource_guard_;
  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::ColumnFamilyHandle* default_column_family_ = nullptr;
  rocksdb::WriteOptions write_options_;
  rocksdb::ColumnFamilyOptions column_family_options_;
  // Registration order (snapshot metadata lists states in this order) and lookup by name.
  std::vector<std::unique_ptr<RegisteredState>> states_;
  std::map<std::string, RegisteredState*, std::less<>> states_by_name_;
  CompositeKeyBuilder key_builder_;
  int current_key_group_ = -1;
  std::string current_namespace_;
};

}  // namespace snapsim

#endif  // SNAPSIM_BACKEND_KEYED_STATE_BACKEND_H_
