# lib.sh -- helpers for memline's end-to-end tests (sourced by run.sh).
#
# A test is a bash function t_NAME run in its own directory $T.  It calls
# check helpers (expect_eq, expect_row, ...) that record every mismatch and
# go on, so one run shows all of a test's wrong numbers; `need` stops the
# test when a prerequisite is missing.  The test passes when nothing was
# recorded.  Every number a test expects is derived in the sample's header
# comment; lines are found by their `L:tag` comments, never by number.

ROOT=${ROOT:?}
BUILD="$ROOT/build"
STAGE="$BUILD/lib/valgrind"
REPORT="$BUILD/bin/memline-report"
MEMLINE="$BUILD/bin/memline"
SAMPLES="$BUILD/samples"
VALGRIND=${VALGRIND:-valgrind}

# ---- recording failures -------------------------------------------------

fail() {
    printf '%s\n' "$*" >>"$T/.failures"
}

# need COND-COMMAND... : run the command; on failure record why and return 1
# (the test body does `need ... || return`).
need() {
    local why=$1
    shift
    if ! "$@"; then
        fail "$why"
        return 1
    fi
}

expect_eq() {   # WHAT ACTUAL EXPECTED
    [ "$2" = "$3" ] || fail "$1: got '$2', expected '$3'"
}

expect_ge() {   # WHAT ACTUAL MIN (integers)
    if ! [[ $2 =~ ^-?[0-9]+$ ]] || [ "$2" -lt "$3" ]; then
        fail "$1: got '$2', expected at least $3"
    fi
}

expect_match() {   # WHAT TEXT ERE
    [[ $2 =~ $3 ]] || fail "$1: '$2' does not match /$3/"
}

expect_file_match() {   # WHAT FILE ERE  (grep -E on the file)
    grep -Eq -- "$3" "$2" 2>/dev/null ||
        fail "$1: no line matches /$3/ in $(basename "$2"): $(head -c 300 "$2" 2>/dev/null | tr '\n' '|')"
}

# ---- running programs -----------------------------------------------------

