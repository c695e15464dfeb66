#!/usr/bin/env bash
# memline -- run a program under Valgrind's memline tool and print its
# line-by-line memory report: `valgrind --tool=memline` + `memline-report`
# in one command.
#
# usage: memline [OPTIONS] [--] PROGRAM [ARGS...]
#
# Options (all before PROGRAM; the first argument that is not an option,
# or the one after `--`, is the program):
#
#   report options, passed to memline-report with their values, as
#   `--opt VALUE` or `--opt=VALUE`:
#       --units U  --precision N  --function GLOB  --file GLOB  --top N
#       --source-dir DIR  --substitute-path OLD=NEW  --metric M
#       -o FILE | --output FILE
#     any other `--opt` or `--opt=VALUE` is passed to memline-report as
#     written (so options this script does not know must use the `=` form).
#   tool options, passed to valgrind:
#       --depth=N  --lines=yes|no  --fns=GLOB[,GLOB]  --time-resolution=N
#       (or `--depth N` ...)
#       --valgrind-option=OPT   one raw Valgrind option (repeatable), e.g.
#                               --valgrind-option=--trace-children=yes
#   this script's own:
#       --keep-trace=FILE  keep the trace as FILE (default: a temporary
#                          file, removed at the end); traces of forked
#                          children are kept as FILE.<pid>
#       -h, --help         this text
#
# Which Valgrind: when the directory ../lib/valgrind next to this script
# (after resolving symlinks) holds a memline tool (memline-<platform>),
# as in an uninstalled build tree (build/bin/memline ->
# build/lib/valgrind), it is used as VALGRIND_LIB; otherwise the installed
# `valgrind --tool=memline`.  $VALGRIND names another valgrind binary.
# memline-report is taken from this script's directory, else from PATH.
#
# Output: the program's own stdout/stderr as usual (Valgrind runs with -q),
# then the report on stdout (or in the -o file).  The report is printed
# even when the program fails or dies of a signal.  Only the trace of the
# process that was started is reported; forked children's are not.
#
# Exit status:
#   - memline-report's status when it fails (non-zero: bad option,
#     unreadable trace), since then there is no report to trust;
#   - otherwise the program's own status, as the shell would see it
#     (its exit code, or 128 + N when it died of signal N), so that
#     `memline ./prog && next` behaves like `./prog && next`;
#   - 2 for a usage error of this script; when no trace was written
#     (Valgrind could not start the program or find the tool), Valgrind's
#     status (127: no such program), or 1 if that was 0; 1 when the program
#     succeeded but --keep-trace could not keep the trace.
set -u

me=memline
usage() {
    sed -n '2,/^set -u/{/^#/{s/^# \{0,1\}//;p;};}' "$(readlink -f "$0")"
}
die_usage() {
    echo "$me: $*" >&2
    echo "$me: try '$me --help'" >&2
    exit 2
}

report_opts=()
tool_opts=()
keep_trace=""

# Report options that take a value.
takes_value() {
    case "$1" in
        --units|--precision|--function|--file|--top|--source-dir| \
        --substitute-path|--metric|--output|-o) return 0 ;;
    esac
    return 1
}

while [ $# -gt 0 ]; do
    arg=$1
    case "$arg" in
        --) shift; break ;;
        -h|--help) usage; exit 0 ;;
        --keep-trace=*) keep_trace=${arg#--keep-trace=}; shift ;;
        --keep-trace)
            [ $# -ge 2 ] || die_usage "option '$arg' needs a value"
            keep_trace=$2; shift 2 ;;
        --depth=*|--lines=*|--fns=*|--time-resolution=*)
            tool_opts+=("$arg"); shift ;;
        --depth|--lines|--fns|--time-resolution)
            [ $# -ge 2 ] || die_usage "option '$arg' needs a value"
            tool_opts+=("$arg=$2"); shift 2 ;;
        --valgrind-option=*) tool_opts+=("${arg#--valgrind-option=}"); shift ;;
        --memline-out-file=*|--memline-out-file)
            die_usage "the trace file is chosen by $me: use --keep-trace=FILE" ;;
        --*=*|-o?*) report_opts+=("$arg"); shift ;;
        -*)
            if takes_value "$arg"; then
                [ $# -ge 2 ] || die_usage "option '$arg' needs a value"
                report_opts+=("$arg" "$2"); shift 2
            elif [ "${arg#--}" != "$arg" ]; then
                report_opts+=("$arg"); shift
            else
                die_usage "unknown option '$arg'"
            fi ;;
        *) break ;;
    esac
done
[ $# -gt 0 ] || die_usage "no program to run"

here=$(dirname "$(readlink -f "$0")")
valgrind=${VALGRIND:-valgrind}
vglib="$here/../lib/valgrind"
if compgen -G "$vglib/memline-*" >/dev/null; then
    export VALGRIND_LIB
    VALGRIND_LIB=$(cd "$vglib" && pwd)
fi
if [ -x "$here/memline-report" ]; then
    report="$here/memline-report"
else
    report=$(command -v memline-report) ||
        { echo "$me: memline-report not found next to $0 nor on PATH" >&2; exit 1; }
fi

tmpdir=$(mktemp -d "${TMPDIR:-/tmp}/memline.XXXXXX") ||
    { echo "$me: cannot create a temporary directory" >&2; exit 1; }
trap 'rm -rf "$tmpdir"' EXIT
# Ctrl-C interrupts the program (which gets SIGINT too), not this script:
# the trace is then complete and still reported.  A handler, unlike an
# ignored signal, is not inherited by the program.
trap ': interrupted' INT
trap 'exit 143' TERM

# The child shell writes its pid, then execs valgrind, which keeps the pid:
# that is the %p of the trace we report (forked children get other pids).
bash -c 'echo $$ >"$0"; exec "$@"' "$tmpdir/pid" \
    "$valgrind" -q --tool=memline "--memline-out-file=$tmpdir/trace.%p" \
    "${tool_opts[@]}" "$@"
prog_status=$?

pid=$(cat "$tmpdir/pid" 2>/dev/null)
trace="$tmpdir/trace.$pid"
if [ -z "$pid" ] || [ ! -s "$trace" ]; then
    echo "$me: no trace was written (valgrind exited with status $prog_status)" >&2
    [ "$prog_status" -ne 0 ] && exit "$prog_status"
    exit 1
fi

# Keep first, so that the report names the trace that stays.
if [ -n "$keep_trace" ]; then
    if mv -f "$trace" "$keep_trace"; then
        trace=$keep_trace
        for child in "$tmpdir"/trace.*; do
            [ -e "$child" ] || continue
            mv -f "$child" "$keep_trace.${child##*/trace.}"
        done
    else
        echo "$me: could not keep the trace as $keep_trace" >&2
        keep_failed=1
    fi
fi

"$report" "${report_opts[@]}" "$trace"
report_status=$?

if [ "$report_status" -ne 0 ]; then
    exit "$report_status"
fi
if [ "$prog_status" -eq 0 ] && [ -n "${keep_failed:-}" ]; then
    exit 1
fi
exit "$prog_status"
