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
         kind == ObjectStoreOperationKind::kFinish;
}

}  // namespace

const std::vector<FaultKindInfo>& FaultKinds() {
  static const std::vector<FaultKindInfo>* kinds = new std::vector<FaultKindInfo>{
      {FaultKind::kUploadFailsBefore, "upload-fails-before", true},
      {FaultKind::kUploadFailsAfter, "upload-fails-after", true},
      {FaultKind::kUploadPartial, "upload-partial", true},
      {FaultKind::kStorageSlow, "storage-slow", true},
      {FaultKind::kDeleteFails, "delete-fails", true},
      {FaultKind::kDownloadFails, "download-fails", true},
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

ObjectStoreFault FaultInjector::Decide(const ObjectStoreOperation& operation) {
  std::lock_guard<std::mutex> lock(mutex_);
  ObjectStoreFault fault;
  for (auto rule = rules_.begin(); rule != rules_.end(); ++rule) {
    bool applies = false;
    switch (rule->kind) {
      case FaultKind::kUploadFailsBefore:
        applies = IsUpload(operation.kind);
        break;
      case FaultKind::kUploadFailsAfter:
        applies = operation.kind == ObjectStoreOperationKind::kFinish;
        break;
      case FaultKind::kUploadPartial:
        // Never a store record: they stand for Flink's HA store, whose writes are atomic (see the header).
        applies = operation.kind == ObjectStoreOperationKind::kFinish && !absl::StrContains(operation.path, "/ha/");
        break;
      case FaultKind::kStorageSlow:
        applies = true;
        break;
      case FaultKind::kDeleteFails:
        applies = operation.kind == ObjectStoreOperationKind::kDelete;
        break;
      case FaultKind::kDownloadFails:
        applies = operation.kind == ObjectStoreOperationKind::kRead;
        break;
    }
    if (!applies || !absl::StrContains(operation.path, rule->path_contains)) continue;
    // The draw happens only for a matching operation of an armed rule: a run without faults draws nothing.
    if (prng_.UniformBelow(rule->chance_denominator) >= rule->chance_numerator) continue;
    const std::string name(FaultKindName(rule->kind));
    ++injected_[name];
    const std::string what =
        absl::StrCat(name, ": ", ObjectStoreOperationKindName(operation.kind), " ", operation.path);
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
      case FaultKind::kDeleteFails:
        fault.effect = ObjectStoreFault::Effect::kFailBefore;
        fault.status = InjectedError(absl::StatusCode::kUnavailable, what);
        failed_deletes_.emplace(operation.path, "its delete failed (delete-fails injected): Flink leaves it too");
        break;
    }
    if (rule->count > 0 && --rule->count == 0) rules_.erase(rule);
    break;
  }
  return fault;
}

}  // namespace snapsim
