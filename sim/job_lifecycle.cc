#include "sim/job_lifecycle.h"

#include <memory>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "sim/sim_job.h"

namespace snapsim {
namespace {

absl::Status VerifyRestore(SimJob& job, absl::string_view after, JobLifecycleReport* report) {
  absl::StatusOr<KeyValueMap> actual = job.ActualState();
  if (!actual.ok()) return actual.status();
  if (*actual != job.Model()) {
    std::string difference;
    for (const auto& [key, value] : job.Model()) {
      auto found = actual->find(key);
      if (found == actual->end()) {
        difference = absl::StrCat(key, " missing (expected '", value, "')");
        break;
      }
      if (found->second != value) {
        difference = absl::StrCat(key, " is '", found->second, "', expected '", value, "'");
        break;
      }
    }
    if (difference.empty()) difference = absl::StrCat(actual->size(), " keys instead of ", job.Model().size());
    return absl::DataLossError(absl::StrCat("restore equality broken after ", after, ": ", difference));
  }
  ++report->restores_verified;
  return absl::OkStatus();
}

absl::Status VerifyStorage(SimScheduler& scheduler, SimObjectStore& store, SimJob& job, absl::string_view when) {
  scheduler.RunUntilQuiescent();
  const std::set<std::string> referenced = job.ReferencedPaths();
  std::set<std::string> present;
  for (const std::string& path : store.AllPaths()) present.insert(path);
  for (const std::string& path : referenced) {
    if (present.count(path) == 0) {
      return absl::DataLossError(absl::StrCat("dangling reference ", when, ": ", path, " is gone"));
    }
  }
  for (const std::string& path : present) {
    if (!absl::StartsWith(path, job.checkpoint_root() + "/") || referenced.count(path) > 0) continue;
    if (job.AcceptedOrphans().count(path) > 0) continue;
    return absl::InternalError(absl::StrCat("leak at quiescence ", when, ": ", path, " is referenced by nothing"));
  }
  return absl::OkStatus();
}

absl::Status WriteRound(SimJob& job, Prng& prng, int round) {
  const int writes = 5 + static_cast<int>(prng.UniformBelow(20));
  for (int i = 0; i < writes; ++i) {
    const std::string key = absl::StrCat("key-", prng.UniformBelow(300));
    absl::Status status = prng.UniformBelow(10) == 0 ? job.Remove(key) : job.Put(key, absl::StrCat("v", round, "-", i));
    if (!status.ok()) return status;
  }
  return prng.UniformBelow(3) == 0 ? job.Flush() : absl::OkStatus();
}

// A checkpoint may fail even without faults: a completion notification still on its way when the next checkpoint
// is triggered lets a task build on an older confirmed checkpoint whose unique files are gone, and the registry
// declines it (Flink behaves the same). The abort re-delivers the latest completion, so the next one succeeds.
constexpr int kCheckpointAttempts = 4;

CheckpointCoordinator::Result CheckpointWithRetries(SimJob& job) {
  CheckpointCoordinator::Result result = job.Checkpoint();
  for (int attempt = 1; attempt < kCheckpointAttempts && !result.ok(); ++attempt) result = job.Checkpoint();
  if (!result.ok()) {
    return absl::Status(result.status().code(), absl::StrCat("liveness: no checkpoint completed in ",
                                                             kCheckpointAttempts, " attempts; the last: ",
                                                             result.status().message()));
  }
  return result;
}

}  // namespace

absl::Status RunJobLifecycle(SimScheduler& scheduler, SimObjectStore& store, const Prng& root,
                             JobLifecycleReport* report) {
  Prng prng = root.Child("job-lifecycle");
  SimJobConfig config;
  config.job_id = "job-a";
  config.parallelism = 1 + static_cast<int>(prng.UniformBelow(3));
  config.incremental = prng.UniformBelow(2) == 0;
  config.local_recovery = prng.UniformBelow(2) == 0;
  config.max_concurrent_checkpoints = 1 + static_cast<int>(prng.UniformBelow(3));
  config.num_retained = 1 + static_cast<int>(prng.UniformBelow(2));
  config.checkpoint_interval_micros = 30'000;
  config.checkpoint_timeout_micros = 400'000;
  const RestoreMode modes[] = {RestoreMode::kClaim, RestoreMode::kNoClaim, RestoreMode::kLegacy};
  config.restore_mode = modes[prng.UniformBelow(3)];
  report->configuration = absl::StrCat(
      "parallelism=", config.parallelism, " ", config.incremental ? "incremental" : "full",
      config.local_recovery ? " local-recovery" : "", " max_concurrent=", config.max_concurrent_checkpoints,
      " retained=", config.num_retained, " resume=", RestoreModeName(config.restore_mode));

  absl::StatusOr<std::unique_ptr<SimJob>> started = SimJob::Start(config, &scheduler, &store, root);
  if (!started.ok()) return started.status();
  std::unique_ptr<SimJob> job = *std::move(started);
  Prng faults = prng.Child("message-faults");
  job->SetMessageFaultHook([&faults, report](const Message& message) {
    const uint64_t roll = faults.UniformBelow(100);
    // Acknowledgements are reliable (an RPC reply); triggers and notifications are best effort.
    if (roll < 10 && message.kind != MessageKind::kAcknowledge) {
      ++report->messages_dropped;
      return MessageFate::kDrop;
    }
    return roll < 20 ? MessageFate::kDuplicate : MessageFate::kDeliver;
  });
  for (int round = 0; round < 18; ++round) {
    if (absl::Status status = WriteRound(*job, prng, round); !status.ok()) return status;
    scheduler.SleepForMicros(20'000);
    absl::Status restart;
    const char* what = nullptr;
    if (round == 5) {
      what = "a task failover";
      restart = job->FailoverTasks();
    } else if (round == 10) {
      what = "a machine crash";
      restart = job->CrashMachine(static_cast<int>(prng.UniformBelow(config.parallelism)));
    } else if (round == 14) {
      what = "a coordinator failover";
      restart = job->FailoverCoordinator();
    }
    if (what != nullptr) {
      if (!restart.ok()) return absl::Status(restart.code(), absl::StrCat(what, ": ", restart.message()));
      if (absl::Status status = VerifyRestore(*job, what, report); !status.ok()) return status;
    }
  }
  // Liveness: with faults off, a checkpoint completes.
  job->SetMessageFaultHook(nullptr);
  CheckpointCoordinator::Result last = CheckpointWithRetries(*job);
  if (!last.ok()) return last.status();
  job->coordinator().StopCheckpointScheduler();
  if (absl::Status status = VerifyStorage(scheduler, store, *job, "before stop"); !status.ok()) return status;
  // A periodic checkpoint may have completed after `last` and subsumed it: resume from the latest retained.
  const std::vector<std::shared_ptr<CompletedCheckpoint>> retained = job->coordinator().RetainedCheckpoints();
  if (retained.empty()) return absl::InternalError("no retained checkpoint after a completed one");
  const int64_t final_id = retained.back()->checkpoint_id;
  report->checkpoints_completed += static_cast<int>(retained.size());
  absl::StatusOr<KeyValueMap> model = job->ModelAt(final_id);
  if (!model.ok()) return model.status();
  const std::string pointer = retained.back()->external_pointer;
  job->Stop(JobStatus::kCanceled);
  job.reset();

  // Resume with the opposite mode, another parallelism, local recovery flipped.
  SimJobConfig resumed = config;
  resumed.job_id = "job-b";
  resumed.incremental = !config.incremental;
  resumed.local_recovery = !config.local_recovery;
  resumed.parallelism = config.parallelism % 3 + 1;
  resumed.checkpoint_interval_micros = 0;
  absl::StatusOr<std::unique_ptr<SimJob>> next =
      SimJob::Start(resumed, &scheduler, &store, root, SimJobRestore{pointer, *model});
  if (!next.ok()) return absl::Status(next.status().code(), absl::StrCat("resuming from ", pointer, ": ",
                                                                        next.status().message()));
  if (absl::Status status = VerifyRestore(**next, "resuming with another configuration", report); !status.ok()) {
    return status;
  }
  for (int round = 0; round < 3; ++round) {
    if (absl::Status status = WriteRound(**next, prng, 100 + round); !status.ok()) return status;
    CheckpointCoordinator::Result checkpoint = CheckpointWithRetries(**next);
    if (!checkpoint.ok()) return checkpoint.status();
    ++report->checkpoints_completed;
  }
  if (absl::Status status = (*next)->FailoverTasks(); !status.ok()) return status;
  if (absl::Status status = VerifyRestore(**next, "a task failover after resuming", report); !status.ok()) {
    return status;
  }
  if (absl::Status status = VerifyStorage(scheduler, store, **next, "after resuming"); !status.ok()) return status;
  // Ownership: NO_CLAIM and LEGACY never delete the snapshot they were started from.
  if (config.restore_mode != RestoreMode::kClaim) {
    absl::StatusOr<bool> exists = store.Exists(pointer + "/_metadata");
    if (!exists.ok() || !*exists) {
      return absl::DataLossError(absl::StrCat(RestoreModeName(config.restore_mode), " deleted the snapshot ",
                                              pointer, " it does not own"));
    }
  }
  (*next)->Stop(JobStatus::kCanceled);
  return absl::OkStatus();
}

}  // namespace snapsim

namespace snapsim {

absl::Status RunJobLifecycleForSeed(uint64_t seed, JobLifecycleReport* report) {
  SimScheduler scheduler(seed);
  const Prng root(seed);
  SimObjectStore store(&scheduler, root.Child("object-store"));
  absl::Status status = RunJobLifecycle(scheduler, store, root, report);
  scheduler.RunUntilQuiescent();
  return status;
}

}  // namespace snapsim
