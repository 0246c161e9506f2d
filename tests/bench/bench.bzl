"""snapsim_benchmark: a benchmark binary and its smoke test."""

def snapsim_benchmark(name, deps, expect, tools = {}):
    """Defines <name> (bazel run -c opt) and <name>_smoke_test (--smoke: one tiny repetition).

    Args:
      name: the benchmark; its source is <name>.cc.
      deps: what the source needs besides bench_report and bench_world.
      expect: lines the smoke test requires in the output (the summary's figure names).
      tools: flag name -> label of a binary the benchmark runs, passed as --<flag>=<path> to `bazel run` and as
        the environment variable SNAPSIM_<FLAG> to the smoke test.
    """
    native.cc_binary(
        name = name,
        testonly = True,
        srcs = [name + ".cc"],
        deps = deps + [":bench_report", ":bench_world", "//third_party:malloc"],
        args = ["--%s=$(location %s)" % (flag, label) for flag, label in tools.items()],
        data = tools.values(),
    )
    native.sh_test(
        name = name + "_smoke_test",
        srcs = ["bench_smoke_test.sh"],
        args = ["$(location :" + name + ")"] + expect,
        data = [":" + name] + tools.values(),
        env = {"SNAPSIM_" + flag.upper(): "$(location %s)" % label for flag, label in tools.items()},
    )
