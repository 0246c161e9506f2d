#!/usr/bin/env bash
# Bazel's workspace status command (.bazelrc: --workspace_status_command): the commit a build comes from, for
# `snapsim --version`. Only the stamped genrule //scenarios:build_commit reads it, so a new commit relinks the
# command line and nothing else. "unknown" outside a git checkout; "-dirty" when tracked files differ from it.
commit=$(git rev-parse HEAD 2>/dev/null) || commit=unknown
dirty=""
if [ "$commit" != unknown ] && ! git diff --quiet HEAD -- 2>/dev/null; then dirty="-dirty"; fi
echo "STABLE_SNAPSIM_COMMIT ${commit}${dirty}"
