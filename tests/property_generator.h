// The property tests' generator: a RapidCheck state machine over the whole step vocabulary whose model (which steps
// the program allows at each point) holds while generating and while shrinking, so every program, shrunk or not, is
// one the executor accepts. tests/property_test.cc runs its programs; the vocabulary test samples them.
#ifndef SNAPSIM_TESTS_PROPERTY_GENERATOR_H_
#define SNAPSIM_TESTS_PROPERTY_GENERATOR_H_

#include <cstdint>
#include <string>

#include "scenarios/scenario.h"

namespace snapsim {

// A property's emphasis: header overrides (-1 draws).
struct PropertyEmphasis {
  int local_recovery = -1;
  bool manual_checkpoints = false;
};

// Within a RapidCheck property: a program drawn for `property` (its name salts the draws).
Scenario GeneratePropertyScenario(const std::string& property, const PropertyEmphasis& emphasis);

// Outside a property: the program RapidCheck draws from `seed` at size `size`.
Scenario SamplePropertyScenario(uint64_t seed, int size = 60);

}  // namespace snapsim

#endif  // SNAPSIM_TESTS_PROPERTY_GENERATOR_H_
