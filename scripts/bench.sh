#!/bin/sh
# shellcheck shell=bash
# bench.sh -- memline's speed, memory and trace-size benchmark against its
# peers (`make bench`; not part of `make check`: it takes about 25 minutes
# on 2 CPUs, most of it the Lua workload under Memcheck and DHAT, and its
# numbers depend on the machine).  DESIGN.md section 6 sets the bars
# it checks.
#
# usage: sh scripts/bench.sh [WORKLOAD...]
#   WORKLOAD is one of
#     NAME[:ARG...]          build/samples/NAME with these arguments
#                            (churn:0.5 runs `churn 0.5`)
#     lua[:ARG...]           lua5.4 samples/bench/alloc.lua [ARG...]
#     cc1[:N]                gcc's compiler proper (`gcc -print-prog-name=cc1`)
#                            compiling, -O2, the C file that
#                            samples/bench/gen-c.awk writes with N functions
#                            (default 100; about 0.7 s natively)
#     LABEL=PROG[:ARG...]    any program: PROG is looked up in
#                            build/samples, then as a path, then on $PATH
#                            (e.g. sort=sort:/tmp/words); arguments cannot
#                            contain ':'
#   Default: churn compute pages containers lua cc1 ($BENCH_WORKLOADS
#   overrides; grow and cxx are start-up bound and no longer in it).
#   $BENCH_REPS sets the repetitions (default 3); $BENCH_MODES a subset of
#   the modes below (e.g. "massif memline-heap"); $BENCH_HEAPTRACK=no
#   skips the heaptrack comparison; $BENCH_ANALYZER_RUNS (default 3) how
#   many times per repetition memline-report and heaptrack_print, in
#   turn, read each trace once all programs have run (their runs take a
#   fraction of a second: the medians are over all of them).
#
# Modes: native; `valgrind --tool=none` (nulgrind, the floor); Massif,
# Memcheck and DHAT with their defaults (Massif's --peak-inaccuracy=0
# --heap-admin=0 are for the accuracy comparison, not for speed); memline
# `--lines=no --rss=no` (memline-heap) and memline with its defaults
# (heap, line counters, RSS).  The modes alternate within each repetition
# so that a slow spell of the machine hits all of them alike, and each
# repetition starts one mode further along the list.  After each
# memline run, memline-report reads its trace (for its summary's counts);
# at the end the analyzers are timed, in turn (analyzers_once).
#
# The table, printed and written to build/bench.txt, gives per workload
# and mode: the median wall seconds; its ratio to none, Massif, Memcheck
# and DHAT (median / median); the median peak resident set of the
# measured process in MiB (GNU time's %M; for the Valgrind modes that is
# the Valgrind process, tool and client together); for memline modes the
# trace bytes per allocation (file size / the "Allocations:" count of
# memline-report's summary) and memline-report's events per second
# ((allocations + frees, as its summary prints them) / its median wall
# seconds).  A mode whose run failed in any repetition shows `failed`.
#
# Once per workload (not per repetition) the program also runs natively
# under heaptrack: its zstd-compressed trace's bytes per allocation, and
# heaptrack_print's allocations per second on that trace (median of as
# many runs as there are repetitions), against
# memline's default-mode trace and memline-report.  Without heaptrack
# those comparisons are skipped with a note.  heaptrack and heaptrack_print
# run under an address-space limit of $BENCH_HEAPTRACK_LIMIT MiB (default
# 4096; 0 = none): heaptrack_interpret 1.4 grows past 18 GiB and dies of
# std::bad_alloc on churn's 2^17 distinct call stacks, and the limit makes
# that a quick failure (and a note) instead of a machine out of memory.
#
# Per workload a verdict against the bars: heap-only memline at most
# 0.75x Massif (interim target 0.9x), default memline at most 0.40x
# Memcheck, trace bytes per allocation at most heaptrack's, memline-report
# at least 4x heaptrack_print's allocations per second.
#
# As root, missing lua5.4 and GNU time are installed with apt-get (like
# scripts/setup-deps.sh); otherwise the lua workload is skipped, and the
# RSS column left empty, with a note.  Exit status: 0 when the table was
# written (failed modes included), 2 when the build is incomplete, an
# option is malformed or no workload can run.

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
AN_RUNS=${BENCH_ANALYZER_RUNS:-3}
OUT="$BUILD/bench.txt"
GNU_TIME=/usr/bin/time
HT_LIMIT=${BENCH_HEAPTRACK_LIMIT:-4096}

