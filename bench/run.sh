#!/usr/bin/env bash
# Benchmarks (not tests): native vs our runsc vs Debian's gVisor, one run.
#
#   bench/run.sh [N]
#
# Prints, per call:
#   - native getppid (bench/getppid.c, raw syscall(SYS_getppid) in a loop)
#   - the raw PTRACE_SYSEMU round trip (bench/raw_sysemu.c: the least a
#     ptrace sandbox can do per system call; the floor for our ptrace platform)
#   - getppid under our runsc:   target/release/runsc --platform=systrap do ./getppid N
#     (the default platform) and --platform=ptrace
#   - getppid under gVisor:      /usr/bin/runsc --network=none --platform=ptrace do ./getppid N
# and start to exit of `do /bin/true`, `python3 -c pass` and 50 fork+exec
# of /bin/true from sh (medians of $RUNS runs) for native, ours (systrap
# and ptrace) and gVisor, then the ratios. "ours" is the default platform,
# systrap.
#
# Debian's gVisor binary is also called runsc: ours is always called by its
# full path ($RUNSC, default <repo>/target/release/runsc), gVisor by
# $GVISOR (default /usr/bin/runsc; installed with apt-get if absent and
# possible). Something that is missing or fails is reported, not fatal.
#
# Environment: N (sandboxed getppid calls, default 20000; also the first
# argument), NATIVE_N (default 1000000), RUNS (default 20), RUNSC, GVISOR,
# HYPERFINE (default hyperfine; set to "none" to time with a date loop),
# TRINITY_SECS (default 300; 0 skips the fuzzer stage), PAIRS (interleaved
# native/ours pairs of the tar and of dd's I/O, default 11), LOAD (0 skips
# the figures taken beside busy loops).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
N=${1:-${N:-20000}}
NATIVE_N=${NATIVE_N:-1000000}
RUNS=${RUNS:-20}
RUNSC=${RUNSC:-$root/target/release/runsc}
GVISOR=${GVISOR:-/usr/bin/runsc}
HYPERFINE=${HYPERFINE:-hyperfine}

work=$(mktemp -d /tmp/runsc-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

log() { printf '%s\n' "$*" >&2; }

# ---------------------------------------------------------------- build
for prog in getppid raw_sysemu statloop; do
    if ! gcc -O2 -Wall -o "$work/$prog" "$here/$prog.c"; then
        log "error: cannot compile bench/$prog.c (is gcc installed?)"
        exit 1
    fi
done
cd "$work" || exit 1

# ---------------------------------------------------------------- tools
ours_ok=1
if [[ ! -x $RUNSC ]]; then
    log "note: our runsc not found at $RUNSC (cargo build --release); skipping it"
    ours_ok=0
fi

gvisor_ok=1
if [[ ! -x $GVISOR ]]; then
    if [[ $GVISOR == /usr/bin/runsc && $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        log "note: installing Debian's gVisor (apt-get install runsc) ..."
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq runsc >/dev/null 2>&1 ||
            { apt-get update -qq >/dev/null 2>&1 &&
              DEBIAN_FRONTEND=noninteractive apt-get install -y -qq runsc >/dev/null 2>&1; } ||
            log "note: apt-get install runsc failed"
    fi
fi
if [[ ! -x $GVISOR ]]; then
    log "note: gVisor not found at $GVISOR; skipping it"
    gvisor_ok=0
elif [[ $(readlink -f "$GVISOR") == $(readlink -f "$RUNSC" 2>/dev/null) ]]; then
    log "error: GVISOR and RUNSC are the same file ($GVISOR)"
    exit 1
fi

ours=("$RUNSC" --platform=systrap do)
ours_pt=("$RUNSC" --platform=ptrace do)
gvisor=("$GVISOR" --network=none --platform=ptrace do)

# ---------------------------------------------------------------- helpers
# Runs a getppid-style program and prints its figure in microseconds per
# call, or "failed" (its output goes to stderr).
per_call_us() {
    local out rc
    out=$("$@" 2>"$work/err"); rc=$?
    if ((rc != 0)); then
        log "failed: $* (exit $rc):"; sed 's/^/    /' "$work/err" | tail -5 >&2
        echo failed; return
    fi
    case $out in
        *"ns/call"*) awk '{for (i = 1; i < NF; i++) if ($(i+1) == "ns/call") printf "%.3f\n", $i / 1000}' <<<"$out" ;;
        *"us/round trip"*) awk '{for (i = 1; i < NF; i++) if ($(i+1) == "us/round") printf "%.3f\n", $i}' <<<"$out" ;;
        *) log "unexpected output from $*: \"$out\""; sed "s/^/    /" "$work/err" | tail -5 >&2; echo failed ;;
    esac
}

