#!/bin/sh
# shellcheck shell=bash
# run.sh -- memline's end-to-end tests: the real tool under the real
# Valgrind (staged in build/lib/valgrind) on the programs in samples/,
# with exact numbers.  `make e2e` (and `make check`) run it after `make all`.
#
# usage: sh tests/e2e/run.sh [-j N] [-k] [TEST...]
#   -j N   run N tests at a time (default: 2, or $E2E_JOBS)
#   -k     keep the work directory (printed at the end) for inspection
#   TEST   run only these tests (names as printed, e.g. grow_lines)
#
# Prints one line per test as it finishes, `PASS name` or
# `FAIL name: why`, then exactly `N passed, N failed`; exits 1 when any
# test failed, 2 when the build is incomplete.  $E2E_SKIP may name tests
# not to run (known failures waiting for a fix): each prints `SKIP name`
# and is counted neither way.  The tests are in cases.sh, the helpers in
# lib.sh.

# Bash is needed; `make` calls us with sh.
if [ -z "${BASH_VERSION:-}" ]; then
    exec bash "$0" "$@"
fi
set -u

E2E_DIR=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$E2E_DIR/../.." && pwd)
export ROOT
. "$E2E_DIR/lib.sh"
. "$E2E_DIR/cases.sh"

# run_one NAME: runs test NAME in $E2E_WORK/NAME, prints its line, records
# the result in $E2E_WORK/NAME/.result.
run_one() {
    local name=$1 why
    T="$E2E_WORK/$name"
    rm -rf "$T" && mkdir -p "$T"
    if ! declare -F "t_$name" >/dev/null; then
        fail "no such test"
    else
        (cd "$T" && "t_$name") >"$T/.log" 2>&1
    fi
    if [ -s "$T/.failures" ]; then
        why=$(head -n 1 "$T/.failures")
        local more
        more=$(($(wc -l <"$T/.failures") - 1))
        [ "$more" -gt 0 ] && why="$why (+$more more: see $T/.failures)"
        echo FAIL >"$T/.result"
        printf 'FAIL %s: %s\n' "$name" "$why"
    else
        echo PASS >"$T/.result"
        printf 'PASS %s\n' "$name"
    fi
}

if [ "${1:-}" = --one ]; then
    run_one "$2"
    exit 0
fi

jobs=${E2E_JOBS:-2}
keep=0
while [ $# -gt 0 ]; do
    case "$1" in
        -j) jobs=$2; shift 2 ;;
        -j*) jobs=${1#-j}; shift ;;
        -k) keep=1; shift ;;
        -h|--help) sed -n '3,/^$/{s/^# \{0,1\}//;p;}' "$0"; exit 0 ;;
        -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
        *) break ;;
    esac
done
if [ $# -gt 0 ]; then
    requested="$*"
else
    requested=$TESTS
fi
selected="" parallel="" serial=""
for name in $requested; do
    case " ${E2E_SKIP:-} " in
        *" $name "*) echo "SKIP $name"; continue ;;
    esac
    selected="$selected $name"
    case " $(echo $SERIAL_TESTS) " in
        *" $name "*) serial="$serial $name" ;;
        *) parallel="$parallel $name" ;;
    esac
done

missing=""
compgen -G "$STAGE/memline-*" >/dev/null || missing=" build/lib/valgrind/memline-*"
compgen -G "$STAGE/vgpreload_memline-*.so" >/dev/null ||
    missing="$missing build/lib/valgrind/vgpreload_memline-*.so"
for f in "$REPORT" "$MEMLINE" "$SAMPLES/grow" "$SAMPLES/cxx" "$SAMPLES/churn"; do
    [ -e "$f" ] || missing="$missing ${f#"$ROOT"/}"
done
if [ -n "$missing" ]; then
    echo "e2e: not built:$missing (run make all)" >&2
    exit 2
fi
command -v "$VALGRIND" >/dev/null || { echo "e2e: valgrind not found" >&2; exit 2; }

E2E_WORK=$(mktemp -d "${TMPDIR:-/tmp}/memline-e2e.XXXXXX")
export E2E_WORK

# shellcheck disable=SC2086  # $parallel is a list of names
[ -z "$parallel" ] ||
    printf '%s\n' $parallel | xargs -P "$jobs" -I{} bash "$E2E_DIR/run.sh" --one {}
# The tests that change a system setting for a while run alone.
for name in $serial; do
    bash "$E2E_DIR/run.sh" --one "$name"
done

passed=0
failed=0
for name in $selected; do
    if [ "$(cat "$E2E_WORK/$name/.result" 2>/dev/null)" = PASS ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
    fi
done
if [ "$keep" = 1 ] || [ "$failed" -gt 0 ]; then
    echo "e2e: work directory kept: $E2E_WORK"
else
    rm -rf "$E2E_WORK"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