if [ $# -gt 0 ]; then
    specs=("$@")
else
    read -r -a specs <<<"${BENCH_WORKLOADS:-churn compute pages containers lua cc1}"
fi
# $BENCH_MODES picks a subset (in this order); the ratio columns of the
# peers left out are empty.
read -r -a modes <<<"${BENCH_MODES:-native none massif memcheck dhat memline-heap memline}"

case "$REPS" in
    '' | *[!0-9]* | 0) echo "bench: BENCH_REPS must be a positive integer" >&2; exit 2 ;;
esac
case "$AN_RUNS" in
    '' | *[!0-9]* | 0) echo "bench: BENCH_ANALYZER_RUNS must be a positive integer" >&2; exit 2 ;;
esac
case "$HT_LIMIT" in
    '' | *[!0-9]*) echo "bench: BENCH_HEAPTRACK_LIMIT must be a number of MiB" >&2; exit 2 ;;
esac

# Build what is missing (a no-op after `make bench`, which builds first).
make -s -C "$ROOT" --no-print-directory all >&2 ||
    { echo "bench: make all failed" >&2; exit 2; }
if ! compgen -G "$STAGE/memline-*" >/dev/null || [ ! -x "$REPORT" ]; then
    echo "bench: the memline tool or memline-report is not built (run make all)" >&2
    exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/memline-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
: >"$work/notes"
note() { echo "$*" >>"$work/notes"; echo "bench: $*" >&2; }

