#include "sim/prng.h"

#include <cstdlib>

namespace snapsim {
namespace {

uint64_t RotateLeft(uint64_t value, int bits) { return (value << bits) | (value >> (64 - bits)); }

// FNV-1a, to turn a component name into a stream id.
uint64_t HashName(absl::string_view name) {
  uint64_t hash = 0xcbf29ce484222325ull;
  for (unsigned char c : name) {
    hash ^= c;
    hash *= 0x100000001b3ull;
  }
  return hash;
}

void Require(bool condition) {
  if (!condition) std::abort();  // Programmer error (STYLE.md rule 3).
}

}  // namespace

uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

Prng::Prng(uint64_t seed) : seed_(seed) {
  uint64_t splitmix_state = seed;
  for (uint64_t& word : state_) word = SplitMix64(&splitmix_state);
}

uint64_t Prng::NextU64() {
  const uint64_t result = RotateLeft(state_[1] * 5, 7) * 9;
  const uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = RotateLeft(state_[3], 45);
  return result;
}

uint64_t Prng::UniformBelow(uint64_t bound) {
  Require(bound > 0);
  // Reject the top partial bucket so every residue is equally likely.
  const uint64_t limit = UINT64_MAX - (UINT64_MAX % bound + 1) % bound;
  for (;;) {
    const uint64_t value = NextU64();
    if (value <= limit) return value % bound;
  }
}

int64_t Prng::UniformInRange(int64_t low, int64_t high) {
  Require(low <= high);
  const uint64_t span = static_cast<uint64_t>(high) - static_cast<uint64_t>(low);
  if (span == UINT64_MAX) return static_cast<int64_t>(NextU64());
  return static_cast<int64_t>(static_cast<uint64_t>(low) + UniformBelow(span + 1));
}

bool Prng::Chance(Ratio ratio) {
  Require(ratio.denominator > 0 && ratio.numerator <= ratio.denominator);
  return UniformBelow(ratio.denominator) < ratio.numerator;
}

size_t Prng::WeightedChoice(const std::vector<uint64_t>& weights) {
  uint64_t total = 0;
  for (uint64_t weight : weights) {
    Require(total + weight >= total);
    total += weight;
  }
  Require(total > 0);
  uint64_t pick = UniformBelow(total);
  for (size_t i = 0; i < weights.size(); ++i) {
    if (pick < weights[i]) return i;
    pick -= weights[i];
  }
  std::abort();  // Unreachable.
}

Prng Prng::Child(absl::string_view component) const {
  uint64_t state = seed_ ^ RotateLeft(HashName(component), 17);
  return Prng(SplitMix64(&state));
}

}  // namespace snapsim
