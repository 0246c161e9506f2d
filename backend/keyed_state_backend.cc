#include "backend/keyed_state_backend.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "backend/list_merge_operator.h"
#include "backend/local_files.h"
#include "backend/rocksdb_status.h"
#include "rocksdb/write_batch.h"

namespace snapsim {
namespace {

absl::Status ValidateConfig(const KeyedStateBackendConfig& config) {
  if (config.env == nullptr) return absl::InvalidArgumentError("keyed state backend: no Env given");
  if (config.instance_path.empty()) return absl::InvalidArgumentError("keyed state backend: empty instance path");
  if (absl::Status status = ValidateMaxParallelism(config.max_parallelism); !status.ok()) return status;
  const KeyGroupRange& range = config.key_group_range;
  if (range.empty() || range.end() >= config.max_parallelism) {
    return absl::InvalidArgumentError(absl::StrCat("keyed state backend: key group range ", range.ToString(),
                                                   " is empty or outside [0, ", config.max_parallelism, ")"));
  }
  return absl::OkStatus();
}

}  // namespace

KeyedStateBackend::KeyedStateBackend(const KeyedStateBackendConfig& config)
    : config_(config),
      prefix_bytes_(KeyGroupPrefixBytes(config.max_parallelism)),
      resource_guard_(config.runtime),
      write_options_(MakeWriteOptions()),
      column_family_options_(MakeColumnFamilyOptions(config.preset)),
      key_builder_(prefix_bytes_) {}

absl::StatusOr<std::unique_ptr<KeyedStateBackend>> KeyedStateBackend::Open(
    const KeyedStateBackendConfig& config, const std::vector<StateMetaInfo>& restored_states) {
  if (absl::Status status = ValidateConfig(config); !status.ok()) return status;
  std::unique_ptr<KeyedStateBackend> backend(new KeyedStateBackend(config));
  const std::string db_path = backend->db_path();

  rocksdb::DBOptions db_options = MakeDbOptions(config.preset);
  db_options.env = config.env;
  absl::Status status = CreateDirectories(config.env, config.instance_path);
  if (!status.ok()) return status;

  // Every column family already in the DB must be described by a restored meta info: otherwise its contents
  // could not be interpreted, and silently dropping it would lose state.
  std::vector<std::string> existing;
  rocksdb::Status list_status = rocksdb::DB::ListColumnFamilies(db_options, db_path, &existing);
  if (list_status.ok()) {
    for (const std::string& name : existing) {
      if (name == rocksdb::kDefaultColumnFamilyName) continue;
      const bool described = std::any_of(restored_states.begin(), restored_states.end(),
                                         [&](const StateMetaInfo& info) { return info.name == name; });
      if (!described) {
        return absl::FailedPreconditionError(absl::StrCat("keyed state backend: column family '", name, "' in ",
                                                          db_path, " has no state meta info"));
      }
    }
  }

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, backend->column_family_options_);
  for (const StateMetaInfo& info : restored_states) {
    if (info.name.empty() || info.name == rocksdb::kDefaultColumnFamilyName) {
      return absl::InvalidArgumentError(absl::StrCat("keyed state backend: invalid state name '", info.name, "'"));
    }
    for (size_t i = 1; i < descriptors.size(); ++i) {
      if (descriptors[i].name == info.name) {
        return absl::InvalidArgumentError(
            absl::StrCat("keyed state backend: state '", info.name, "' restored twice"));
      }
    }
    descriptors.emplace_back(info.name, backend->column_family_options_);
  }

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw_db = nullptr;
  status = FromRocksDbStatus(rocksdb::DB::Open(db_options, db_path, descriptors, &handles, &raw_db),
                             absl::StrCat("opening RocksDB at ", db_path));
  if (!status.ok()) return status;
  backend->db_.reset(raw_db);
  backend->default_column_family_ = handles[0];
  for (size_t i = 0; i < restored_states.size(); ++i) {
    auto state = std::make_unique<RegisteredState>();
    state->info = restored_states[i];
    state->column_family = handles[i + 1];
    backend->states_by_name_[state->info.name] = state.get();
    backend->states_.push_back(std::move(state));
  }
  return backend;
}

KeyedStateBackend::~KeyedStateBackend() { (void)Close(); }

