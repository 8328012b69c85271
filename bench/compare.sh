#!/usr/bin/env bash
# Side-by-side benchmark: keyward against pass (gpg) and keepassxc-cli, whole commands
# timed with hyperfine, at each size (default 1,000 and 10,000 entries).
#
#   bench/compare.sh                 # 1000 and 10000 entries
#   bench/compare.sh 1000            # one size only (a quick check, ~4 min)
#
# What it does (bench/README.md explains it and how to read the results):
#   1. installs what is missing (pass, gnupg, keepassxc, tree, hyperfine,
#      fonts-dejavu-core) with apt-get, as root or through sudo;
#   2. builds keyward (release) and the reporter in bench/chart (plotters);
#   3. in a temporary directory (HOME, GNUPGHOME, XDG dirs all inside it), with a
#      throwaway gpg key and passphrase: fills a pass store, a keepassxc database and
#      keyward vaults with the same N entries (bench/gen-data.awk);
#   4. matches keyward's Argon2id cost to keepassxc's KDF (measured, see below);
#   5. times add one, get one, find by name, search inside metadata, list all and a
#      bulk import of 1,000 for: pass, keepassxc-cli, keyward in session mode (agent;
#      when `keyward unlock` exists), keyward one-shot with the matched KDF and
#      keyward one-shot with its default KDF;
#   6. writes its section of bench/RESULTS.md (between the compare.sh markers) and
#      bench/compare.png.
#
# Environment knobs:
#   RUNS=10            runs of each fast command (hyperfine --runs)
#   SLOW_RUNS=5        runs of the commands that take about a second or more
#   SESSION_WRITE_RUNS=20  runs of keyward session's add and import: a few ms each, so
#                      noisy, but each preparation unlocks again (~0.2 s)
#   PASS_IMPORT_RUNS=2 runs of pass's 1,000-insert loop (~40 s each)
#   PASS_GREP_RUNS=    runs of `pass grep` (decrypts every entry: ~20 s per 1,000
#                      entries here); default 2 up to 2,000 entries, else 1
#   KPX_DECRYPT_MS=100 keepassxc-cli's KDF target (db-create -t; 100 is its minimum)
#   CONDITIONS="..."   a note on the machine's state, copied into RESULTS.md
#   RESULTS=bench/RESULTS.md  CHART=bench/compare.png   where to write
#   KEEP_TMP=1         keep the temporary directory (raw hyperfine JSON in json/)
#   KEYWARD_BIN=path   time this keyward binary instead of building this tree's
set -euo pipefail