# The median of the numbers on stdin, divided by $1, to 2 places.
median_of() {
    sort -n | awk -v d="$1" '{v[NR] = $1} END {m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f\n", m / d}'
}

# Median wall time of a command, start to exit, in milliseconds, over $RUNS
# runs (after one untimed run that must succeed). The host's dirty pages
# are written back first, so that one benchmark's writeback (the 100 MB dd
# runs') does not land in the next one's time.
median_ms() {
    local rc
    sync
    "$@" >/dev/null 2>"$work/err"; rc=$?
    if ((rc != 0)); then
        log "failed: $* (exit $rc):"; sed 's/^/    /' "$work/err" | tail -5 >&2
        echo failed; return
    fi
    if command -v "$HYPERFINE" >/dev/null; then
        if "$HYPERFINE" -N --warmup 2 --runs "$RUNS" --export-json "$work/h.json" -- "$(printf '%q ' "$@")" >/dev/null 2>&1; then
            # hyperfine reports seconds; "median" is in the JSON.
            grep -o '"median": *[0-9.e-]*' "$work/h.json" | head -1 | awk -F: '{printf "%.2f\n", $2 * 1000}'
            return
        fi
        log "note: hyperfine failed for $*; timing with a loop"
    fi
    local i t0 t1
    for ((i = 0; i < RUNS; i++)); do
        t0=$(date +%s%N)
        "$@" >/dev/null 2>&1
        t1=$(date +%s%N)
        echo $(((t1 - t0) / 1000))
    done | median_of 1000
}

# Median over $RUNS runs of the number (ms) a command prints, for a
# figure the command measures itself (after one untimed run).
median_printed() {
    "$@" >/dev/null 2>&1 || { echo failed; return; }
    local i
    for ((i = 0; i < RUNS; i++)); do
        "$@" 2>/dev/null | tail -1
    done | median_of 1
}

# The median, over PAIRS pairs of runs (native, then ours, seconds
# apart), of each pair's ratio of the times the command prints: sandbox
# and machine drift apart over minutes on this VM, not within a pair.
pair_ratio_printed() {
    local i n o
    for ((i = 0; i < ${PAIRS:-11}; i++)); do
        n=$(sh -c "$1" 2>/dev/null | tail -1)
        o=$("${ours[@]}" sh -c "$1" 2>/dev/null | tail -1)
        echo "$n $o"
    done | awk '$1 > 0 && $2 > 0 {print $2 / $1}' | median_of 1
}

# a / b to 2 places, or "-" when either is missing.
ratio() {
    if [[ $1 == failed || $1 == - || $2 == failed || $2 == - ]]; then echo -; return; fi
    awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "-"; else printf "%.2fx\n", a / b }'
}

