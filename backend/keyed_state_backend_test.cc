#include "backend/keyed_state_backend.h"

#include <cstdlib>
#include <map>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "backend/list_merge_operator.h"
#include "rocksdb/env.h"

namespace snapsim {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

class KeyedStateBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = std::getenv("TEST_TMPDIR");
    const std::string base = tmp != nullptr ? tmp : "/tmp";
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    config_.env = rocksdb::Env::Default();
    config_.instance_path = base + "/" + info->test_suite_name() + "." + info->name();
    config_.preset = OptionsPreset::kRealDisk;
    config_.backend_uid = "backend-under-test";
    (void)DestroyDir(config_.instance_path);
  }

  void TearDown() override { (void)DestroyDir(config_.instance_path); }

  static rocksdb::Status DestroyDir(const std::string& path) {
    rocksdb::Env* env = rocksdb::Env::Default();
    std::vector<std::string> children;
    if (!env->GetChildren(path, &children).ok()) return rocksdb::Status::OK();
    for (const std::string& child : children) {
      const std::string full = path + "/" + child;
      bool is_dir = false;
      if (env->IsDirectory(full, &is_dir).ok() && is_dir) {
        DestroyDir(full);
      } else {
        env->DeleteFile(full);
      }
    }
    return env->DeleteDir(path);
  }

  // Closes `backend` and opens its DB again with its states' serialized meta info (what a restore does).
  std::unique_ptr<KeyedStateBackend> ReopenWithItsMetaInfo(std::unique_ptr<KeyedStateBackend> backend) {
    const std::string meta_blob = SerializeStateMetaInfoList(backend->MetaInfos());
    EXPECT_TRUE(backend->Close().ok());
    backend.reset();
    absl::StatusOr<std::vector<StateMetaInfo>> restored = ParseStateMetaInfoList(meta_blob);
    EXPECT_TRUE(restored.ok()) << restored.status();
    return restored.ok() ? OpenBackend(*restored) : nullptr;
  }

  std::unique_ptr<KeyedStateBackend> OpenBackend(const std::vector<StateMetaInfo>& restored = {}) {
    absl::StatusOr<std::unique_ptr<KeyedStateBackend>> backend = KeyedStateBackend::Open(config_, restored);
    EXPECT_TRUE(backend.ok()) << backend.status();
    return backend.ok() ? *std::move(backend) : nullptr;
  }

  KeyedStateBackendConfig config_;
};

TEST_F(KeyedStateBackendTest, ValueStateRoundTripsPerKeyAndNamespace) {
  auto backend = OpenBackend();
  ASSERT_TRUE(backend->RegisterState("count", StateKind::kValue).ok());
  ASSERT_TRUE(backend->SetCurrentKey("alice").ok());
  EXPECT_EQ(*backend->GetValue("count"), std::nullopt);
  ASSERT_TRUE(backend->PutValue("count", "1").ok());
  backend->SetCurrentNamespace("window-2");
  ASSERT_TRUE(backend->PutValue("count", "7").ok());
  ASSERT_TRUE(backend->SetCurrentKey("bob").ok());
  EXPECT_EQ(*backend->GetValue("count"), std::nullopt);
  ASSERT_TRUE(backend->SetCurrentKey("alice").ok());
  EXPECT_EQ(*backend->GetValue("count"), std::optional<std::string>("7"));
  backend->SetCurrentNamespace("");
  EXPECT_EQ(*backend->GetValue("count"), std::optional<std::string>("1"));
  ASSERT_TRUE(backend->Clear("count").ok());
  EXPECT_EQ(*backend->GetValue("count"), std::nullopt);
}

TEST_F(KeyedStateBackendTest, ListStateAppendsInOrderIncludingEmptyAndBinaryElements) {
  auto backend = OpenBackend();
  ASSERT_TRUE(backend->RegisterState("events", StateKind::kList).ok());
  ASSERT_TRUE(backend->SetCurrentKey("k").ok());
  EXPECT_TRUE(backend->GetList("events")->empty());
  const std::string binary("a\0,b", 4);
  ASSERT_TRUE(backend->AppendToList("events", "first").ok());
  ASSERT_TRUE(backend->AppendToList("events", "").ok());
  ASSERT_TRUE(backend->Flush().ok());  // elements merged across a flush
  ASSERT_TRUE(backend->AppendToList("events", binary).ok());
  EXPECT_THAT(*backend->GetList("events"), ElementsAre("first", "", binary));
  ASSERT_TRUE(backend->Clear("events").ok());
  EXPECT_TRUE(backend->GetList("events")->empty());
}

