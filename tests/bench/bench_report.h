// What every snapsim benchmark prints and writes: a table per measurement (printed as it is filled) and one JSON
// file with every row, the machine it ran on and the command line, so figures can be compared across runs and
// machines. Wall time and CPU time come from here; benchmarks are outside the simulated path (they measure it).
#ifndef SNAPSIM_TESTS_BENCH_BENCH_REPORT_H_
#define SNAPSIM_TESTS_BENCH_BENCH_REPORT_H_

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace snapsim {
namespace bench {

// Wall and process CPU time since construction.
class Stopwatch {
 public:
  Stopwatch();
  double WallSeconds() const;
  double CpuSeconds() const;

 private:
  std::chrono::steady_clock::time_point wall_start_;
  double cpu_start_;
};

// Common flags: --json=FILE (default <outputs dir>/<benchmark>.json: $TEST_UNDECLARED_OUTPUTS_DIR, else
// $BUILD_WORKSPACE_DIRECTORY/bench-results, else /tmp), --smoke (one tiny repetition: what the default suite runs),
// --directory=DIR (real-disk side; default $TEST_TMPDIR or /tmp), --help. A benchmark's own flags are declared
// (`own`) and land in `other`; any other argument is refused (exit 2) with the hint to --help.
struct BenchFlags {
  std::string json_path;
  bool smoke = false;
  std::string directory;
  std::map<std::string, std::string> other;  // "--name=value" -> name: value
};
struct BenchFlag {
  std::string name;  // "sizes_mib"
  std::string help;  // "comma-separated state sizes in MiB (default 1,16,64,256)"
};
BenchFlags ParseBenchFlags(int argc, char** argv, const std::string& benchmark, const std::vector<BenchFlag>& own = {});

class BenchReport {
 public:
  BenchReport(std::string benchmark, const BenchFlags& flags, int argc, char** argv);

  // Starts a table; its rows are printed as they are added.
  void Table(const std::string& title, std::vector<std::string> columns);
  // One row of the current table: values in column order (numbers already formatted).
  void Row(std::vector<std::string> values);
  // A headline figure with its goal, printed under the tables and kept in the JSON's "summary".
  void Summary(const std::string& name, const std::string& value, const std::string& goal);

  // Prints the summary and writes the JSON file; returns 0, or 1 if it could not be written.
  int Finish();

 private:
  struct TableData {
    std::string title;
    std::vector<std::string> columns;
    std::vector<std::vector<std::string>> rows;
  };
  std::string benchmark_;
  BenchFlags flags_;
  std::string command_;
  std::vector<TableData> tables_;
  std::vector<std::vector<std::string>> summary_;
};

std::string Fixed(double value, int decimals = 2);
std::string Mib(uint64_t bytes);

}  // namespace bench
}  // namespace snapsim

#endif  // SNAPSIM_TESTS_BENCH_BENCH_REPORT_H_