# ---------------------------------------------------------------- measure
log "measuring (N=$N sandboxed calls, NATIVE_N=$NATIVE_N, RUNS=$RUNS) ..."
native_call=$(per_call_us ./getppid "$NATIVE_N")
raw_cross=$(per_call_us ./raw_sysemu "$N")
# The same tracer with tracer and tracee on one CPU (as our platform pins
# them): the cheapest round trip ptrace allows, and the floor we compare to.
raw_call=-
command -v taskset >/dev/null && raw_call=$(per_call_us taskset -c 0 ./raw_sysemu "$N")
[[ $raw_call == - ]] && raw_call=$raw_cross
ours_call=-; ours_trap=-; ours_pt_call=-; gvisor_call=-
# (getppid.c calls syscall(3), whose glibc wrapper systrap patches; with
# patching off every call is a SIGSYS trap.)
((ours_ok)) && ours_call=$(per_call_us "${ours[@]}" ./getppid "$N")
((ours_ok)) && ours_trap=$(RUNSC_SYSTRAP_PATCH=0 per_call_us "${ours[@]}" ./getppid "$N")
# The same through a `mov $nr, %eax; syscall` site (glibc's wrappers' form),
# which systrap patches into a jump (docs/syscall-patching.md).
native_site=$(per_call_us ./getppid "$NATIVE_N" site)
ours_site=-
((ours_ok)) && ours_site=$(per_call_us "${ours[@]}" ./getppid "$N" site)
((ours_ok)) && ours_pt_call=$(per_call_us "${ours_pt[@]}" ./getppid "$N")
((gvisor_ok)) && gvisor_call=$(per_call_us "${gvisor[@]}" ./getppid "$N")
# A stat-heavy loop: lstat of every path under /usr/include (bench/statloop.c).
native_stat=$(per_call_us ./statloop /usr/include 5)
ours_stat=-; gvisor_stat=-
((ours_ok)) && ours_stat=$(per_call_us "${ours[@]}" ./statloop /usr/include 5)
((gvisor_ok)) && gvisor_stat=$(per_call_us "${gvisor[@]}" ./statloop /usr/include 1)

native_start=$(median_ms /bin/true)
ours_start=-; ours_pt_start=-; gvisor_start=-
((ours_ok)) && ours_start=$(median_ms "${ours[@]}" /bin/true)
((ours_ok)) && ours_pt_start=$(median_ms "${ours_pt[@]}" /bin/true)
((gvisor_ok)) && gvisor_start=$(median_ms "${gvisor[@]}" /bin/true)

# Whole programs (issue 4's targets): Debian's python3 starting and exiting,
# and 50 fork+exec of /bin/true from sh. Each includes the sandbox's own
# start, as a user sees it.
PY=${PY:-/usr/bin/python3}
FORKS='for i in $(seq 50); do /bin/true; done'
native_py=$(median_ms "$PY" -c pass)
native_fork=$(median_ms sh -c "$FORKS")
ours_py=-; ours_fork=-; ours_pt_py=-; ours_pt_fork=-; gvisor_py=-; gvisor_fork=-
((ours_ok)) && ours_py=$(median_ms "${ours[@]}" "$PY" -c pass)
((ours_ok)) && ours_fork=$(median_ms "${ours[@]}" sh -c "$FORKS")
((ours_ok)) && ours_pt_py=$(median_ms "${ours_pt[@]}" "$PY" -c pass)
((ours_ok)) && ours_pt_fork=$(median_ms "${ours_pt[@]}" sh -c "$FORKS")
((gvisor_ok)) && gvisor_py=$(RUNS=5 median_ms "${gvisor[@]}" "$PY" -c pass)
((gvisor_ok)) && gvisor_fork=$(RUNS=5 median_ms "${gvisor[@]}" sh -c "$FORKS")

