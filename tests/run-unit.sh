#!/bin/sh
# run-unit.sh -- runs the cmocka unit test binaries given as arguments,
# prints each one's output, and ends with one line "N passed, N failed"
# counting cmocka tests (from the "[  PASSED  ] N test(s)." and
# "[  FAILED  ] N test(s)" lines).  A binary that exits non-zero without
# reporting a failed test (crash, abort, missing binary) counts as one
# failed test.  Exit status: 0 when nothing failed, 1 otherwise.
#
#   sh tests/run-unit.sh build/tests/test_varint build/tests/test_model ...

passed=0
failed=0
for t in "$@"; do
    echo "== $t"
    out=$("$t" 2>&1)
    rc=$?
    printf '%s\n' "$out"
    p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9][0-9]*\) test.*/\1/p' | tail -n 1)
    f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9][0-9]*\) test.*/\1/p' | tail -n 1)
    p=${p:-0}
    f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        echo "!! $t exited with status $rc"
        f=1
    fi
    passed=$((passed + p))
    failed=$((failed + f))
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