# apt_install PACKAGE: installs a Debian package when we are root; returns
# non-zero when that is not possible or fails.
apt_updated=0
apt_install() {
    [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null || return 1
    echo "bench: installing $1 with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    if [ $apt_updated -eq 0 ]; then
        apt-get update -q >&2 || return 1
        apt_updated=1
    fi
    apt-get install -y -q --no-install-recommends "$1" >&2
}

have_time=1
[ -x "$GNU_TIME" ] || apt_install time
if [ ! -x "$GNU_TIME" ]; then
    have_time=0
    note "GNU time ($GNU_TIME, package time) is missing: no RSS column"
fi
have_heaptrack=1
if [ "${BENCH_HEAPTRACK:-yes}" = no ]; then
    have_heaptrack=0
    note "BENCH_HEAPTRACK=no: no comparison with heaptrack"
elif ! command -v heaptrack >/dev/null || ! command -v heaptrack_print >/dev/null; then
    have_heaptrack=0
    note "heaptrack is not installed: no comparison with heaptrack's trace size and heaptrack_print"
fi

# Resolve each spec into a label, a program and its ':'-joined arguments.
labels=() progs=() argss=()
for spec in "${specs[@]}"; do
    label=${spec%%:*} rest=
    [ "$spec" = "$label" ] || rest=${spec#*:}
    prog=$label
    case "$spec" in
        *=*) label=${spec%%=*} spec=${spec#*=}
             prog=${spec%%:*} rest=
             [ "$spec" = "$prog" ] || rest=${spec#*:} ;;
        lua | lua:*)
             prog=lua5.4 rest="$ROOT/samples/bench/alloc.lua${rest:+:$rest}" ;;
        cc1 | cc1:*)
             n=${rest:-100}
             case "$n" in
                 '' | *[!0-9]* | 0) echo "bench: cc1:N needs a positive number of functions" >&2; exit 2 ;;
             esac
             src="$work/cc1-input-$n.c"
             awk -v n="$n" -f "$ROOT/samples/bench/gen-c.awk" >"$src" ||
                 { echo "bench: samples/bench/gen-c.awk failed" >&2; exit 2; }
             prog=$(gcc -print-prog-name=cc1 2>/dev/null)
             [ -n "$prog" ] || prog=cc1
             rest="-quiet:-O2:$src:-o:/dev/null" ;;
    esac
    if [ -x "$BUILD/samples/$prog" ]; then
        path="$BUILD/samples/$prog"
    elif [[ $prog == */* ]] && [ -x "$prog" ]; then
        path=$(cd "$(dirname "$prog")" && pwd)/$(basename "$prog")
    elif path=$(command -v "$prog"); then
        :
    elif [ -f "$ROOT/samples/$prog.c" ] || [ -f "$ROOT/samples/$prog.cc" ]; then
        echo "bench: build/samples/$prog is not built (run make all)" >&2
        exit 2
    elif [ "$prog" = lua5.4 ] && apt_install lua5.4 && path=$(command -v lua5.4); then
        :
    else
        case "$prog" in
            lua5.4) note "workload $label skipped: lua5.4 is not installed (Debian package lua5.4; as root the benchmark installs it)" ;;
            *)      note "workload $label skipped: $prog is not installed" ;;
        esac
        continue
    fi
    labels+=("$label") progs+=("$path") argss+=("$rest")
done
if [ ${#labels[@]} -eq 0 ]; then
    echo "bench: no workload to run" >&2
    exit 2
fi

now() {
    if [ -n "${EPOCHREALTIME:-}" ]; then
        echo "${EPOCHREALTIME/,/.}"
    else
        date +%s.%N
    fi
}

# timed FILE-PREFIX CMD...: runs CMD (stdin /dev/null, stdout and stderr
# to FILE-PREFIX.out and .err), appends its wall seconds to
# FILE-PREFIX.times and, with GNU time, its peak RSS in KiB to
# FILE-PREFIX.rss.  Returns CMD's exit status.
timed() {
    local prefix=$1 t0 t1 status
    shift
    local wrap=()
    [ $have_time -eq 0 ] || wrap=("$GNU_TIME" -f %M -o "$work/rss.last")
    rm -f "$work/rss.last"
    t0=$(now)
    "${wrap[@]}" "$@" >"$prefix.out" 2>"$prefix.err" </dev/null
    status=$?
    t1=$(now)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }' >>"$prefix.times"
    # time writes "Command exited with non-zero status N" before %M
    if [ -s "$work/rss.last" ]; then
        tail -n 1 "$work/rss.last" >>"$prefix.rss"
    fi
    return $status
}

# run_mode MODE INDEX REP: one run of workload INDEX in MODE; memline
# modes keep their trace (trace.MODE.INDEX) and time memline-report on it.
run_mode() {
    local mode=$1 i=$2 rep=$3 args=() cmd
    [ -z "${argss[$i]}" ] || IFS=: read -r -a args <<<"${argss[$i]}"
    local bin=${progs[$i]} trace="$work/trace.$mode.$i"
    case "$mode" in
        native)   cmd=() ;;
        none)     cmd=("$VALGRIND" -q --tool=none) ;;
        massif)   cmd=("$VALGRIND" -q --tool=massif "--massif-out-file=$work/massif.out") ;;
        memcheck) cmd=("$VALGRIND" -q --tool=memcheck) ;;
        dhat)     cmd=("$VALGRIND" -q --tool=dhat "--dhat-out-file=$work/dhat.out") ;;
        memline-heap)
                  cmd=(env "VALGRIND_LIB=$STAGE" "$VALGRIND" -q --tool=memline
                       --lines=no --rss=no "--memline-out-file=$trace") ;;
        memline)  cmd=(env "VALGRIND_LIB=$STAGE" "$VALGRIND" -q --tool=memline
                       "--memline-out-file=$trace") ;;
    esac
    local status
    rm -f "$trace"
    timed "$work/$mode.$i" "${cmd[@]}" "$bin" "${args[@]}"
    status=$?
    if [ $status -ne 0 ]; then
        echo "bench: $mode ${labels[$i]} exited with status $status:" >&2
        head -n 5 "$work/$mode.$i.err" >&2
        echo "${labels[$i]} $mode (repetition $rep): exit status $status" >>"$work/failures"
        touch "$work/$mode.$i.failed"
    fi
    printf '  rep %d/%d  %-12s %-13s %8ss\n' "$rep" "$REPS" "${labels[$i]}" "$mode" \
        "$(tail -n 1 "$work/$mode.$i.times")" >&2
    case "$mode" in memline*) [ $status -eq 0 ] || return ;; *) return ;; esac
    if [ ! -s "$trace" ] ||
       ! timed "$work/report.$mode.$i" "$REPORT" --units B "$trace"; then
        echo "bench: memline-report on the $mode trace of ${labels[$i]} failed" >&2
        echo "${labels[$i]} memline-report on the $mode trace (repetition $rep)" >>"$work/failures"
        touch "$work/report.$mode.$i.failed"
        return
    fi
    # the summary's counts and the trace's size, kept from the last run
    sed -n 's/^\(Allocations\|Frees\): *\([0-9,]*\).*/\2/p' "$work/report.$mode.$i.out" |
        tr -d , | paste -sd ' ' >"$work/counts.$mode.$i"
    sed -n 's/^Peak RSS: *\([0-9,]*\) B.*/\1/p' "$work/report.$mode.$i.out" |
        tr -d , >"$work/peakrss.$mode.$i"
    stat -c %s "$trace" >"$work/size.$mode.$i"
}

# limited CMD...: CMD under the heaptrack address-space limit
limited() {
    if [ "$HT_LIMIT" -gt 0 ]; then
        (ulimit -v $((HT_LIMIT * 1024)) && exec "$@")
    else
        "$@"
    fi
}

# heaptrack_once INDEX: the workload natively under heaptrack; writes the
# name of its trace to ht.INDEX.file (analyzers_once reads the trace).
heaptrack_once() {
    local i=$1 args=() file status
    [ -z "${argss[$i]}" ] || IFS=: read -r -a args <<<"${argss[$i]}"
    echo "  heaptrack   ${labels[$i]}" >&2
    limited heaptrack -o "$work/ht.$i" "${progs[$i]}" "${args[@]}" \
        >"$work/ht.$i.log" 2>&1 </dev/null
    status=$?
    if [ $status -ne 0 ]; then
        local why
        why=$(sed -n 's/^ *what(): *//p' "$work/ht.$i.log" | head -n 1)
        [ "$HT_LIMIT" -eq 0 ] || why="${why:+$why }under a $HT_LIMIT MiB address-space limit"
        note "heaptrack on ${labels[$i]} exited with status $status${why:+ ($why)}: no heaptrack comparison"
        return
    fi
    file=$(compgen -G "$work/ht.$i.*" | grep -v '\.log$' | head -n 1)
    if [ -z "$file" ]; then
        note "heaptrack wrote no trace for ${labels[$i]}"
        return
    fi
    case "$file" in *.zst) ;; *) note "heaptrack's trace of ${labels[$i]} is ${file##*.}, not zstd" ;; esac
    # heaptrack_print reads it in analyzers_once
    echo "$file" >"$work/ht.$i.file"
}