TEST_F(KeyedStateBackendTest, MapStatePutGetRemoveIterateClear) {
  auto backend = OpenBackend();
  ASSERT_TRUE(backend->RegisterState("attributes", StateKind::kMap).ok());
  ASSERT_TRUE(backend->SetCurrentKey("k1").ok());
  ASSERT_TRUE(backend->PutMapEntry("attributes", "color", "red").ok());
  ASSERT_TRUE(backend->PutMapEntry("attributes", "size", "L").ok());
  ASSERT_TRUE(backend->PutMapEntry("attributes", "color", "blue").ok());
  ASSERT_TRUE(backend->SetCurrentKey("k2").ok());
  ASSERT_TRUE(backend->PutMapEntry("attributes", "color", "green").ok());
  ASSERT_TRUE(backend->SetCurrentKey("k1").ok());
  EXPECT_EQ(*backend->GetMapEntry("attributes", "color"), std::optional<std::string>("blue"));
  // Ordered by serialized user key: the length prefix sorts "size" (4 bytes) before "color" (5 bytes).
  EXPECT_THAT(*backend->GetMapEntries("attributes"), ElementsAre(Pair("size", "L"), Pair("color", "blue")));
  ASSERT_TRUE(backend->RemoveMapEntry("attributes", "size").ok());
  EXPECT_THAT(*backend->GetMapEntries("attributes"), ElementsAre(Pair("color", "blue")));
  ASSERT_TRUE(backend->Clear("attributes").ok());
  EXPECT_TRUE(backend->GetMapEntries("attributes")->empty());
  ASSERT_TRUE(backend->SetCurrentKey("k2").ok());
  EXPECT_THAT(*backend->GetMapEntries("attributes"), ElementsAre(Pair("color", "green")));
}

TEST_F(KeyedStateBackendTest, ReopenWithSerializedMetaInfoKeepsData) {
  auto backend = OpenBackend();
  ASSERT_TRUE(backend->RegisterState("v", StateKind::kValue).ok());
  ASSERT_TRUE(backend->RegisterState("l", StateKind::kList).ok());
  ASSERT_TRUE(backend->RegisterState("m", StateKind::kMap).ok());
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(backend->SetCurrentKey("key-" + std::to_string(i)).ok());
    ASSERT_TRUE(backend->PutValue("v", std::to_string(i)).ok());
    ASSERT_TRUE(backend->AppendToList("l", "x" + std::to_string(i)).ok());
    ASSERT_TRUE(backend->PutMapEntry("m", "u", std::to_string(i * 2)).ok());
  }
  backend = ReopenWithItsMetaInfo(std::move(backend));
  ASSERT_NE(backend, nullptr);
  ASSERT_EQ(backend->MetaInfos().size(), 3u);
  EXPECT_EQ(backend->MetaInfos()[0].name, "v");
  EXPECT_EQ(backend->MetaInfos()[2].kind, StateKind::kMap);
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(backend->SetCurrentKey("key-" + std::to_string(i)).ok());
    EXPECT_EQ(*backend->GetValue("v"), std::optional<std::string>(std::to_string(i)));
    EXPECT_THAT(*backend->GetList("l"), ElementsAre("x" + std::to_string(i)));
    EXPECT_EQ(*backend->GetMapEntry("m", "u"), std::optional<std::string>(std::to_string(i * 2)));
  }
}

// Several states registered in one call (one column family creation, issue #15): new ones in order after those
// already registered, an already registered one with the same meta info is a no-op, a conflicting one registers
// none of the call's states, and they all persist like states registered one by one.
TEST_F(KeyedStateBackendTest, RegisterStatesAtOnceIsAllOrNoneAndPersists) {
  auto backend = OpenBackend();
  ASSERT_TRUE(backend->RegisterState("v", StateKind::kValue).ok());
  absl::Status conflict = backend->RegisterStates(
      {StateMetaInfo::Of("a", StateKind::kList), StateMetaInfo::Of("v", StateKind::kMap)});
  EXPECT_EQ(conflict.code(), absl::StatusCode::kFailedPrecondition) << conflict;
  EXPECT_EQ(backend->RegisterStates({StateMetaInfo::Of("b", StateKind::kList),
                                     StateMetaInfo::Of("b", StateKind::kMap)}).code(),
            absl::StatusCode::kFailedPrecondition);
  ASSERT_EQ(backend->MetaInfos().size(), 1u) << "a failed call registered some of its states";
  ASSERT_TRUE(backend->RegisterStates({StateMetaInfo::Of("l", StateKind::kList),
                                       StateMetaInfo::Of("v", StateKind::kValue),
                                       StateMetaInfo::Of("m", StateKind::kMap)})
                  .ok());
  ASSERT_TRUE(backend->RegisterStates({}).ok());
  std::vector<std::string> names;
  for (const StateMetaInfo& info : backend->MetaInfos()) names.push_back(info.name);
  EXPECT_THAT(names, ElementsAre("v", "l", "m"));
  ASSERT_TRUE(backend->SetCurrentKey("k").ok());
  ASSERT_TRUE(backend->AppendToList("l", "x").ok());
  ASSERT_TRUE(backend->PutMapEntry("m", "u", "y").ok());
  backend = ReopenWithItsMetaInfo(std::move(backend));
  ASSERT_NE(backend, nullptr);
  ASSERT_TRUE(backend->SetCurrentKey("k").ok());
  EXPECT_THAT(*backend->GetList("l"), ElementsAre("x"));
  EXPECT_EQ(*backend->GetMapEntry("m", "u"), std::optional<std::string>("y"));
}

