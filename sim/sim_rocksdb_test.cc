// RocksDB itself on the simulated world: SimEnv + SimFileSystem + SimScheduler, no RocksDB pool threads.
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "backend/backend_options.h"
#include "backend/keyed_state_backend.h"
#include "rocksdb/db.h"
#include "rocksdb/utilities/checkpoint.h"
#include "sim/sim_machine.h"
#include "sim/sim_scheduler.h"

namespace snapsim {
namespace {

std::string Key(int i) { return "key-" + std::to_string(i); }

struct OpenDb {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;

  void Close(SimScheduler& scheduler) {
    for (rocksdb::ColumnFamilyHandle* handle : handles) ASSERT_TRUE(db->DestroyColumnFamilyHandle(handle).ok());
    handles.clear();
    ASSERT_TRUE(scheduler.RunBlockingRocksDbCall([&] { return db->Close(); }).ok());
    db.reset();
  }
};

OpenDb Open(SimMachine& machine, const std::string& path) {
  rocksdb::DBOptions options = MakeDbOptions(OptionsPreset::kSimulation);
  options.env = machine.env();
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors = {
      {rocksdb::kDefaultColumnFamilyName, MakeColumnFamilyOptions(OptionsPreset::kSimulation)},
      {"first", MakeColumnFamilyOptions(OptionsPreset::kSimulation)},
      {"second", MakeColumnFamilyOptions(OptionsPreset::kSimulation)}};
  OpenDb result;
  rocksdb::DB* db = nullptr;
  rocksdb::Status status = rocksdb::DB::Open(options, path, descriptors, &result.handles, &db);
  EXPECT_TRUE(status.ok()) << status.ToString();
  result.db.reset(db);
  return result;
}

TEST(SimRocksDbTest, FlushCompactCheckpointAndReopenFromTheCheckpoint) {
  SimScheduler scheduler(1);
  SimMachine machine(&scheduler, Prng(1), "tm-0");
  // As on a real disk, RocksDB creates the DB directory but not its parents.
  ASSERT_TRUE(machine.env()->CreateDir("/tm-0").ok());
  OpenDb db = Open(machine, "/tm-0/db");
  ASSERT_NE(db.db, nullptr);
  rocksdb::WriteOptions write = MakeWriteOptions();
  for (int i = 0; i < 10000; ++i) {
    ASSERT_TRUE(db.db->Put(write, db.handles[1], Key(i), "one-" + std::to_string(i)).ok());
    ASSERT_TRUE(db.db->Put(write, db.handles[2], Key(i), "two-" + std::to_string(i)).ok());
    if (i == 5000) {
      ASSERT_TRUE(scheduler.RunBlockingRocksDbCall([&] {
        return db.db->Flush(rocksdb::FlushOptions(), {db.handles[1], db.handles[2]});
      }).ok());
    }
  }
  ASSERT_TRUE(scheduler.RunBlockingRocksDbCall([&] {
    return db.db->Flush(rocksdb::FlushOptions(), {db.handles[1], db.handles[2]});
  }).ok());
  ASSERT_TRUE(scheduler.RunBlockingRocksDbCall([&] {
    return db.db->CompactRange(rocksdb::CompactRangeOptions(), db.handles[1], nullptr, nullptr);
  }).ok());

  rocksdb::Checkpoint* raw_checkpoint = nullptr;
  ASSERT_TRUE(rocksdb::Checkpoint::Create(db.db.get(), &raw_checkpoint).ok());
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw_checkpoint);
  ASSERT_TRUE(scheduler.RunBlockingRocksDbCall([&] { return checkpoint->CreateCheckpoint("/tm-0/chk-1"); }).ok());
  // The checkpoint hard-links the live SST files.
  int linked_tables = 0;
  for (const std::string& path : machine.file_system()->ListFilesRecursively("/tm-0/chk-1")) {
    if (path.size() > 4 && path.substr(path.size() - 4) == ".sst") {
      uint64_t links = 0;
      ASSERT_TRUE(machine.file_system()->NumFileLinks(path, rocksdb::IOOptions(), &links, nullptr).ok());
      EXPECT_EQ(links, 2u) << path;
      ++linked_tables;
    }
  }
  EXPECT_GT(linked_tables, 0);
  // Writes after the checkpoint are not in it.
  ASSERT_TRUE(db.db->Put(write, db.handles[1], "after", "x").ok());
  db.Close(scheduler);
  EXPECT_TRUE(scheduler.RunUntilQuiescent().quiescent);