# htprint FILE-PREFIX TRACE: heaptrack_print on TRACE, timed, under the
# address-space limit (a subshell: timed runs its command through GNU
# time, which cannot run the shell function `limited`)
htprint() {
    ( if [ "$HT_LIMIT" -gt 0 ]; then ulimit -v $((HT_LIMIT * 1024)); fi
      timed "$1" heaptrack_print "$2" )
}

# analyzers_once INDEX: memline-report on the last trace of each memline
# mode and heaptrack_print on heaptrack's trace, in turn, $REPS x
# $BENCH_ANALYZER_RUNS times each: runs of a fraction of a second are at
# the mercy of the machine, whose speed drifts by a third within minutes,
# so the runs compared alternate.  Writes an.MODE.INDEX.times, and from
# heaptrack_print's runs ht.INDEX.bpa (heaptrack's trace bytes per
# allocation, by its count of calls to allocation functions) and
# ht.INDEX.aps (its allocations per second, from the median).
analyzers_once() {
    local i=$1 r mode ht=
    [ -s "$work/ht.$i.file" ] && ht=$(cat "$work/ht.$i.file")
    for r in $(seq 1 $((REPS * AN_RUNS))); do
        for mode in memline-heap memline; do
            [ -s "$work/trace.$mode.$i" ] && [ ! -e "$work/$mode.$i.failed" ] &&
                [ ! -e "$work/report.$mode.$i.failed" ] || continue
            timed "$work/an.$mode.$i" "$REPORT" --units B "$work/trace.$mode.$i" ||
                touch "$work/report.$mode.$i.failed"
        done
        if [ -n "$ht" ] && ! htprint "$work/htp.$i" "$ht"; then
            note "heaptrack_print failed on ${labels[$i]}: $(tail -n 1 "$work/htp.$i.err")"
            ht=
        fi
    done
    [ -n "$ht" ] || return 0
    local calls
    calls=$(sed -n 's/^calls to allocation functions: \([0-9]*\).*/\1/p' "$work/htp.$i.out" | head -n 1)
    [ -n "$calls" ] && [ "$calls" -gt 0 ] || return 0
    awk -v s="$(stat -c %s "$ht")" -v a="$calls" 'BEGIN { printf "%.6f\n", s / a }' >"$work/ht.$i.bpa"
    awk -v a="$calls" -v t="$(median "$work/htp.$i.times")" \
        'BEGIN { if (t > 0) printf "%.0f\n", a / t }' >"$work/ht.$i.aps"
}

