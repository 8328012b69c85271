#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for a bounded time and prints one line per
# target (runs, speed, coverage). `.ci/run` calls it with 20 s a target; long runs are
# described in bench/README.md ("Fuzzing").
#
#   bash fuzz/smoke.sh [SECONDS_PER_TARGET]    # default 20
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`) and only the stable toolchain:
# cargo-fuzz passes nightly-only flags to rustc (-Z sanitizer, sancov passes), which
# RUSTC_BOOTSTRAP=1 lets a stable rustc take. No sanitizer here: keyward forbids unsafe
# code, and an AddressSanitizer build takes as long again as the run; long runs use it.
#
# Each target starts from fuzz/corpus/TARGET (kept between runs, git-ignored) plus the
# committed seeds in fuzz/seeds/TARGET. A crash stops the script with exit 1, the
# target's last output and where libFuzzer saved the input (fuzz/artifacts/TARGET/).
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-20}"
export RUSTC_BOOTSTRAP=1
export CARGO_TERM_COLOR=never
flags=(--sanitizer none)

logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT

if ! cargo fuzz build "${flags[@]}" >"$logs/build" 2>&1; then
  tail -n 40 "$logs/build"
  echo "fuzz: the targets do not build" >&2
  exit 1
fi

targets=$(cargo fuzz list)
for target in $targets; do
  mkdir -p "corpus/$target"
  dirs=("corpus/$target")
  [ -d "seeds/$target" ] && dirs+=("seeds/$target")
  if ! cargo fuzz run "${flags[@]}" "$target" "${dirs[@]}" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    >"$logs/$target" 2>&1; then
    tail -n 40 "$logs/$target"
    echo "fuzz: $target failed; the input is in fuzz/artifacts/$target/ (see bench/README.md, Fuzzing)" >&2
    exit 1
  fi
  done_line=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$logs/$target" | tail -n 1 || true)
  runs=$(echo "$done_line" | awk '{print $2}')
  secs=$(echo "$done_line" | awk '{print $5}')
  cov=$(grep -o 'cov: [0-9]*' "$logs/$target" | tail -n 1 | awk '{print $2}' || true)
  speed=""
  [ -n "$runs" ] && [ -n "$secs" ] && [ "$secs" -gt 0 ] && speed=", $((runs / secs))/s"
  echo "fuzz: $target: ${runs:-?} runs in ${secs:-?} s${speed}, coverage ${cov:-?}, no crash"
done
