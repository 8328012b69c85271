#!/usr/bin/env bash
# Measures the TUI's CPU use while idle: runs the release binary in tmux on a vault of 50
# entries, unlocks it, leaves it alone for SECONDS (default 20) and reads its
# user+system CPU time from /proc before and after.
# Usage: bench/idle-cpu.sh [SECONDS]     (needs tmux)
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-20}"
command -v tmux >/dev/null || { echo "needs tmux (apt-get install tmux)"; exit 2; }
cargo build --release --quiet
bin="$PWD/target/release/keyward"
tmp=$(mktemp -d)
trap 'tmux -L kwidle kill-server 2>/dev/null || true; rm -rf "$tmp"' EXIT
printf '[kdf]\nmemory_mib = 1\niterations = 1\nparallelism = 1\n' > "$tmp/config.toml"
export KEYWARD_CONFIG="$tmp/config.toml" KEYWARD_PASSPHRASE=idle-bench
"$bin" --vault "$tmp/v" init >/dev/null 2>&1
for i in $(seq 1 50); do
  printf 'sk-proj-%032d\n' "$i" | "$bin" --vault "$tmp/v" add "svc-$i" >/dev/null
done
unset KEYWARD_PASSPHRASE
tmux -L kwidle new-session -d -x 120 -y 40 "KEYWARD_CONFIG=$tmp/config.toml $bin --vault $tmp/v"
sleep 1
tmux -L kwidle send-keys idle-bench Enter
sleep 2
pid=$(pgrep -f "$bin --vault $tmp/v" | head -1)
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
before=$(ticks)
sleep "$secs"
after=$(ticks)
used=$((after - before))
echo "idle for ${secs}s: ${used} ticks of CPU (1 tick = $((1000 / hz)) ms) = $(awk -v u="$used" -v h="$hz" -v s="$secs" 'BEGIN { printf "%.3f%%", 100 * u / h / s }') of one core"