# median FILE: median of the numbers in FILE, one a line; "" when none.
median() {
    [ -s "$1" ] || return 0
    sort -n "$1" | awk '{ v[NR] = $1 } END {
        if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "bench: ${#labels[@]} workload(s) x ${#modes[@]} modes x $REPS repetitions" >&2
# Each repetition starts one mode further along the list, so that no mode
# always runs right after the same one (a run after DHAT or Memcheck, which
# leave gigabytes of freed memory behind, can be slower).
for rep in $(seq 1 "$REPS"); do
    for i in "${!labels[@]}"; do
        for k in "${!modes[@]}"; do
            run_mode "${modes[$(((k + rep - 1) % ${#modes[@]}))]}" "$i" "$rep"
        done
    done
done
if [ $have_heaptrack -eq 1 ]; then
    for i in "${!labels[@]}"; do
        heaptrack_once "$i"
    done
fi
echo "  analyzers" >&2
for i in "${!labels[@]}"; do
    analyzers_once "$i"
done

# fmt_rate N: 12345678 -> 12.3M; "-" when N is empty or "-"
fmt_rate() {
    case "$1" in '' | -) echo -; return ;; esac
    awk -v r="$1" 'BEGIN { if (r >= 1e6) printf "%.1fM", r / 1e6;
        else if (r >= 1e3) printf "%.1fk", r / 1e3; else printf "%.0f", r }'
}
# fmt_bpa N: bytes per allocation, 3 significant digits below 1
fmt_bpa() {
    case "$1" in '' | -) echo -; return ;; esac
    awk -v v="$1" 'BEGIN { printf (v < 1 ? "%.3f\n" : "%.2f\n"), v }'
}
# ratio A B [FORMAT]: A / B, or "-" when either is missing or B is 0
ratio() {
    if [ -z "$1" ] || [ -z "$2" ]; then echo -; return; fi
    awk -v a="$1" -v b="$2" -v f="${3:-%.2f}" 'BEGIN { if (b == 0) print "-"; else printf f "\n", a / b }'
}
# paired A B I: the ratio of mode A's time to mode B's in each repetition
# of workload I ("0.39 0.59 0.59"), or nothing when either failed.  The
# modes of one repetition run minutes apart, not half an hour: on a
# machine whose speed drifts, these show how much of a ratio of medians
# is the drift.
paired() {
    [ -e "$work/$1.$3.failed" ] || [ -e "$work/$2.$3.failed" ] && return
    paste -d' ' "$work/$1.$3.times" "$work/$2.$3.times" 2>/dev/null |
        awk '$2 > 0 { printf "%s%.2f", (n++ ? " " : ""), $1 / $2 } END { if (n) print "" }'
}
# times R: "1.23x", or "n/a" when R is "-"
times() { if [ "$1" = - ]; then echo n/a; else echo "${1}x"; fi; }
# verdict VALUE OP LIMIT: met / NOT met / n/a
verdict() {
    if [ "$1" = - ] || [ -z "$1" ]; then echo n/a; return; fi
    awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
        ok = op == "<=" ? v <= l : v >= l; print (ok ? "met" : "NOT met") }'
}

