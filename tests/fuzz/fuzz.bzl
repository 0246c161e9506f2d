"""snapsim_fuzz_target: a fuzz target as a runnable binary, a libFuzzer binary and a default-suite test."""

def snapsim_fuzz_target(name, deps, test_inputs, size = "small"):
    """Defines <name>_fuzz (bazel run; libFuzzer's main under --config=fuzz) and <name>_fuzz_test.

    Args:
      name: the target's name; its source is <name>_fuzz.cc.
      deps: what the source needs besides the fuzz support.
      test_inputs: mutated inputs the default suite runs after the seed corpus and corpus/<name>/.
      size: the test's size.
    """
    native.cc_library(
        name = name + "_fuzz_lib",
        testonly = True,
        srcs = [name + "_fuzz.cc"],
        deps = deps + [":corpus", ":fuzz_target"],
        alwayslink = True,
    )
    native.cc_binary(
        name = name + "_fuzz",
        testonly = True,
        deps = [":" + name + "_fuzz_lib"] + select({
            ":libfuzzer": [],
            "//conditions:default": [":fuzz_driver"],
        }),
        linkopts = select({
            ":libfuzzer": ["-fsanitize=fuzzer"],
            "//conditions:default": [],
        }),
    )
    kept = native.glob(["corpus/" + name + "/*"], allow_empty = True)
    native.cc_test(
        name = name + "_fuzz_test",
        size = size,
        deps = [":" + name + "_fuzz_lib", ":fuzz_driver"],
        data = kept,
        args = ["--inputs=%d" % test_inputs] + (["tests/fuzz/corpus/" + name] if kept else []),
    )
