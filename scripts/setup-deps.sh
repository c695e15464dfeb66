#!/bin/sh
# setup-deps.sh -- make sure the Debian packages memline builds and tests
# with are installed.
#
#   sh scripts/setup-deps.sh        (make deps; make check runs it first)
#
# Checks each package with dpkg-query.  Quiet when all are present.  When
# some are missing: as root, runs apt-get update and installs them
# (non-interactive, no recommends); otherwise prints the exact command to
# run and exits 1.  Exits 1 as well when the install fails.
#
#   valgrind       the core memline's tool runs in; also Massif, Memcheck
#                  and nulgrind for the e2e tests and the benchmark
#   libxml2-dev    memline-report's XML output
#   libcmocka-dev  unit tests
#   libzstd-dev    memline-report reads zstd-compressed traces
#   zstd           the compressor the tool streams its trace through
#   pkg-config     finds valgrind's and libxml2's flags
#   g++            the C++ sample (cc comes with it)
#   make           the build
set -eu

PACKAGES="valgrind libxml2-dev libcmocka-dev libzstd-dev zstd pkg-config g++ make"

missing=""
for p in $PACKAGES; do
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
    case "$status" in
        ii*) ;;
        *) missing="$missing $p" ;;
    esac
done
missing=${missing# }

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "setup-deps: missing Debian packages: $missing" >&2
    echo "setup-deps: install them with:" >&2
    echo "sudo apt-get install -y --no-install-recommends $missing"
    exit 1
fi

echo "setup-deps: installing $missing" >&2
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086  # $missing is a list of package names
if ! apt-get update -q >&2 ||
   ! apt-get install -y -q --no-install-recommends $missing >&2; then
    echo "setup-deps: apt-get failed to install: $missing" >&2
    exit 1
fi
