#include "faults/fault_model.h"

#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace snapsim {
namespace {

constexpr char kInjectedPayload[] = "snapsim.dev/injected";
constexpr char kInjectedText[] = "[injected]";

bool IsUpload(ObjectStoreOperationKind kind) {
  return kind == ObjectStoreOperationKind::kCreate || kind == ObjectStoreOperationKind::kWrite ||
         kind == ObjectStoreOperationKind::kFinish || kind == ObjectStoreOperationKind::kSync;
}

// What makes written bytes durable: a finish, or a sync of a stream that stays open (file merging's physical files).
bool MakesDurable(ObjectStoreOperationKind kind) {
  return kind == ObjectStoreOperationKind::kFinish || kind == ObjectStoreOperationKind::kSync;
}

// What disk-fails hits: every operation that changes the disk, except deletes (see the header).
bool ChangesDisk(FsOperationKind kind) {
  switch (kind) {
    case FsOperationKind::kNewWritableFile:
    case FsOperationKind::kReopenWritableFile:
    case FsOperationKind::kAppend:
    case FsOperationKind::kSync:
    case FsOperationKind::kTruncate:
    case FsOperationKind::kCreateDir:
    case FsOperationKind::kRenameFile:
    case FsOperationKind::kLinkFile:
    case FsOperationKind::kFsyncDir:
      return true;
    default:
      return false;
  }
}

// What disk-full hits: what needs free space.
bool NeedsSpace(FsOperationKind kind) {
  return kind == FsOperationKind::kAppend || kind == FsOperationKind::kNewWritableFile ||
         kind == FsOperationKind::kCreateDir;
}

}  // namespace

const std::vector<FaultKindInfo>& FaultKinds() {
  static const std::vector<FaultKindInfo>* kinds = new std::vector<FaultKindInfo>{
      {FaultKind::kUploadFailsBefore, "upload-fails-before", true, false},
      {FaultKind::kUploadFailsAfter, "upload-fails-after", true, false},
      {FaultKind::kUploadPartial, "upload-partial", true, false},
      {FaultKind::kStorageSlow, "storage-slow", true, false},
      {FaultKind::kDeleteFails, "delete-fails", true, false},
      {FaultKind::kDownloadFails, "download-fails", true, false},
      {FaultKind::kDownloadCorrupts, "download-corrupts", true, false},
      {FaultKind::kStorageRot, "storage-rot", false, false},
      {FaultKind::kDiskFails, "disk-fails", true, true},
      {FaultKind::kDiskFull, "disk-full", true, true},
  };
  return *kinds;
}

std::optional<FaultKind> ParseFaultKind(absl::string_view name) {
  for (const FaultKindInfo& info : FaultKinds()) {
    if (name == info.name) return info.kind;
  }
  return std::nullopt;
}

absl::string_view FaultKindName(FaultKind kind) {
  for (const FaultKindInfo& info : FaultKinds()) {
    if (info.kind == kind) return info.name;
  }
  return "?";
}

absl::Status InjectedError(absl::StatusCode code, absl::string_view what) {
  absl::Status status(code, absl::StrCat(kInjectedText, " ", what));
  status.SetPayload(kInjectedPayload, absl::Cord("1"));
  return status;
}

bool IsInjected(const absl::Status& status) {
  return status.GetPayload(kInjectedPayload).has_value() || IsInjectedMessage(status.message());
}

bool IsInjectedMessage(absl::string_view message) { return absl::StrContains(message, kInjectedText); }

void FaultInjector::Install(SimObjectStore* store) {
  store->SetFaultInjector([this](const ObjectStoreOperation& operation) { return Decide(operation); });
}

void FaultInjector::Arm(FaultRule rule) {
  std::lock_guard<std::mutex> lock(mutex_);
  rules_.push_back(std::move(rule));
}

void FaultInjector::DisarmAll() {
  std::lock_guard<std::mutex> lock(mutex_);
  rules_.clear();
}

bool FaultInjector::armed() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return !rules_.empty();
}

std::map<std::string, int> FaultInjector::Injected() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return injected_;
}

std::map<std::string, std::string> FaultInjector::AcceptedOrphans() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return failed_deletes_;
}

FaultRule* FaultInjector::Draw(const std::string& path, const std::function<bool(FaultKind)>& applies) {
  for (FaultRule& rule : rules_) {
    if (!applies(rule.kind) || !absl::StrContains(path, rule.path_contains)) continue;
    // The draw happens only for a matching operation of an armed rule: a run without faults draws nothing.
    if (prng_.UniformBelow(rule.chance_denominator) >= rule.chance_numerator) continue;
    ++injected_[std::string(FaultKindName(rule.kind))];
    return &rule;
  }
  return nullptr;
}

