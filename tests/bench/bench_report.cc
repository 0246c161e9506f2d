#include "tests/bench/bench_report.h"

#include <algorithm>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace snapsim {
namespace bench {
namespace {

double ProcessCpuSeconds() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

std::string JsonString(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += absl::StrFormat("\\u%04x", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StartsWith(line, "model name")) return line.substr(line.find(':') + 2);
  }
  return "unknown";
}

}  // namespace

Stopwatch::Stopwatch() : wall_start_(std::chrono::steady_clock::now()), cpu_start_(ProcessCpuSeconds()) {}

double Stopwatch::WallSeconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start_).count();
}

double Stopwatch::CpuSeconds() const { return ProcessCpuSeconds() - cpu_start_; }

BenchFlags ParseBenchFlags(int argc, char** argv, const std::string& benchmark, const std::vector<BenchFlag>& own) {
  BenchFlags flags;
  auto usage = [&] {
    std::string text = absl::StrCat("usage: bazel run -c opt //tests/bench:", benchmark, " -- [options]\n\noptions:\n");
    std::vector<BenchFlag> all = own;
    all.push_back({"smoke", "one tiny repetition: checks that the benchmark runs (what bazel test //... runs);\n"
                            "      its figures mean nothing"});
    all.push_back({"json=FILE", "where the JSON results go (default $TEST_UNDECLARED_OUTPUTS_DIR, else\n"
                                "      <workspace>/bench-results, else /tmp)/" + benchmark + ".json"});
    all.push_back({"directory=DIR", "the real-disk side's directory (default $TEST_TMPDIR, else /tmp)"});
    for (const BenchFlag& flag : all) absl::StrAppend(&text, "  --", flag.name, "\n      ", flag.help, "\n");
    return text;
  };
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const size_t equals = arg.find('=');
    const std::string name =
        absl::StartsWith(arg, "--") ? arg.substr(2, equals == std::string::npos ? std::string::npos : equals - 2) : "";
    if (arg == "--help" || arg == "-h") {
      std::printf("%s", usage().c_str());
      std::exit(0);
    } else if (arg == "--smoke") {
      flags.smoke = true;
    } else if (absl::StartsWith(arg, "--json=")) {
      flags.json_path = arg.substr(7);
    } else if (absl::StartsWith(arg, "--directory=")) {
      flags.directory = arg.substr(12);
    } else if (!name.empty() && std::any_of(own.begin(), own.end(), [&](const BenchFlag& flag) {
                 return flag.name == name || absl::StartsWith(flag.name, name + "=");
               })) {
      flags.other[name] = equals == std::string::npos ? "" : arg.substr(equals + 1);
    } else {
      std::fprintf(stderr, "%s: unknown argument '%s'\nrun '%s --help' for its flags\n", benchmark.c_str(),
                   arg.c_str(), benchmark.c_str());
      std::exit(2);
    }
  }
  if (flags.json_path.empty()) {
    const char* outputs = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
    const char* workspace = std::getenv("BUILD_WORKSPACE_DIRECTORY");
    std::string dir = outputs != nullptr     ? outputs
                      : workspace != nullptr ? absl::StrCat(workspace, "/bench-results")
                                             : "/tmp";
    std::error_code ignored;
    std::filesystem::create_directories(dir, ignored);
    flags.json_path = absl::StrCat(dir, "/", benchmark, ".json");
  }
  if (flags.directory.empty()) {
    const char* tmp = std::getenv("TEST_TMPDIR");
    flags.directory = tmp != nullptr ? tmp : "/tmp";
  }
  return flags;
}

BenchReport::BenchReport(std::string benchmark, const BenchFlags& flags, int argc, char** argv)
    : benchmark_(std::move(benchmark)), flags_(flags) {
  std::vector<std::string> args(argv, argv + argc);
  command_ = absl::StrJoin(args, " ");
  std::printf("%s%s  (machine: %s, %u hardware threads)\n", benchmark_.c_str(), flags_.smoke ? " [smoke]" : "",
              CpuModel().c_str(), std::thread::hardware_concurrency());
}

void BenchReport::Table(const std::string& title, std::vector<std::string> columns) {
  tables_.push_back(TableData{title, std::move(columns), {}});
  std::printf("\n%s\n", title.c_str());
  std::string header;
  for (const std::string& column : tables_.back().columns) header += absl::StrFormat(" %15s", column);
  std::printf("%s\n", header.c_str());
  std::fflush(stdout);
}

void BenchReport::Row(std::vector<std::string> values) {
  std::string line;
  for (const std::string& value : values) line += absl::StrFormat(" %15s", value);
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
  tables_.back().rows.push_back(std::move(values));
}

void BenchReport::Summary(const std::string& name, const std::string& value, const std::string& goal) {
  summary_.push_back({name, value, goal});
}

int BenchReport::Finish() {
  if (!summary_.empty()) {
    std::printf("\nsummary\n");
    for (const auto& entry : summary_) {
      std::printf("  %-58s %14s   goal: %s\n", entry[0].c_str(), entry[1].c_str(), entry[2].c_str());
    }
  }
  std::string json = absl::StrCat("{\n  \"benchmark\": ", JsonString(benchmark_), ",\n  \"smoke\": ",
                                  flags_.smoke ? "true" : "false", ",\n  \"command\": ", JsonString(command_),
                                  ",\n  \"machine\": {\"cpu\": ", JsonString(CpuModel()),
                                  ", \"hardware_threads\": ", std::thread::hardware_concurrency(), "},\n");
  json += "  \"tables\": [\n";
  for (size_t t = 0; t < tables_.size(); ++t) {
    const TableData& table = tables_[t];
    json += absl::StrCat("    {\"title\": ", JsonString(table.title), ", \"rows\": [\n");
    for (size_t r = 0; r < table.rows.size(); ++r) {
      std::vector<std::string> fields;
      for (size_t c = 0; c < table.columns.size() && c < table.rows[r].size(); ++c) {
        fields.push_back(absl::StrCat(JsonString(table.columns[c]), ": ", JsonString(table.rows[r][c])));
      }
      json += absl::StrCat("      {", absl::StrJoin(fields, ", "), "}", r + 1 < table.rows.size() ? "," : "", "\n");
    }
    json += absl::StrCat("    ]}", t + 1 < tables_.size() ? "," : "", "\n");
  }
  json += "  ],\n  \"summary\": [\n";
  for (size_t i = 0; i < summary_.size(); ++i) {
    json += absl::StrCat("    {\"name\": ", JsonString(summary_[i][0]), ", \"value\": ", JsonString(summary_[i][1]),
                         ", \"goal\": ", JsonString(summary_[i][2]), "}", i + 1 < summary_.size() ? "," : "", "\n");
  }
  json += "  ]\n}\n";
  std::ofstream out(flags_.json_path);
  out << json;
  if (!out) {
    std::fprintf(stderr, "%s: cannot write %s\n", benchmark_.c_str(), flags_.json_path.c_str());
    return 1;
  }
  std::printf("\nwrote %s\n", flags_.json_path.c_str());
  return 0;
}

std::string Fixed(double value, int decimals) { return absl::StrFormat("%.*f", decimals, value); }

std::string Mib(uint64_t bytes) { return absl::StrFormat("%.2f", static_cast<double>(bytes) / (1024.0 * 1024.0)); }

}  // namespace bench
}  // namespace snapsim
