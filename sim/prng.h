// The simulation's only source of randomness: xoshiro256** seeded through splitmix64, with a child stream per
// component so that adding draws in one component does not shift another's. Probabilities are integer ratios; no
// floats, no std distributions (implementation-defined), no global state. After TigerBeetle's src/stdx/prng.zig.
#ifndef SNAPSIM_SIM_PRNG_H_
#define SNAPSIM_SIM_PRNG_H_

#include <cstdint>
#include <vector>

#include "absl/strings/string_view.h"

namespace snapsim {

// One step of splitmix64: advances *state and returns a well-mixed value.
uint64_t SplitMix64(uint64_t* state);

// A ratio numerator/denominator, e.g. Ratio{1, 100} for "one in a hundred".
struct Ratio {
  uint64_t numerator = 0;
  uint64_t denominator = 1;
};

class Prng {
 public:
  explicit Prng(uint64_t seed);

  uint64_t seed() const { return seed_; }
  uint64_t NextU64();
  // Uniform in [0, bound). REQUIRES: bound > 0. Unbiased (rejection sampling).
  uint64_t UniformBelow(uint64_t bound);
  // Uniform in [low, high]. REQUIRES: low <= high.
  int64_t UniformInRange(int64_t low, int64_t high);
  // True with probability ratio.numerator / ratio.denominator. REQUIRES: numerator <= denominator, denominator > 0.
  bool Chance(Ratio ratio);
  // An index drawn with probability weights[i] / sum(weights). REQUIRES: some weight > 0.
  size_t WeightedChoice(const std::vector<uint64_t>& weights);
  // An independent stream for `component`, a function of this stream's seed and the name only.
  Prng Child(absl::string_view component) const;

 private:
  uint64_t seed_;
  uint64_t state_[4];
};

}  // namespace snapsim

#endif  // SNAPSIM_SIM_PRNG_H_
