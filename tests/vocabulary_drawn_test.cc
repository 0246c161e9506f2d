// Everything a scenario can say, the generators say: a path no generator draws is a path no sweep can judge (#25).
// The test walks the scenario language's own tables (StepVocabulary, HeaderFieldNames): every verb; every word of
// every word parameter; for every number, a number, and the default and a changed value when there is a default;
// every header field at its default and changed (each value of an enumerated one); and the combinations Flink
// refuses, drawn with the refusal expected (a resume with another max parallelism, or with fewer operators than the
// snapshot has state for). It samples seeds of every generator (swarm, swarm-recoverable, lifecycle, and the
// property tests' RapidCheck generator) and fails naming every item none drew. What is left to hand-written
// scenarios is listed below with the reason; an item listed there that a generator draws fails the test too.
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "scenarios/lifecycle_generator.h"
#include "scenarios/scenario.h"
#include "scenarios/swarm_generator.h"
#include "tests/property_generator.h"

namespace snapsim {
namespace {

// Items no generator draws, each with the reason a hand-written scenario says it instead.
const std::map<std::string, std::string>& LeftToHandWritten() {
  static const auto* items = new std::map<std::string, std::string>{
      {"checkpoint expect=failed",
       "whether a checkpoint must fail depends on which of its files are inline or reused and on chances; "
       "hand-written scenarios state it (finalize_failure_counts, the README's expect_failed example)"},
      {"savepoint expect=failed", "as for checkpoints: only a hand-written scenario knows a savepoint must fail"},
      {"await expect=completed",
       "an awaited snapshot's outcome depends on what ran meanwhile; generators put expect= on the trigger"},
      {"await expect=failed", "as await expect=completed"},
      {"liveness registration=must-not-decline",
       "a notification a fault delayed may still make the registry decline, as in Flink, so generated runs keep "
       "the default (completion_racing_a_trigger_keeps_the_base says it)"},
      {"liveness attempts=default",
       "one attempt is too few after faults: a checkpoint may fail once for a fault's late effect; generators allow "
       "retries, each reported"},
      {"header timeout_ms=default",
       "the default 60 s puts every expiry past a generated run's virtual time; generators draw 100-400 ms"},
  };
  return *items;
}

bool IsNumber(const std::string& text) {
  int64_t value = 0;
  return absl::SimpleAtoi(text, &value);
}

// The items a parameter can take.
std::vector<std::string> ItemsOf(const std::string& verb, const StepParameter& parameter) {
  const std::string prefix = absl::StrCat(verb, " ", parameter.name, "=");
  std::vector<std::string> items;
  for (const std::string& word : parameter.words) items.push_back(prefix + word);
  if (parameter.type == StepParameter::Type::kWord) return items;
  if (parameter.type == StepParameter::Type::kInt) items.push_back(prefix + "<number>");
  if (!parameter.required && (parameter.type == StepParameter::Type::kToken || IsNumber(parameter.default_value))) {
    items.push_back(prefix + "default");
    items.push_back(prefix + "changed");
  }
  if (parameter.required && parameter.type == StepParameter::Type::kToken) items.push_back(prefix + "<token>");
  return items;
}

// The items one value of a parameter stands for.
std::vector<std::string> ItemsOfValue(const std::string& verb, const StepParameter& parameter,
                                      const std::string& value) {
  const std::string prefix = absl::StrCat(verb, " ", parameter.name, "=");
  std::vector<std::string> items;
  const bool is_word = std::find(parameter.words.begin(), parameter.words.end(), value) != parameter.words.end();
  if (is_word) items.push_back(prefix + value);
  if (parameter.type == StepParameter::Type::kInt && !is_word) items.push_back(prefix + "<number>");
  if (!parameter.required && (parameter.type == StepParameter::Type::kToken || IsNumber(parameter.default_value))) {
    items.push_back(prefix + (value == parameter.default_value ? "default" : "changed"));
  }
  if (parameter.required && parameter.type == StepParameter::Type::kToken) items.push_back(prefix + "<token>");
  return items;
}

// "name value" header lines of a formatted scenario.
std::map<std::string, std::string> HeaderOf(const Scenario& scenario) {
  std::map<std::string, std::string> header;
  Scenario bare;
  bare.config = scenario.config;
  for (absl::string_view line : absl::StrSplit(FormatScenario(bare), '\n')) {
    std::vector<std::string> parts = absl::StrSplit(line, ' ');
    if (parts.size() == 2) header[parts[0]] = parts[1];
  }
  return header;
}

const std::set<std::string> kEnumeratedHeaderFields = {"mode", "local_recovery", "restore_mode"};

std::set<std::string> RequiredItems() {
  std::set<std::string> required;
  for (const StepSpec& spec : StepVocabulary()) {
    required.insert(spec.verb);
    for (const StepParameter& parameter : spec.parameters) {
      for (const std::string& item : ItemsOf(spec.verb, parameter)) required.insert(item);
    }
  }
  for (const std::string& field : HeaderFieldNames()) {
    if (field == "mode") {
      required.insert({"header mode=incremental", "header mode=full"});
    } else if (field == "local_recovery") {
      required.insert({"header local_recovery=on", "header local_recovery=off"});
    } else if (field == "restore_mode") {
      required.insert({"header restore_mode=claim", "header restore_mode=no_claim", "header restore_mode=legacy"});
    } else {
      required.insert({absl::StrCat("header ", field, "=default"), absl::StrCat("header ", field, "=changed")});
    }
  }
  // Refusals Flink makes, drawn with the refusal expected.
  required.insert("refused: resume with another max_parallelism, expect=failed");
  required.insert("refused: resume with fewer operators than the snapshot has state for, expect=failed");
  return required;
}

void Collect(const Scenario& scenario, std::set<std::string>* drawn) {
  static const std::map<std::string, std::string>* defaults = [] {
    Scenario plain;
    return new std::map<std::string, std::string>(HeaderOf(plain));
  }();
  const std::map<std::string, std::string> header = HeaderOf(scenario);
  for (const std::string& field : HeaderFieldNames()) {
    auto value = header.find(field);
    auto standard = defaults->find(field);
    const std::string actual = value != header.end() ? value->second : standard != defaults->end() ? standard->second : "";
    if (kEnumeratedHeaderFields.count(field) > 0) {
      drawn->insert(absl::StrCat("header ", field, "=", actual));
    } else {
      const bool is_default = value == header.end() || (standard != defaults->end() && standard->second == actual);
      drawn->insert(absl::StrCat("header ", field, is_default ? "=default" : "=changed"));
    }
  }
  int operators = scenario.config.operators;
  for (const ScenarioStep& step : scenario.steps) {
    drawn->insert(step.verb);
    const StepSpec* spec = FindStepSpec(step.verb);
    ASSERT_NE(spec, nullptr) << step.verb;
    for (const StepParameter& parameter : spec->parameters) {
      auto found = step.arguments.find(parameter.name);
      const std::string value = found != step.arguments.end() ? found->second.value : parameter.default_value;
      for (const std::string& item : ItemsOfValue(step.verb, parameter, value)) drawn->insert(item);
    }
    if (step.verb == "resume") {
      const bool refused = step.Text("expect") == "failed";
      if (refused && step.Text("max_parallelism") != "same") {
        drawn->insert("refused: resume with another max_parallelism, expect=failed");
      }
      if (step.Text("operators") != "same") {
        const int next = static_cast<int>(step.Int("operators"));
        if (refused && next < operators) {
          drawn->insert("refused: resume with fewer operators than the snapshot has state for, expect=failed");
        }
        if (!refused) operators = next;
      }
    }
  }
}

TEST(VocabularyDrawnTest, EveryVerbArgumentAndValueIsDrawnBySomeGenerator) {
  std::set<std::string> drawn;
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    Collect(GenerateSwarmScenario(seed), &drawn);
    SwarmOptions recoverable;
    recoverable.recoverable_only = true;
    Collect(GenerateSwarmScenario(seed, recoverable), &drawn);
    Collect(SamplePropertyScenario(seed), &drawn);
    if (seed <= 100) Collect(GenerateLifecycleScenario(seed), &drawn);
  }
  std::vector<std::string> missing;
  std::vector<std::string> stale;
  for (const std::string& item : RequiredItems()) {
    const bool exempt = LeftToHandWritten().count(item) > 0;
    if (drawn.count(item) == 0 && !exempt) missing.push_back(item);
    if (drawn.count(item) > 0 && exempt) stale.push_back(item);
  }
  for (const auto& [item, reason] : LeftToHandWritten()) {
    EXPECT_TRUE(RequiredItems().count(item) > 0) << "'" << item << "' is listed as left to hand-written scenarios "
                                                 << "but the language has no such item";
  }
  EXPECT_TRUE(missing.empty()) << missing.size() << " item(s) of the scenario language no generator draws (swarm, "
                               << "swarm-recoverable seeds 1-200, lifecycle 1-100, property samples 1-200):\n  "
                               << absl::StrJoin(missing, "\n  ")
                               << "\nDraw them in a generator, or list them in LeftToHandWritten() with the reason.";
  EXPECT_TRUE(stale.empty()) << "listed as left to hand-written scenarios, yet a generator draws them (remove them "
                             << "from the list):\n  " << absl::StrJoin(stale, "\n  ");
}

// The walk itself: an item the generators cannot reach is reported as missing (a test that cannot fail is a defect).
TEST(VocabularyDrawnTest, AnItemNothingDrawsIsReported) {
  std::set<std::string> drawn;
  Scenario scenario;
  ScenarioStepAppender steps(&scenario, "test");
  steps.Add("writes", {{"count", "1"}, {"keys", "1"}});
  Collect(scenario, &drawn);
  EXPECT_EQ(drawn.count("writes"), 1u);
  EXPECT_EQ(drawn.count("flush"), 0u);
  EXPECT_EQ(drawn.count("header parallelism=default"), 1u);
  EXPECT_EQ(drawn.count("header parallelism=changed"), 0u);
  EXPECT_GT(RequiredItems().count("stop how=finish"), 0u);
}

}  // namespace
}  // namespace snapsim