ObjectStoreFault FaultInjector::Decide(const ObjectStoreOperation& operation) {
  std::lock_guard<std::mutex> lock(mutex_);
  ObjectStoreFault fault;
  FaultRule* rule = Draw(operation.path, [&operation](FaultKind kind) {
    switch (kind) {
      case FaultKind::kUploadFailsBefore:
        return IsUpload(operation.kind);
      case FaultKind::kUploadFailsAfter:
        return MakesDurable(operation.kind);
      case FaultKind::kUploadPartial:
        // Never a store record: they stand for Flink's HA store, whose writes are atomic (see the header).
        return MakesDurable(operation.kind) && !absl::StrContains(operation.path, "/ha/");
      case FaultKind::kStorageSlow:
        return true;
      case FaultKind::kDeleteFails:
        return operation.kind == ObjectStoreOperationKind::kDelete;
      case FaultKind::kDownloadFails:
      case FaultKind::kDownloadCorrupts:
      case FaultKind::kStorageRot:
        return operation.kind == ObjectStoreOperationKind::kRead;
      case FaultKind::kDiskFails:
      case FaultKind::kDiskFull:
        return false;
    }
    return false;
  });
  if (rule == nullptr) return fault;
  if (observer_) {
    observer_(FiredFault{rule->kind, std::string(ObjectStoreOperationKindName(operation.kind)), operation.path, "",
                         rule->armed_at_step});
  }
  const std::string what = absl::StrCat(FaultKindName(rule->kind), ": ",
                                        ObjectStoreOperationKindName(operation.kind), " ", operation.path);
  switch (rule->kind) {
    case FaultKind::kUploadFailsBefore:
    case FaultKind::kDownloadFails:
      fault.effect = ObjectStoreFault::Effect::kFailBefore;
      fault.status = InjectedError(absl::StatusCode::kUnavailable, what);
      break;
    case FaultKind::kUploadFailsAfter:
      fault.effect = ObjectStoreFault::Effect::kFailAfter;
      fault.status = InjectedError(absl::StatusCode::kUnavailable, what);
      break;
    case FaultKind::kUploadPartial:
      fault.effect = ObjectStoreFault::Effect::kPartial;
      fault.status = InjectedError(absl::StatusCode::kUnavailable, what);
      break;
    case FaultKind::kStorageSlow:
      fault.extra_latency_micros = rule->latency_micros;
      break;
    case FaultKind::kDownloadCorrupts:
      fault.effect = ObjectStoreFault::Effect::kCorrupt;
      fault.corrupt_bit = prng_.NextU64();
      corrupted_reads_.insert(operation.path);
      break;
    case FaultKind::kStorageRot:
      fault.effect = ObjectStoreFault::Effect::kRot;
      fault.corrupt_bit = prng_.NextU64();
      rotted_.insert(operation.path);
      break;
    case FaultKind::kDeleteFails:
      fault.effect = ObjectStoreFault::Effect::kFailBefore;
      fault.status = InjectedError(absl::StatusCode::kUnavailable, what);
      failed_deletes_.emplace(operation.path, "its delete failed (delete-fails injected): Flink leaves it too");
      break;
    case FaultKind::kDiskFails:
    case FaultKind::kDiskFull:
      break;
  }
  Consume(rule);
  return fault;
}

bool FaultInjector::Explains(absl::string_view error) const {
  if (IsInjectedMessage(error)) return true;
  // A detected corruption, not any error that happens to name a corrupted object (a later NotFound of it is a bug).
  const bool corruption = absl::StrContains(error, "Corruption") || absl::StrContains(error, "checksum") ||
                          absl::StrContains(error, "mismatch");
  if (!corruption) return false;
  std::lock_guard<std::mutex> lock(mutex_);
  for (const std::set<std::string>* paths : {&corrupted_reads_, &rotted_}) {
    for (const std::string& path : *paths) {
      if (absl::StrContains(error, path)) return true;
    }
  }
  for (const std::string& path : corrupted_local_) {
    // "/tm-0/..../000012.sst": the machine's root and the file's name (a checkpoint directory hard-links it).
    const size_t root_end = path.find('/', 1);
    const std::string root = path.substr(0, root_end + 1);
    const std::string name = path.substr(path.rfind('/') + 1);
    if (absl::StrContains(error, root) && absl::StrContains(error, name)) return true;
  }
  return false;
}

void FaultInjector::NoteLocalCorruption(const std::string& path) {
  std::lock_guard<std::mutex> lock(mutex_);
  corrupted_local_.insert(path);
}

bool FaultInjector::ExplainsLoss(absl::string_view error) const {
  if (!absl::StrContains(error, "checksum") && !absl::StrContains(error, "Corruption") &&
      !absl::StrContains(error, "mismatch")) {
    return false;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  for (const std::string& path : rotted_) {
    if (absl::StrContains(error, path)) return true;
  }
  return false;
}

rocksdb::IOStatus FaultInjector::DecideDisk(const std::string& machine, const FsOperation& operation) {
  std::lock_guard<std::mutex> lock(mutex_);
  FaultRule* rule = Draw(operation.path, [&operation](FaultKind kind) {
    if (kind == FaultKind::kDiskFails) return ChangesDisk(operation.kind);
    if (kind == FaultKind::kDiskFull) return NeedsSpace(operation.kind);
    return false;
  });
  if (rule == nullptr) return rocksdb::IOStatus::OK();
  if (observer_) {
    observer_(FiredFault{rule->kind, std::string(FsOperationKindName(operation.kind)), operation.path, machine,
                         rule->armed_at_step});
  }
  // The marker survives RocksDB's statuses as text (see the header).
  const std::string what = absl::StrCat(kInjectedText, " ", FaultKindName(rule->kind), ": ",
                                        FsOperationKindName(operation.kind), " ", operation.path, " on ", machine);
  const FaultKind kind = rule->kind;
  Consume(rule);
  return kind == FaultKind::kDiskFull ? rocksdb::IOStatus::NoSpace(what) : rocksdb::IOStatus::IOError(what);
}

void FaultInjector::Reseed(uint64_t seed) {
  std::lock_guard<std::mutex> lock(mutex_);
  prng_ = Prng(seed).Child("faults");
}

void FaultInjector::SetObserver(std::function<void(const FiredFault&)> observer) {
  std::lock_guard<std::mutex> lock(mutex_);
  observer_ = std::move(observer);
}

void FaultInjector::Consume(FaultRule* rule) {
  if (rule->count > 0 && --rule->count == 0) rules_.erase(rules_.begin() + (rule - rules_.data()));
}

}  // namespace snapsim