{
    echo "memline benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $($VALGRIND --version)"
    echo "median of $REPS wall-clock runs; ratios are median / median; Massif, Memcheck and DHAT"
    echo "with their defaults; RSS = peak resident set of the measured process (for Valgrind"
    echo "modes: tool and client together); B/alloc = trace bytes / allocations; ev/s ="
    echo "memline-report's (allocations + frees) per second (PAGE records not counted)"
    echo
    printf '%-12s %-13s %9s %6s %7s %9s %6s %8s %10s %8s\n' \
        workload mode "median s" /none /massif /memcheck /dhat "RSS MiB" B/alloc ev/s
    for i in "${!labels[@]}"; do
        w=${labels[$i]}
        declare -A med=() bpa=() aps=()
        for mode in "${modes[@]}"; do
            med[$mode]=
            [ -e "$work/$mode.$i.failed" ] || med[$mode]=$(median "$work/$mode.$i.times")
        done
        for mode in "${modes[@]}"; do
            t=${med[$mode]}
            rss=-
            m=$(median "$work/$mode.$i.rss")
            [ -z "$m" ] || rss=$(awk -v k="$m" 'BEGIN { printf "%.1f", k / 1024 }')
            bpa[$mode]=- aps[$mode]='' ev=-
            if [ -s "$work/counts.$mode.$i" ]; then
                read -r allocs frees <"$work/counts.$mode.$i"
                size=$(cat "$work/size.$mode.$i")
                bpa[$mode]=$(ratio "$size" "$allocs" %.6f)
                if [ ! -e "$work/report.$mode.$i.failed" ]; then
                    at=$(median "$work/an.$mode.$i.times")
                    r=$(ratio "$((allocs + ${frees:-0}))" "$at" %.0f)
                    [ "$r" = - ] || ev=$(fmt_rate "$r")
                    aps[$mode]=$(ratio "$allocs" "$at" %.0f)
                fi
            fi
            if [ -z "$t" ]; then
                cells=(failed - - - - "$rss")
            else
                cells=("$t" "$(ratio "$t" "${med[none]:-}")" "$(ratio "$t" "${med[massif]:-}")"
                       "$(ratio "$t" "${med[memcheck]:-}")" "$(ratio "$t" "${med[dhat]:-}")" "$rss")
            fi
            printf '%-12s %-13s %9s %6s %7s %9s %6s %8s %10s %8s\n' \
                "$w" "$mode" "${cells[@]}" "$(fmt_bpa "${bpa[$mode]}")" "$ev"
        done
        nl=$(ratio "${med[memline-heap]:-}" "${med[massif]:-}")
        dl=$(ratio "${med[memline]:-}" "${med[memcheck]:-}")
        # nulgrind's own ratio is the floor of each bar: every tool pays it
        nm=$(ratio "${med[none]:-}" "${med[massif]:-}")
        nc=$(ratio "${med[none]:-}" "${med[memcheck]:-}")
        [ "$nl" = - ] ||
            echo "  $w: heap-only = $(times "$nl") Massif (bar <= 0.75x: $(verdict "$nl" '<=' 0.75);" \
                 "interim target 0.9x: $(verdict "$nl" '<=' 0.9); floor: none = $(times "$nm") Massif;" \
                 "per repetition: $(paired memline-heap massif "$i"))"
        [ "$dl" = - ] ||
            echo "  $w: default = $(times "$dl") Memcheck (bar <= 0.40x: $(verdict "$dl" '<=' 0.40);" \
                 "floor: none = $(times "$nc") Memcheck; per repetition: $(paired memline memcheck "$i"))"
        # The RSS model (DESIGN §5): memline's simulated peak against the
        # native run's peak RSS (GNU time's maxrss, median).
        sim=$(cat "$work/peakrss.memline.$i" 2>/dev/null)
        nat=$(median "$work/native.$i.rss")
        if [ -n "$sim" ] && [ -n "$nat" ]; then
            rr=$(ratio "$sim" "$((nat * 1024))" %.3f)
            if [ "$nat" -ge $((16 * 1024)) ]; then
                rv=$(verdict "$(awk -v r="$rr" 'BEGIN { d = r - 1; print (d < 0 ? -d : d) }')" '<=' 0.05)
            else
                rv="n/a: under 16 MiB"
            fi
            echo "  $w: simulated peak RSS $(awk -v b="$sim" 'BEGIN { printf "%.1f", b / 1048576 }') MiB," \
                 "native $(awk -v k="$nat" 'BEGIN { printf "%.1f", k / 1024 }') MiB = $(times "$rr")" \
                 "(bar within 5%: $rv)"
        fi
        if [ $have_heaptrack -eq 1 ]; then
            hb=$(cat "$work/ht.$i.bpa" 2>/dev/null)
            ha=$(cat "$work/ht.$i.aps" 2>/dev/null)
            tr=$(ratio "${bpa[memline]:-}" "$hb")
            ar=$(ratio "${aps[memline]:-}" "$ha")
            echo "  $w: trace $(fmt_bpa "${bpa[memline]:-}") B/alloc, heaptrack's (zstd)" \
                 "$(fmt_bpa "$hb") = $(times "$tr")" \
                 "(bar <= 1x: $(verdict "$tr" '<=' 1))"
            echo "  $w: memline-report $(fmt_rate "${aps[memline]:-}") alloc/s," \
                 "heaptrack_print $(fmt_rate "$ha") = $(times "$ar") (bar >= 4x: $(verdict "$ar" '>=' 4))"
        fi
        unset med bpa aps
    done
    if [ -s "$work/notes" ]; then
        echo
        sed 's/^/note: /' "$work/notes"
    fi
    if [ -s "$work/failures" ]; then
        echo
        echo "failed runs (their modes show \"failed\"):"
        sed 's/^/  /' "$work/failures"
    fi
} | tee "$OUT"
echo "bench: table written to ${OUT#"$ROOT"/}" >&2
