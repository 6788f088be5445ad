#!/bin/sh
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Builds the core.split fuzz targets with clang in a build directory of
# their own and runs each for a while.
#
#   tests/fuzz/run-fuzzers.sh [SECONDS] [TARGET...]
#
# SECONDS per target (default 30); TARGETs among csv xml jsonl json-array
# workflow cron
# (default: all). FUZZ_BUILDDIR picks the build directory (default
# $TMPDIR/sluice-fuzz-build); new corpus entries are kept under it, the
# seeds in tests/fuzz/corpus are only read. Crash reproducers land in the
# current directory, as libFuzzer does. Exits non-zero when a target fails.
set -eu

seconds=${1:-30}
[ $# -gt 0 ] && shift
targets=${*:-csv xml jsonl json-array workflow cron stored-state}

srcdir=$(cd "$(dirname "$0")/../.." && pwd)
fuzzdir=$srcdir/tests/fuzz
builddir=${FUZZ_BUILDDIR:-${TMPDIR:-/tmp}/sluice-fuzz-build}

if ! command -v clang >/dev/null 2>&1; then
  echo "run-fuzzers.sh: clang is needed (apt-get install clang libclang-rt-dev)" >&2
  exit 1
fi

if [ ! -f "$builddir/build.ninja" ]; then
  CC=clang meson setup "$builddir" "$srcdir" -Dfuzzing=true -Dbuildtype=debugoptimized
fi

binary () {
  case $1 in
    workflow) echo fuzz-workflow ;;
    cron) echo fuzz-cron ;;
    stored-state) echo fuzz-stored-state ;;
    *) echo "fuzz-split-$1" ;;
  esac
}

for target in $targets; do
  meson compile -C "$builddir" "$(binary "$target")"
done

status=0
for target in $targets; do
  case $target in
    csv) dict=csv.dict ;;
    xml) dict=xml.dict ;;
    cron) dict=cron.dict ;;
    *) dict=json.dict ;;
  esac
  corpus=$builddir/fuzz-corpus/$target
  mkdir -p "$corpus"
  echo "== $(binary "$target") for ${seconds}s"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  LSAN_OPTIONS=suppressions=$srcdir/tests/lsan.supp \
  G_DEBUG=fatal-criticals \
    "$builddir/tests/fuzz/$(binary "$target")" \
      -max_total_time="$seconds" -print_final_stats=1 -max_len=80000 -timeout=20 \
      -dict="$fuzzdir/$dict" "$corpus" "$fuzzdir/corpus/$target" || status=1
done
exit $status
