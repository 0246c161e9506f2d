#!/usr/bin/env python3
"""The documentation cannot go stale: every example and command in the given Markdown files is checked.

usage: docs_test.py SNAPSIM FILE.md...   (run from the workspace root; //tests:docs_test does)

1. Examples: a line `$ bazel run //:snapsim -- ARGS` in a code block starts an example; the lines after it, up to
   the next `$` line or the end of the block, are its output. The test runs `SNAPSIM ARGS` from the workspace root
   (with `/tmp/` in ARGS moved to a scratch directory) and compares what it prints, stdout and stderr, line by line
   with the documented lines, after masking in both:
     - hex strings of 12 or more digits (trace hashes, backend ids, object names) -> <hex>;
     - times: `123us`, `0.7 s`, `12ms`, `(1s,` -> <time>; `N seeds per core-hour` -> <rate>;
     - the workspace's absolute path -> `$PWD`, the scratch directory -> `/tmp`.
   A documented line ending in ` \\` continues on the next line (joined with one space: the docs wrap at 120
   columns). A line `...` matches any number of lines; a line ending in `...` matches any line that starts with
   what comes before it. Nothing else is skipped: a line that changed, went or came fails the test.
   An example with no output lines (another `$` line follows at once) must exit 0.
2. Commands: every other `bazel run //:snapsim -- CMD ...` in the files names a command that exists, each `--flag`
   it uses is in that command's `--help`, and each path under scenarios/ or tests/ it names exists.

Exit 0 when everything matches; otherwise each mismatch, with the file and line of the example and what the
command printed, and exit 1.
"""

import os
import re
import shlex
import subprocess
import sys
import tempfile

PREFIX = "bazel run //:snapsim -- "
HEX = re.compile(r"\b[0-9a-f]{12,}\b")
TIME = re.compile(r"\b\d+(\.\d+)?( ?(us|ms|s))\b")
RATE = re.compile(r"\b\d+ seeds per core-hour")


def mask(line, workspace, scratch):
    line = line.replace(scratch, "/tmp").replace(workspace, "$PWD")
    line = HEX.sub("<hex>", line)
    line = TIME.sub("<time>", line)
    line = RATE.sub("<rate> seeds per core-hour", line)
    return line.rstrip()


def join_continuations(lines):
    joined = []
    pending = None
    for line in lines:
        if pending is not None:
            line = pending + " " + line.strip()
            pending = None
        if line.endswith(" \\"):
            pending = line[:-2].rstrip()
            continue
        joined.append(line)
    if pending is not None:
        joined.append(pending)
    return joined


def matches(expected, actual):
    """Whether the documented lines match the printed ones ("..." lines and "...$" prefixes as described above)."""
    memo = {}

    def match(i, j):
        key = (i, j)
        if key in memo:
            return memo[key]
        if i == len(expected):
            result = j == len(actual)
        elif expected[i].strip() == "...":
            result = any(match(i + 1, k) for k in range(j, len(actual) + 1))
        elif j == len(actual):
            result = False
        elif expected[i].endswith("..."):
            result = actual[j].startswith(expected[i][:-3]) and match(i + 1, j + 1)
        else:
            result = expected[i] == actual[j] and match(i + 1, j + 1)
        memo[key] = result
        return result

    return match(0, 0)


def examples(path):
    """(line number, command arguments, documented output lines) of every example in a Markdown file."""
    lines = open(path, encoding="utf-8").read().split("\n")
    found = []
    i = 0
    while i < len(lines):
        stripped = lines[i].lstrip()
        if not stripped.startswith("$ " + PREFIX):
            i += 1
            continue
        indent = len(lines[i]) - len(stripped)
        number = i + 1
        arguments = stripped[len("$ " + PREFIX):]
        output = []
        i += 1
        while i < len(lines):
            line = lines[i]
            body = line.lstrip()
            if body.startswith("```") or body.startswith("$ "):
                break
            if body and len(line) - len(body) < indent:
                break  # the text after an indented block
            if not body and (i + 1 == len(lines) or (lines[i + 1].strip()
                                                    and len(lines[i + 1]) - len(lines[i + 1].lstrip()) < indent)):
                break  # a blank line that ends an indented block
            output.append(line[indent:] if len(line) >= indent else "")
            i += 1
        while output and not output[-1].strip():
            output.pop()
        found.append((number, arguments, output))
    return found