# Files (issue 5's benchmarks): tar of /usr/include to a pipe, a
# stat-heavy walk (ls -lR /usr/include), and 100 MB written then read
# sequentially with dd (in the sandbox the file lives in the memory layer).
TAR='tar cf - -C /usr include | cat > /dev/null'
LSR='ls -lR /usr/include > /dev/null'
DD='f=/tmp/runsc-bench-dd-$$; dd if=/dev/zero of=$f bs=1M count=100 2>/dev/null && dd if=$f of=/dev/null bs=1M 2>/dev/null; rm -f $f'
native_tar=$(RUNS=5 median_ms sh -c "$TAR")
native_lsr=$(RUNS=5 median_ms sh -c "$LSR")
native_dd=$(RUNS=5 median_ms sh -c "$DD")
# The same 100 MB as throughput: the time dd itself reports for the write
# and the read, summed (start-up of the sandbox and of each dd left out).
DDIO='f=/tmp/runsc-bench-ddio-$$; w=$(dd if=/dev/zero of=$f bs=1M count=100 2>&1 | tail -1 | cut -d, -f3); r=$(dd if=$f of=/dev/null bs=1M 2>&1 | tail -1 | cut -d, -f3); rm -f $f; echo "${w% s} ${r% s}" | awk "{printf \"%.2f\n\", (\$1 + \$2) * 1000}"'
native_ddio=$(RUNS=5 median_printed sh -c "$DDIO")
ours_tar=-; ours_lsr=-; ours_dd=-; gvisor_tar=-; gvisor_lsr=-; gvisor_dd=-
((ours_ok)) && ours_tar=$(RUNS=5 median_ms "${ours[@]}" sh -c "$TAR")
((ours_ok)) && ours_lsr=$(RUNS=5 median_ms "${ours[@]}" sh -c "$LSR")
((ours_ok)) && ours_dd=$(RUNS=5 median_ms "${ours[@]}" sh -c "$DD")
# The same tar as interleaved pairs (native, then ours, PAIRS times):
# this VM's speed drifts by 10-20% over minutes, which moves a ratio of
# two blocks of runs taken minutes apart; pairs taken seconds apart do not
# drift apart. Medians of each side, and the median of the pairs' own
# ratios (each pair's two runs saw the same machine).
pair_native=-; pair_ours=-; pair_ratio=-
if ((ours_ok)); then
    pairs_file=$work/pairs
    : >"$pairs_file"
    sync
    for ((i = 0; i < ${PAIRS:-11}; i++)); do
        t0=$(date +%s%N); sh -c "$TAR" >/dev/null 2>&1; t1=$(date +%s%N)
        "${ours[@]}" sh -c "$TAR" >/dev/null 2>&1; t2=$(date +%s%N)
        echo "$(((t1 - t0) / 1000)) $(((t2 - t1) / 1000))" >>"$pairs_file"
    done
    pair_native=$(awk '{print $1}' "$pairs_file" | median_of 1000)
    pair_ours=$(awk '{print $2}' "$pairs_file" | median_of 1000)
    pair_ratio=$(awk '$1 > 0 {print $2 / $1}' "$pairs_file" | median_of 1)
fi
ours_ddio=-; gvisor_ddio=-; pair_ddio=-
((ours_ok)) && ours_ddio=$(RUNS=5 median_printed "${ours[@]}" sh -c "$DDIO")
((ours_ok)) && pair_ddio=$(pair_ratio_printed "$DDIO")
((gvisor_ok)) && gvisor_ddio=$(RUNS=3 median_printed "${gvisor[@]}" sh -c "$DDIO")
((gvisor_ok)) && gvisor_tar=$(RUNS=3 median_ms "${gvisor[@]}" sh -c "$TAR")
((gvisor_ok)) && gvisor_lsr=$(RUNS=3 median_ms "${gvisor[@]}" sh -c "$LSR")
((gvisor_ok)) && gvisor_dd=$(RUNS=3 median_ms "${gvisor[@]}" sh -c "$DD")

# OCI (issue 6): `run` of /bin/true in a busybox bundle, start to exit,
# against runc, crun and gVisor; and the memory of an idle container's
# sandbox (sentry and gofer): RSS, and PSS (shared binary pages counted
# once between them).
bundle=$work/bundle
mkdir -p "$bundle/rootfs/bin" "$bundle/rootfs/proc" "$bundle/rootfs/dev" "$bundle/rootfs/sys" "$bundle/rootfs/tmp"
oci_ok=0
if [[ -x /bin/busybox ]] && ((ours_ok)); then
    cp /bin/busybox "$bundle/rootfs/bin/"
    for c in sh true sleep; do ln -sf busybox "$bundle/rootfs/bin/$c"; done
    if (cd "$bundle" && "$RUNSC" spec) && sed -i 's/"sh"$/"true"/' "$bundle/config.json"; then
        oci_ok=1
    fi
