#include "scenarios/cli_flags.h"

#include <cstdint>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace snapsim::cli {
namespace {

using ::testing::HasSubstr;

struct Parsed {
  bool quiet = false;
  bool pin = true;
  uint64_t seeds = 0;
  int jobs = 1;
  std::string generator = "swarm";
  std::string name;
  std::vector<std::string> required;
  std::vector<std::string> files;
};

FlagSet Flags(Parsed* parsed) {
  FlagSet flags("demo", "FILE... [options]", "A command for the test.");
  flags.Positionals(&parsed->files, "FILE");
  flags.Bool("quiet", &parsed->quiet, "print less");
  flags.Bool("pin", &parsed->pin, "pin the workers");
  flags.Uint64("seeds", &parsed->seeds, 1, 1000, "how many seeds");
  flags.Int("jobs", &parsed->jobs, 1, 8, "workers");
  flags.Choice("generator", &parsed->generator, {"swarm", "lifecycle"}, "the generator");
  flags.String("name", &parsed->name, "NAME", "a name");
  flags.Repeated("require", &parsed->required, "GOAL", "a goal\nover two lines");
  return flags;
}

TEST(FlagSetTest, TakesValuesWithEqualsOrAsTheNextArgument) {
  Parsed parsed;
  FlagSet flags = Flags(&parsed);
  ASSERT_TRUE(flags.Parse({"a.scenario", "--seeds", "12", "--jobs=3", "--generator", "lifecycle", "b.scenario"}).ok());
  EXPECT_EQ(parsed.seeds, 12u);
  EXPECT_EQ(parsed.jobs, 3);
  EXPECT_EQ(parsed.generator, "lifecycle");
  EXPECT_THAT(parsed.files, ::testing::ElementsAre("a.scenario", "b.scenario"));
}

TEST(FlagSetTest, ABooleanNeverTakesTheNextArgument) {
  Parsed parsed;
  FlagSet flags = Flags(&parsed);
  ASSERT_TRUE(flags.Parse({"--quiet", "file.scenario", "--pin=no"}).ok());
  EXPECT_TRUE(parsed.quiet);
  EXPECT_FALSE(parsed.pin);
  EXPECT_THAT(parsed.files, ::testing::ElementsAre("file.scenario"));
  EXPECT_THAT(std::string(Flags(&parsed).Parse({"--quiet=maybe"}).message()), HasSubstr("--quiet is yes or no"));
}

TEST(FlagSetTest, DoubleDashEndsTheFlags) {
  Parsed parsed;
  FlagSet flags = Flags(&parsed);
  ASSERT_TRUE(flags.Parse({"--quiet", "--", "--seeds=3"}).ok());
  EXPECT_EQ(parsed.seeds, 0u);
  EXPECT_THAT(parsed.files, ::testing::ElementsAre("--seeds=3"));
}

TEST(FlagSetTest, RepeatedFlagsCollectEveryValue) {
  Parsed parsed;
  FlagSet flags = Flags(&parsed);
  ASSERT_TRUE(flags.Parse({"--require=a:1", "--require", "b:2"}).ok());
  EXPECT_THAT(parsed.required, ::testing::ElementsAre("a:1", "b:2"));
}

TEST(FlagSetTest, ErrorsNameTheArgument) {
  Parsed parsed;
  EXPECT_EQ(std::string(Flags(&parsed).Parse({"--sede=2"}).message()), "unknown flag --sede (did you mean --seeds?)");
  EXPECT_EQ(std::string(Flags(&parsed).Parse({"--zzzzzz"}).message()), "unknown flag --zzzzzz");
  EXPECT_EQ(std::string(Flags(&parsed).Parse({"--seeds=0"}).message()),
            "--seeds takes a number from 1 to 1000, not '0'");
  EXPECT_EQ(std::string(Flags(&parsed).Parse({"--jobs=x"}).message()), "--jobs takes a number from 1 to 8, not 'x'");
  EXPECT_EQ(std::string(Flags(&parsed).Parse({"--generator=nope"}).message()),
            "--generator is one of swarm, lifecycle, not 'nope'");
  EXPECT_EQ(std::string(Flags(&parsed).Parse({"--name"}).message()), "--name needs a value (--name=NAME)");
  EXPECT_EQ(std::string(Flags(&parsed).Parse({"-x"}).message()), "unknown flag '-x' (flags are --name=value)");
  FlagSet no_files("demo", "", "");
  EXPECT_EQ(std::string(no_files.Parse({"stray"}).message()), "unexpected argument 'stray'");
}

TEST(FlagSetTest, HelpIsRequestedAndTheUsageListsEveryFlag) {
  Parsed parsed;
  FlagSet flags = Flags(&parsed);
  ASSERT_TRUE(flags.Parse({"-h"}).ok());
  EXPECT_TRUE(flags.help_requested());
  const std::string usage = flags.Usage();
  EXPECT_THAT(usage, HasSubstr("usage: snapsim demo FILE... [options]\nA command for the test.\n"));
  for (const char* flag : {"--quiet ", "--seeds=N", "--generator=swarm|lifecycle", "--name=NAME", "--require=GOAL"}) {
    EXPECT_THAT(usage, HasSubstr(flag));
  }
  // A help text's second line lines up under its first.
  EXPECT_THAT(usage, HasSubstr("a goal\n                          over two lines"));
}

}  // namespace
}  // namespace snapsim::cli