rocksdb::Status KeyedStateBackend::RunBlocking(const std::function<rocksdb::Status()>& call) {
  return config_.runtime != nullptr ? config_.runtime->RunBlockingRocksDbCall(call) : call();
}

absl::Status KeyedStateBackend::Close() {
  if (db_ == nullptr) return absl::OkStatus();
  resource_guard_.Close();
  // Writes skip the WAL (as in Flink), so flush before closing to keep them.
  absl::Status status = Flush();
  for (const std::unique_ptr<RegisteredState>& state : states_) {
    absl::Status destroy = FromRocksDbStatus(db_->DestroyColumnFamilyHandle(state->column_family),
                                             absl::StrCat("releasing column family ", state->info.name));
    if (status.ok()) status = destroy;
  }
  absl::Status destroy_default =
      FromRocksDbStatus(db_->DestroyColumnFamilyHandle(default_column_family_), "releasing default column family");
  if (status.ok()) status = destroy_default;
  absl::Status close =
      FromRocksDbStatus(RunBlocking([this] { return db_->Close(); }), absl::StrCat("closing RocksDB at ", db_path()));
  if (status.ok()) status = close;
  db_.reset();
  states_.clear();
  states_by_name_.clear();
  return status;
}

absl::Status KeyedStateBackend::RegisterStates(const std::vector<StateMetaInfo>& infos) {
  if (db_ == nullptr) return absl::FailedPreconditionError("keyed state backend is closed");
  std::vector<const StateMetaInfo*> new_states;
  std::vector<std::string> names;
  for (const StateMetaInfo& info : infos) {
    if (info.name.empty() || info.name == rocksdb::kDefaultColumnFamilyName) {
      return absl::InvalidArgumentError(absl::StrCat("invalid state name '", info.name, "'"));
    }
    const StateMetaInfo* existing = nullptr;
    auto found = states_by_name_.find(info.name);
    if (found != states_by_name_.end()) existing = &found->second->info;
    for (const StateMetaInfo* earlier : new_states) {
      if (earlier->name == info.name) existing = earlier;
    }
    if (existing == nullptr) {
      new_states.push_back(&info);
      names.push_back(info.name);
      continue;
    }
    if (existing->kind != info.kind) {
      return absl::FailedPreconditionError(absl::StrCat("state '", info.name, "' is registered as ",
                                                        StateKindName(existing->kind), ", not ",
                                                        StateKindName(info.kind)));
    }
    if (*existing != info) {
      return absl::FailedPreconditionError(
          absl::StrCat("state '", info.name, "' is registered with other serializers or schema version"));
    }
  }
  if (new_states.empty()) return absl::OkStatus();
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  absl::Status status = FromRocksDbStatus(
      db_->CreateColumnFamilies(column_family_options_, names, &handles),
      absl::StrCat("creating column famil", names.size() == 1 ? "y" : "ies", " for state(s) '",
                   absl::StrJoin(names, "', '"), "'"));
  // RocksDB creates them one after another and keeps those it created before a failure (an I/O error): they stay
  // registered. Dropping them again on a DB whose MANIFEST write just failed trips a RocksDB 7.8.3 assertion
  // (VersionSet::WriteCurrentStateToManifest, cfd->initialized(); swarm seed 3450), and a failed registration fails
  // the task anyway.
  for (size_t i = 0; i < handles.size() && i < new_states.size(); ++i) {
    auto state = std::make_unique<RegisteredState>();
    state->info = *new_states[i];
    state->column_family = handles[i];
    states_by_name_[state->info.name] = state.get();
    states_.push_back(std::move(state));
  }
  return status;
}

std::vector<StateMetaInfo> KeyedStateBackend::MetaInfos() const {
  std::vector<StateMetaInfo> infos;
  for (const std::unique_ptr<RegisteredState>& state : states_) infos.push_back(state->info);
  return infos;
}

rocksdb::ColumnFamilyHandle* KeyedStateBackend::ColumnFamily(absl::string_view state) const {
  auto found = states_by_name_.find(state);
  return found == states_by_name_.end() ? nullptr : found->second->column_family;
}

