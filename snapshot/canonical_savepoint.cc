#include "snapshot/canonical_savepoint.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "backend/composite_key.h"
#include "backend/encoding.h"
#include "backend/key_groups.h"
#include "backend/list_merge_operator.h"
#include "backend/local_files.h"
#include "backend/state_meta_info.h"

namespace snapsim {
namespace {

constexpr absl::string_view kMagic = "SCS1";
constexpr uint16_t kVersion = 1;
constexpr uint16_t kEndOfKeyGroupMark = 0xFFFF;
constexpr uint8_t kMetaDataFollowsFlag = 0x80;
constexpr size_t kFlushBytes = 64 * 1024;

// Buffers writes to a checkpoint stream and knows the stream position.
class PositionedWriter {
 public:
  explicit PositionedWriter(StateOutputStream* stream) : stream_(stream) {}
  uint64_t position() const { return position_; }
  absl::Status Write(absl::string_view bytes) {
    buffer_.append(bytes.data(), bytes.size());
    position_ += bytes.size();
    return buffer_.size() >= kFlushBytes ? Flush() : absl::OkStatus();
  }
  absl::Status Flush() {
    if (buffer_.empty()) return absl::OkStatus();
    absl::Status status = stream_->Write(buffer_);
    buffer_.clear();
    return status;
  }