# split_at_dashes WORD... [-- WORD...]: the words before the first `--`
# into SPLIT_OPTS, those after it into SPLIT_ARGS.
split_at_dashes() {
    SPLIT_OPTS=() SPLIT_ARGS=()
    while [ $# -gt 0 ]; do
        if [ "$1" = -- ]; then shift; SPLIT_ARGS=("$@"); break; fi
        SPLIT_OPTS+=("$1"); shift
    done
}

# run_tool OUT SAMPLE [VALGRIND-OPTIONS...] [-- PROGRAM-ARGS...]
# Runs build/samples/SAMPLE under memline, trace in $T/OUT.trace, the
# program's stdout/stderr in $T/OUT.out / $T/OUT.err.  Sets RUN_STATUS.
# The array TOOL_EXTRA, when a test sets it, adds tool options to every
# run (also those of rss_profile and the like).
run_tool() {
    local out=$1 sample=$2
    shift 2
    split_at_dashes "$@"
    local opts=("${SPLIT_OPTS[@]}") args=("${SPLIT_ARGS[@]}")
    VALGRIND_LIB=$STAGE "$VALGRIND" -q --tool=memline \
        "--memline-out-file=$T/$out.trace" ${TOOL_EXTRA[@]+"${TOOL_EXTRA[@]}"} "${opts[@]}" \
        "$SAMPLES/$sample" "${args[@]}" >"$T/$out.out" 2>"$T/$out.err" </dev/null
    RUN_STATUS=$?
}

# run_report OUT TRACE [REPORT-OPTIONS...]
# memline-report --metric heap --units B OPTIONS TRACE > $T/OUT.rep, stderr
# $T/OUT.rerr.  The expectations are heap numbers: the metric is explicit
# because the default is rss on traces that recorded RSS.  Sets REP_STATUS.
run_report() {
    report_with_metric heap "$@"
}

# report_with_metric METRIC OUT TRACE [REPORT-OPTIONS...]: the one place
# that runs memline-report for the expectation helpers.
report_with_metric() {
    local metric=$1 out=$2 trace=$3
    shift 3
    "$REPORT" --metric "$metric" --units B "$@" "$trace" >"$T/$out.rep" 2>"$T/$out.rerr" </dev/null
    REP_STATUS=$?
}

# profile OUT SAMPLE [REPORT-OPTIONS...] [-- PROGRAM-ARGS...]: run_tool +
# run_report (heap numbers), and `need` that both worked.  Returns 1
# (failure recorded) when not.
profile() {
    profile_with_metric heap "$@"
}

# profile_with_metric METRIC OUT SAMPLE [REPORT-OPTIONS...] [-- ARGS...]:
# the one place that runs a sample under memline and reports it.
profile_with_metric() {
    local metric=$1 out=$2 sample=$3
    shift 3
    split_at_dashes "$@"
    local opts=("${SPLIT_OPTS[@]}") args=("${SPLIT_ARGS[@]}")
    run_tool "$out" "$sample" -- "${args[@]}"
    need "$sample exited with status $RUN_STATUS under memline: $(tail -n 3 "$T/$out.err" | tr '\n' '|')" \
        [ "$RUN_STATUS" -eq 0 ] || return 1
    need "no trace written by $sample" [ -s "$T/$out.trace" ] || return 1
    report_with_metric "$metric" "$out" "$T/$out.trace" "${opts[@]}"
    need "memline-report --metric $metric on $sample exited with $REP_STATUS: $(head -n 3 "$T/$out.rerr" | tr '\n' '|')" \
        [ "$REP_STATUS" -eq 0 ] || return 1
}

# massif OUT SAMPLE [PROGRAM-ARGS...]: runs Massif with exact peaks and no
# allocator overhead; sets MS_PEAK (largest mem_heap_B over all snapshots)
# and MS_FINAL (the last snapshot's, taken at exit).
massif() {
    local out=$1 sample=$2
    shift 2
    "$VALGRIND" -q --tool=massif --peak-inaccuracy=0 --heap-admin=0 \
        --stacks=no "--massif-out-file=$T/$out.massif" \
        "$SAMPLES/$sample" "$@" >"$T/$out.ms.out" 2>"$T/$out.ms.err" </dev/null
    MS_PEAK=$(sed -n 's/^mem_heap_B=//p' "$T/$out.massif" 2>/dev/null | sort -n | tail -n 1)
    MS_FINAL=$(sed -n 's/^mem_heap_B=//p' "$T/$out.massif" 2>/dev/null | tail -n 1)
    need "massif run of $sample gave no snapshots" [ -n "$MS_PEAK" ]
}

# probe OUT SAMPLE [PROGRAM-ARGS...]: runs the sample natively with
# peakprobe.so preloaded (built once per run in $E2E_WORK); sets PROBE_PEAK,
# the true peak of requested heap bytes.
probe() {
    local out=$1 sample=$2 so="$E2E_WORK/peakprobe.so"
    shift 2
    if [ ! -e "$so" ]; then
        ${CC:-cc} -O2 -shared -fPIC -o "$so.$$" "$E2E_DIR/peakprobe.c" 2>"$T/probe.cc.err" &&
            mv -f "$so.$$" "$so"
    fi
    need "could not build peakprobe.so: $(head -n 2 "$T/probe.cc.err" | tr '\n' '|')" [ -e "$so" ] || return 1
    PEAKPROBE_OUT="$T/$out.probe" LD_PRELOAD="$so" "$SAMPLES/$sample" "$@" \
        >/dev/null 2>&1 </dev/null
    PROBE_PEAK=$(sed -n 's/^peak //p' "$T/$out.probe" 2>/dev/null)
    need "peakprobe wrote no peak for $sample" [ -n "$PROBE_PEAK" ]
}

# ---- reading the source and the report ------------------------------------

# src_of SAMPLE: the sample's source file.
src_of() {
    if [ -f "$ROOT/samples/$1.c" ]; then
        echo "$ROOT/samples/$1.c"
    else
        echo "$ROOT/samples/$1.cc"
    fi
}

# line_of SAMPLE TAG: the line number carrying the comment tag L:TAG.
line_of() {
    local src n
    src=$(src_of "$1")
    n=$(grep -nE "(/\*|//) *L:$2( *\*/| *\$)" "$src" | cut -d: -f1)
    if [ -z "$n" ] || [ "$(printf '%s\n' "$n" | wc -l)" -ne 1 ]; then
        echo "line_of: tag L:$2 not found once in $src" >&2
        echo 0
        return 1
    fi
    echo "$n"
}

# row_raw REPORT FILE LINE: the table row for LINE in a table whose
# "Filename:" ends with FILE.  A line can appear in two tables (a table
# runs to the end of its function as the source shows it, and C++ inline
# members share lines): the first row with numbers wins, else the first.
row_raw() {
    awk -v want="$3" -v file="$2" '
        /^Filename: / {
            f = substr($0, 11)
            insec = (f == file || substr(f, length(f) - length(file)) == "/" file)
            next
        }
        insec && $1 == want && $0 ~ /^ *[0-9]+( |$)/ {
            if ($0 ~ /^ *[0-9]+ +-?[0-9]/) { print; found = 1; exit }
            if (first == "") first = $0
        }
        END { if (!found && first != "") print first }
    ' "$1"
}

# row REPORT FILE LINE: parses a --units B row into R_USAGE R_INCR R_OCC.
# Returns 0 when the row has numbers, 2 when its numbers are blank (the
# line never ran), 1 when there is no such row.
row() {
    local raw
    raw=$(row_raw "$@")
    R_USAGE='' R_INCR='' R_OCC=''
    [ -n "$raw" ] || return 1
    # Occurrences may be blank when the trace has no line statistics
    # (a run killed before its end, --lines=no): R_OCC is then empty.
    local re='^ *[0-9]+ +(-?[0-9][0-9,]*) B +([-+]?[0-9][0-9,]*) B( +([0-9][0-9,]*))?( |$)'
    if [[ $raw =~ $re ]]; then
        R_USAGE=${BASH_REMATCH[1]//,/}
        R_INCR=${BASH_REMATCH[2]//,/}
        R_INCR=${R_INCR#+}
        R_OCC=${BASH_REMATCH[4]//,/}
        return 0
    fi
    return 2
}

# expect_row REPORT SAMPLE TAG USAGE INCR OCC
# USAGE, INCR or OCC may be "-" (not checked); USAGE may be ">=N"; OCC
# "none" expects blank Occurrences (no line statistics in the trace).
expect_row() {
    local rep=$1 sample=$2 tag=$3 usage=$4 incr=$5 occ=$6
    local src line what rc
    src=$(src_of "$sample")
    line=$(line_of "$sample" "$tag") || { fail "no tag L:$tag in $src"; return; }
    what="$(basename "$src"):$line (L:$tag)"
    row "$rep" "$(basename "$src")" "$line"
    rc=$?
    if [ $rc -eq 1 ]; then
        fail "$what: no row in the report"
        return
    elif [ $rc -eq 2 ]; then
        fail "$what: numbers blank (line reported as never executed): '$(row_raw "$rep" "$(basename "$src")" "$line")'"
        return
    fi
    [ "$incr" = - ] || expect_eq "$what Increment" "$R_INCR" "$incr"
    case "$occ" in
        -) ;;
        none) [ -z "$R_OCC" ] || fail "$what Occurrences: got '$R_OCC', expected blank" ;;
        *) expect_eq "$what Occurrences" "$R_OCC" "$occ" ;;
    esac
    case "$usage" in
        -) ;;
        '>='*) expect_ge "$what Mem usage" "$R_USAGE" "${usage#>=}" ;;
        *) expect_eq "$what Mem usage" "$R_USAGE" "$usage" ;;
    esac
}