absl::Status KeyedStateBackend::SetCurrentKey(absl::string_view key) {
  const int key_group = AssignKeyToKeyGroup(key, config_.max_parallelism);
  if (!config_.key_group_range.Contains(key_group)) {
    return absl::OutOfRangeError(absl::StrCat("key '", key, "' is in key group ", key_group, ", outside this backend's ",
                                              config_.key_group_range.ToString()));
  }
  key_builder_.SetKeyAndKeyGroup(key, key_group);
  current_key_group_ = key_group;
  return absl::OkStatus();
}

absl::Status KeyedStateBackend::CheckOpenWithKey() const {
  if (db_ == nullptr) return absl::FailedPreconditionError("keyed state backend is closed");
  if (!key_builder_.has_key()) return absl::FailedPreconditionError("no current key: call SetCurrentKey first");
  return absl::OkStatus();
}

absl::StatusOr<KeyedStateBackend::RegisteredState*> KeyedStateBackend::Lookup(absl::string_view state,
                                                                              std::optional<StateKind> kind) {
  if (db_ == nullptr) return absl::FailedPreconditionError("keyed state backend is closed");
  auto found = states_by_name_.find(state);
  if (found == states_by_name_.end()) {
    return absl::NotFoundError(absl::StrCat("unknown state '", state, "'"));
  }
  if (kind.has_value() && found->second->info.kind != *kind) {
    return absl::FailedPreconditionError(absl::StrCat("state '", state, "' is ",
                                                      StateKindName(found->second->info.kind), ", not ",
                                                      StateKindName(*kind)));
  }
  return found->second;
}

absl::StatusOr<std::optional<std::string>> KeyedStateBackend::GetValue(absl::string_view state) {
  absl::StatusOr<RegisteredState*> found = Lookup(state, StateKind::kValue);
  if (!found.ok()) return found.status();
  if (absl::Status status = CheckOpenWithKey(); !status.ok()) return status;
  std::string value;
  rocksdb::Status status =
      db_->Get(rocksdb::ReadOptions(), (*found)->column_family, key_builder_.BuildKeyNamespace(current_namespace_),
               &value);
  if (status.IsNotFound()) return std::optional<std::string>();
  if (!status.ok()) return FromRocksDbStatus(status, absl::StrCat("reading value state '", state, "'"));
  return std::optional<std::string>(std::move(value));
}

absl::Status KeyedStateBackend::PutValue(absl::string_view state, absl::string_view value) {
  absl::StatusOr<RegisteredState*> found = Lookup(state, StateKind::kValue);
  if (!found.ok()) return found.status();
  if (absl::Status status = CheckOpenWithKey(); !status.ok()) return status;
  return FromRocksDbStatus(db_->Put(write_options_, (*found)->column_family,
                                    key_builder_.BuildKeyNamespace(current_namespace_), ToSlice(value)),
                           absl::StrCat("writing value state '", state, "'"));
}

absl::Status KeyedStateBackend::AppendToList(absl::string_view state, absl::string_view element) {
  absl::StatusOr<RegisteredState*> found = Lookup(state, StateKind::kList);
  if (!found.ok()) return found.status();
  if (absl::Status status = CheckOpenWithKey(); !status.ok()) return status;
  return FromRocksDbStatus(db_->Merge(write_options_, (*found)->column_family,
                                      key_builder_.BuildKeyNamespace(current_namespace_), EncodeListElement(element)),
                           absl::StrCat("appending to list state '", state, "'"));
}

absl::StatusOr<std::vector<std::string>> KeyedStateBackend::GetList(absl::string_view state) {
  absl::StatusOr<RegisteredState*> found = Lookup(state, StateKind::kList);
  if (!found.ok()) return found.status();
  if (absl::Status status = CheckOpenWithKey(); !status.ok()) return status;
  std::string value;
  rocksdb::Status status =
      db_->Get(rocksdb::ReadOptions(), (*found)->column_family, key_builder_.BuildKeyNamespace(current_namespace_),
               &value);
  if (status.IsNotFound()) return std::vector<std::string>();
  if (!status.ok()) return FromRocksDbStatus(status, absl::StrCat("reading list state '", state, "'"));
  return DecodeList(value);
}

