#include "backend/key_groups.h"

#include <algorithm>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace snapsim {
namespace {

// Java int arithmetic wraps; do it in uint32_t and convert back.
uint32_t RotateLeft(uint32_t value, int bits) { return (value << bits) | (value >> (32 - bits)); }

}  // namespace

KeyGroupRange::KeyGroupRange(int start, int end) : start_(start), end_(end) {
  if (start < 0 || end < start - 1) {
    // Programmer error: always-on check (STYLE.md rule 3).
    std::abort();
  }
  if (end < start) {
    start_ = 0;
    end_ = -1;
  }
}

KeyGroupRange KeyGroupRange::Intersection(const KeyGroupRange& other) const {
  const int start = std::max(start_, other.start_);
  const int end = std::min(end_, other.end_);
  if (start > end) return Empty();
  return KeyGroupRange(start, end);
}

std::string KeyGroupRange::ToString() const {
  if (empty()) return "KeyGroupRange{empty}";
  return absl::StrCat("KeyGroupRange{", start_, "..", end_, "}");
}

int32_t MurmurHash(int32_t code_in) {
  uint32_t code = static_cast<uint32_t>(code_in);
  code *= 0xcc9e2d51u;
  code = RotateLeft(code, 15);
  code *= 0x1b873593u;
  code = RotateLeft(code, 13);
  code = code * 5 + 0xe6546b64u;
  code ^= 4;
  // fmix
  code ^= code >> 16;
  code *= 0x85ebca6bu;
  code ^= code >> 13;
  code *= 0xc2b2ae35u;
  code ^= code >> 16;
  const int32_t result = static_cast<int32_t>(code);
  if (result >= 0) return result;
  if (result != INT32_MIN) return -result;
  return 0;
}

int32_t JavaStringHashCode(absl::string_view key) {
  uint32_t hash = 0;
  for (unsigned char c : key) hash = 31 * hash + c;
  return static_cast<int32_t>(hash);
}

absl::Status ValidateMaxParallelism(int max_parallelism) {
  if (max_parallelism <= 0 || max_parallelism > kUpperBoundMaxParallelism) {
    return absl::InvalidArgumentError(absl::StrCat("max parallelism must be in (0, ", kUpperBoundMaxParallelism,
                                                   "], got ", max_parallelism));
  }
  return absl::OkStatus();
}

int AssignToKeyGroup(int32_t key_hash, int max_parallelism) {
  return MurmurHash(key_hash) % max_parallelism;
}

int AssignKeyToKeyGroup(absl::string_view key, int max_parallelism) {
  return AssignToKeyGroup(JavaStringHashCode(key), max_parallelism);
}

absl::StatusOr<KeyGroupRange> ComputeKeyGroupRangeForOperatorIndex(int max_parallelism, int parallelism,
                                                                   int operator_index) {
  if (absl::Status status = ValidateMaxParallelism(max_parallelism); !status.ok()) return status;
  if (parallelism <= 0 || parallelism > kUpperBoundMaxParallelism) {
    return absl::InvalidArgumentError(absl::StrCat("parallelism must be in (0, ", kUpperBoundMaxParallelism,
                                                   "], got ", parallelism));
  }
  if (max_parallelism < parallelism) {
    return absl::InvalidArgumentError(absl::StrCat("max parallelism ", max_parallelism,
                                                   " is smaller than parallelism ", parallelism));
  }
  if (operator_index < 0 || operator_index >= parallelism) {
    return absl::InvalidArgumentError(
        absl::StrCat("operator index ", operator_index, " outside [0, ", parallelism, ")"));
  }
  // int arithmetic as in Flink: safe because max_parallelism <= 32768.
  const int start = (operator_index * max_parallelism + parallelism - 1) / parallelism;
  const int end = ((operator_index + 1) * max_parallelism - 1) / parallelism;
  return KeyGroupRange(start, end);
}

int ComputeOperatorIndexForKeyGroup(int max_parallelism, int parallelism, int key_group) {
  return key_group * parallelism / max_parallelism;
}

int ComputeDefaultMaxParallelism(int parallelism) {
  uint32_t x = static_cast<uint32_t>(parallelism + parallelism / 2) - 1;
  x |= x >> 1;
  x |= x >> 2;
  x |= x >> 4;
  x |= x >> 8;
  x |= x >> 16;
  const int rounded = static_cast<int>(x + 1);
  return std::min(std::max(rounded, kDefaultMaxParallelism), kUpperBoundMaxParallelism);
}

int KeyGroupPrefixBytes(int max_parallelism) { return max_parallelism > 128 ? 2 : 1; }

}  // namespace snapsim
