// The RocksDB key of a keyed state entry: [key-group prefix][key][key length][namespace][namespace length]
// [map user key]. Follows Flink's CompositeKeySerializationUtils and SerializedCompositeKeyBuilder: keys and
// namespaces are variable-length, so both carry Flink's length suffix; the big-endian key-group prefix keeps all
// entries of one key group contiguous, and the length-prefixed key keeps all entries of one key contiguous.
#ifndef SNAPSIM_BACKEND_COMPOSITE_KEY_H_
#define SNAPSIM_BACKEND_COMPOSITE_KEY_H_

#include <optional>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "backend/key_groups.h"

namespace snapsim {

// The key group prefix of `key_group`, `prefix_bytes` (1 or 2) bytes, big-endian.
std::string SerializeKeyGroupPrefix(int key_group, int prefix_bytes);
// Decodes the prefix of a RocksDB key. REQUIRES: key.size() >= prefix_bytes.
int ReadKeyGroupPrefix(absl::string_view key, int prefix_bytes);

// The half-open RocksDB key interval [begin, end) that holds every entry of the key groups in `range`.
struct KeyGroupKeyBounds {
  std::string begin;
  std::string end;
};
KeyGroupKeyBounds KeyBoundsOfKeyGroupRange(const KeyGroupRange& range, int prefix_bytes);

// A decoded composite key.
struct CompositeKey {
  int key_group = 0;
  std::string key;
  std::string name_space;  // `namespace` is a keyword.
  std::optional<std::string> user_key;  // Map states only.
};

// Builds composite keys for one current key, as Flink's SerializedCompositeKeyBuilder (one per backend, not
// thread-safe).
class CompositeKeyBuilder {
 public:
  explicit CompositeKeyBuilder(int prefix_bytes) : prefix_bytes_(prefix_bytes) {}

  void SetKeyAndKeyGroup(absl::string_view key, int key_group);
  bool has_key() const { return has_key_; }

  // [prefix][key][suffix][namespace][suffix]: the key of a value or list entry, and the prefix of every map entry
  // of (key, namespace).
  std::string BuildKeyNamespace(absl::string_view name_space) const;
  // BuildKeyNamespace(name_space) + [user key].
  std::string BuildKeyNamespaceUserKey(absl::string_view name_space, absl::string_view user_key) const;

 private:
  int prefix_bytes_;
  bool has_key_ = false;
  std::string key_part_;  // [prefix][key][suffix]
};

// Decodes a composite key. `has_user_key` says whether the state is a map state.
absl::StatusOr<CompositeKey> DecodeCompositeKey(absl::string_view raw, int prefix_bytes, bool has_user_key);

}  // namespace snapsim

#endif  // SNAPSIM_BACKEND_COMPOSITE_KEY_H_