absl::Status KeyedStateBackend::PutMapEntry(absl::string_view state, absl::string_view user_key,
                                            absl::string_view value) {
  absl::StatusOr<RegisteredState*> found = Lookup(state, StateKind::kMap);
  if (!found.ok()) return found.status();
  if (absl::Status status = CheckOpenWithKey(); !status.ok()) return status;
  return FromRocksDbStatus(
      db_->Put(write_options_, (*found)->column_family,
               key_builder_.BuildKeyNamespaceUserKey(current_namespace_, user_key), ToSlice(value)),
      absl::StrCat("writing map state '", state, "'"));
}

absl::StatusOr<std::optional<std::string>> KeyedStateBackend::GetMapEntry(absl::string_view state,
                                                                          absl::string_view user_key) {
  absl::StatusOr<RegisteredState*> found = Lookup(state, StateKind::kMap);
  if (!found.ok()) return found.status();
  if (absl::Status status = CheckOpenWithKey(); !status.ok()) return status;
  std::string value;
  rocksdb::Status status =
      db_->Get(rocksdb::ReadOptions(), (*found)->column_family,
               key_builder_.BuildKeyNamespaceUserKey(current_namespace_, user_key), &value);
  if (status.IsNotFound()) return std::optional<std::string>();
  if (!status.ok()) return FromRocksDbStatus(status, absl::StrCat("reading map state '", state, "'"));
  return std::optional<std::string>(std::move(value));
}