# Everything is in main, called on the last line: bash reads a script as it runs it, so
# an edit of this file during a run would otherwise change the rest of the run.
main() {

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if (($#)); then sizes=("$@"); else sizes=(1000 10000); fi
for n in "${sizes[@]}"; do
    [[ "$n" =~ ^[0-9]+$ && "$n" -ge 100 ]] || { echo "compare.sh: sizes are numbers >= 100, got '$n'" >&2; exit 2; }
done
RUNS="${RUNS:-10}"
SLOW_RUNS="${SLOW_RUNS:-5}"
SESSION_WRITE_RUNS="${SESSION_WRITE_RUNS:-20}"
PASS_IMPORT_RUNS="${PASS_IMPORT_RUNS:-2}"
KPX_DECRYPT_MS="${KPX_DECRYPT_MS:-100}"
RESULTS="${RESULTS:-$root/bench/RESULTS.md}"
CHART="${CHART:-$root/bench/compare.png}"
FONT=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
IMPORT_N=1000
FIND_TERM=svc0042   # names svc00420..svc00429: 10 entries at every size
SEARCH_TERM=OPS-0042 # only in the notes of the same 10 entries
started=$(date +%s)
log() { printf '\n== %s\n' "$*" >&2; }

# ---------------------------------------------------------------------------- tools
missing=()
command -v pass >/dev/null || missing+=(pass)
command -v gpg >/dev/null || missing+=(gnupg)
command -v keepassxc-cli >/dev/null || missing+=(keepassxc)
command -v tree >/dev/null || missing+=(tree) # pass ls / pass find
command -v hyperfine >/dev/null || missing+=(hyperfine)
[[ -f "$FONT" ]] || missing+=(fonts-dejavu-core)
if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    sudo=()
    if [[ "$(id -u)" != 0 ]]; then
        command -v sudo >/dev/null || { echo "compare.sh: need root or sudo to install: ${missing[*]}" >&2; exit 2; }
        sudo=(sudo)
    fi
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

log "building keyward and the reporter (release)"
if [[ -n "${KEYWARD_BIN:-}" ]]; then
    kw="$KEYWARD_BIN"
else
    cargo build --release --quiet --bin keyward
    kw="${CARGO_TARGET_DIR:-$root/target}/release/keyward"
fi
cargo build --release --quiet --manifest-path bench/chart/Cargo.toml
chart_bin="$root/bench/chart/target/release/keyward-bench-chart"
kw_rev="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$root" diff --quiet HEAD -- src 2>/dev/null || echo ' with uncommitted changes in src/')"
[[ -n "${KEYWARD_BIN:-}" ]] && kw_rev="$KEYWARD_BIN (KEYWARD_BIN)"

have_session=false
"$kw" unlock --help >/dev/null 2>&1 && "$kw" lock --help >/dev/null 2>&1 && have_session=true
have_search=false
"$kw" search --help >/dev/null 2>&1 && have_search=true

# ------------------------------------------------------------ the throwaway world
tmp="$(mktemp -d /tmp/keyward-compare.XXXXXX)"
session_vaults=()
cleanup() {
    for v in "${session_vaults[@]}"; do "$kw" --vault "$v" lock >/dev/null 2>&1 || true; done
    GNUPGHOME="$tmp/gnupg" gpgconf --kill gpg-agent >/dev/null 2>&1 || true
    if [[ -n "${KEEP_TMP:-}" ]]; then echo "kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
mkdir -p "$tmp/home" "$tmp/json" "$tmp/data"
export HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/home/.config" XDG_DATA_HOME="$tmp/home/.local/share" \
    XDG_CACHE_HOME="$tmp/home/.cache" XDG_STATE_HOME="$tmp/home/.local/state"
export GNUPGHOME="$tmp/gnupg" KEYWARD_CONFIG="$tmp/no-config.toml" # a missing file: the defaults
unset KEYWARD_PASSPHRASE KEYWARD_VAULT PASSWORD_STORE_DIR PASSWORD_STORE_KEY 2>/dev/null || true
mkdir -m 700 "$GNUPGHOME"
pw="$tmp/passphrase"          # keyward --passphrase-file, keepassxc-cli's stdin
echo "bench-passphrase-not-secret" >"$pw"
pw2="$tmp/passphrase-twice"   # keepassxc-cli import -p asks twice
cat "$pw" "$pw" >"$pw2"

notes=() # lines for RESULTS.md
note() { notes+=("- $*"); }

log "throwaway gpg key (gpg's default algorithm, no passphrase)"
gpg --batch --quiet --pinentry-mode loopback --passphrase '' \
    --quick-generate-key "keyward bench <bench@example.invalid>" default default never 2>/dev/null
gpg_fpr="$(gpg --list-keys --with-colons | awk -F: '/^fpr/ { print $10; exit }')"
gpg_algo="$(gpg --list-keys --with-colons | awk -F: '/^sub/ { a = $4; l = $3 } END { print (a == 1 ? "RSA-" l : "algo " a "/" l) }')"

# The entries: the same data for all three, in each one's import format.
gen() { # N FIRST KIND TICKET SEED UUIDTAG DIR
    mkdir -p "$7/plain"
    awk -v n="$1" -v first="$2" -v kind="$3" -v ticket="$4" -v seed="$5" -v uuid_tag="$6" \
        -v json="$7/entries.json" -v xml="$7/entries.xml" -v plain="$7/plain" -f "$root/bench/gen-data.awk"
}
name_of() { # the name gen-data.awk gives entry $1 of kind $2
    local provs=(openai anthropic groq github stripe custom) envs=(prod staging dev test)
    printf '%s-%s-%s%05d' "${provs[$(($1 % 6))]}" "${envs[$((($1 / 6) % 4))]}" "$2" "$1"
}
gen "$IMPORT_N" 0 imp IMP 7 1 "$tmp/data/import"
# One more entry for "add one", with the same kind of metadata.
add_name=openai-prod-added
add_key="sk-proj-$(head -c 64 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 48)"
add_note="service added owned by team-1; ticket OPS-99999"
add_url=https://api.openai.com/v1
printf '%s\nprovider: openai\nenvironment: prod\nurl: %s\ntags: team-1, billing\nnotes: %s\n' \
    "$add_key" "$add_url" "$add_note" >"$tmp/data/add.pass"
printf '%s\n' "$add_key" >"$tmp/data/add.key"
cat "$pw" "$tmp/data/add.key" >"$tmp/data/add.kpx" # keepassxc-cli add -p: db password, then the entry's

# hyperfine wrapper: bench SIZE OP TOOL RUNS WARMUP PREPARE COMMAND
bench() {
    local args=(--runs "$4" --warmup "$5" --export-json "$tmp/json/$1__$2__$3.json" --style basic)
    [[ -n "$6" ]] && args+=(--prepare "$6")
    # No shell where none is needed: hyperfine then runs the command itself, which is
    # more exact for commands of a few milliseconds than subtracting a shell's start.
    # (-N applies to --prepare too, which needs a shell.)
    [[ -z "$6" && "$7" != *[\<\>\|\;\&\$\'\"]* ]] && args+=(-N)
    echo "-- $1 entries, $2, $3" >&2
    hyperfine "${args[@]}" --command-name "$3 $2 ($1)" "$7" >&2
}
median_ms() { # median of a hyperfine JSON, in ms
    awk '/"median"/ { gsub(/[^0-9.eE+-]/, "", $2); printf "%.1f\n", $2 * 1000; exit }' "$1"
}
measure() { # RUNS COMMAND -> median ms (a calibration run, not a result)
    hyperfine --runs "$1" --warmup 2 --style none --export-json "$tmp/m.json" "$2" >/dev/null 2>&1
    median_ms "$tmp/m.json"
}
kw_empty() { # DIR KDF-FLAGS... : an empty vault
    rm -rf "$1"
    local d="$1"; shift
    "$kw" --vault "$d" --passphrase-file "$pw" init "$@" >/dev/null 2>&1
}

# --------------------------------------------------------------- the KDF matching
log "keepassxc-cli's KDF (db-create -t $KPX_DECRYPT_MS) and keyward's matched Argon2id"
keepassxc-cli db-create -q -p -t "$KPX_DECRYPT_MS" "$tmp/kpx-template.kdbx" <"$pw2" >/dev/null 2>&1
keepassxc-cli db-create -q -p "$tmp/kpx-base.kdbx" <"$pw2" >/dev/null 2>&1
keepassxc-cli db-create -q -p -t 1000 "$tmp/kpx-big.kdbx" <"$pw2" >/dev/null 2>&1
kpx_rounds() { keepassxc-cli db-info -q "$1" <"$pw" | sed -n 's/^KDF: .*(\([0-9]*\) rounds).*/\1/p'; }
kpx_kdf_line="$(keepassxc-cli db-info -q "$tmp/kpx-template.kdbx" <"$pw" | sed -n 's/^KDF: //p')"
r_tpl="$(kpx_rounds "$tmp/kpx-template.kdbx")"
r_base="$(kpx_rounds "$tmp/kpx-base.kdbx")"
r_big="$(kpx_rounds "$tmp/kpx-big.kdbx")"
# keepassxc-cli cannot make a KDF cheaper than its default (1,000,000 AES rounds), so
# the cost of a round comes from the difference between `ls` of an empty database at
# the default and at ~1 s of rounds (a difference large enough to stand out of the
# noise); the template's KDF is that cost times its rounds.
t_big="$(measure 10 "keepassxc-cli ls -q $tmp/kpx-big.kdbx < $pw")"
t_base="$(measure 10 "keepassxc-cli ls -q $tmp/kpx-base.kdbx < $pw")"
if [[ "$r_tpl" =~ ^[0-9]+$ && "$r_base" =~ ^[0-9]+$ && "$r_big" =~ ^[0-9]+$ ]] && ((r_big > r_base * 2)); then
    kpx_kdf_ms="$(awk -v a="$t_big" -v b="$t_base" -v r="$r_big" -v r0="$r_base" -v rt="$r_tpl" \
        'BEGIN { v = (a - b) / (r - r0) * rt; if (v < 1) v = 1; printf "%.1f", v }')"
    kpx_kdf_how="measured: \`ls\` of an empty database takes ${t_big} ms at $r_big rounds and ${t_base} ms at $r_base, so a round costs $(awk -v a="$t_big" -v b="$t_base" -v r="$r_big" -v r0="$r_base" 'BEGIN { printf "%.1f", (a - b) / (r - r0) * 1e6 }') ns"
else
    kpx_kdf_ms="$KPX_DECRYPT_MS"
    kpx_kdf_how="keepassxc's own calibration target (its rounds could not be read)"
fi
echo "keepassxc KDF: $kpx_kdf_line ~ $kpx_kdf_ms ms ($kpx_kdf_how)" >&2

# keyward's KDF time at given parameters: `list` of an empty vault with them, minus
# `list` of an empty vault with a negligible KDF (1 MiB, 1 pass, 1 lane).
kw_empty "$tmp/kw-tiny" --kdf-memory-mib 1 --kdf-iterations 1 --kdf-parallelism 1
t_kw_tiny="$(measure 15 "$kw --vault $tmp/kw-tiny --passphrase-file $pw list")"
kw_kdf_at() { # MiB ITER PAR -> ms
    kw_empty "$tmp/kw-cal" --kdf-memory-mib "$1" --kdf-iterations "$2" --kdf-parallelism "$3"
    local t; t="$(measure 10 "$kw --vault $tmp/kw-cal --passphrase-file $pw list")"
    awk -v a="$t" -v b="$t_kw_tiny" 'BEGIN { printf "%.1f", a - b }'
}
# Passes and lanes stay at keyward's defaults (3, 4); the memory is what is matched.
# Argon2id's time is about linear in memory: the cost of a MiB comes from 128 MiB (a
# large, clear signal), then at most two corrections from measurements at the chosen
# size (small memory sizes carry some fixed cost).
m_iter=3 m_par=4
k128="$(kw_kdf_at 128 "$m_iter" "$m_par")"
m_mib="$(awk -v k="$k128" -v t="$kpx_kdf_ms" 'BEGIN { v = int(128 * t / (k < 1 ? 1 : k) + 0.5); print (v < 1 ? 1 : v) }')"
echo "keyward Argon2id m=128 MiB t=$m_iter p=$m_par: ~$k128 ms; target $kpx_kdf_ms ms -> m=$m_mib MiB" >&2
for attempt in 1 2 3; do
    k="$(kw_kdf_at "$m_mib" "$m_iter" "$m_par")"
    echo "keyward Argon2id m=$m_mib MiB t=$m_iter p=$m_par: ~$k ms (target $kpx_kdf_ms)" >&2
    next="$(awk -v m="$m_mib" -v k="$k" -v t="$kpx_kdf_ms" 'BEGIN { v = int(m * t / (k < 1 ? 1 : k) + 0.5); print (v < 1 ? 1 : v) }')"
    off="$(awk -v k="$k" -v t="$kpx_kdf_ms" 'BEGIN { d = (k - t) / t; print (d < 0.1 && d > -0.1) ? 0 : 1 }')"
    [[ "$off" == 0 || "$next" == "$m_mib" || "$attempt" == 3 ]] && break
    m_mib="$next"
done
kw_matched_ms="$k"
matched_flags=(--kdf-memory-mib "$m_mib" --kdf-iterations "$m_iter" --kdf-parallelism "$m_par")

# keyward's default: whatever `init` picks here (calibrated to ~500 ms).
kw_default_line="$("$kw" --vault "$tmp/kw-default-empty" --passphrase-file "$pw" init 2>/dev/null | sed -n 's/.*(\(Argon2id [^)]*\)).*/\1/p')"
t_def="$(measure 5 "$kw --vault $tmp/kw-default-empty --passphrase-file $pw list")"
kw_default_ms="$(awk -v a="$t_def" -v b="$t_kw_tiny" 'BEGIN { printf "%.1f", a - b }')"
echo "keyward default: $kw_default_line ~ $kw_default_ms ms" >&2

# ------------------------------------------------------------------- the stores
restore_dir() { echo "rm -rf $2 && cp -a $1 $2"; }
for n in "${sizes[@]}"; do
    d="$tmp/$n"
    log "filling pass, keepassxc and keyward with $n entries"
    gen "$n" 0 svc OPS 1 0 "$d/data"

    # pass: the store is NAME.gpg files and .gpg-id; one gpg over all files instead
    # of N `pass insert`s, with the options pass itself uses.
    mkdir -p "$d/pass-pristine"
    echo "$gpg_fpr" >"$d/pass-pristine/.gpg-id"
    (cd "$d/data/plain" && find . -type f -printf '%f\n' | gpg --batch --quiet --yes --compress-algo=none \
        --no-encrypt-to -r "$gpg_fpr" --multifile --encrypt)
    find "$d/data/plain" -name '*.gpg' -exec mv -t "$d/pass-pristine" {} +
    [[ "$(find "$d/pass-pristine" -name '*.gpg' | wc -l)" == "$n" ]] || { echo "pass fill failed" >&2; exit 1; }

    # keepassxc: import the XML into a database, merge it into a copy of the
    # template so every size has the same KDF.
    keepassxc-cli import -q -p "$d/data/entries.xml" "$d/kpx-fill.kdbx" <"$pw2" >/dev/null
    cp "$tmp/kpx-template.kdbx" "$d/kpx-pristine.kdbx"
    keepassxc-cli merge -q -s "$d/kpx-pristine.kdbx" "$d/kpx-fill.kdbx" <"$pw" >/dev/null
    got="$(keepassxc-cli ls -q -R -f "$d/kpx-pristine.kdbx" <"$pw" | grep -c -- '-svc')"
    [[ "$got" == "$n" ]] || { echo "keepassxc fill: $got entries, not $n" >&2; exit 1; }

    # keyward: import the JSON into copies of the empty default and matched vaults.
    cp -a "$tmp/kw-default-empty" "$d/kw-default-pristine"
    kw_empty "$d/kw-matched-pristine" "${matched_flags[@]}"
    for v in default matched; do
        "$kw" --vault "$d/kw-$v-pristine" --passphrase-file "$pw" import "$d/data/entries.json" >/dev/null
    done
    [[ "$("$kw" --vault "$d/kw-matched-pristine" --passphrase-file "$pw" list | grep -c -- '-svc')" == "$n" ]] \
        || { echo "keyward fill failed" >&2; exit 1; }
    cp -a "$d/kw-default-pristine" "$d/kw-session-pristine"
done

# ------------------------------------------------------------------ the commands
# cmd TOOL OP SIZE -> the command line to time ("" when the tool cannot do it)
cmd() {
    local d="$tmp/$3" imp="$tmp/data/import"
    local get_name; get_name="$(name_of $(($3 / 2)) svc)"
    case "$1" in
    pass)
        local e="env PASSWORD_STORE_DIR=$d/pass"
        case "$2" in
        add) echo "$e pass insert -m $add_name < $tmp/data/add.pass" ;;
        get) echo "$e pass show $get_name" ;;
        find) echo "$e pass find $FIND_TERM" ;;
        search) echo "$e pass grep $SEARCH_TERM" ;;
        list) echo "$e pass ls" ;;
        import) echo "for f in $imp/plain/*; do $e pass insert -m \"\${f##*/}\" < \"\$f\" || exit 1; done" ;;
        esac ;;
    kpx)
        local db="$d/kpx.kdbx"
        case "$2" in
        add) echo "keepassxc-cli add -q -p --url $add_url --notes '$add_note' $db $add_name < $tmp/data/add.kpx" ;;
        get) echo "keepassxc-cli show -q -s -a Password $db $get_name < $pw" ;;
        find) echo "keepassxc-cli search -q $db title:$FIND_TERM < $pw" ;;
        search) echo "keepassxc-cli search -q $db $SEARCH_TERM < $pw" ;;
        list) echo "keepassxc-cli ls -q -R -f $db < $pw" ;;
        import) echo "keepassxc-cli import -q -p $imp/entries.xml $d/kpx-import.kdbx < $pw2 && keepassxc-cli merge -q -s $db $d/kpx-import.kdbx < $pw" ;;
        esac ;;
    kw-*)
        local k="$kw --vault $d/$1"
        [[ "$1" != kw-session ]] && k="$k --passphrase-file $pw"
        case "$2" in
        add) echo "$k add $add_name --env prod --tag team-1 --tag billing --note '$add_note' --base-url $add_url < $tmp/data/add.key" ;;
        get) echo "$k get $get_name" ;;
        find) if $have_search; then echo "$k search --name $FIND_TERM"; fi ;;
        search) if $have_search; then echo "$k search $SEARCH_TERM"; fi ;;
        list) echo "$k list" ;;
        import) echo "$k import $imp/entries.json" ;;
        esac ;;
    esac
}
# restore TOOL SIZE -> the command that puts the pristine copy back (untimed)
restore() {
    local d="$tmp/$2"
    case "$1" in
    pass) restore_dir "$d/pass-pristine" "$d/pass" ;;
    kpx) echo "cp $d/kpx-pristine.kdbx $d/kpx.kdbx && rm -f $d/kpx-import.kdbx" ;;
    kw-session) echo "$kw --vault $d/kw-session lock >/dev/null 2>&1; $(restore_dir "$d/kw-session-pristine" "$d/kw-session") && $kw --vault $d/kw-session --passphrase-file $pw unlock >/dev/null 2>&1 && $kw --vault $d/kw-session unlock --status >/dev/null 2>&1" ;;
    kw-*) restore_dir "$d/$1-pristine" "$d/$1" ;;
    esac
}
# matches TOOL OP SIZE: counts the 10 expected entries in one run's output
check_matches() {
    local c out got
    c="$(cmd "$1" "$2" "$3")"
    out="$(sh -c "$c" 2>&1)" || { echo "compare.sh: '$c' failed: $out" >&2; exit 1; }
    got="$(printf '%s\n' "$out" | grep -c -- "$FIND_TERM[0-9]" || true)"
    if [[ "$got" != 10 ]]; then
        echo "compare.sh: WARNING: $1 $2 at $3 found $got lines naming $FIND_TERM, expected 10" >&2
        note "**warning**: $1 $2 at $3 entries printed $got matching names instead of 10."
    fi
}