  OpenDb restored = Open(machine, "/tm-0/chk-1");
  ASSERT_NE(restored.db, nullptr);
  for (int i = 0; i < 10000; i += 7) {
    std::string value;
    ASSERT_TRUE(restored.db->Get(rocksdb::ReadOptions(), restored.handles[1], Key(i), &value).ok()) << i;
    EXPECT_EQ(value, "one-" + std::to_string(i));
    ASSERT_TRUE(restored.db->Get(rocksdb::ReadOptions(), restored.handles[2], Key(i), &value).ok()) << i;
    EXPECT_EQ(value, "two-" + std::to_string(i));
  }
  std::string value;
  EXPECT_TRUE(restored.db->Get(rocksdb::ReadOptions(), restored.handles[1], "after", &value).IsNotFound());
  restored.Close(scheduler);
  const QuiescenceReport report = scheduler.RunUntilQuiescent();
  EXPECT_TRUE(report.quiescent && report.pending.empty()) << report.ToString();
}

KeyedStateBackendConfig BackendConfig(SimMachine& machine, SimScheduler& scheduler) {
  KeyedStateBackendConfig config;
  config.env = machine.env();
  config.runtime = &scheduler;
  config.instance_path = "/tm-0/job/op-1";
  config.preset = OptionsPreset::kSimulation;
  config.backend_uid = "uid-1";
  return config;
}

// Flink writes without a WAL: what was flushed survives power loss, what was only in the memtable does not.
TEST(SimRocksDbTest, KeyedStateBackendSurvivesCrashUpToTheLastFlush) {
  SimScheduler scheduler(2);
  SimMachine machine(&scheduler, Prng(2), "tm-0");
  std::vector<StateMetaInfo> metas;
  {
    auto backend = KeyedStateBackend::Open(BackendConfig(machine, scheduler));
    ASSERT_TRUE(backend.ok()) << backend.status();
    ASSERT_TRUE((*backend)->RegisterState("count", StateKind::kValue).ok());
    ASSERT_TRUE((*backend)->RegisterState("events", StateKind::kList).ok());
    for (int i = 0; i < 500; ++i) {
      ASSERT_TRUE((*backend)->SetCurrentKey(Key(i)).ok());
      ASSERT_TRUE((*backend)->PutValue("count", std::to_string(i)).ok());
      ASSERT_TRUE((*backend)->AppendToList("events", "e" + std::to_string(i)).ok());
    }
    ASSERT_TRUE((*backend)->Flush().ok());
    ASSERT_TRUE((*backend)->SetCurrentKey("unflushed").ok());
    ASSERT_TRUE((*backend)->PutValue("count", "lost").ok());
    metas = (*backend)->MetaInfos();
    machine.Crash();
    // Closing on the crashed disk fails cleanly; nothing throws or aborts.
    EXPECT_FALSE((*backend)->Close().ok());
  }
  auto reopened = KeyedStateBackend::Open(BackendConfig(machine, scheduler), metas);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  for (int i = 0; i < 500; ++i) {
    ASSERT_TRUE((*reopened)->SetCurrentKey(Key(i)).ok());
    EXPECT_EQ(*(*reopened)->GetValue("count"), std::optional<std::string>(std::to_string(i)));
    EXPECT_EQ((*reopened)->GetList("events")->size(), 1u);
  }
  ASSERT_TRUE((*reopened)->SetCurrentKey("unflushed").ok());
  EXPECT_EQ(*(*reopened)->GetValue("count"), std::nullopt);
  ASSERT_TRUE((*reopened)->Close().ok());
  EXPECT_TRUE(scheduler.RunUntilQuiescent().quiescent);
}

}  // namespace
}  // namespace snapsim
