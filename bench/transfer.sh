#!/usr/bin/env bash
# Issue 5's targets, measured on the release binary with a tiny KDF (so keyward's own
# work is timed, not Argon2id): importing 10,000 env lines (< 1 s), and a backup and a
# restore of 10,000 entries (< 1 s each). Whole processes, timed with hyperfine when it
# is installed (else a bash loop). Usage: bench/transfer.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
cargo build --release --quiet
bin="$PWD/target/release/keyward"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '[kdf]\nmemory_mib = 1\niterations = 1\nparallelism = 1\n' > "$tmp/config.toml"
export KEYWARD_CONFIG="$tmp/config.toml" KEYWARD_PASSPHRASE=bench KEYWARD_BUNDLE_PASSPHRASE=bundle
for i in $(seq 1 10000); do printf 'SERVICE_%05d_API_KEY=sk-proj-%032d\n' "$i" "$i"; done > "$tmp/keys.env"
kdf="--kdf-memory-mib 1 --kdf-iterations 1 --kdf-parallelism 1"

fresh() { rm -rf "$1"; "$bin" --vault "$1" init $kdf >/dev/null 2>&1; }
fresh "$tmp/full"
"$bin" --vault "$tmp/full" import "$tmp/keys.env" >/dev/null
"$bin" --vault "$tmp/full" backup "$tmp/b.kwb" $kdf >/dev/null 2>&1

time_it() { # name, prepare, command
  if command -v hyperfine >/dev/null; then
    hyperfine --runs "$runs" --prepare "$2" --export-json "$tmp/h.json" "$3" >/dev/null 2>&1
    python3 -c "import json;r=json.load(open('$tmp/h.json'))['results'][0];print(f\"$1: median {r['median']*1000:.0f} ms (min {r['min']*1000:.0f}, max {r['max']*1000:.0f}, {len(r['times'])} runs)\")"
  else
    eval "$2"; s=$(date +%s%N); eval "$3" >/dev/null; e=$(date +%s%N)
    echo "$1: $(( (e - s) / 1000000 )) ms (one run; install hyperfine for medians)"
  fi
}
time_it "import 10,000 env lines" "rm -rf $tmp/i; $bin --vault $tmp/i init $kdf >/dev/null 2>&1" \
  "$bin --vault $tmp/i import $tmp/keys.env"
time_it "re-import the same 10,000 (nothing changes)" "true" "$bin --vault $tmp/full import $tmp/keys.env"
time_it "backup of 10,000 entries" "true" "$bin --vault $tmp/full backup $tmp/b2.kwb $kdf"
time_it "restore of 10,000 entries into a new vault" "rm -rf $tmp/r; $bin --vault $tmp/r init $kdf >/dev/null 2>&1" \
  "$bin --vault $tmp/r restore $tmp/b.kwb --replace"