TEST_F(KeyedStateBackendTest, ReopenWithoutMetaInfoForAnExistingStateFails) {
  {
    auto backend = OpenBackend();
    ASSERT_TRUE(backend->RegisterState("orphan", StateKind::kValue).ok());
  }
  absl::StatusOr<std::unique_ptr<KeyedStateBackend>> reopened = KeyedStateBackend::Open(config_, {});
  ASSERT_FALSE(reopened.ok());
  EXPECT_THAT(std::string(reopened.status().message()), HasSubstr("'orphan'"));
}

TEST_F(KeyedStateBackendTest, BadInputReturnsErrors) {
  config_.max_parallelism = 128;
  config_.key_group_range = KeyGroupRange(0, 63);
  auto backend = OpenBackend();
  ASSERT_TRUE(backend->RegisterState("v", StateKind::kValue).ok());
  // Before any key is set.
  EXPECT_EQ(backend->PutValue("v", "x").code(), absl::StatusCode::kFailedPrecondition);
  // Key outside the range: "key-2" is in key group 126 (golden value).
  absl::Status outside = backend->SetCurrentKey("key-2");
  EXPECT_EQ(outside.code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(std::string(outside.message()), HasSubstr("key group 126"));
  ASSERT_TRUE(backend->SetCurrentKey("key-0").ok());  // key group 31
  // Unknown state.
  EXPECT_EQ(backend->GetValue("missing").status().code(), absl::StatusCode::kNotFound);
  // Wrong kind: on use and on registration.
  EXPECT_EQ(backend->AppendToList("v", "x").code(), absl::StatusCode::kFailedPrecondition);
  absl::Status again = backend->RegisterState("v", StateKind::kMap);
  EXPECT_EQ(again.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(again.message()), HasSubstr("VALUE"));
  EXPECT_TRUE(backend->RegisterState("v", StateKind::kValue).ok());  // same kind: idempotent
  EXPECT_FALSE(backend->RegisterState("", StateKind::kValue).ok());
  EXPECT_FALSE(backend->RegisterState("default", StateKind::kValue).ok());
  // Range outside max parallelism.
  KeyedStateBackendConfig bad = config_;
  bad.key_group_range = KeyGroupRange(100, 200);
  EXPECT_FALSE(KeyedStateBackend::Open(bad).ok());
  ASSERT_TRUE(backend->Close().ok());
  EXPECT_EQ(backend->PutValue("v", "x").code(), absl::StatusCode::kFailedPrecondition);
}

// Writes keys over all 32768 key groups' worth of a two-byte prefix and checks that iteration and deletion by
// key-group range see exactly the keys of those key groups.
TEST_F(KeyedStateBackendTest, IteratesAndDeletesByKeyGroupRangeWithTwoBytePrefix) {
  config_.max_parallelism = 32768;
  config_.key_group_range = KeyGroupRange(0, 32767);
  auto backend = OpenBackend();
  ASSERT_EQ(backend->key_group_prefix_bytes(), 2);
  ASSERT_TRUE(backend->RegisterState("v", StateKind::kValue).ok());
  ASSERT_TRUE(backend->RegisterState("m", StateKind::kMap).ok());
  std::map<std::string, int> key_groups;
  for (int i = 0; i < 2000; ++i) {
    const std::string key = "k" + std::to_string(i);
    ASSERT_TRUE(backend->SetCurrentKey(key).ok());
    key_groups[key] = backend->CurrentKeyGroup();
    ASSERT_TRUE(backend->PutValue("v", key).ok());
    ASSERT_TRUE(backend->PutMapEntry("m", "a", key).ok());
  }
  ASSERT_TRUE(backend->Flush().ok());
  const KeyGroupRange lower(0, 16383);
  std::set<std::string> seen;
  int previous_group = -1;
  ASSERT_TRUE(backend
                  ->ForEachEntry("v", lower,
                                 [&](const StateEntry& entry) {
                                   EXPECT_GE(entry.key.key_group, previous_group);
                                   previous_group = entry.key.key_group;
                                   EXPECT_EQ(entry.value, entry.key.key);
                                   seen.insert(entry.key.key);
                                   return true;
                                 })
                  .ok());
  std::set<std::string> expected;
  for (const auto& [key, group] : key_groups) {
    if (lower.Contains(group)) expected.insert(key);
  }
  EXPECT_EQ(seen, expected);
  ASSERT_GT(expected.size(), 500u);

  ASSERT_TRUE(backend->DeleteKeyGroupRange(lower).ok());
  ASSERT_TRUE(backend->Compact().ok());
  for (const auto& [key, group] : key_groups) {
    ASSERT_TRUE(backend->SetCurrentKey(key).ok());
    const bool kept = !lower.Contains(group);
    EXPECT_EQ(backend->GetValue("v")->has_value(), kept) << key;
    EXPECT_EQ(backend->GetMapEntry("m", "a")->has_value(), kept) << key;
  }
}

}  // namespace
}  // namespace snapsim