tools=(pass kpx kw-session kw-matched kw-default)
ops=(get find search list add import)
$have_session || note "keyward session mode: not measured: this keyward has no \`unlock\`/\`lock\` yet."
$have_search || note "keyward find by name and search inside metadata: not measured: this keyward has no \`search\` yet."
for n in "${sizes[@]}"; do
    for tool in "${tools[@]}"; do
        [[ "$tool" == kw-session ]] && ! $have_session && continue
        if [[ "$tool" == kw-session ]]; then session_vaults+=("$tmp/$n/kw-session"); fi
        for op in "${ops[@]}"; do
            c="$(cmd "$tool" "$op" "$n")"
            [[ -z "$c" ]] && continue
            # Every benchmark starts from the pristine copy; the mutating ones also
            # get it back before every run.
            sh -c "$(restore "$tool" "$n")"
            prep=""
            [[ "$op" == add || "$op" == import ]] && prep="$(restore "$tool" "$n")"
            runs="$RUNS" warm=2
            case "$tool:$op" in
            pass:search) runs="${PASS_GREP_RUNS:-$((n <= 2000 ? 2 : 1))}" warm=0 ;;
            pass:import) runs="$PASS_IMPORT_RUNS" warm=0 ;;
            kw-default:* | kpx:import) runs="$SLOW_RUNS" warm=1 ;;
            kw-session:add | kw-session:import) runs="$SESSION_WRITE_RUNS" warm=1 ;;
            esac
            if [[ "$op" == find || "$op" == search ]] && ! [[ "$tool" == pass && "$op" == search && "$n" -gt 2000 ]]; then
                check_matches "$tool" "$op" "$n"
            fi
            bench "$n" "$op" "$tool" "$runs" "$warm" "$prep" "$c"
        done
        [[ "$tool" == kw-session ]] && "$kw" --vault "$tmp/$n/kw-session" lock >/dev/null 2>&1 || true
    done
