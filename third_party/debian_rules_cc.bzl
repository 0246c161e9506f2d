"""Makes Debian's rules_cc 0.0.4 load under Bazel 4.2.3.

rules_cc 0.0.4 loads `use_cpp_toolchain` from @bazel_tools//tools/cpp:toolchain_utils.bzl, which Bazel 4.2.3
does not define. This rule copies the Debian tree and replaces the call with the toolchain type it returns.
"""

_PATCHED_FILES = [
    "cc/private/rules_impl/compiler_flag.bzl",
    "cc/private/rules_impl/cc_flags_supplier.bzl",
]

def _debian_rules_cc_impl(repository_ctx):
    source = repository_ctx.path(repository_ctx.attr.path)
    if not source.exists:
        fail("rules_cc not found at %s: run tools/setup.sh (package bazel-rules-cc)" % source)
    result = repository_ctx.execute(["cp", "-R", str(source) + "/.", "."])
    if result.return_code != 0:
        fail("copying rules_cc failed: " + result.stderr)
    for relative in _PATCHED_FILES:
        text = repository_ctx.read(relative)
        text = text.replace(', "use_cpp_toolchain")', ")")
        text = text.replace("use_cpp_toolchain()", '["@bazel_tools//tools/cpp:toolchain_type"]')
        repository_ctx.file(relative, text, legacy_utf8 = False)

debian_rules_cc = repository_rule(
    implementation = _debian_rules_cc_impl,
    attrs = {"path": attr.string(mandatory = True)},
    local = True,
)