absl::Status KeyedStateBackend::RemoveMapEntry(absl::string_view state, absl::string_view user_key) {
  absl::StatusOr<RegisteredState*> found = Lookup(state, StateKind::kMap);
  if (!found.ok()) return found.status();
  if (absl::Status status = CheckOpenWithKey(); !status.ok()) return status;
  return FromRocksDbStatus(db_->Delete(write_options_, (*found)->column_family,
                                       key_builder_.BuildKeyNamespaceUserKey(current_namespace_, user_key)),
                           absl::StrCat("removing from map state '", state, "'"));
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> KeyedStateBackend::GetMapEntries(
    absl::string_view state) {
  absl::StatusOr<RegisteredState*> found = Lookup(state, StateKind::kMap);
  if (!found.ok()) return found.status();
  if (absl::Status status = CheckOpenWithKey(); !status.ok()) return status;
  const std::string prefix = key_builder_.BuildKeyNamespace(current_namespace_);
  std::vector<std::pair<std::string, std::string>> entries;
  std::unique_ptr<rocksdb::Iterator> iterator(db_->NewIterator(rocksdb::ReadOptions(), (*found)->column_family));
  for (iterator->Seek(prefix); iterator->Valid() && iterator->key().starts_with(prefix); iterator->Next()) {
    absl::StatusOr<CompositeKey> key = DecodeCompositeKey(
        ToStringView(iterator->key()), prefix_bytes_, /*has_user_key=*/true);
    if (!key.ok()) return key.status();
    entries.emplace_back(*key->user_key, iterator->value().ToString());
  }
  absl::Status status = FromRocksDbStatus(iterator->status(), absl::StrCat("iterating map state '", state, "'"));
  if (!status.ok()) return status;
  return entries;
}

absl::Status KeyedStateBackend::Clear(absl::string_view state) {
  absl::StatusOr<RegisteredState*> found = Lookup(state, std::nullopt);
  if (!found.ok()) return found.status();
  if (absl::Status status = CheckOpenWithKey(); !status.ok()) return status;
  const std::string key = key_builder_.BuildKeyNamespace(current_namespace_);
  if ((*found)->info.kind != StateKind::kMap) {
    return FromRocksDbStatus(db_->Delete(write_options_, (*found)->column_family, key),
                             absl::StrCat("clearing state '", state, "'"));
  }
  // Every map entry of (key, namespace) shares `key` as prefix and sorts after it; no other entry does, because
  // the namespace's length suffix makes the prefix unambiguous.
  std::string end = key;
  while (!end.empty() && static_cast<uint8_t>(end.back()) == 0xFF) end.pop_back();
  if (end.empty()) return absl::InternalError("composite key prefix has no successor");
  end.back() = static_cast<char>(static_cast<uint8_t>(end.back()) + 1);
  return FromRocksDbStatus(db_->DeleteRange(write_options_, (*found)->column_family, key, end),
                           absl::StrCat("clearing map state '", state, "'"));
}

absl::Status KeyedStateBackend::ForEachRawEntry(
    absl::string_view state, const KeyGroupRange& range,
    const std::function<bool(absl::string_view key, absl::string_view value)>& visit,
    const rocksdb::Snapshot* snapshot) {
  absl::StatusOr<RegisteredState*> found = Lookup(state, std::nullopt);
  if (!found.ok()) return found.status();
  if (range.empty()) return absl::OkStatus();
  const KeyGroupKeyBounds bounds = KeyBoundsOfKeyGroupRange(range, prefix_bytes_);
  rocksdb::ReadOptions read_options;
  rocksdb::Slice upper_bound(bounds.end);
  read_options.iterate_upper_bound = &upper_bound;
  read_options.snapshot = snapshot;
  std::unique_ptr<rocksdb::Iterator> iterator(db_->NewIterator(read_options, (*found)->column_family));
  for (iterator->Seek(bounds.begin); iterator->Valid(); iterator->Next()) {
    if (!visit(ToStringView(iterator->key()), ToStringView(iterator->value()))) break;
  }
  return FromRocksDbStatus(iterator->status(), absl::StrCat("iterating state '", state, "'"));
}

absl::Status KeyedStateBackend::ForEachEntry(absl::string_view state, const KeyGroupRange& range,
                                             const std::function<bool(const StateEntry&)>& visit) {
  absl::StatusOr<RegisteredState*> found = Lookup(state, std::nullopt);
  if (!found.ok()) return found.status();
  const bool has_user_key = (*found)->info.kind == StateKind::kMap;
  absl::Status decode_error;
  absl::Status status = ForEachRawEntry(state, range, [&](absl::string_view raw_key, absl::string_view value) {
    absl::StatusOr<CompositeKey> key = DecodeCompositeKey(raw_key, prefix_bytes_, has_user_key);
    if (!key.ok()) {
      decode_error = absl::DataLossError(absl::StrCat("state '", state, "': ", key.status().message()));
      return false;
    }
    return visit(StateEntry{*std::move(key), std::string(value)});
  });
  return decode_error.ok() ? status : decode_error;
}

absl::StatusOr<rocksdb::ColumnFamilyHandle*> KeyedStateBackend::RawEntryTarget(absl::string_view state,
                                                                               absl::string_view key) {
  absl::StatusOr<RegisteredState*> found = Lookup(state, std::nullopt);
  if (!found.ok()) return found.status();
  if (key.size() < static_cast<size_t>(prefix_bytes_) ||
      !config_.key_group_range.Contains(ReadKeyGroupPrefix(key, prefix_bytes_))) {
    return absl::OutOfRangeError(absl::StrCat("raw entry of state '", state, "' is outside ",
                                              config_.key_group_range.ToString()));
  }
  return (*found)->column_family;
}

absl::Status KeyedStateBackend::PutRawEntry(absl::string_view state, absl::string_view key,
                                            absl::string_view value) {
  absl::StatusOr<rocksdb::ColumnFamilyHandle*> target = RawEntryTarget(state, key);
  if (!target.ok()) return target.status();
  return FromRocksDbStatus(db_->Put(write_options_, *target, ToSlice(key), ToSlice(value)),
                           absl::StrCat("writing state '", state, "'"));
}

KeyedStateBackend::RawEntryWriter::RawEntryWriter(KeyedStateBackend* backend, size_t batch_bytes)
    : backend_(backend), batch_bytes_(batch_bytes) {}

absl::Status KeyedStateBackend::RawEntryWriter::Put(absl::string_view state, absl::string_view key,
                                                    absl::string_view value) {
  absl::StatusOr<rocksdb::ColumnFamilyHandle*> target = backend_->RawEntryTarget(state, key);
  if (!target.ok()) return target.status();
  absl::Status status = FromRocksDbStatus(batch_.Put(*target, ToSlice(key), ToSlice(value)),
                                          absl::StrCat("batching state '", state, "'"));
  if (status.ok() && batch_.GetDataSize() >= batch_bytes_) status = Flush();
  return status;
}

absl::Status KeyedStateBackend::RawEntryWriter::Flush() {
  if (batch_.Count() == 0) return absl::OkStatus();
  if (backend_->db_ == nullptr) return absl::FailedPreconditionError("keyed state backend is closed");
  absl::Status status = FromRocksDbStatus(backend_->db_->Write(backend_->write_options_, &batch_), "writing a batch");
  batch_.Clear();
  return status;
}

absl::Status KeyedStateBackend::DeleteKeyGroupRange(const KeyGroupRange& range) {
  if (db_ == nullptr) return absl::FailedPreconditionError("keyed state backend is closed");
  if (range.empty()) return absl::OkStatus();
  const KeyGroupKeyBounds bounds = KeyBoundsOfKeyGroupRange(range, prefix_bytes_);
  for (const std::unique_ptr<RegisteredState>& state : states_) {
    absl::Status status =
        FromRocksDbStatus(db_->DeleteRange(write_options_, state->column_family, bounds.begin, bounds.end),
                          absl::StrCat("deleting ", range.ToString(), " of state '", state->info.name, "'"));
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status KeyedStateBackend::CopyKeyGroupRangeFrom(KeyedStateBackend& source, const KeyGroupRange& range) {
  if (db_ == nullptr || source.db_ == nullptr) return absl::FailedPreconditionError("keyed state backend is closed");
  if (source.config_.max_parallelism != config_.max_parallelism) {
    return absl::InvalidArgumentError(absl::StrCat("cannot copy key groups between max parallelism ",
                                                   source.config_.max_parallelism, " and ",
                                                   config_.max_parallelism));
  }
  if (range.empty()) return absl::OkStatus();
  const KeyGroupKeyBounds bounds = KeyBoundsOfKeyGroupRange(range, prefix_bytes_);
  constexpr size_t kBatchBytes = 2 << 20;
  for (const std::unique_ptr<RegisteredState>& state : source.states_) {
    if (absl::Status status = RegisterState(state->info); !status.ok()) return status;
    rocksdb::ColumnFamilyHandle* target = ColumnFamily(state->info.name);
    rocksdb::ReadOptions read_options;
    rocksdb::Slice upper_bound(bounds.end);
    read_options.iterate_upper_bound = &upper_bound;
    std::unique_ptr<rocksdb::Iterator> iterator(source.db_->NewIterator(read_options, state->column_family));
    rocksdb::WriteBatch batch;
    for (iterator->Seek(bounds.begin); iterator->Valid(); iterator->Next()) {
      rocksdb::Status put = batch.Put(target, iterator->key(), iterator->value());
      if (put.ok() && batch.GetDataSize() >= kBatchBytes) {
        put = db_->Write(write_options_, &batch);
        batch.Clear();
      }
      if (!put.ok()) return FromRocksDbStatus(put, absl::StrCat("copying state '", state->info.name, "'"));
    }
    if (absl::Status status = FromRocksDbStatus(iterator->status(), absl::StrCat("reading state '",
                                                                                  state->info.name, "'"));
        !status.ok()) {
      return status;
    }
    if (absl::Status status = FromRocksDbStatus(db_->Write(write_options_, &batch),
                                                absl::StrCat("copying state '", state->info.name, "'"));
        !status.ok()) {
      return status;
    }
  }
  return absl::OkStatus();
}

absl::Status KeyedStateBackend::Flush() {
  if (db_ == nullptr) return absl::FailedPreconditionError("keyed state backend is closed");
  std::vector<rocksdb::ColumnFamilyHandle*> handles{default_column_family_};
  for (const std::unique_ptr<RegisteredState>& state : states_) handles.push_back(state->column_family);
  rocksdb::FlushOptions options;
  options.wait = true;
  return FromRocksDbStatus(RunBlocking([&] { return db_->Flush(options, handles); }),
                           absl::StrCat("flushing RocksDB at ", db_path()));
}

absl::Status KeyedStateBackend::Compact() {
  if (db_ == nullptr) return absl::FailedPreconditionError("keyed state backend is closed");
  for (const std::unique_ptr<RegisteredState>& state : states_) {
    absl::Status status =
        FromRocksDbStatus(RunBlocking([&] {
                            return db_->CompactRange(rocksdb::CompactRangeOptions(), state->column_family, nullptr,
                                                     nullptr);
                          }),
                          absl::StrCat("compacting state '", state->info.name, "'"));
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

}  // namespace snapsim