 private:
  StateOutputStream* stream_;
  std::string buffer_;
  uint64_t position_ = 0;
};

std::string U16(uint16_t value) { return std::string{static_cast<char>(value >> 8), static_cast<char>(value & 0xFF)}; }

std::string U32(uint32_t value) {
  std::string out;
  ByteWriter(&out).PutFixed32BigEndian(value);
  return out;
}

// One pending entry: written when the next one (or the end) tells whether the "metadata follows" flag is needed.
struct Entry {
  std::string key;
  std::string value;
};

absl::Status WriteEntry(PositionedWriter& writer, Entry entry, bool metadata_follows) {
  if (metadata_follows) entry.key[0] = static_cast<char>(static_cast<uint8_t>(entry.key[0]) | kMetaDataFollowsFlag);
  absl::Status status = writer.Write(U32(static_cast<uint32_t>(entry.key.size())));
  if (status.ok()) status = writer.Write(entry.key);
  if (status.ok()) status = writer.Write(U32(static_cast<uint32_t>(entry.value.size())));
  if (status.ok()) status = writer.Write(entry.value);
  return status;
}

}  // namespace

absl::StatusOr<std::optional<KeyGroupsStateHandle>> WriteCanonicalSavepoint(KeyedStateBackend& backend,
                                                                            CheckpointStreamFactory& factory,
                                                                            CloseableRegistry& registry) {
  const std::vector<StateMetaInfo> metas = backend.MetaInfos();
  if (metas.empty()) return std::optional<KeyGroupsStateHandle>();
  if (metas.size() >= kEndOfKeyGroupMark) return absl::InvalidArgumentError("too many states for a savepoint");
  absl::StatusOr<std::unique_ptr<StateOutputStream>> created = factory.CreateStream(StateScope::kExclusive);
  if (!created.ok()) return created.status();
  std::shared_ptr<StateOutputStream> stream(std::move(*created));
  const std::optional<uint64_t> token = registry.Register([stream] { stream->Cancel(); });
  if (!token.has_value()) return absl::CancelledError("savepoint cancelled before it started");

  // A consistent view of every state, released whatever happens.
  const rocksdb::Snapshot* snapshot = backend.db()->GetSnapshot();
  std::unique_ptr<const rocksdb::Snapshot, std::function<void(const rocksdb::Snapshot*)>> release(
      snapshot, [&backend](const rocksdb::Snapshot* s) { backend.db()->ReleaseSnapshot(s); });

  PositionedWriter writer(stream.get());
  std::string header(kMagic);
  header += U16(kVersion);
  ByteWriter(&header).PutFixed32BigEndian(static_cast<uint32_t>(backend.config().max_parallelism));
  ByteWriter(&header).PutLengthPrefixed(SerializeStateMetaInfoList(metas));
  absl::Status status = writer.Write(header);

  const KeyGroupRange range = backend.key_group_range();
  KeyGroupsStateHandle handle;
  handle.offsets.range = range;
  handle.offsets.offsets.assign(range.size(), 0);
  for (int key_group = range.start(); status.ok() && key_group <= range.end(); ++key_group) {
    bool group_started = false;
    std::optional<Entry> pending;
    for (size_t state = 0; status.ok() && state < metas.size(); ++state) {
      bool state_started = false;
      absl::Status iteration = backend.ForEachRawEntry(
          metas[state].name, KeyGroupRange(key_group, key_group),
          [&](absl::string_view key, absl::string_view value) {
            if (!group_started) {
              handle.offsets.offsets[key_group - range.start()] = writer.position();
              group_started = true;
              status = writer.Write(U16(static_cast<uint16_t>(state)));
            } else if (!state_started) {
              // State change inside the key group: flag the previous entry and name the next state.
              status = WriteEntry(writer, *std::move(pending), /*metadata_follows=*/true);
              if (status.ok()) status = writer.Write(U16(static_cast<uint16_t>(state)));
              pending.reset();
            }
            state_started = true;
            if (status.ok() && pending.has_value()) status = WriteEntry(writer, *std::move(pending), false);
            pending = Entry{std::string(key), std::string(value)};
            return status.ok();
          },
          snapshot);
      if (status.ok()) status = iteration;
    }
    if (status.ok() && pending.has_value()) {
      status = WriteEntry(writer, *std::move(pending), /*metadata_follows=*/true);
      if (status.ok()) status = writer.Write(U16(kEndOfKeyGroupMark));
    }
  }
  if (status.ok()) status = writer.Flush();
  if (!registry.Unregister(*token)) return absl::CancelledError("savepoint stream is already closed");
  if (!status.ok()) {
    stream->Cancel();
    return status;
  }
  absl::StatusOr<StreamStateHandle> stored = stream->CloseAndGetHandle();
  if (!stored.ok()) return stored.status();
  handle.delegate = *std::move(stored);
  return std::optional<KeyGroupsStateHandle>(std::move(handle));
}

namespace {

// Applies one savepoint object to `backend`.
absl::Status RestoreOne(KeyedStateBackend& backend, CheckpointStorage& storage, const KeyGroupsStateHandle& handle) {
  const std::string& path = handle.delegate.path;
  const std::string what = absl::StrCat("savepoint ", path);
  const CancellationToken* cancellation = backend.config().cancellation.get();
  if (absl::Status status = CheckNotCancelled(cancellation, absl::StrCat("restoring ", what)); !status.ok()) {
    return status;
  }
  absl::StatusOr<std::string> bytes = ReadStreamStateHandle(storage, handle.delegate, "savepoint");
  if (!bytes.ok()) return bytes.status();
  ByteReader header(*bytes, what);
  absl::StatusOr<absl::string_view> magic = header.ReadRaw(kMagic.size(), "magic");
  if (!magic.ok()) return magic.status();
  if (*magic != kMagic) return header.Corrupt("magic", "not a snapsim canonical savepoint");
  absl::StatusOr<absl::string_view> version = header.ReadRaw(2, "version");
  if (!version.ok()) return version.status();
  if (*version != U16(kVersion)) return header.Corrupt("version", "unknown savepoint version");
  absl::StatusOr<uint32_t> max_parallelism = header.ReadFixed32BigEndian("max_parallelism");
  if (!max_parallelism.ok()) return max_parallelism.status();
  if (static_cast<int>(*max_parallelism) != backend.config().max_parallelism) {
    return header.Corrupt("max_parallelism", absl::StrCat("savepoint has ", *max_parallelism, ", backend has ",
                                                          backend.config().max_parallelism));
  }
  absl::StatusOr<absl::string_view> meta_blob = header.ReadLengthPrefixed("meta_infos");
  if (!meta_blob.ok()) return meta_blob.status();
  absl::StatusOr<std::vector<StateMetaInfo>> metas = ParseStateMetaInfoList(*meta_blob);
  if (!metas.ok()) return absl::DataLossError(absl::StrCat(what, ": ", metas.status().message()));
  if (absl::Status status = backend.RegisterStates(*metas); !status.ok()) return status;
  const KeyGroupRange& range = handle.offsets.range;
  if (handle.offsets.offsets.size() != static_cast<size_t>(range.size())) {
    return absl::DataLossError(absl::StrCat(what, ": offsets do not match ", range.ToString()));
  }
  const int prefix_bytes = backend.key_group_prefix_bytes();
  // Entries go in through write batches (Flink's RocksDBWriteBatchWrapper), not one Put each.
  KeyedStateBackend::RawEntryWriter writer(&backend);
  for (int key_group = range.start(); key_group <= range.end(); ++key_group) {
    const uint64_t offset = handle.offsets.offsets[key_group - range.start()];
    if (offset == 0 || !backend.key_group_range().Contains(key_group)) continue;
    if (absl::Status status = CheckNotCancelled(cancellation, absl::StrCat("restoring ", what)); !status.ok()) {
      return status;
    }
    if (offset >= bytes->size()) {
      return absl::DataLossError(absl::StrCat(what, ": key group ", key_group, " offset ", offset, " is past the end"));
    }
    ByteReader reader(absl::string_view(*bytes).substr(offset), absl::StrCat(what, " key group ", key_group));
    absl::StatusOr<absl::string_view> state_id = reader.ReadRaw(2, "state id");
    for (;;) {
      if (!state_id.ok()) return state_id.status();
      const uint16_t id = static_cast<uint16_t>((static_cast<uint8_t>((*state_id)[0]) << 8) |
                                                static_cast<uint8_t>((*state_id)[1]));
      if (id >= metas->size()) return reader.Corrupt("state id", absl::StrCat("unknown state id ", id));
      absl::StatusOr<uint32_t> key_length = reader.ReadFixed32BigEndian("key length");
      if (!key_length.ok()) return key_length.status();
      absl::StatusOr<absl::string_view> raw_key = reader.ReadRaw(*key_length, "key");
      if (!raw_key.ok()) return raw_key.status();
      absl::StatusOr<uint32_t> value_length = reader.ReadFixed32BigEndian("value length");
      if (!value_length.ok()) return value_length.status();
      absl::StatusOr<absl::string_view> value = reader.ReadRaw(*value_length, "value");
      if (!value.ok()) return value.status();
      std::string key(*raw_key);
      if (key.size() < static_cast<size_t>(prefix_bytes)) return reader.Corrupt("key", "shorter than its prefix");
      const bool metadata_follows = (static_cast<uint8_t>(key[0]) & kMetaDataFollowsFlag) != 0;
      key[0] = static_cast<char>(static_cast<uint8_t>(key[0]) & ~kMetaDataFollowsFlag);
      if (ReadKeyGroupPrefix(key, prefix_bytes) != key_group) {
        return reader.Corrupt("key", absl::StrCat("entry of key group ", ReadKeyGroupPrefix(key, prefix_bytes),
                                                  " inside key group ", key_group));
      }
      // Every entry is decoded as a read would decode it before it goes in: a key that does not decode, hashes
      // to another key group, or a list value that does not decode would otherwise restore "successfully" and
      // fail (or vanish) on the first read.
      const StateMetaInfo& meta = (*metas)[id];
      absl::StatusOr<CompositeKey> decoded =
          DecodeCompositeKey(key, prefix_bytes, /*has_user_key=*/meta.kind == StateKind::kMap);
      if (!decoded.ok()) {
        return reader.Corrupt("key", absl::StrCat("entry of state '", meta.name, "' (", StateKindName(meta.kind),
                                                  ") does not decode: ", decoded.status().message()));
      }
      const int hashed_key_group = AssignKeyToKeyGroup(decoded->key, backend.config().max_parallelism);
      if (hashed_key_group != key_group) {
        return reader.Corrupt("key", absl::StrCat("entry of state '", meta.name, "' for key '", decoded->key,
                                                  "' is stored in key group ", key_group, " but the key belongs to ",
                                                  hashed_key_group));
      }
      if (meta.kind == StateKind::kList) {
        if (absl::StatusOr<std::vector<std::string>> list = DecodeList(*value); !list.ok()) {
          return reader.Corrupt("value", absl::StrCat("list of state '", meta.name, "' for key '", decoded->key,
                                                      "' does not decode: ", list.status().message()));
        }
      }
      if (absl::Status status = writer.Put(meta.name, key, *value); !status.ok()) return status;
      if (metadata_follows) {
        absl::StatusOr<absl::string_view> next = reader.ReadRaw(2, "next state id");
        if (!next.ok()) return next.status();
        if (*next == U16(kEndOfKeyGroupMark)) break;
        state_id = next;
      } else {
        state_id = *state_id;  // same state continues
      }
    }
  }
  return writer.Flush();
}

}  // namespace

absl::StatusOr<RestoreResult> RestoreFromCanonicalSavepoint(const KeyedStateBackendConfig& config, Runtime& runtime,
                                                            CheckpointStorage& storage,
                                                            const std::vector<KeyGroupsStateHandle>& handles) {
  rocksdb::Env* env = config.env;
  if (LocalPathExists(env, config.instance_path + "/db")) {
    return absl::FailedPreconditionError(
        absl::StrCat("instance directory ", config.instance_path, " already holds a RocksDB instance"));
  }
  const bool instance_existed = LocalPathExists(env, config.instance_path);
  absl::StatusOr<std::unique_ptr<KeyedStateBackend>> backend = KeyedStateBackend::Open(config);
  if (!backend.ok()) return backend.status();
  for (const KeyGroupsStateHandle& handle : handles) {
    absl::Status status = RestoreOne(**backend, storage, handle);
    if (!status.ok()) {
      backend->reset();
      (void)DeleteRecursively(env, config.instance_path + "/db");
      if (!instance_existed) (void)DeleteRecursively(env, config.instance_path);
      return status;
    }
  }
  RestoreResult result;
  result.backend = *std::move(backend);
  result.backend_uid = runtime.NewUniqueId();
  return result;
}

}  // namespace snapsim