# expect_blank REPORT SAMPLE TAG: the line's numbers are blank (never ran).
expect_blank() {
    local rep=$1 sample=$2 tag=$3 src line rc
    src=$(src_of "$sample")
    line=$(line_of "$sample" "$tag") || { fail "no tag L:$tag in $src"; return; }
    row "$rep" "$(basename "$src")" "$line"
    rc=$?
    if [ $rc -eq 0 ]; then
        fail "$(basename "$src"):$line (L:$tag): expected blank numbers, got usage $R_USAGE incr $R_INCR occ $R_OCC"
    elif [ $rc -eq 1 ]; then
        fail "$(basename "$src"):$line (L:$tag): no row in the report"
    fi
}

# summary REPORT LABEL: the text after "LABEL:" on the summary line.
summary() {
    sed -n "s/^$2: *//p" "$1" | head -n 1
}

# first_int TEXT: the first integer in TEXT, commas removed.
first_int() {
    local t=${1//,/}
    [[ $t =~ (-?[0-9]+) ]] && echo "${BASH_REMATCH[1]}"
}

# expect_summary REPORT PEAK ALLOCS FREES LEAK_BYTES LEAK_BLOCKS
# (each may be "-" to skip).  Parses a --units B summary.
expect_summary() {
    local rep=$1 peak=$2 allocs=$3 frees=$4 lbytes=$5 lblocks=$6 s
    if [ "$peak" != - ]; then
        s=$(summary "$rep" "Peak heap")
        expect_eq "summary Peak heap ('$s')" "$(first_int "$s")" "$peak"
    fi
    if [ "$allocs" != - ]; then
        s=$(summary "$rep" "Allocations")
        expect_eq "summary Allocations ('$s')" "$(first_int "$s")" "$allocs"
    fi
    if [ "$frees" != - ]; then
        s=$(summary "$rep" "Frees")
        expect_eq "summary Frees ('$s')" "$(first_int "$s")" "$frees"
    fi
    if [ "$lbytes" != - ] || [ "$lblocks" != - ]; then
        s=$(summary "$rep" "Leaked at exit")
        local t=${s//,/} b='' k=''
        if [[ $t =~ ^(-?[0-9]+)\ B\ in\ ([0-9]+)\ blocks? ]]; then
            b=${BASH_REMATCH[1]} k=${BASH_REMATCH[2]}
        elif [[ $t =~ ^0\ B ]]; then
            b=0 k=0
        fi
        [ "$lbytes" = - ] || expect_eq "summary Leaked at exit bytes ('$s')" "$b" "$lbytes"
        [ "$lblocks" = - ] || expect_eq "summary Leaked at exit blocks ('$s')" "$k" "$lblocks"
    fi
}

# trace_state REPORT TRACE: the summary's "Trace:" line, lower-cased, with
# the trace's file name taken out (so a name cannot look like a state).
# is_zstd FILE: FILE starts with the zstd frame magic 28 B5 2F FD.
is_zstd() {
    [ "$(head -c 4 "$1" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 28b52ffd ]
}

trace_state() {
    local s
    s=$(summary "$1" "Trace")
    s=${s//"$2"/}
    s=${s//"$(basename "$2")"/}
    echo "${s,,}"
}

# expect_complete REPORT TRACE: the summary's Trace line says complete.
expect_complete() {
    local s
    s=$(trace_state "$1" "$2")
    if [ -z "$(summary "$1" "Trace")" ]; then
        fail "summary has no 'Trace:' line"
    elif [[ $s =~ (incomplete|truncat|cut|partial|corrupt) ]] || ! [[ $s =~ complete ]]; then
        fail "summary Trace line does not say complete: '$(summary "$1" "Trace")'"
    fi
}

# expect_incomplete REPORT TRACE: the summary's Trace line says the trace
# is not complete.
expect_incomplete() {
    local s
    s=$(trace_state "$1" "$2")
    if [ -z "$(summary "$1" "Trace")" ]; then
        fail "summary has no 'Trace:' line"
    elif ! [[ $s =~ (incomplete|truncat|cut|partial|killed) ]]; then
        fail "summary Trace line does not say incomplete: '$(summary "$1" "Trace")'"
    fi
}

# ---- the RSS metric ---------------------------------------------------------

# run_rss_report OUT TRACE [REPORT-OPTIONS...]
# memline-report --metric rss --units B OPTIONS TRACE > $T/OUT.rep, stderr
# $T/OUT.rerr.  Sets REP_STATUS.
run_rss_report() {
    report_with_metric rss "$@"
}

# rss_profile OUT SAMPLE [REPORT-OPTIONS...] [-- PROGRAM-ARGS...]: runs
# SAMPLE under memline (default options: RSS on) and reports it with
# --metric rss; `need`s that both worked.
rss_profile() {
    profile_with_metric rss "$@"
}

# rss_summary REPORT LABEL: parses a --units B summary line
#   LABEL:  TOTAL B [at instruction N] (anon A, file F, stack S, code C B)
# ("Peak RSS", "Final RSS") into RS_TOTAL RS_ANON RS_FILE RS_STACK RS_CODE
# (commas removed).  Returns 1, and records a failure, when there is no
# such line or it does not read that way.
rss_summary() {
    local s re n='([0-9][0-9,]*)'
    s=$(summary "$1" "$2")
    RS_TOTAL='' RS_ANON='' RS_FILE='' RS_STACK='' RS_CODE=''
    re="^$n B( at instruction [0-9,]+)? [(]anon $n( B)?, file $n( B)?, stack $n( B)?, code $n B[)]"
    if [[ $s =~ $re ]]; then
        RS_TOTAL=${BASH_REMATCH[1]//,/} RS_ANON=${BASH_REMATCH[3]//,/}
        RS_FILE=${BASH_REMATCH[5]//,/} RS_STACK=${BASH_REMATCH[7]//,/}
        RS_CODE=${BASH_REMATCH[9]//,/}
        return 0
    fi
    fail "summary '$2:' line missing or unreadable: '$s'"
    return 1
}

# native_rss OUT SAMPLE [PROGRAM-ARGS...]: runs SAMPLE natively with
# MEMLINE_NATIVE_HWM=1 (samples/rss_native.h), three times; sets
# NATIVE_HWM (peak resident bytes) and NATIVE_RSS (resident bytes at
# exit), each the median of the three runs: with threads the native
# numbers vary with the scheduling (rss_arenas under MALLOC_ARENA_MAX=1
# ends with 1.4 to 1.7 MB resident, now and then 2.6 MB).  OUT.out and
# OUT.err are the last run's.
native_rss() {
    local out=$1 sample=$2 i status hwm='' rss=''
    shift 2
    for i in 1 2 3; do
        MEMLINE_NATIVE_HWM=1 "$SAMPLES/$sample" "$@" >"$T/$out.out" 2>"$T/$out.err" </dev/null
        status=$?
        need "native $sample exited with status $status" [ $status -eq 0 ] || return 1
        hwm+="$(sed -n 's/^VmHWM: //p' "$T/$out.err") "
        rss+="$(sed -n 's/^VmRSS: //p' "$T/$out.err") "
    done
    NATIVE_HWM=$(printf '%s\n' $hwm | sort -n | sed -n 2p)
    NATIVE_RSS=$(printf '%s\n' $rss | sort -n | sed -n 2p)
    need "native $sample printed no VmHWM/VmRSS: $(head -c 200 "$T/$out.err" | tr '\n' '|')" \
        [ "$(printf '%s\n' $hwm | wc -l)" -eq 3 -a "$(printf '%s\n' $rss | wc -l)" -eq 3 ]
}

# expect_within_pct WHAT ACTUAL REFERENCE PCT: |ACTUAL - REFERENCE| is at
# most PCT percent of REFERENCE (integers); the failure shows both.
expect_within_pct() {
    local what=$1 a=$2 r=$3 pct=$4 d
    if ! [[ $a =~ ^[0-9]+$ && $r =~ ^[0-9]+$ ]] || [ "$r" -eq 0 ]; then
        fail "$what: cannot compare '$a' with '$r'"
        return
    fi
    d=$((a > r ? a - r : r - a))
    if [ $((d * 100)) -gt $((pct * r)) ]; then
        fail "$what: memline $a B vs native $r B, off by $d B ($((d * 1000 / r / 10)).$((d * 1000 / r % 10))%), more than $pct%"
    fi
}

# stdout_value OUTFILE NAME: the value of a "NAME: V" line a sample wrote.
stdout_value() {
    sed -n "s/^$2: //p" "$1" | head -n 1
}