else
    log "note: no /bin/busybox (apt-get install busybox-static); skipping the OCI figures"
fi
oci_run() { # runtime-command... : median ms of `run` with a fresh id each time
    local n=0
    median_ms sh -c "$(printf '%q ' "$@") run --bundle $bundle oci\$\$"
}
ours_oci=-; runc_oci=-; crun_oci=-; gvisor_oci=-; mem_rss=-; mem_pss=-
if ((oci_ok)); then
    ours_oci=$(oci_run "$RUNSC" --root "$work/st-ours")
    command -v runc >/dev/null && runc_oci=$(oci_run runc --root "$work/st-runc")
    command -v crun >/dev/null && crun_oci=$(oci_run crun --root "$work/st-crun")
    ((gvisor_ok)) && gvisor_oci=$(RUNS=5 oci_run "$GVISOR" --root "$work/st-gvisor" --network=none --platform=ptrace)
    sed -i 's/"true"$/"sleep", "100"/' "$bundle/config.json"
    if "$RUNSC" --root "$work/st-ours" run -d --bundle "$bundle" idle </dev/null >/dev/null 2>&1; then
        sleep 1
        pid=$("$RUNSC" --root "$work/st-ours" state idle | tr -d ' ,' | awk -F: '$1 == "\"pid\"" {print $2}')
        procs="$pid $(pgrep -P "$pid" -x runsc | tr '\n' ' ')"
        mem_rss=$(for p in $procs; do awk '/^Rss:/ {print $2}' "/proc/$p/smaps_rollup"; done | awk '{s += $1} END {printf "%.1f\n", s / 1024}')
        mem_pss=$(for p in $procs; do awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup"; done | awk '{s += $1} END {printf "%.1f\n", s / 1024}')
        "$RUNSC" --root "$work/st-ours" delete --force idle >/dev/null 2>&1
    fi
fi

# ---------------------------------------------------------------- load
# The same python3 and fork+exec beside two busy loops (as many as there
# are CPUs here): the sandbox's hand-offs must not wait out other
# threads' time slices (platform-systrap's contention.rs). LOAD=0 skips.
load_native_py=-; load_ours_py=-; load_pt_py=-; load_gvisor_py=-
load_native_fork=-; load_ours_fork=-; load_pt_fork=-; load_gvisor_fork=-
if [[ ${LOAD:-1} != 0 ]]; then
    hogs=()
    for ((i = 0; i < $(nproc); i++)); do
        sh -c 'while :; do :; done' &
        hogs+=($!)
    done
    load_native_py=$(RUNS=5 median_ms "$PY" -c pass)
    load_native_fork=$(RUNS=5 median_ms sh -c "$FORKS")
    ((ours_ok)) && load_ours_py=$(RUNS=5 median_ms "${ours[@]}" "$PY" -c pass)
    ((ours_ok)) && load_ours_fork=$(RUNS=5 median_ms "${ours[@]}" sh -c "$FORKS")
    ((ours_ok)) && load_pt_py=$(RUNS=5 median_ms "${ours_pt[@]}" "$PY" -c pass)
    ((ours_ok)) && load_pt_fork=$(RUNS=5 median_ms "${ours_pt[@]}" sh -c "$FORKS")
    ((gvisor_ok)) && load_gvisor_py=$(RUNS=3 median_ms "${gvisor[@]}" "$PY" -c pass)
    ((gvisor_ok)) && load_gvisor_fork=$(RUNS=3 median_ms "${gvisor[@]}" sh -c "$FORKS")
    kill "${hogs[@]}" 2>/dev/null
    wait "${hogs[@]}" 2>/dev/null
fi

# ---------------------------------------------------------------- trinity
# The syscall fuzzer inside `runsc do` as nobody, longer than CI's 60 s
# (tests/tests/trinity.rs): how far it got, and whether the same sandbox
# then served a command.
TRINITY_SECS=${TRINITY_SECS:-300}
trinity_result="skipped (TRINITY_SECS=0, or trinity/setpriv missing)"
if ((TRINITY_SECS > 0)) && command -v trinity >/dev/null && command -v setpriv >/dev/null; then
    log "trinity: $TRINITY_SECS s in the sandbox"
    out=$("$RUNSC" do sh -c "cd /tmp && timeout -s KILL $TRINITY_SECS setpriv --reuid=65534 --regid=65534 --clear-groups -- \
        trinity -q -l off -a 64 -C 2 --disable-fds=sockets > /tmp/trinity.log 2>&1; \
        grep -Eo '[0-9]+ iterations' /tmp/trinity.log | tail -1; echo served" 2>&1)
    status=$?
    iters=$(printf '%s\n' "$out" | grep -Eo '^[0-9]+ iterations' | tail -1)
    served=no
    if ((status == 0)) && printf '%s\n' "$out" | grep -qx served; then served=yes; fi
    trinity_result="${iters:-fewer than 10000 iterations}; the sandbox served a command after: $served (exit $status)"
fi

# ---------------------------------------------------------------- report
cat <<EOF

Machine: $(nproc) CPUs, $(uname -sr), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
Date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)

