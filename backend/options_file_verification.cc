#include "backend/options_file_verification.h"

#include <dlfcn.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include "rocksdb/convenience.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"
#include "rocksdb/options.h"
#include "rocksdb/status.h"

namespace snapsim {
namespace {

// rocksdb::RocksDBOptionsParser::VerifyRocksDBOptionsFromFile(const ConfigOptions&, const DBOptions&,
//     const std::vector<std::string>&, const std::vector<ColumnFamilyOptions>&, const std::string&, FileSystem*),
// a static member function of a class RocksDB does not install: declared here by its symbol. A static member
// function is called as a free function is, so this definition is called in its place.
#define SNAPSIM_VERIFY_OPTIONS_SYMBOL                                                                              \
  "_ZN7rocksdb20RocksDBOptionsParser28VerifyRocksDBOptionsFromFileERKNS_13ConfigOptionsERKNS_9DBOptionsERKSt6vect" \
  "orINSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEESaISD_EERKS7_INS_19ColumnFamilyOptionsESaISI_EERKSD_PNS_" \
  "10FileSystemE"

using VerifyFunction = rocksdb::Status (*)(const rocksdb::ConfigOptions&, const rocksdb::DBOptions&,
                                           const std::vector<std::string>&,
                                           const std::vector<rocksdb::ColumnFamilyOptions>&, const std::string&,
                                           rocksdb::FileSystem*);

std::atomic<uint64_t> parsed_count{0};
std::atomic<uint64_t> reused_count{0};
std::atomic<uint64_t> failed_count{0};

// Files verified before, with their column family names. A few distinct ones per process (one per set of states);
// cleared if a program ever makes many.
constexpr size_t kMaxRemembered = 256;
std::mutex remembered_mutex;
std::unordered_set<std::string>& Remembered() {
  static auto* remembered = new std::unordered_set<std::string>();
  return *remembered;
}

// RocksDB's own definition: the next one after this (the program's), else librocksdb's by its soname.
VerifyFunction RocksDbVerify(VerifyFunction self) {
  static const VerifyFunction found = [self]() -> VerifyFunction {
    void* next = dlsym(RTLD_NEXT, SNAPSIM_VERIFY_OPTIONS_SYMBOL);
    if (next != nullptr && next != reinterpret_cast<void*>(self)) return reinterpret_cast<VerifyFunction>(next);
    void* library = dlopen("librocksdb.so.7.8", RTLD_LAZY | RTLD_NOLOAD);
    if (library == nullptr) return nullptr;
    void* own = dlsym(library, SNAPSIM_VERIFY_OPTIONS_SYMBOL);
    return own != nullptr && own != reinterpret_cast<void*>(self) ? reinterpret_cast<VerifyFunction>(own) : nullptr;
  }();
  return found;
}

// The file's bytes, read as RocksDB's parser reads it: one sequential file, chunks of the readahead size, until a
// short one.
rocksdb::IOStatus ReadWhole(rocksdb::FileSystem* fs, const std::string& file_name, size_t chunk,
                            std::string* bytes) {
  std::unique_ptr<rocksdb::FSSequentialFile> file;
  rocksdb::IOStatus status = fs->NewSequentialFile(file_name, rocksdb::FileOptions(), &file, nullptr);
  if (!status.ok()) return status;
  std::unique_ptr<char[]> scratch(new char[chunk]);
  while (true) {
    rocksdb::Slice read;
    status = file->Read(chunk, rocksdb::IOOptions(), &read, scratch.get(), nullptr);
    if (!status.ok()) return status;
    bytes->append(read.data(), read.size());
    if (read.size() < chunk) return rocksdb::IOStatus::OK();  // a short read is the end, to RocksDB's parser too
  }
}

}  // namespace

OptionsFileVerifications OptionsFileVerificationCounts() {
  OptionsFileVerifications counts;
  counts.parsed = parsed_count.load();
  counts.reused = reused_count.load();
  counts.failed = failed_count.load();
  return counts;
}

}  // namespace snapsim

// The replacement, under RocksDB's symbol.
rocksdb::Status SnapsimVerifyRocksDbOptionsFromFile(const rocksdb::ConfigOptions& config_options,
                                                    const rocksdb::DBOptions& db_options,
                                                    const std::vector<std::string>& column_family_names,
                                                    const std::vector<rocksdb::ColumnFamilyOptions>& column_families,
                                                    const std::string& file_name, rocksdb::FileSystem* fs)
    __asm__(SNAPSIM_VERIFY_OPTIONS_SYMBOL);

rocksdb::Status SnapsimVerifyRocksDbOptionsFromFile(const rocksdb::ConfigOptions& config_options,
                                                    const rocksdb::DBOptions& db_options,
                                                    const std::vector<std::string>& column_family_names,
                                                    const std::vector<rocksdb::ColumnFamilyOptions>& column_families,
                                                    const std::string& file_name, rocksdb::FileSystem* fs) {
  using namespace snapsim;  // NOLINT: the definition must stay outside any namespace for its asm label
  const size_t chunk = config_options.file_readahead_size > 0 ? config_options.file_readahead_size : 512 * 1024;
  std::string bytes;
  rocksdb::IOStatus read = ReadWhole(fs, file_name, chunk, &bytes);
  if (!read.ok()) {
    ++failed_count;
    return read;
  }
  std::string key = bytes;
  for (const std::string& name : column_family_names) key.append("\n#cf ").append(name);
  {
    std::lock_guard<std::mutex> lock(remembered_mutex);
    if (Remembered().count(key) > 0) {
      ++reused_count;
      return rocksdb::Status::OK();
    }
  }
  const VerifyFunction verify = RocksDbVerify(&SnapsimVerifyRocksDbOptionsFromFile);
  if (verify == nullptr) {
    ++failed_count;
    return rocksdb::Status::NotSupported("snapsim: RocksDB's VerifyRocksDBOptionsFromFile not found to check ",
                                         file_name);
  }
  // RocksDB's parse and comparison, of the bytes just read (a copy in memory: the FileSystem saw its reads once).
  std::unique_ptr<rocksdb::Env> memory(rocksdb::NewMemEnv(rocksdb::Env::Default()));
  rocksdb::Status status = rocksdb::WriteStringToFile(memory.get(), bytes, file_name);  // its name in messages
  if (status.ok()) {
    status = verify(config_options, db_options, column_family_names, column_families, file_name,
                    memory->GetFileSystem().get());
  }
  if (!status.ok()) {
    ++failed_count;
    return status;
  }
  ++parsed_count;
  std::lock_guard<std::mutex> lock(remembered_mutex);
  if (Remembered().size() >= kMaxRemembered) Remembered().clear();
  Remembered().insert(std::move(key));
  return status;
}
