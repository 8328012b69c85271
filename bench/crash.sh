#!/usr/bin/env bash
# Crash safety at scale: tests/crash.rs with many more trials, on the release binary.
# Each trial kills an import, rotate, passwd or rekey with SIGKILL at a random moment,
# then checks the vault with the binary (see tests/crash.rs and bench/README.md).
# Usage: bench/crash.sh [TRIALS]   (default 1000; KEYWARD_CRASH_SEED=N replays a run)
set -euo pipefail
cd "$(dirname "$0")/.."
trials="${1:-1000}"
case "$trials" in '' | *[!0-9]*) echo "usage: bench/crash.sh [TRIALS]" >&2; exit 2 ;; esac
echo "crash safety: $trials trials (release build)"
start=$(date +%s)
KEYWARD_CRASH_TRIALS="$trials" cargo test --release --test crash -- --nocapture --test-threads 4
echo "crash safety: $trials trials passed in $(( $(date +%s) - start )) s"