def run(snapsim, arguments, workspace, scratch):
    """(exit code, printed lines)."""
    argv = [snapsim] + [a.replace("/tmp/", scratch + "/") for a in shlex.split(arguments)]
    completed = subprocess.run(argv, cwd=workspace, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=600)
    return completed.returncode, completed.stdout.decode("utf-8", "replace").split("\n")


def check_commands(snapsim, path, workspace, example_lines):
    """Problems of the prose commands (not examples) in a Markdown file."""
    problems = []
    helps = {}
    for number, line in enumerate(open(path, encoding="utf-8").read().split("\n"), start=1):
        if number in example_lines:
            continue
        for found in re.finditer(re.escape(PREFIX) + r"([^`\n&|>]*)", line):
            words = found.group(1).split()
            if not words or words[0].startswith("<"):
                continue
            command = words[0]
            if command not in helps:
                completed = subprocess.run([snapsim] + ([command] if command.startswith("--") else
                                                        [command, "--help"]),
                                           cwd=workspace, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                helps[command] = (completed.returncode, completed.stdout.decode("utf-8", "replace"))
            code, usage = helps[command]
            where = "%s:%d: `%s%s`" % (path, number, PREFIX, found.group(1).strip())
            if code != 0:
                problems.append("%s: '%s' is not a command (%s)" % (where, command, usage.strip()[:200]))
                continue
            for word in words[1:]:
                flag = re.match(r"(--[a-z_]+)", word)
                if flag and flag.group(1) not in usage and not command.startswith("--"):
                    problems.append("%s: %s is not in `snapsim %s --help`" % (where, flag.group(1), command))
                candidate = word.split("=", 1)[-1].strip("`.,;)(")
                if re.match(r"(scenarios|tests)/[\w./-]+$", candidate) and "<" not in candidate and \
                        not os.path.exists(os.path.join(workspace, candidate)):
                    problems.append("%s: %s does not exist" % (where, candidate))
    return problems


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    snapsim = os.path.abspath(sys.argv[1])
    workspace = os.getcwd()
    problems = []
    checked = 0
    with tempfile.TemporaryDirectory(dir=os.environ.get("TEST_TMPDIR")) as scratch:
        for path in sys.argv[2:]:
            example_lines = set()
            for number, arguments, documented in examples(path):
                example_lines.add(number)
                checked += 1
                code, printed = run(snapsim, arguments, workspace, scratch)
                if not documented:
                    # A step whose output the example does not show (the next `$` line follows): it must succeed.
                    if code != 0:
                        problems.append("%s:%d: `%s%s` exits %d:\n    %s" % (path, number, PREFIX, arguments, code,
                                                                           "\n    ".join(printed)))
                    continue
                expected = [mask(line, workspace, scratch) for line in join_continuations(documented)]
                actual = [mask(line, workspace, scratch) for line in printed]
                while actual and not actual[-1]:
                    actual.pop()
                if not matches(expected, actual):
                    problems.append("%s:%d: `%s%s` no longer prints what the example shows.\n"
                                    "  documented (masked):\n    %s\n  printed (masked):\n    %s" %
                                    (path, number, PREFIX, arguments, "\n    ".join(expected),
                                     "\n    ".join(actual)))
            problems += check_commands(snapsim, path, workspace, example_lines)
    for problem in problems:
        print(problem + "\n")
    print("%d examples run, %d problems" % (checked, len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
