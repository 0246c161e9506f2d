// Key groups: how keys map to key groups and key groups to parallel operator instances.
// Follows Flink's KeyGroupRangeAssignment, KeyGroupRange and MathUtils.murmurHash exactly (Java int semantics).
#ifndef SNAPSIM_BACKEND_KEY_GROUPS_H_
#define SNAPSIM_BACKEND_KEY_GROUPS_H_

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace snapsim {

// Flink's upper bound for max parallelism (Short.MAX_VALUE + 1).
inline constexpr int kUpperBoundMaxParallelism = 1 << 15;
inline constexpr int kDefaultMaxParallelism = 128;

// An inclusive range [start, end] of key groups. The empty range is (0, -1), as in Flink.
class KeyGroupRange {
 public:
  KeyGroupRange() : start_(0), end_(-1) {}
  // REQUIRES: 0 <= start, and end >= start (or end == start - 1 for an empty range).
  KeyGroupRange(int start, int end);
  static KeyGroupRange Empty() { return KeyGroupRange(); }

  int start() const { return start_; }
  int end() const { return end_; }
  int size() const { return end_ - start_ + 1; }
  bool empty() const { return size() <= 0; }
  bool Contains(int key_group) const { return key_group >= start_ && key_group <= end_; }
  KeyGroupRange Intersection(const KeyGroupRange& other) const;
  std::string ToString() const;

  friend bool operator==(const KeyGroupRange& a, const KeyGroupRange& b) {
    return (a.empty() && b.empty()) || (a.start_ == b.start_ && a.end_ == b.end_);
  }
  friend bool operator!=(const KeyGroupRange& a, const KeyGroupRange& b) { return !(a == b); }

 private:
  int start_;
  int end_;
};

// Flink's MathUtils.murmurHash(int): a non-negative 32-bit hash.
int32_t MurmurHash(int32_t code);

// The Java String.hashCode of `key` with each byte taken as one Latin-1 character. snapsim keys are byte
// strings; for ASCII keys this equals Flink's key.hashCode() for java.lang.String keys.
int32_t JavaStringHashCode(absl::string_view key);

// Checks 0 < max_parallelism <= 32768.
absl::Status ValidateMaxParallelism(int max_parallelism);

// murmurHash(key_hash) % max_parallelism. REQUIRES: valid max_parallelism.
int AssignToKeyGroup(int32_t key_hash, int max_parallelism);
// The key group of a snapsim key (a byte string).
int AssignKeyToKeyGroup(absl::string_view key, int max_parallelism);

// Flink's computeKeyGroupRangeForOperatorIndex: the key groups of operator `operator_index` of `parallelism`.
absl::StatusOr<KeyGroupRange> ComputeKeyGroupRangeForOperatorIndex(int max_parallelism, int parallelism,
                                                                   int operator_index);
// Flink's computeOperatorIndexForKeyGroup: key_group * parallelism / max_parallelism.
int ComputeOperatorIndexForKeyGroup(int max_parallelism, int parallelism, int key_group);
// Flink's computeDefaultMaxParallelism: min(max(roundUpToPowerOfTwo(p + p / 2), 128), 32768).
int ComputeDefaultMaxParallelism(int parallelism);

// Bytes of key-group prefix in every RocksDB key: 1 when max parallelism <= 128, else 2 (big-endian).
int KeyGroupPrefixBytes(int max_parallelism);

}  // namespace snapsim

#endif  // SNAPSIM_BACKEND_KEY_GROUPS_H_
