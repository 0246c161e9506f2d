// The scenario language: what a user writes parses to what they meant, prints back to text that parses to the same
// scenario, and every malformed input is an error naming file:line:column and the token, never a crash.
#include "scenarios/scenario.h"

#include <cstdlib>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "sim/prng.h"

namespace snapsim {
namespace {

using ::testing::HasSubstr;

constexpr char kExample[] = R"(# Resume a full checkpoint into incremental mode.
# Second line of the description.

parallelism 3
mode full
local_recovery on
restore_mode claim
seed 42

1 put state=value key=k1 value="hello world"   # a value with a space
2 append state=list key=k1 value=x
3 map-put state=map key=k1 user_key=u1 value=v
5 checkpoint as=c1 expect=completed
6 message action=drop kind=notify-complete subtask=1
7 stop how=cancel
8 resume from=c1 mode=incremental parallelism=2
)";

TEST(ScenarioTest, ParsesHeaderStepsAndDefaults) {
  absl::StatusOr<Scenario> scenario = ParseScenario(kExample, "example.scenario");
  ASSERT_TRUE(scenario.ok()) << scenario.status();
  EXPECT_EQ(scenario->config.parallelism, 3);
  EXPECT_FALSE(scenario->config.incremental);
  EXPECT_TRUE(scenario->config.local_recovery);
  EXPECT_EQ(scenario->config.restore_mode, "claim");
  EXPECT_EQ(scenario->config.seed, 42u);
  EXPECT_EQ(scenario->config.max_parallelism, 128);  // default
  ASSERT_EQ(scenario->steps.size(), 7u);
  EXPECT_THAT(scenario->description, ::testing::ElementsAre("Resume a full checkpoint into incremental mode.",
                                                            "Second line of the description."));
  const ScenarioStep& put = scenario->steps[0];
  EXPECT_EQ(put.verb, "put");
  EXPECT_EQ(put.Text("value"), "hello world");
  EXPECT_EQ(put.comment, "a value with a space");
  EXPECT_EQ(scenario->steps[3].number, 5);
  EXPECT_EQ(scenario->steps[3].Text("kind"), "configured");  // default filled in
  EXPECT_TRUE(scenario->steps[3].Flag("wait"));
  EXPECT_EQ(scenario->steps[4].Int("subtask"), 1);
  EXPECT_EQ(scenario->steps[6].Text("restore_mode"), "same");
  EXPECT_EQ(scenario->steps[6].Int("parallelism"), 2);
}

TEST(ScenarioTest, FormatRoundTrips) {
  absl::StatusOr<Scenario> scenario = ParseScenario(kExample, "example.scenario");
  ASSERT_TRUE(scenario.ok()) << scenario.status();
  const std::string text = FormatScenario(*scenario);
  absl::StatusOr<Scenario> again = ParseScenario(text, "formatted");
  ASSERT_TRUE(again.ok()) << again.status() << "\n" << text;
  EXPECT_EQ(FormatScenario(*again), text);
  ASSERT_EQ(again->steps.size(), scenario->steps.size());
  for (size_t i = 0; i < again->steps.size(); ++i) {
    EXPECT_EQ(again->steps[i].ToString(), scenario->steps[i].ToString());
  }
  EXPECT_THAT(text, HasSubstr("value=\"hello world\""));
}

struct BadInput {
  const char* text;
  const char* location;  // "file:line:column"
  const char* token;
};

TEST(ScenarioTest, ErrorsNameFileLineColumnAndToken) {
  const BadInput cases[] = {
      {"1 frobnicate\n", "t.scenario:1:3", "frobnicate"},
      {"parallelism 2\n1 put state=value key=a\n", "t.scenario:2:3", "put"},           // missing value=
      {"1 put state=nope key=a value=b\n", "t.scenario:1:13", "nope"},                  // bad word
      {"1 advance ms=-5\n", "t.scenario:1:14", "-5"},                                   // out of range
      {"1 advance ms=soon\n", "t.scenario:1:14", "soon"},                               // not an integer
      {"1 flush\n1 compact\n", "t.scenario:2:1", "1"},                                  // numbers must increase
      {"1 flush extra=1\n", "t.scenario:1:9", "extra"},                                 // no such argument
      {"1 put state=value key=a value=\"open\n", "t.scenario:1:31", "\"open"},          // unterminated quote
      {"parallelism two\n1 flush\n", "t.scenario:1:13", "two"},
      {"colour blue\n1 flush\n", "t.scenario:1:1", "colour"},
      {"1 flush\nparallelism 2\n", "t.scenario:2:1", "parallelism"},                    // header after steps
      {"parallelism 2\nparallelism 3\n1 flush\n", "t.scenario:2:1", "parallelism"},     // twice
      {"1 checkpoint as=a as=b\n", "t.scenario:1:19", "as"},
      {"1 flush\x01\n", "t.scenario:1:8", "\\x01"},
      {"# only a comment\n", "t.scenario:2:1", ""},                                       // no steps
      {"parallelism 4\nmax_parallelism 2\n1 flush\n", "t.scenario:2:", ""},
  };
  for (const BadInput& bad : cases) {
    const std::string text = bad.text;
    absl::StatusOr<Scenario> scenario = ParseScenario(text, "t.scenario");
    ASSERT_FALSE(scenario.ok()) << bad.text;
    EXPECT_EQ(scenario.status().code(), absl::StatusCode::kInvalidArgument) << bad.text;
    EXPECT_THAT(scenario.status().message(), HasSubstr(bad.location)) << bad.text;
    EXPECT_THAT(scenario.status().message(), HasSubstr(absl::StrCat("('", bad.token))) << bad.text;
  }
  // An embedded NUL (not visible through a C string above).
  const std::string with_nul("1 flush\n2 put state=value key=a value=b\0c\n", 40);
  absl::StatusOr<Scenario> nul = ParseScenario(with_nul, "t.scenario");
  ASSERT_FALSE(nul.ok());
  EXPECT_THAT(nul.status().message(), HasSubstr("t.scenario:2:"));
  EXPECT_THAT(nul.status().message(), HasSubstr("NUL"));
}

TEST(ScenarioTest, RejectsHugeInputsWithoutReadingThem) {
  const std::string huge(kMaxScenarioBytes + 1, 'a');
  absl::StatusOr<Scenario> scenario = ParseScenario(huge, "huge.scenario");
  ASSERT_FALSE(scenario.ok());
  EXPECT_THAT(scenario.status().message(), HasSubstr("huge.scenario:1:1"));
  const std::string long_line = "1 put state=value key=a value=" + std::string(kMaxScenarioLineBytes, 'x') + "\n";
  scenario = ParseScenario(long_line, "long.scenario");
  ASSERT_FALSE(scenario.ok());
  EXPECT_THAT(scenario.status().message(), HasSubstr("long.scenario:1:"));
}

TEST(ScenarioTest, MissingFileIsAnErrorNamingIt) {
  absl::StatusOr<Scenario> scenario = LoadScenarioFile("/nonexistent/dir/x.scenario");
  ASSERT_FALSE(scenario.ok());
  EXPECT_THAT(scenario.status().message(), HasSubstr("/nonexistent/dir/x.scenario"));
}

TEST(ScenarioTest, MakeStepValidatesLikeTheParser) {
  absl::StatusOr<ScenarioStep> step = MakeStep(4, "savepoint", {{"format", "canonical"}, {"as", "s 1"}});
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(step->ToString(), "4 savepoint format=canonical sync=no wait=yes as=\"s 1\" expect=any");
  EXPECT_FALSE(MakeStep(1, "savepoint", {{"format", "binary"}}).ok());
}

TEST(ScenarioTest, VocabularyDescribesEveryStep) {
  const std::string help = DescribeVocabulary();
  for (const StepSpec& spec : StepVocabulary()) EXPECT_THAT(help, HasSubstr("  " + spec.verb)) << spec.verb;
  EXPECT_THAT(help, HasSubstr("restore_mode"));
}

// Random and mutated inputs never crash the parser, and whatever it accepts prints back to text that parses to
// the same scenario. The inputs are split into 100 chunks, one parameterized test each, so GoogleTest's own
// sharding gives every shard its share. The default suite runs 3,000 inputs; SCENARIO_FUZZ_INPUTS raises it
// (//scenarios:scenario_fuzz_test runs 10^5 over 4 shards).
constexpr int kFuzzChunks = 100;

int64_t FuzzInputs() {
  if (const char* configured = std::getenv("SCENARIO_FUZZ_INPUTS")) return std::atoll(configured);
  return 3000;
}

class ScenarioFuzzTest : public ::testing::TestWithParam<int> {};

TEST_P(ScenarioFuzzTest, RandomAndMutatedInputsNeverCrash) {
  const int64_t inputs = FuzzInputs();
  const int64_t first = inputs * GetParam() / kFuzzChunks;
  const int64_t end = inputs * (GetParam() + 1) / kFuzzChunks;
  const std::string seed_text = kExample;
  const char kAlphabet[] = "0123456789 =#\"\\\n\tabcdefghijklmnopqrstuvwxyz_-.:/\x01\xff";
  int64_t accepted = 0;
  for (int64_t i = first; i < end; ++i) {
    Prng prng(static_cast<uint64_t>(i) + 1);
    std::string text;
    if (prng.UniformBelow(4) == 0) {
      const size_t length = prng.UniformBelow(200);
      for (size_t j = 0; j < length; ++j) text.push_back(kAlphabet[prng.UniformBelow(sizeof(kAlphabet) - 1)]);
    } else {
      text = seed_text;
      const int mutations = 1 + static_cast<int>(prng.UniformBelow(6));
      for (int m = 0; m < mutations && !text.empty(); ++m) {
        const size_t at = prng.UniformBelow(text.size());
        switch (prng.UniformBelow(4)) {
          case 0:
            text[at] = kAlphabet[prng.UniformBelow(sizeof(kAlphabet) - 1)];
            break;
          case 1:
            text.erase(at, 1 + prng.UniformBelow(8));
            break;
          case 2:
            text.insert(at, 1, kAlphabet[prng.UniformBelow(sizeof(kAlphabet) - 1)]);
            break;
          default:
            text.resize(at);  // truncated
        }
      }
    }
    absl::StatusOr<Scenario> scenario = ParseScenario(text, "fuzz");
    if (!scenario.ok()) {
      ASSERT_EQ(scenario.status().code(), absl::StatusCode::kInvalidArgument) << "input " << i;
      ASSERT_THAT(scenario.status().message(), HasSubstr("fuzz:")) << "input " << i;
      continue;
    }
    ++accepted;
    const std::string formatted = FormatScenario(*scenario);
    absl::StatusOr<Scenario> again = ParseScenario(formatted, "formatted");
    ASSERT_TRUE(again.ok()) << "input " << i << ": " << again.status() << "\n" << formatted;
    ASSERT_EQ(FormatScenario(*again), formatted) << "input " << i;
  }
  std::printf("chunk %d: inputs [%lld, %lld), %lld accepted\n", GetParam(), static_cast<long long>(first),
              static_cast<long long>(end), static_cast<long long>(accepted));
  EXPECT_LT(first, end);
}

INSTANTIATE_TEST_SUITE_P(Chunks, ScenarioFuzzTest, ::testing::Range(0, kFuzzChunks));

}  // namespace
}  // namespace snapsim
