#!/bin/sh
# shellcheck shell=bash
# bench.sh -- memline's speed and trace-size benchmark (`make bench`; not
# part of `make check`: it takes a few minutes and its numbers depend on
# the machine).
#
# usage: sh scripts/bench.sh [WORKLOAD...]
#   WORKLOAD is a program in build/samples, optionally with arguments
#   joined by ':' (churn:0.5 runs `churn 0.5`).  Default: churn compute
#   grow cxx
#   ($BENCH_WORKLOADS overrides).  $BENCH_REPS sets the repetitions
#   (default 3).
#
# Each workload runs natively, under `valgrind --tool=none` (nulgrind, the
# floor), Massif (`--tool=massif`), Memcheck, memline `--lines=no
# --rss=no` (heap only) and memline with its defaults (heap, lines, RSS); the modes alternate within each
# repetition so that a slow spell of the machine hits all of them alike.
# The table gives each mode's median wall time, its ratio to none, Massif
# and Memcheck, and for memline the trace size per allocation (bytes of
# trace / the "Allocations:" count of memline-report's summary).  It is
# printed and written to build/bench.txt.  The bars (DESIGN.md section 6):
# heap-only memline at most 0.75x Massif (this script's target for now:
# 0.9x) and default memline at most 0.40x Memcheck.

if [ -z "${BASH_VERSION:-}" ]; then
    exec bash "$0" "$@"
fi
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD="$ROOT/build"
STAGE="$BUILD/lib/valgrind"
REPORT="$BUILD/bin/memline-report"
VALGRIND=${VALGRIND:-valgrind}
REPS=${BENCH_REPS:-3}
OUT="$BUILD/bench.txt"

if [ $# -gt 0 ]; then
    workloads=("$@")
else
    read -r -a workloads <<<"${BENCH_WORKLOADS:-churn compute grow cxx}"
fi
modes=(native none massif memcheck memline-heap memline)

# Build what is missing (a no-op after `make bench`, which builds first).
make -s -C "$ROOT" --no-print-directory all >&2 ||
    { echo "bench: make all failed" >&2; exit 2; }

for w in "${workloads[@]}"; do
    prog=${w%%:*}
    if [ ! -x "$BUILD/samples/$prog" ]; then
        echo "bench: build/samples/$prog is not built (run make all)" >&2
        exit 2
    fi
done
if ! compgen -G "$STAGE/memline-*" >/dev/null || [ ! -x "$REPORT" ]; then
    echo "bench: the memline tool or memline-report is not built (run make all)" >&2
    exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/memline-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT

now() {
    if [ -n "${EPOCHREALTIME:-}" ]; then
        echo "${EPOCHREALTIME/,/.}"
    else
        date +%s.%N
    fi
}

# run_mode MODE WORKLOAD-INDEX REP: runs once, appends the wall seconds to
# $work/MODE.INDEX.times; memline modes keep their trace for the size.
run_mode() {
    local mode=$1 i=$2 rep=$3 w=${workloads[$2]}
    local prog=${w%%:*} args=()
    [ "$w" = "$prog" ] || IFS=: read -r -a args <<<"${w#*:}"
    local bin="$BUILD/samples/$prog" cmd
    case "$mode" in
        native)   cmd=("$bin") ;;
        none)     cmd=("$VALGRIND" -q --tool=none "$bin") ;;
        massif)   cmd=("$VALGRIND" -q --tool=massif
                       "--massif-out-file=$work/massif.out" "$bin") ;;
        memcheck) cmd=("$VALGRIND" -q --tool=memcheck "$bin") ;;
        memline-heap)
                  cmd=(env "VALGRIND_LIB=$STAGE" "$VALGRIND" -q --tool=memline
                       --lines=no --rss=no "--memline-out-file=$work/trace.$mode.$i" "$bin") ;;
        memline)  cmd=(env "VALGRIND_LIB=$STAGE" "$VALGRIND" -q --tool=memline
                       "--memline-out-file=$work/trace.$mode.$i" "$bin") ;;
    esac
    local t0 t1 status
    t0=$(now)
    "${cmd[@]}" "${args[@]}" >/dev/null 2>"$work/stderr" </dev/null
    status=$?
    t1=$(now)
    if [ $status -ne 0 ]; then
        echo "bench: $mode $w exited with status $status:" >&2
        head -n 5 "$work/stderr" >&2
        echo "$mode $i failed" >>"$work/failures"
    fi
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }' >>"$work/$mode.$i.times"
    printf '  rep %d/%d  %-10s %-16s %ss\n' "$rep" "$REPS" "$w" "$mode" \
        "$(tail -n 1 "$work/$mode.$i.times")" >&2
}

median() {
    sort -n "$1" | awk '{ v[NR] = $1 } END {
        if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2];
        else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "bench: ${#workloads[@]} workload(s) x ${#modes[@]} modes x $REPS repetitions" >&2
for rep in $(seq 1 "$REPS"); do
    for i in "${!workloads[@]}"; do
        for mode in "${modes[@]}"; do
            run_mode "$mode" "$i" "$rep"
        done
    done
done

{
    echo "memline benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $($VALGRIND --version)"
    echo "median of $REPS wall-clock runs; ratios are median / median"
    echo
    printf '%-12s %-16s %9s %7s %8s %10s %9s\n' \
        workload mode "median s" "/none" "/massif" "/memcheck" "B/alloc"
    for i in "${!workloads[@]}"; do
        w=${workloads[$i]}
        declare -A med=()
        for mode in "${modes[@]}"; do
            med[$mode]=$(median "$work/$mode.$i.times")
        done
        for mode in "${modes[@]}"; do
            bpa=-
            if [ -s "$work/trace.$mode.$i" ]; then
                allocs=$("$REPORT" --units B "$work/trace.$mode.$i" 2>/dev/null |
                         sed -n 's/^Allocations: *\([0-9,]*\).*/\1/p' | tr -d , | head -n 1)
                size=$(stat -c %s "$work/trace.$mode.$i")
                if [ -n "$allocs" ] && [ "$allocs" -gt 0 ]; then
                    bpa=$(awk -v s="$size" -v a="$allocs" 'BEGIN { printf "%.2f", s / a }')
                fi
            fi
            awk -v w="$w" -v m="$mode" -v t="${med[$mode]}" -v n="${med[none]}" \
                -v ms="${med[massif]}" -v mc="${med[memcheck]}" -v b="$bpa" 'BEGIN {
                    printf "%-12s %-16s %9.3f %7.2f %8.2f %10.2f %9s\n",
                        w, m, t, t / n, t / ms, t / mc, b }'
        done
        nl=$(awk -v a="${med[memline-heap]}" -v b="${med[massif]}" 'BEGIN { printf "%.2f", a / b }')
        dl=$(awk -v a="${med[memline]}" -v b="${med[memcheck]}" 'BEGIN { printf "%.2f", a / b }')
        verdict() { awk -v r="$1" -v t="$2" 'BEGIN { print (r <= t ? "met" : "NOT met") }'; }
        echo "  $w: memline heap-only = ${nl}x Massif (target <= 0.9x: $(verdict "$nl" 0.9);" \
             "DESIGN bar 0.75x: $(verdict "$nl" 0.75)); memline = ${dl}x Memcheck" \
             "(bar <= 0.40x: $(verdict "$dl" 0.40))"
        unset med
    done
    if [ -s "$work/failures" ]; then
        echo
        echo "some runs failed (their times are in the medians):"
        sed 's/^/  /' "$work/failures"
    fi
} | tee "$OUT"
echo "bench: table written to ${OUT#"$ROOT"/}" >&2