done

# ---------------------------------------------------------------------- report
log "writing $RESULTS and $CHART"
"$chart_bin" --json-dir "$tmp/json" --markdown "$tmp/table.md" --png "$CHART" --font "$FONT"
elapsed=$(($(date +%s) - started))
commas() { echo "$1" | sed ':a; s/\B[0-9]\{3\}\>/,&/; ta'; }
sizes_text="$(for n in "${sizes[@]}"; do printf '%s, ' "$(commas "$n")"; done)"
section="$tmp/section.md"
{
    echo "<!-- compare.sh: begin (generated by bench/compare.sh; edits here are overwritten) -->"
    echo "## Side by side: keyward, pass, keepassxc-cli (issue 6)"
    echo
    echo "\`bench/compare.sh ${sizes[*]}\`, $(date -u '+%Y-%m-%d %H:%M UTC'), ${elapsed} s in all. Machine: \`nproc\` = $(nproc)"\
        "($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), $(uname -sr);"\
        "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg). ${CONDITIONS:-}"
    echo "Versions: keyward $kw_rev (release), pass $(pass version 2>/dev/null | sed -n 's/.*\(v[0-9][0-9.]*\).*/\1/p' | head -1),"\
        "gpg $(gpg --version | sed -n '1s/.* //p') ($gpg_algo key without passphrase, gpg-agent running),"\
        "keepassxc-cli $(keepassxc-cli --version), hyperfine $(hyperfine --version | cut -d' ' -f2)."
    echo
    echo "KDFs: keepassxc-cli \`db-create -t $KPX_DECRYPT_MS\` gave $kpx_kdf_line: **~$kpx_kdf_ms ms** ($kpx_kdf_how)."\
        "keyward matched: Argon2id m=$m_mib MiB, t=$m_iter, p=$m_par: **~$kw_matched_ms ms** (the time of \`keyward list\` on an empty vault less that"\
        "of a vault with a 1 MiB, 1-pass KDF: $k128 ms at 128 MiB, memory scaled to keepassxc's time, then corrected at most twice from measurements at the chosen size, aiming within 10%; the figure is the last measurement)."\
        "keyward default (\`init\` without flags): $kw_default_line: **~$kw_default_ms ms**. pass: no KDF, gpg-agent holds the key."
    echo
    cat "$tmp/table.md"
    echo
    echo "![keyward, pass and keepassxc-cli at $(commas "${sizes[-1]}") entries: median time per command, log scale]($(basename "$CHART"))"
    echo
    echo "How each operation is done (entries: ${sizes_text%, }; the same entries in each tool: name, key, provider, environment, URL, two tags, a note):"
    echo
    echo "| operation | pass | keepassxc-cli | keyward |"
    echo "|---|---|---|---|"
    echo "| add one | \`pass insert -m NAME < file\` (key + metadata lines) | \`keepassxc-cli add -p --url --notes DB NAME\` | \`keyward add NAME --env --tag --note --base-url < key\` |"
    echo "| get one | \`pass show NAME\` | \`keepassxc-cli show -s -a Password DB NAME\` | \`keyward get NAME\` (records a use: a write) |"
    echo "| find by name | \`pass find $FIND_TERM\` | \`keepassxc-cli search DB title:$FIND_TERM\` | \`keyward search --name $FIND_TERM\` |"
    echo "| search inside metadata | \`pass grep $SEARCH_TERM\` (decrypts every entry) | \`keepassxc-cli search DB $SEARCH_TERM\` | \`keyward search $SEARCH_TERM\` |"
    echo "| list all | \`pass ls\` | \`keepassxc-cli ls -R -f DB\` | \`keyward list\` |"
    echo "| bulk import of 1,000 | a loop of 1,000 \`pass insert -m\` (pass has no import) | \`keepassxc-cli import\` of a KeePass XML into a new database, then \`merge -s\` into DB (the CLI imports only into a new database) | \`keyward import FILE.json\` (the same fields as the others; env files carry no notes or tags) |"
    echo
    echo "Notes:"
    echo
    echo "- Whole processes: each figure is hyperfine's median of one command (run without a shell where it needs none, else through sh with the shell's start subtracted); output to /dev/null. Mutating commands (add, import) get a pristine copy of the store, database or vault before every run (\`--prepare\`, not timed), so every run does the same work."
    echo "- Runs: $RUNS per command (2 warm-ups); $SLOW_RUNS for keyward with the default KDF and keepassxc's import; $SESSION_WRITE_RUNS for keyward session's add and import (1 warm-up; each preparation locks, restores the vault and unlocks again); $PASS_IMPORT_RUNS for pass's import loop; pass grep ${PASS_GREP_RUNS:-2 up to 2,000 entries, 1 above} (it decrypts every entry). Figures from fewer than 3 runs say so."
    echo "- keyward session: \`keyward unlock\` (the KDF, once, untimed) starts the agent; the timed commands pass no passphrase and are served by it without a KDF; \`keyward lock\` at the end. It is the like-for-like comparison with pass, whose gpg-agent holds an unlocked key. keepassxc-cli has no agent: the matched one-shot column is its like-for-like."
    echo "- The search terms match 10 entries at every size (names svc00420..svc00429; \`$SEARCH_TERM\` only in their notes); the script checks each tool's output names those 10 before timing (pass grep only up to 2,000 entries)."
    echo "- pass's store has no git (\`pass git init\` not run); with git every insert also commits."
    echo "- keepassxc-cli's add and import write the whole database back, and KeePassXC derives the key again (with a new seed) when it saves: two KDFs per change, where keyward pays one."
    echo "- keyward's default KDF is calibrated by \`init\` on this machine at the time of the run (~500 ms on a quiet one; at least 3 passes, so on a busy machine it stays at 3 and takes longer)."
    for line in "${notes[@]}"; do echo "$line"; done
    echo "<!-- compare.sh: end -->"
} >"$section"

# Put the section in place of the old one (or at the end), leaving the rest alone.
if [[ -f "$RESULTS" ]] && grep -q '^<!-- compare.sh: begin' "$RESULTS"; then
    awk -v sect="$section" '
        /^<!-- compare.sh: begin/ { while ((getline l < sect) > 0) print l; skip = 1; next }
        /^<!-- compare.sh: end/ { skip = 0; next }
        !skip { print }' "$RESULTS" >"$tmp/results.new"
else
    { [[ -f "$RESULTS" ]] && cat "$RESULTS" && echo; cat "$section"; } >"$tmp/results.new"
fi
cp "$tmp/results.new" "$RESULTS"
echo "wrote $RESULTS and $CHART (${elapsed} s)" >&2
}

main "$@"; exit $?