getppid round trip (us per call)
  native getppid                 $native_call
  raw PTRACE_SYSEMU, one CPU     $raw_call
  raw PTRACE_SYSEMU, unpinned    $raw_cross
  ours   (runsc, systrap)        $ours_call   (syscall(3)'s site, patched)
  ours   (systrap, trapped)      $ours_trap   (patching off: a SIGSYS per call)
  ours   (systrap, patched site) $ours_site   (native through the site: $native_site)
  ours   (runsc, ptrace)         $ours_pt_call
  gVisor (Debian runsc, ptrace)  $gvisor_call

do /bin/true, start to exit (ms, median of $RUNS)
  native                         $native_start
  ours (systrap)                 $ours_start
  ours (ptrace)                  $ours_pt_start
  gVisor                         $gvisor_start

python3 -c pass (ms, median)
  native                         $native_py
  ours (systrap)                 $ours_py
  ours (ptrace)                  $ours_pt_py
  gVisor                         $gvisor_py

50 fork+exec of /bin/true from sh (ms, median)
  native                         $native_fork
  ours (systrap)                 $ours_fork
  ours (ptrace)                  $ours_pt_fork
  gVisor                         $gvisor_fork

lstat of every path under /usr/include (us per call)
  native                         $native_stat
  ours (systrap)                 $ours_stat
  gVisor                         $gvisor_stat

tar of /usr/include to a pipe (ms, median of 5)
  native                         $native_tar
  ours (systrap)                 $ours_tar
  gVisor                         $gvisor_tar
  interleaved pairs (${PAIRS:-11}): native $pair_native, ours $pair_ours

ls -lR /usr/include (ms, median of 5)
  native                         $native_lsr
  ours (systrap)                 $ours_lsr
  gVisor                         $gvisor_lsr

dd 100 MB write then read (ms, median of 5)
  native                         $native_dd
  ours (systrap)                 $ours_dd
  gVisor                         $gvisor_dd

dd 100 MB write then read, dd's own I/O time (ms, median of 5)
  native                         $native_ddio
  ours (systrap)                 $ours_ddio
  gVisor                         $gvisor_ddio

OCI: run of /bin/true in a busybox bundle, start to exit (ms, median)
  ours (runsc run)               $ours_oci
  runc                           $runc_oci
  crun                           $crun_oci
  gVisor                         $gvisor_oci
idle container, sentry + gofer (MB): RSS $mem_rss, PSS $mem_pss   (target: under 10)

trinity, $TRINITY_SECS s inside the sandbox as nobody
  $trinity_result

ratios
  getppid   systrap / raw SYSEMU $(ratio "$ours_call" "$raw_call")
  getppid   ptrace / raw SYSEMU  $(ratio "$ours_pt_call" "$raw_call")   (target: within 1.15x)
  getppid   gVisor / raw SYSEMU  $(ratio "$gvisor_call" "$raw_call")
  getppid   ptrace / raw unpinned $(ratio "$ours_pt_call" "$raw_cross")
  getppid   ours / gVisor        $(ratio "$ours_call" "$gvisor_call")
  getppid   ours / native        $(ratio "$ours_call" "$native_call")
  getppid   patched site / native $(ratio "$ours_site" "$native_site")
  /bin/true ours / native        $(ratio "$ours_start" "$native_start")
  /bin/true gVisor / native      $(ratio "$gvisor_start" "$native_start")
  /bin/true ours / gVisor        $(ratio "$ours_start" "$gvisor_start")
  python3   ours / native        $(ratio "$ours_py" "$native_py")   (target: at most 2x)
  python3   ptrace / native      $(ratio "$ours_pt_py" "$native_py")
  python3   gVisor / native      $(ratio "$gvisor_py" "$native_py")
  fork+exec ours / native        $(ratio "$ours_fork" "$native_fork")   (target: at most 3x)
  fork+exec ptrace / native      $(ratio "$ours_pt_fork" "$native_fork")
  fork+exec gVisor / native      $(ratio "$gvisor_fork" "$native_fork")
  tar       ours / native        $(ratio "$ours_tar" "$native_tar")   (blocks of 5, taken a minute or more apart)
  tar       interleaved pairs    $(ratio "$pair_ours" "$pair_native")   (medians of each side)
  tar       pairs, median ratio  $([[ $pair_ratio == - ]] && echo - || echo "${pair_ratio}x")   (target: at most 3x; each pair seconds apart, on the same machine)
  tar       gVisor / native      $(ratio "$gvisor_tar" "$native_tar")
  lstat     ours / native        $(ratio "$ours_stat" "$native_stat")
  lstat     gVisor / native      $(ratio "$gvisor_stat" "$native_stat")
  ls -lR    ours / native        $(ratio "$ours_lsr" "$native_lsr")
  ls -lR    gVisor / native      $(ratio "$gvisor_lsr" "$native_lsr")
  dd 100 MB ours / native        $(ratio "$ours_dd" "$native_dd")   (whole commands, sandbox start-up included)
  dd 100 MB gVisor / native      $(ratio "$gvisor_dd" "$native_dd")
  dd I/O    ours / native        $(ratio "$ours_ddio" "$native_ddio")   (blocks of 5, taken a minute or more apart)
  dd I/O    pairs, median ratio  $([[ $pair_ddio == - ]] && echo - || echo "${pair_ddio}x")   (target: at most 1.25x, i.e. 80% of native throughput)
  dd I/O    gVisor / native      $(ratio "$gvisor_ddio" "$native_ddio")
  OCI run   ours / runc          $(ratio "$ours_oci" "$runc_oci")   (target: under 50 ms and within 1.25x)
  OCI run   gVisor / runc        $(ratio "$gvisor_oci" "$runc_oci")

Beside $(nproc) busy loops (ms, median; LOAD=0 skips)
  python3 -c pass   native $load_native_py, ours $load_ours_py, ptrace $load_pt_py, gVisor $load_gvisor_py
  50 fork+exec      native $load_native_fork, ours $load_ours_fork, ptrace $load_pt_fork, gVisor $load_gvisor_fork
  python3   ours / native        $(ratio "$load_ours_py" "$load_native_py")
  python3   gVisor / native      $(ratio "$load_gvisor_py" "$load_native_py")
  fork+exec ours / native        $(ratio "$load_ours_fork" "$load_native_fork")
  fork+exec gVisor / native      $(ratio "$load_gvisor_fork" "$load_native_fork")
EOF
