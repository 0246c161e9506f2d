#include "scenarios/checker.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "backend/encoding.h"
#include "backend/key_groups.h"
#include "faults/fault_model.h"
#include "snapshot/completed_checkpoint.h"
#include "snapshot/keyed_state_task.h"

namespace snapsim {
namespace {

constexpr const char* kInvariantNames[] = {"unexpected error",
                                           "restore equality",
                                           "no dangling reference",
                                           "no leak at quiescence",
                                           "reuse only what is confirmed",
                                           "ownership",
                                           "local state isolation",
                                           "determinism",
                                           "efficiency",
                                           "liveness",
                                           "local recovery used",
                                           "retention",
                                           "decisions"};

}  // namespace

Violation MakeViolation(int invariant, int step, std::string detail, int64_t checkpoint_id, int subtask,
                        std::string file) {
  Violation violation;
  violation.invariant = invariant;
  violation.name = kInvariantNames[invariant];
  violation.step = step;
  violation.checkpoint_id = checkpoint_id;
  violation.subtask = subtask;
  violation.file = std::move(file);
  violation.detail = std::move(detail);
  return violation;
}

namespace {

bool IsSst(const std::string& local_path) { return absl::EndsWith(local_path, ".sst"); }

// The first difference between two states, for a violation message.
std::string FirstDifference(const KeyValueMap& actual, const KeyValueMap& expected) {
  for (const auto& [key, value] : expected) {
    auto found = actual.find(key);
    if (found == actual.end()) {
      return absl::StrCat(DescribeModelKey(key), " missing (expected '", DescribeModelValue(value), "')");
    }
    if (found->second != value) {
      return absl::StrCat(DescribeModelKey(key), " is '", DescribeModelValue(found->second), "', expected '",
                          DescribeModelValue(value), "'");
    }
  }
  for (const auto& [key, value] : actual) {
    if (expected.count(key) == 0) {
      return absl::StrCat(DescribeModelKey(key), " = '", DescribeModelValue(value),
                          "' is present but the model has no such entry here");
    }
  }
  return "";
}

void AddHandleFiles(const KeyedStateHandle& handle, std::map<std::string, std::pair<uint64_t, uint32_t>>* files) {
  auto add = [files](const StreamStateHandle& stream) {
    if (!stream.path.empty() && !stream.is_inline()) (*files)[stream.path] = {stream.size_bytes, stream.checksum};
  };
  if (const auto* incremental = std::get_if<IncrementalRemoteKeyedStateHandle>(&handle)) {
    add(incremental->meta_state_handle);
    for (const HandleAndLocalPath& file : incremental->shared_state) add(file.handle);
    for (const HandleAndLocalPath& file : incremental->private_state) add(file.handle);
  } else {
    add(std::get<KeyGroupsStateHandle>(handle).delegate);
  }
}

KeyGroupRange RangeOfHandle(const KeyedStateHandle& handle) {
  if (const auto* incremental = std::get_if<IncrementalRemoteKeyedStateHandle>(&handle)) {
    return incremental->key_group_range;
  }
  return std::get<KeyGroupsStateHandle>(handle).offsets.range;
}

}  // namespace

std::string Violation::ToString() const {
  std::string out = absl::StrCat("invariant ", invariant, " (", name, ") violated at step ", step);
  if (checkpoint_id >= 0) absl::StrAppend(&out, ", checkpoint ", checkpoint_id);
  if (subtask >= 0) absl::StrAppend(&out, ", subtask ", subtask);
  if (!file.empty()) absl::StrAppend(&out, ", file ", file);
  absl::StrAppend(&out, ": ", detail);
  return out;
}

Checker::Checker(JobWorld* world, uint64_t seed) : world_(world), storage_(&world->storage()), seed_(seed) {}

KnownSnapshot Checker::Describe(SimJob& job, const CompletedCheckpoint& checkpoint) {
  KnownSnapshot snapshot;
  snapshot.checkpoint_id = checkpoint.checkpoint_id;
  snapshot.job_id = checkpoint.job_id;
  snapshot.pointer = checkpoint.external_pointer;
  snapshot.savepoint = checkpoint.properties.is_savepoint();
  snapshot.files[checkpoint.metadata_path()] = {0, 0};
  for (const KeyedStateHandle* state : checkpoint.Handles()) AddHandleFiles(*state, &snapshot.files);
  absl::StatusOr<KeyValueMap> model = job.ModelAt(checkpoint.checkpoint_id);
  if (model.ok()) snapshot.model = *std::move(model);
  return snapshot;
}

std::vector<const KnownSnapshot*> Checker::TakeNewSnapshots() {
  std::vector<const KnownSnapshot*> out;
  for (const auto& key : std::exchange(new_snapshots_, {})) out.push_back(&snapshots_.at(key));
  return out;
}

int64_t Checker::LatestCheckpointOf(const std::string& job_id) const {
  int64_t latest = -1;
  for (const auto& [key, snapshot] : snapshots_) {
    if (key.first == job_id && !snapshot.savepoint) latest = std::max(latest, snapshot.checkpoint_id);
  }
  return latest;
}

const KnownSnapshot* Checker::FindByPointer(const std::string& pointer) const {
  for (const auto& [key, snapshot] : snapshots_) {
    if (snapshot.pointer == pointer) return &snapshot;
  }
  return nullptr;
}

const KnownSnapshot* Checker::Find(int64_t checkpoint_id, const std::string& job_id) const {
  auto found = snapshots_.find({job_id, checkpoint_id});
  return found == snapshots_.end() ? nullptr : &found->second;
}

void Checker::OnJobStarted(SimJob& job, const KnownSnapshot* restored, RestoreMode mode) {
  DecisionModelConfig decisions;
  const SimJobConfig& config = job.config();
  decisions.parallelism = config.parallelism;
  decisions.max_concurrent = config.max_concurrent_checkpoints;
  decisions.interval_micros = config.checkpoint_interval_micros;
  decisions.min_pause_micros = config.min_pause_micros;
  decisions.timeout_micros = config.checkpoint_timeout_micros;
  decisions.tolerable_failures = config.tolerable_failed_checkpoints;
  decisions.strict_timing = world_->deterministic();
  decisions_ = std::make_unique<DecisionModel>(decisions, &coverage_);
  attempts_.clear();
  local_stores_.clear();
  left_by_dead_processes_.clear();
  completed_checkpoints_.clear();
  latest_completed_checkpoint_ = -1;
  latest_is_sync_savepoint_ = false;
  restored_unclaimed_.clear();
  restore_mode_ = mode;
  if (restored != nullptr) {
    if (mode == RestoreMode::kClaim) {
      user_owned_.erase(restored->pointer);  // the job owns it now and deletes it once unused
      // The latest claim wins: a snapshot claimed earlier and retained again by its stopped job is the user's once
      // more, and loses the files a later CLAIM resume from a sibling snapshot takes (swarm seed 171).
      for (const auto& [path, info] : restored->files) claimed_files_[path] = restored->pointer;
    } else {
      restored_unclaimed_ = restored->pointer;
    }
    // The restored snapshot is the new job's first retained checkpoint.
    KnownSnapshot copy = *restored;
    copy.job_id = job.config().job_id;
    snapshots_[{copy.job_id, copy.checkpoint_id}] = copy;
    completed_checkpoints_.insert(restored->checkpoint_id);
    latest_completed_checkpoint_ = restored->checkpoint_id;
  }
}

void Checker::OnJobStopped(SimJob& job, JobStatus status) {
  // One view of the store (reading it is a scheduling point; see AfterStep).
  const std::vector<std::shared_ptr<CompletedCheckpoint>> retained = job.coordinator().RetainedCheckpoints();
  for (const std::shared_ptr<CompletedCheckpoint>& checkpoint : retained) Learn(job, *checkpoint);
  AcceptOrphans(job.AcceptedOrphans());
  if (status == JobStatus::kSuspended) suspended_roots_.insert(job.checkpoint_root());
  for (const std::shared_ptr<CompletedCheckpoint>& checkpoint : retained) {
    // SUSPENDED is not globally terminal: the store discards nothing and every retained checkpoint stays.
    const bool discarded = IsGloballyTerminal(status) && checkpoint->properties.ShouldBeDiscardedOnShutdown(status);
    if (!discarded && !checkpoint->properties.unclaimed) {
      user_owned_.insert(checkpoint->external_pointer);
    }
  }
}

void Checker::OnCompleted(SimJob& job, const CompletedCheckpoint& checkpoint) {
  LearnCompletedCheckpoints(job);
  Learn(job, checkpoint);
}

void Checker::LearnCompletedCheckpoints(SimJob& job) {
  if (job.stopped()) return;
  for (const std::shared_ptr<CompletedCheckpoint>& checkpoint : job.coordinator().RetainedCheckpoints()) {
    Learn(job, *checkpoint);
  }
}

void Checker::Learn(SimJob& job, const CompletedCheckpoint& checkpoint) {
  const std::pair<std::string, int64_t> key{job.config().job_id, checkpoint.checkpoint_id};
  if (snapshots_.count(key) > 0) return;
  snapshots_[key] = Describe(job, checkpoint);
  new_snapshots_.push_back(key);
  if (checkpoint.properties.is_savepoint()) {
    user_owned_.insert(checkpoint.external_pointer);
    if (checkpoint.checkpoint_id > latest_completed_checkpoint_) {
      latest_is_sync_savepoint_ = checkpoint.properties.is_synchronous_savepoint();
    }
  } else {
    completed_checkpoints_.insert(checkpoint.checkpoint_id);
    if (checkpoint.checkpoint_id > latest_completed_checkpoint_) {
      latest_completed_checkpoint_ = checkpoint.checkpoint_id;
      latest_is_sync_savepoint_ = false;
    }
  }
}

std::vector<const KnownSnapshot*> Checker::LiveSnapshots(SimJob* job) const {
  std::vector<const KnownSnapshot*> live;
  std::set<std::string> pointers(user_owned_.begin(), user_owned_.end());
  if (!restored_unclaimed_.empty()) pointers.insert(restored_unclaimed_);
  if (job != nullptr && !job->stopped()) {
    for (const std::shared_ptr<CompletedCheckpoint>& checkpoint : job->coordinator().RetainedCheckpoints()) {
      if (const KnownSnapshot* snapshot = Find(checkpoint->checkpoint_id, job->config().job_id)) {
        live.push_back(snapshot);
      }
    }
  }
  for (const std::string& pointer : pointers) {
    if (const KnownSnapshot* snapshot = FindByPointer(pointer)) live.push_back(snapshot);
  }
  return live;
}

std::vector<const KnownSnapshot*> Checker::RestorableSnapshots(SimJob* job) const {
  std::vector<const KnownSnapshot*> restorable;
  for (const KnownSnapshot* snapshot : LiveSnapshots(job)) {
    bool lost_files = false;
    if (user_owned_.count(snapshot->pointer) > 0) {
      for (const auto& [path, info] : snapshot->files) {
        auto claimed = claimed_files_.find(path);
        lost_files |= claimed != claimed_files_.end() && claimed->second != snapshot->pointer;
      }
    }
    if (!lost_files) restorable.push_back(snapshot);
  }
  return restorable;
}

bool Checker::StillLive(const KnownSnapshot& snapshot, SimJob* job) const {
  for (const KnownSnapshot* live : LiveSnapshots(job)) {
    if (live->pointer == snapshot.pointer) return true;
  }
  return false;
}

std::optional<Violation> Checker::CheckFiles(const KnownSnapshot& snapshot, int step, const std::string& role,
                                             SimJob* job) {
  for (const auto& [path, expected] : snapshot.files) {
    std::optional<StoredObjectInfo> info = storage_->Inspect(path);
    const bool unclaimed = role != "retained";
    if (role == "user-owned" && claimed_files_.count(path) > 0) continue;
    if (!info.has_value() && role == "retained" && !world_->deterministic() && !StillLive(snapshot, job)) {
      return std::nullopt;  // subsumed while the checker looked (real threads)
    }
    if (!info.has_value()) {
      return MakeViolation(
          unclaimed ? 5 : 2, step,
          absl::StrCat("the ", role, " snapshot ", snapshot.pointer, " references a file that is gone"),
          snapshot.checkpoint_id, -1, path);
    }
    last_referenced_step_[path] = step;
    if (expected.first != 0 && (info->size_bytes != expected.first || info->checksum != expected.second)) {
      return MakeViolation(2, step,
                           absl::StrCat("size/checksum ", info->size_bytes, "/", info->checksum, " differ from the ",
                                        expected.first, "/", expected.second, " recorded by ", snapshot.pointer),
                           snapshot.checkpoint_id, -1, path);
    }
  }
  return std::nullopt;
}

std::optional<Violation> Checker::ProcessEvent(SimJob& job, const JobEvent& event, int step) {
  if (event.kind == JobEvent::Kind::kRestartFailed) {
    if (event.cancelled) {
      // Another subtask's failed deployment cancelled this one (judged on its own event).
      ++coverage_[event.checkpoint_id >= 0 ? "restore cancelled by another subtask's failed deployment"
                                           : "deployment cancelled by another subtask's failed deployment"];
      return std::nullopt;
    }
    // The restart strategy tries again, but only a fault the world injected may have failed this attempt (or the
    // detection of a corruption it caused): any other error (a bad handle, a missing file) is a bug even when the
    // next attempt succeeds.
    if (!explains_(event.error)) {
      return MakeViolation(0, step, absl::StrCat("a restart attempt failed with an error no fault injected (the "
                                                 "restart strategy retried): ", event.error),
                           event.checkpoint_id, event.subtask);
    }
    return std::nullopt;
  }
  if (event.kind == JobEvent::Kind::kLocalStored || event.kind == JobEvent::Kind::kMachineLost ||
      event.kind == JobEvent::Kind::kProcessRestarted) {
    return ProcessLocalStoreEvent(job, event, step);
  }
  if (event.op == 0 && (event.kind == JobEvent::Kind::kCompleteDelivered ||
                        event.kind == JobEvent::Kind::kAbortDelivered)) {
    // Flink's TaskLocalStateStoreImpl: a confirmation prunes every older copy; an abort prunes its own (and the
    // completion it carries confirms).
    LocalStoreModel& store = local_stores_[event.subtask];
    const int64_t confirmed =
        event.kind == JobEvent::Kind::kCompleteDelivered ? event.checkpoint_id : event.latest_completed_id;
    if (confirmed > 0) store.Prune([confirmed](int64_t id) { return id < confirmed; });
    if (event.kind == JobEvent::Kind::kAbortDelivered) {
      const int64_t aborted = event.checkpoint_id;
      store.Prune([aborted](int64_t id) { return id == aborted; });
    }
  }
  if (event.kind == JobEvent::Kind::kRestartFailed && event.subtask >= 0 && event.checkpoint_id >= 0) {
    // The failed attempt may have pruned every copy but the restored one before it failed.
    LocalStoreModel& store = local_stores_[event.subtask];
    for (auto it = store.must_hold.begin(); it != store.must_hold.end();) {
      if (it->first == event.checkpoint_id) {
        ++it;
        continue;
      }
      store.may_hold.insert(it->first);
      it = store.must_hold.erase(it);
    }
  }
  Attempt& attempt = attempts_[{event.subtask, event.op, event.attempt}];
  switch (event.kind) {
    case JobEvent::Kind::kDeployed: {
      if (event.checkpoint_id >= 0) {
        ++coverage_[event.restored_from_local_state ? "restore from local state" : "restore from storage"];
        if (event.restored_from_local_state && event.local_copy_reloaded) {
          ++coverage_[event.local_copy_from_before_power_loss ? "restore from a local copy reloaded after power loss"
                                                              : "restore from a local copy reloaded after a restart"];
        }
        if (event.local_recovery && !event.restored_from_local_state)
          ++coverage_["local recovery fell back to storage"];
        if (event.rescaled) ++coverage_["rescaled restore (key-group clip)"];
      }
      if (event.checkpoint_id >= 0 && !event.rescaled && event.incremental && event.restored_handles.size() == 1) {
        if (const auto* handle = std::get_if<IncrementalRemoteKeyedStateHandle>(&event.restored_handles[0])) {
          attempt.restored_id = event.checkpoint_id;
          for (const HandleAndLocalPath& file : handle->shared_state) {
            attempt.restored_files[file.local_path] = file.handle.path;
          }
        }
      }
      // Invariant 10: an intact matching local copy must be used, the one the store offered or the one the
      // checker's model says the store must still hold (stored, not pruned since, not corrupted by a scenario).
      // A fault that made restoring the local copy fail (a local disk fault) excuses the fallback; nothing else does.
      bool model_holds = false;
      if (event.checkpoint_id >= 0) {
        LocalStoreModel& store = local_stores_[event.subtask];
        auto held = store.must_hold.find(event.checkpoint_id);
        model_holds = held != store.must_hold.end() && held->second.second.count(event.op) > 0 &&
                      !LocalCopyCorrupted(job, event.subtask, event.checkpoint_id);
        if (model_holds && !event.local_copy_available && event.local_recovery && !event.rescaled &&
            !event.restored_from_local_state &&
            (event.local_restore_error.empty() || !explains_(event.local_restore_error))) {
          return MakeViolation(10, step,
                               absl::StrCat("the task-local store must still hold a local copy of checkpoint ",
                                            event.checkpoint_id, " (stored at step ", held->second.first,
                                            "; no confirmation of a newer checkpoint, abort, restore of another "
                                            "checkpoint or loss of the task manager since), but attempt ",
                                            event.attempt, " restored from remote storage: the store offered none"),
                               event.checkpoint_id, event.subtask, job.local_state_directory(event.subtask));
        }
        // Flink's TaskStateManager: a restore keeps only the restored checkpoint's copy.
        if (event.op == 0) {
          const int64_t restored = event.checkpoint_id;
          store.Prune([restored](int64_t id) { return id != restored; });
        }
      }
      if (event.checkpoint_id >= 0 && event.local_recovery && event.local_copy_available && !event.rescaled &&
          !event.restored_from_local_state) {
        if (!event.local_restore_error.empty() && explains_(event.local_restore_error)) {
          ++coverage_["local restore failed by a fault, storage used"];
        } else {
          return MakeViolation(10, step,
                               absl::StrCat("a local copy of checkpoint ", event.checkpoint_id, " was in ",
                                            event.local_directory, " but attempt ", event.attempt,
                                            " restored from remote storage",
                                            event.local_restore_error.empty()
                                                ? std::string()
                                                : absl::StrCat(" (restoring the local copy failed: ",
                                                               event.local_restore_error, ")")),
                               event.checkpoint_id, event.subtask, event.local_directory);
        }
      }
      if (event.restored_from_local_state && !event.local_copy_available) {
        return MakeViolation(6, step, "restored from local state that the task-local store did not hold",
                             event.checkpoint_id, event.subtask);
      }
      return std::nullopt;
    }
    case JobEvent::Kind::kSnapshotStarted: {
      attempt.options[event.checkpoint_id] = event.options;
      if (event.options.type == SnapshotType::kSavepoint) attempt.savepoint_ids.insert(event.checkpoint_id);
      // The base the strategy must use: the newest confirmed checkpoint this attempt knows the files of.
      int64_t base_id = -1;
      std::map<std::string, std::string> base;
      std::set<std::string> confirmed_paths;
      if (attempt.restored_id >= 0) {
        base_id = attempt.restored_id;
        base = attempt.restored_files;
        for (const auto& [local, path] : attempt.restored_files) confirmed_paths.insert(path);
      }
      for (int64_t id : attempt.confirmed) {
        auto files = attempt.acknowledged_files.find(id);
        if (files == attempt.acknowledged_files.end() || attempt.savepoint_ids.count(id) > 0) continue;
        for (const auto& [local, path] : files->second) confirmed_paths.insert(path);
        if (id > base_id) {
          base_id = id;
          base = files->second;
        }
      }
      attempt.base_at_trigger[event.checkpoint_id] = std::move(base);
      attempt.base_id_at_trigger[event.checkpoint_id] = base_id;
      attempt.confirmed_paths_at_trigger[event.checkpoint_id] = std::move(confirmed_paths);
      return std::nullopt;
    }
    case JobEvent::Kind::kSnapshotDiscarded:
      // The task discarded it (another operator's snapshot failed), but the strategy recorded its uploads, which
      // decide its later bases as an acknowledged snapshot's would: judged the same way.
      ++coverage_["operator snapshot discarded with its task's"];
      [[fallthrough]];
    case JobEvent::Kind::kAcknowledged: {
      (void)attempt.acknowledged_files[event.checkpoint_id];  // its outcome is known, shared files or not
      if (!event.handle.has_value()) return std::nullopt;
      const auto* handle = std::get_if<IncrementalRemoteKeyedStateHandle>(&*event.handle);
      if (handle == nullptr) return std::nullopt;  // canonical savepoint: no files shared
      auto& files = attempt.acknowledged_files[event.checkpoint_id];
      for (const HandleAndLocalPath& file : handle->shared_state) files[file.local_path] = file.handle.path;
      const CheckpointOptions options = attempt.options[event.checkpoint_id];
      const std::set<std::string>& confirmed = attempt.confirmed_paths_at_trigger[event.checkpoint_id];
      const std::map<std::string, std::string>& base = attempt.base_at_trigger[event.checkpoint_id];
      for (const HandleAndLocalPath& file : handle->shared_state) {
        if (!file.handle.is_placeholder()) continue;
        ++coverage_["placeholder reuse"];
        if (options.type != SnapshotType::kCheckpoint) {
          return MakeViolation(
              4, step,
              absl::StrCat(options.type == SnapshotType::kSavepoint ? "a savepoint" : "a full checkpoint", " reuses ",
                           file.local_path, " instead of owning its files"),
              event.checkpoint_id, event.subtask, file.handle.path);
        }
        if (confirmed.count(file.handle.path) == 0) {
          return MakeViolation(
              4, step,
              absl::StrCat("placeholder for ", file.local_path, " names a file no checkpoint confirmed to attempt ",
                           event.attempt, " holds"),
              event.checkpoint_id, event.subtask, file.handle.path);
        }
      }
      if (!job.config().incremental && options.type != SnapshotType::kSavepoint && !handle->shared_state.empty()) {
        return MakeViolation(8, step, "a native full checkpoint shares files", event.checkpoint_id, event.subtask,
                             handle->shared_state[0].handle.path);
      }
      if (job.config().incremental && options.type == SnapshotType::kCheckpoint) {
        const int64_t base_id = attempt.base_id_at_trigger[event.checkpoint_id];
        // Base files that a newer recorded checkpoint holds as another object: the strategy drops them from the base
        // (#13 part 1's pruning). What a snapshot recorded is known from its acknowledgement (or discard); one whose
        // outcome is not known yet may have recorded already (an operator's strategy records when its part ends, the
        // task acknowledges when every operator's has: swarm seeds 747, 1771). It holds a file as another object
        // unless it reused the same one from its base, and its base entry may itself have lost that file to a
        // snapshot recorded between the two (unrestricted seed 2897: 12 pruned 11, so 14, based on 11, uploaded
        // again and pruned the base 13 of 16).
        std::set<std::string> superseded;
        for (const auto& [local, path] : base) {
          std::map<int64_t, bool> other;  // snapshot -> may hold `local` as another object than `path`
          for (const auto& [id, its_options] : attempt.options) {
            if (id == event.checkpoint_id || attempt.savepoint_ids.count(id) > 0) continue;
            bool may = false;
            if (auto known = attempt.acknowledged_files.find(id); known != attempt.acknowledged_files.end()) {
              auto held = known->second.find(local);
              may = held != known->second.end() && held->second != path;
            } else if (attempt.failed.count(id) == 0) {
              const std::map<std::string, std::string>& its_base = attempt.base_at_trigger[id];
              auto in_its_base = its_base.find(local);
              may = its_options.type != SnapshotType::kCheckpoint || in_its_base == its_base.end() ||
                    in_its_base->second != path;
              for (const auto& [between, between_may] : other) {
                if (between_may && between > attempt.base_id_at_trigger[id] && between < id) may = true;
              }
            }
            other[id] = may;
            if (may && id > base_id) superseded.insert(local);
          }
        }
        for (const HandleAndLocalPath& file : handle->shared_state) {
          if (!IsSst(file.local_path)) continue;
          const bool in_base = base.count(file.local_path) > 0 && superseded.count(file.local_path) == 0;
          if (!file.handle.is_placeholder() && in_base) {
            return MakeViolation(8, step,
                                 absl::StrCat(job.operators() > 1 ? absl::StrCat("operator ", event.op, " ") : "",
                                              "uploaded ", file.local_path, " again although its confirmed base (",
                                              "checkpoint ", base_id, ") already had it"),
                                 event.checkpoint_id, event.subtask, file.handle.path);
          }
        }
      }
      return std::nullopt;
    }
    case JobEvent::Kind::kCompleteDelivered:
      if (event.checkpoint_id > attempt.last_notified) {
        attempt.confirmed.insert(event.checkpoint_id);
        attempt.last_notified = event.checkpoint_id;
      }
      return std::nullopt;
    case JobEvent::Kind::kAbortDelivered:
      if (event.latest_completed_id > 0 && event.latest_completed_id > attempt.last_notified) {
        attempt.confirmed.insert(event.latest_completed_id);
        attempt.last_notified = event.latest_completed_id;
      }
      return std::nullopt;
    case JobEvent::Kind::kSnapshotFailed:
      attempt.failed.insert(event.checkpoint_id);
      return std::nullopt;
    case JobEvent::Kind::kRestartFailed:
    case JobEvent::Kind::kLocalStored:
    case JobEvent::Kind::kMachineLost:
    case JobEvent::Kind::kProcessRestarted:
      return std::nullopt;  // judged above
  }
  return std::nullopt;
}

std::optional<Violation> Checker::CheckRetention(
    SimJob& job, int step, const std::vector<std::shared_ptr<CompletedCheckpoint>>& retained) {
  const int configured = job.config().num_retained;
  const int expected_at_least = std::min<int>(configured, static_cast<int>(completed_checkpoints_.size()));
  // A checkpoint whose store record could not be deleted (delete-fails, the fault model's one unrecoverable kind)
  // stays retained until a later subsumption removes the record: the store keeps it beyond the bound.
  int kept_by_failed_delete = 0;
  for (const std::shared_ptr<CompletedCheckpoint>& checkpoint : retained) {
    kept_by_failed_delete += accepted_orphans_.count(job.coordinator().store().RecordPath(checkpoint->checkpoint_id));
  }
  if (static_cast<int>(retained.size()) > configured + 1 + kept_by_failed_delete) {
    return MakeViolation(11, step, absl::StrCat("the store keeps ", retained.size(), " snapshots, configured ",
                                                configured));
  }
  int non_savepoints = 0;
  bool latest_kept = latest_completed_checkpoint_ < 0 || latest_is_sync_savepoint_;
  for (const std::shared_ptr<CompletedCheckpoint>& checkpoint : retained) {
    if (!checkpoint->properties.is_savepoint()) ++non_savepoints;
    if (checkpoint->checkpoint_id == latest_completed_checkpoint_) latest_kept = true;
  }
  if (static_cast<int>(retained.size()) < expected_at_least) {
    return MakeViolation(11, step, absl::StrCat("the store keeps ", retained.size(), " snapshots; ",
                                                completed_checkpoints_.size(), " checkpoints completed and ",
                                                configured, " are to be retained"));
  }
  if (!latest_kept) {
    return MakeViolation(11, step, "the latest completed checkpoint was subsumed by a savepoint (FLINK-21351)",
                         latest_completed_checkpoint_);
  }
  return std::nullopt;
}

std::optional<Violation> Checker::CheckNoClaimIndependence(const KnownSnapshot& snapshot, int step) const {
  if (restore_mode_ != RestoreMode::kNoClaim || restored_unclaimed_.empty() ||
      snapshot.pointer == restored_unclaimed_) {
    return std::nullopt;
  }
  const KnownSnapshot* restored = FindByPointer(restored_unclaimed_);
  if (restored == nullptr) return std::nullopt;
  for (const auto& [path, size_and_checksum] : snapshot.files) {
    if (restored->files.count(path) > 0 && path != restored->pointer) {
      return MakeViolation(5, step,
                           absl::StrCat("checkpoint ", snapshot.checkpoint_id, " of a job restored in NO_CLAIM mode "
                                        "references a file of the snapshot it was restored from (",
                                        restored_unclaimed_, "); the first checkpoint after a NO_CLAIM restore must "
                                        "be full (FLINK-25192), so the user may delete that snapshot"),
                           snapshot.checkpoint_id, -1, path);
    }
  }
  return std::nullopt;
}

std::optional<Violation> Checker::AfterStandstill(SimJob& job, int step) {
  if (std::optional<Violation> violation = AfterStep(job, step, false)) return violation;
  if (decisions_ == nullptr) return std::nullopt;
  if (std::optional<DecisionViolation> wrong =
          decisions_->EndOfBatch(world_->runtime().NowMicros() + 1, world_->clock_jumps())) {
    return MakeViolation(12, step, wrong->detail, wrong->checkpoint_id);
  }
  return std::nullopt;
}

std::optional<Violation> Checker::AfterStep(SimJob& job, int step, bool restarted) {
  current_step_ = step;
  for (const auto& [path, reason] : job.AcceptedOrphans()) {
    accepted_at_step_.emplace(std::make_pair(path, reason), step);
  }
  // One view of the store per check: reading it takes the coordinator's lock, a scheduling point, and the store may
  // change while the checker waits for it.
  std::vector<std::shared_ptr<CompletedCheckpoint>> retained;
  if (!job.stopped()) {
    retained = job.coordinator().RetainedCheckpoints();
    for (const std::shared_ptr<CompletedCheckpoint>& checkpoint : retained) Learn(job, *checkpoint);
  }
  for (const JobEvent& event : job.TakeEvents()) {
    if (std::optional<Violation> violation = ProcessEvent(job, event, step)) return violation;
  }
  // Invariant 12: the job manager's decisions against the reference model.
  if (decisions_ != nullptr) {
    for (const DecisionEvent& event : job.TakeDecisionEvents()) {
      if (std::optional<DecisionViolation> wrong = decisions_->Observe(event)) {
        return MakeViolation(12, step, wrong->detail, wrong->checkpoint_id);
      }
    }
    if (std::optional<DecisionViolation> wrong =
            decisions_->EndOfBatch(world_->runtime().NowMicros(), world_->clock_jumps())) {
      return MakeViolation(12, step, wrong->detail, wrong->checkpoint_id);
    }
  }
  if (!job.stopped()) {
    for (const std::shared_ptr<CompletedCheckpoint>& checkpoint : retained) {
      const KnownSnapshot* snapshot = Find(checkpoint->checkpoint_id, job.config().job_id);
      if (snapshot == nullptr) continue;
      if (std::optional<Violation> violation = CheckFiles(*snapshot, step, "retained", &job)) return violation;
      if (std::optional<Violation> violation = CheckNoClaimIndependence(*snapshot, step)) return violation;
    }
    if (std::optional<Violation> violation = CheckRetention(job, step, retained)) return violation;
    // Invariant 6: every local-recovery directory belongs to one subtask's operator.
    std::map<std::string, std::pair<int, int>> owners;
    for (int subtask = 0; subtask < job.parallelism(); ++subtask) {
      TaskLocalStateStore* store = job.local_state_store(subtask);
      if (store == nullptr) continue;
      for (int64_t id : store->StoredCheckpoints()) {
        std::optional<TaskLocalSnapshot> local = store->Peek(id);
        if (!local.has_value()) continue;
        for (const auto& [op, handle] : *local) {
          const std::string key = absl::StrCat(job.machine(subtask).name(), ":", handle.directory);
          auto [owner, inserted] = owners.emplace(key, std::make_pair(subtask, op));
          if (!inserted && owner->second != std::make_pair(subtask, op)) {
            return MakeViolation(6, step,
                                 absl::StrCat("subtask ", owner->second.first, " operator ", owner->second.second,
                                              " and subtask ", subtask, " operator ", op,
                                              " share a local recovery directory"),
                                 id, subtask, handle.directory);
          }
        }
      }
    }
  }
  if (job.stopped() && job.config().local_recovery) {
    // Invariant 3, on the machines' disks: a job that ended disposed of its task-local state.
    for (int subtask = 0; subtask < job.parallelism(); ++subtask) {
      const std::vector<std::string> left = job.machine(subtask).ListFiles(job.local_state_directory(subtask));
      if (!left.empty()) {
        return MakeViolation(3, step,
                             absl::StrCat("the job ended but ", left.size(), " file(s) of subtask ", subtask,
                                          "'s task-local state are left on ", job.machine(subtask).name()),
                             -1, subtask, left.front());
      }
    }
  }
  for (const std::string& pointer : user_owned_) {
    if (const KnownSnapshot* snapshot = FindByPointer(pointer)) {
      if (std::optional<Violation> violation = CheckFiles(*snapshot, step, "user-owned")) return violation;
    }
  }
  if (!restored_unclaimed_.empty()) {
    if (const KnownSnapshot* snapshot = FindByPointer(restored_unclaimed_)) {
      if (std::optional<Violation> violation =
              CheckFiles(*snapshot, step, absl::StrCat("restored (", RestoreModeName(restore_mode_), ")"))) {
        return violation;
      }
    }
  }
  if (restarted && !job.stopped()) return CheckRunningState(job, step, "the restart");
  return std::nullopt;
}

std::optional<Violation> Checker::CheckRunningState(SimJob& job, int step, const std::string& after) {
  for (int subtask = 0; subtask < job.parallelism(); ++subtask) {
    absl::StatusOr<KeyValueMap> actual = job.ActualStateOf(subtask);
    if (!actual.ok()) {
      return MakeViolation(
          1, step, absl::StrCat("cannot read the state after ", after, ": ", actual.status().message()), -1, subtask);
    }
    const KeyValueMap expected = job.ModelPartOf(job.Model(), subtask);
    if (*actual != expected) {
      return MakeViolation(1, step,
                           absl::StrCat("after ", after, " subtask ", subtask, " (key groups ",
                                        job.range_of(subtask).ToString(), "): ", FirstDifference(*actual, expected)),
                           -1, subtask);
    }
  }
  return std::nullopt;
}

bool Checker::LocalCopyCorrupted(SimJob& job, int subtask, int64_t id) const {
  const std::string directory = absl::StrCat(job.local_state_directory(subtask), "/chk_", id, "/");
  for (const std::string& path : corrupted_local_) {
    if (absl::StartsWith(path, directory)) return true;
  }
  return false;
}

std::optional<Violation> Checker::ProcessLocalStoreEvent(SimJob& job, const JobEvent& event, int step) {
  LocalStoreModel& store = local_stores_[event.subtask];
  switch (event.kind) {
    case JobEvent::Kind::kLocalStored:
      store.must_hold[event.checkpoint_id] =
          std::make_pair(step, std::set<int>(event.operators.begin(), event.operators.end()));
      store.may_hold.erase(event.checkpoint_id);
      return std::nullopt;
    case JobEvent::Kind::kMachineLost: {
      // The next process starts with an empty store and never looks at what this one left.
      store = LocalStoreModel();
      const std::string reason = absl::StrCat("left by the task manager of subtask ", event.subtask,
                                              " that died at step ", step, " (crash how=graceful|hard): no later "
                                              "process looks at a dead one's files");
      for (const std::string& file : event.files) left_by_dead_processes_[event.subtask].emplace(file, reason);
      return std::nullopt;
    }
    case JobEvent::Kind::kProcessRestarted: {
      // The disk kept everything (power loss keeps what was synced, and the store syncs its copies): what the store
      // had to hold is on it, for the new process to reload; copies found beside them are a dead process's.
      std::set<int64_t> on_disk;
      const std::string prefix = job.local_state_directory(event.subtask) + "/chk_";
      for (const std::string& file : event.files) {
        if (!absl::StartsWith(file, prefix)) continue;
        int64_t id = 0;
        const std::string rest = file.substr(prefix.size());
        if (absl::SimpleAtoi(rest.substr(0, rest.find('/')), &id)) on_disk.insert(id);
      }
      for (const auto& [id, stored] : store.must_hold) {
        if (on_disk.count(id) == 0 && !LocalCopyCorrupted(job, event.subtask, id)) {
          return MakeViolation(10, step,
                               absl::StrCat("the task manager of subtask ", event.subtask, " restarted on a disk that "
                                            "kept everything, but the local copy of checkpoint ", id, " (stored at "
                                            "step ", stored.first, ", not pruned since) is not on it"),
                               id, event.subtask, absl::StrCat(prefix, id));
        }
      }
      for (int64_t id : on_disk) {
        if (store.must_hold.count(id) == 0) store.may_hold.insert(id);
      }
      return std::nullopt;
    }
    default:
      return std::nullopt;
  }
}

std::optional<Violation> Checker::CheckLocalDisks(SimJob& job, int step) {
  for (int subtask = 0; subtask < job.parallelism(); ++subtask) {
    LocalStoreModel& model = local_stores_[subtask];
    const std::string local = job.local_state_directory(subtask);
    std::set<int64_t> held;
    if (TaskLocalStateStore* store = job.local_state_store(subtask)) {
      for (int64_t id : store->StoredCheckpoints()) held.insert(id);
    }
    // Nothing gone that should stay (10).
    for (const auto& [id, stored] : model.must_hold) {
      if (LocalCopyCorrupted(job, subtask, id)) continue;
      const std::string snapshot_file =
          absl::StrCat(local, "/chk_", id, "/", TaskLocalStateStore::kSnapshotFileName);
      if (held.count(id) == 0 || !job.machine(subtask).env()->FileExists(snapshot_file).ok()) {
        return MakeViolation(10, step,
                             absl::StrCat("the task-local store of subtask ", subtask, " must still hold the local "
                                          "copy of checkpoint ", id, " (stored at step ", stored.first, "; no "
                                          "confirmation of a newer checkpoint, abort, restore of another checkpoint "
                                          "or loss of the task manager since), but ",
                                          held.count(id) == 0 ? "it does not" : "its snapshot file is gone"),
                             id, subtask, snapshot_file);
      }
    }
    // Nothing left that should go (3): a held copy the model pruned, or a file nothing accounts for.
    for (int64_t id : held) {
      if (model.must_hold.count(id) == 0 && model.may_hold.count(id) == 0 && !LocalCopyCorrupted(job, subtask, id)) {
        return MakeViolation(3, step,
                             absl::StrCat("the task-local store of subtask ", subtask, " still holds checkpoint ", id,
                                          " at quiescence, which a confirmation, an abort or a restore pruned"),
                             id, subtask, absl::StrCat(local, "/chk_", id));
      }
    }
    const std::string instance_prefix = absl::StrCat(job.machine(subtask).root(), "/", job.config().job_id,
                                                     "/op_sti_", subtask, "_attempt_", job.attempt_of(subtask));
    const std::map<std::string, std::string>& left = left_by_dead_processes_[subtask];
    int excused = 0;
    // The job's files: its backends' instance directories and its task-local directory (on a real disk, a machine's
    // directory outlives a job and keeps earlier jobs' files: those were judged when their job stopped).
    std::vector<std::string> files = job.machine(subtask).ListFiles(
        absl::StrCat(job.machine(subtask).root(), "/", job.config().job_id));
    for (const std::string& file : job.machine(subtask).ListFiles(local)) files.push_back(file);
    for (const std::string& file : files) {
      // A running backend's database (operator 0's instance directory, and "-op<k>" ones).
      if (absl::StartsWith(file, instance_prefix)) {
        const std::string rest = file.substr(instance_prefix.size());
        const size_t db = rest.find("/db/");
        const std::string suffix = rest.substr(0, db);
        if (db != std::string::npos && (suffix.empty() || absl::StartsWith(suffix, "-op"))) continue;
      }
      // A copy the store holds (its chk_<id> directory, snapshot file included).
      if (absl::StartsWith(file, local + "/chk_")) {
        int64_t id = 0;
        const std::string rest = file.substr(local.size() + 5);
        if (absl::SimpleAtoi(rest.substr(0, rest.find('/')), &id) && held.count(id) > 0) continue;
      }
      if (left.count(file) > 0) {
        ++excused;
        continue;
      }
      return MakeViolation(3, step,
                           absl::StrCat("left on ", job.machine(subtask).name(), "'s disk at quiescence, and neither "
                                        "a running backend's database (", instance_prefix, "*/db/) nor a local copy "
                                        "the task-local store holds (", held.size(),
                                        " held) accounts for it"),
                           -1, subtask, file);
    }
    if (excused > 0) coverage_["local files a dead task manager left"] += excused;
  }
  return std::nullopt;
}

std::optional<Violation> Checker::CheckNoLeak(SimJob* job, int step) {
  current_step_ = step;
  if (job != nullptr && !job->stopped()) {
    if (std::optional<Violation> violation = CheckLocalDisks(*job, step)) return violation;
  }
  std::set<std::string> referenced;
  for (const KnownSnapshot* snapshot : LiveSnapshots(job)) {
    for (const auto& [path, info] : snapshot->files) referenced.insert(path);
  }
  if (job != nullptr && !job->stopped()) {
    for (const std::string& path : job->ReferencedPaths()) referenced.insert(path);
  }
  std::map<std::string, std::string> accepted;
  if (job != nullptr) accepted = job->AcceptedOrphans();
  for (const auto& [path, reason] : accepted_orphans_) accepted.emplace(path, reason);
  int orphans = 0;
  std::string listed;
  for (const std::string& path : storage_->AllPaths()) {
    if (referenced.count(path) > 0) continue;
    // A suspended job's store records stay for the next coordinator.
    bool suspended_record = false;
    for (const std::string& root : suspended_roots_) suspended_record |= absl::StartsWith(path, root + "/ha/");
    if (suspended_record) continue;
    if (auto found = accepted.find(path); found != accepted.end()) {
      // Every reason it was ever accepted for (a hard kill's upload, then a failed delete of it, ...), and when.
      accepted_at_step_.emplace(*found, step);
      std::vector<std::pair<std::string, int>> acceptances;
      for (auto entry = accepted_at_step_.lower_bound({path, ""});
           entry != accepted_at_step_.end() && entry->first.first == path; ++entry) {
        acceptances.emplace_back(entry->first.second, entry->second);
      }
      auto referenced_at = last_referenced_step_.find(path);
      bool holds = referenced_at == last_referenced_step_.end();
      for (const auto& [reason, at] : acceptances) holds = holds || at >= referenced_at->second;
      if (!holds) {
        return MakeViolation(3, step,
                             absl::StrCat("stored at quiescence and referenced by nothing; accepted at step ",
                                          acceptances.front().second, " (", acceptances.front().first,
                                          "), but a live snapshot referenced it again at step ", referenced_at->second,
                                          ", so its owner had to delete it once unused"),
                             -1, -1, path);
      }
      if (++orphans <= 8) absl::StrAppend(&listed, "\n    ", path, ": ", found->second);
      continue;
    }
    return MakeViolation(3, step, "stored at quiescence and referenced by nothing", -1, -1, path);
  }
  if (orphans > 0) {
    coverage_["accepted orphans"] += orphans;
    notes_.push_back(absl::StrCat("step ", step, ": ", orphans, " accepted orphan(s) in storage, each with its reason",
                                  orphans > 8 ? " (the first 8)" : "", ":", listed));
  }
  return std::nullopt;
}

std::optional<Violation> Checker::RestoreFailed(const KnownSnapshot& snapshot, int invariant, int step,
                                                int subtask, const std::string& error) {
  if (!explains_loss_(error)) return MakeViolation(invariant, step, error, snapshot.checkpoint_id, subtask);
  ++coverage_["snapshot lost to storage-rot"];
  notes_.push_back(absl::StrCat("step ", step, ": ", snapshot.pointer, " is lost (storage-rot, allowed): ", error));
  return std::nullopt;
}

std::optional<Violation> Checker::RestoreInSideWorld(const KnownSnapshot& snapshot, int parallelism,
                                                     int max_parallelism, int step) {
  // What the restore reads: the snapshot's files as stored now. A restore of the same snapshot at the same
  // parallelism from the same bytes that already restored every subtask to its model judges the same again (the
  // model of a snapshot never changes): it is not run twice (the end of a run restores every live snapshot, most of
  // them restored after the step that made them). What is judged anew still is that every file is there, unchanged.
  std::vector<std::pair<std::string, std::string>> files;
  files.reserve(snapshot.files.size());
  std::string key = absl::StrCat(snapshot.pointer, " at ", parallelism, "/", max_parallelism, ":");
  for (const auto& [path, info] : snapshot.files) {
    std::optional<std::string> bytes = storage_->InspectBytes(path);
    if (!bytes.has_value()) {
      return MakeViolation(2, step, absl::StrCat("restoring ", snapshot.pointer, " in a side world: the file is gone"),
                           snapshot.checkpoint_id, -1, path);
    }
    absl::StrAppend(&key, " ", path, "=", bytes->size(), "/", Crc32c(*bytes));
    files.emplace_back(path, *std::move(bytes));
  }
  if (auto verified = verified_restores_.find(key); verified != verified_restores_.end()) {
    ++side_world_restores_reused_;
    world_->Record("checker",
                   absl::StrCat("restore ", snapshot.pointer, " at parallelism ", parallelism,
                                ": the same bytes side world ", verified->second, " restored"),
                   {{"snapshot", snapshot.pointer}, {"side_world", absl::StrCat(verified->second)},
                    {"step", absl::StrCat(step)}});
    return std::nullopt;
  }
  ++side_world_restores_;
  const int world = side_world_restores_;
  // An instant on the run's trace (the side world's own clock and trace stay apart): the trace's "checker" process.
  world_->Record("checker",
                 absl::StrCat("restore ", snapshot.pointer, " in side world ", world, " at parallelism ", parallelism),
                 {{"snapshot", snapshot.pointer},
                  {"checkpoint", absl::StrCat(snapshot.checkpoint_id)},
                  {"side_world", absl::StrCat(world)},
                  {"parallelism", absl::StrCat(parallelism)},
                  {"files", absl::StrCat(snapshot.files.size())},
                  {"step", absl::StrCat(step)}});
  // The side world has its own runtime, clock and storage (a copy of the snapshot's files): nothing the restore
  // does touches the run, advances its clock or enters its trace.
  std::unique_ptr<JobWorld> side = world_->NewSideWorld(Prng(seed_).Child(absl::StrCat("side-world-", world)).seed());
  if (side == nullptr) return MakeViolation(0, step, "cannot create a side world to restore in");
  InspectableStorage& side_store = side->storage();
  for (auto& [path, bytes] : files) side_store.PutDirect(path, std::move(bytes));
  absl::StatusOr<CompletedCheckpoint> checkpoint = LoadCheckpointMetadata(side_store, snapshot.pointer);
  if (!checkpoint.ok()) {
    return RestoreFailed(snapshot, 1, step, -1, absl::StrCat("side world: ", checkpoint.status().message()));
  }
  std::unique_ptr<JobMachine> machine =
      side->NewMachine(absl::StrCat("side-", world), Prng(seed_).Child(absl::StrCat("side-machine-", world)));
  bool every_subtask_matched = false;  // not an accepted loss: every subtask read back its model
  auto restore_every_subtask = [&]() -> std::optional<Violation> {
    for (int subtask = 0; subtask < parallelism; ++subtask) {
      absl::StatusOr<KeyGroupRange> range = ComputeKeyGroupRangeForOperatorIndex(max_parallelism, parallelism, subtask);
      if (!range.ok()) return MakeViolation(1, step, std::string(range.status().message()), snapshot.checkpoint_id);
      KeyedStateTaskConfig config;
      config.backend.env = machine->env();
      config.backend.instance_path = absl::StrCat(machine->root(), "/subtask-", subtask);
      config.backend.max_parallelism = max_parallelism;
      config.backend.key_group_range = *range;
      config.backend.preset = side->preset();
      // Every operator the snapshot has state for, by its place in the chain.
      TaskRestoreState restore;
      restore.checkpoint_id = checkpoint->checkpoint_id;
      for (const OperatorState& operator_state : checkpoint->operator_states) {
        const int op = ChainedOperatorIndex(operator_state.operator_id);
        if (op < 0 || op >= 64) {
          return MakeViolation(1, step, absl::StrCat("restoring ", snapshot.pointer, ": state of operator ",
                                                     operator_state.operator_id, ", which no job has"),
                               snapshot.checkpoint_id);
        }
        if (static_cast<int>(restore.operator_handles.size()) <= op) restore.operator_handles.resize(op + 1);
        for (const std::optional<KeyedStateHandle>& state : operator_state.subtask_states) {
          if (!state.has_value()) continue;
          const KeyGroupRange handle_range = RangeOfHandle(*state);
          if (std::max(handle_range.start(), range->start()) <= std::min(handle_range.end(), range->end())) {
            restore.operator_handles[op].push_back(*state);
          }
        }
      }
      config.operators = std::max<int>(1, static_cast<int>(restore.operator_handles.size()));
      absl::StatusOr<std::unique_ptr<KeyedStateTask>> task =
          KeyedStateTask::Start(config, &side->runtime(), &side_store, nullptr, restore);
      if (!task.ok()) {
        return RestoreFailed(snapshot, 1, step, subtask,
                             absl::StrCat("restoring ", snapshot.pointer, " at parallelism ", parallelism,
                                          " in a side world failed: ", task.status().message()));
      }
      for (int op = 0; op < (*task)->operators(); ++op) {
        (void)(*task)->backend(op).RegisterStates(JobStateMetaInfos());
      }
      absl::StatusOr<KeyValueMap> read = ReadTaskStates(**task, max_parallelism);
      (void)(*task)->Close();
      if (!read.ok()) {
        return RestoreFailed(snapshot, 1, step, subtask,
                             absl::StrCat("reading the side world's restore: ", read.status().message()));
      }
      const KeyValueMap& actual = *read;
      KeyValueMap expected;
      for (const auto& [key, value] : snapshot.model) {
        const int key_group = AssignKeyToKeyGroup(RecordKeyOfModelKey(key), max_parallelism);
        if (range->Contains(key_group)) expected.emplace(key, value);
      }
      if (actual != expected) {
        return MakeViolation(1, step,
                             absl::StrCat("restoring ", snapshot.savepoint ? "savepoint " : "checkpoint ",
                                          snapshot.pointer, " at parallelism ", parallelism, ": subtask ", subtask,
                                          " (key groups ", range->ToString(), "): ", FirstDifference(actual, expected)),
                             snapshot.checkpoint_id, subtask);
      }
    }
    every_subtask_matched = true;
    return std::nullopt;
  };
  std::optional<Violation> violation = restore_every_subtask();
  if (!violation.has_value() && every_subtask_matched) verified_restores_.emplace(key, world);
  side->RunUntilQuiescent(nullptr);  // every task closed: drain what is left before the side world goes
  machine.reset();
  side.reset();
  return violation;
}

}  // namespace snapsim
