#include "scenarios/branching.h"

#include "absl/strings/str_cat.h"
#include "sim/prng.h"

namespace snapsim {

std::vector<BranchRun> RareStateExplorer::AfterRootRun(uint64_t seed, const RunResult& result) {
  ++root_runs_;
  for (const auto& [counter, count] : result.coverage) {
    if (count > 0) ++reached_[counter];
  }
  std::vector<BranchRun> branches;
  if (options_.suffixes <= 0 || root_runs_ <= options_.warmup_runs ||
      static_cast<int>(branched_.size()) >= options_.max_branch_points) {
    return branches;
  }
  // The rarest counter this run reached that is rare and not branched on yet (ties: the earliest reached).
  const std::string* chosen = nullptr;
  int chosen_reached = 0;
  int chosen_step = 0;
  for (const auto& [counter, step] : result.coverage_first_step) {
    // Reached in the run's last step or at its end: nothing after it to redraw.
    if (branched_.count(counter) > 0 || step >= result.last_step) continue;
    const int reached = reached_[counter];
    if (reached > options_.rare_fraction * root_runs_) continue;
    if (chosen == nullptr || reached < chosen_reached || (reached == chosen_reached && step < chosen_step)) {
      chosen = &counter;
      chosen_reached = reached;
      chosen_step = step;
    }
  }
  if (chosen == nullptr) return branches;
  branched_.insert(*chosen);
  branch_log_.push_back(absl::StrCat(*chosen, " (reached by ", chosen_reached, " of ", root_runs_,
                                     " root runs) after step ", chosen_step, " of seed ", seed));
  for (int k = 0; k < options_.suffixes; ++k) {
    BranchRun branch;
    branch.counter = *chosen;
    // The step after the one that reached it; the end of the run (no step after) redraws the end's drain.
    branch.from_step = chosen_step + 1;
    branch.reseed = Prng(seed).Child(absl::StrCat("branch ", *chosen, " ", k)).seed();
    branches.push_back(std::move(branch));
  }
  return branches;
}

RunOptions RareStateExplorer::OptionsFor(const BranchRun& branch, RunOptions base) {
  base.reseed_from_step = branch.from_step;
  base.reseed = branch.reseed;
  return base;
}

}  // namespace snapsim
