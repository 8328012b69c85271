#!/usr/bin/env bash
# Times Argon2id (64 MiB, 3 passes, 4 lanes, 32-byte output) side by side:
#   - the reference C implementation's CLI (Debian package `argon2`), and
#   - keyward's derivation (examples/kdf_once.rs, built with --release),
# each as a whole process, timed the same way (hyperfine when installed, otherwise
# an interleaved bash loop). Checks first that both print the same key.
#
# Usage: bench/argon2-compare.sh [RUNS]   (default 20; or RUNS=N in the environment;
#        NO_HYPERFINE=1 forces the bash loop)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

runs="${1:-${RUNS:-20}}"
password="pw"
salt="somesaltsomesalt"
ref_args="$salt -id -t 3 -m 16 -p 4 -l 32 -r" # -m is log2(KiB): 16 = 64 MiB

if ! command -v argon2 >/dev/null 2>&1; then
    echo "argon2-compare: the reference 'argon2' CLI is not installed (apt-get install argon2)" >&2
    exit 2
fi

echo "building keyward's kdf_once example (release)..." >&2
cargo build --release --quiet --example kdf_once
target_dir="${CARGO_TARGET_DIR:-$root/target}"
kdf_once="$target_dir/release/examples/kdf_once"

ref_cmd="printf %s $password | argon2 $ref_args"
kw_cmd="printf %s $password | $kdf_once $salt"

# Same key from both, or the timing means nothing.
ref_out="$(bash -c "$ref_cmd")"
kw_out="$(bash -c "$kw_cmd")"
if [[ "$ref_out" != "$kw_out" ]]; then
    echo "argon2-compare: OUTPUTS DIFFER" >&2
    echo "  reference: $ref_out" >&2
    echo "  keyward:   $kw_out" >&2
    exit 1
fi
echo "outputs match: $ref_out"
echo "machine: $(nproc) CPUs, $(uname -srm); reference: argon2 $(dpkg-query -W -f='${Version}' argon2 2>/dev/null || echo '?')"

median_of() { # prints the median of the numbers on stdin
    sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

if [[ -z "${NO_HYPERFINE:-}" ]] && command -v hyperfine >/dev/null 2>&1; then
    csv="$(mktemp)"
    trap 'rm -f "$csv"' EXIT
    hyperfine --shell=bash --warmup 2 --runs "$runs" --export-csv "$csv" \
        --command-name "reference C argon2" "$ref_cmd >/dev/null" \
        --command-name "keyward kdf_once" "$kw_cmd >/dev/null" >&2
    # CSV columns: command,mean,stddev,median,... in seconds; rows in command order.
    ref_ms="$(awk -F, 'NR == 2 { print $4 * 1000 }' "$csv")"
    kw_ms="$(awk -F, 'NR == 3 { print $4 * 1000 }' "$csv")"
    method="hyperfine, $runs runs each, 2 warm-up runs"
else
    ref_times=()
    kw_times=()
    bash -c "$ref_cmd" >/dev/null # warm-up
    bash -c "$kw_cmd" >/dev/null
    for ((i = 0; i < runs; i++)); do # interleaved, so load changes hit both alike
        t0=$(date +%s%N)
        bash -c "$ref_cmd" >/dev/null
        t1=$(date +%s%N)
        bash -c "$kw_cmd" >/dev/null
        t2=$(date +%s%N)
        ref_times+=("$(((t1 - t0) / 1000))")
        kw_times+=("$(((t2 - t1) / 1000))")
    done
    ref_ms="$(printf '%s\n' "${ref_times[@]}" | median_of | awk '{ print $1 / 1000 }')"
    kw_ms="$(printf '%s\n' "${kw_times[@]}" | median_of | awk '{ print $1 / 1000 }')"
    method="bash loop, $runs interleaved runs each"
fi

printf '\nArgon2id m=64 MiB t=3 p=4, whole process (%s)\n' "$method"
printf '  reference C argon2 median: %8.1f ms\n' "$ref_ms"
printf '  keyward kdf_once   median: %8.1f ms\n' "$kw_ms"
awk -v r="$ref_ms" -v k="$kw_ms" 'BEGIN { printf "  keyward / reference:       %8.2f (%s)\n", k / r, (k <= r ? "keyward no slower" : "keyward slower") }'
