#!/bin/sh
# Runs one fuzz target: fuzz/run.sh <target> [seconds, default 180]
# Extra libFuzzer flags go in FUZZ_ARGS, e.g. FUZZ_ARGS="-fork=1 -ignore_crashes=1".
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz --locked`). New inputs go
# to fuzz/corpus/<target> (not committed); fuzz/seeds/<target> is read as extra corpus (not
# fuzz/regressions/: a known, unfixed crash would stop every run at once);
# fuzz/dicts/<target>.dict is used when present. Crashes are written to
# fuzz/artifacts/<target>/. Targets are safe Rust, so no sanitizer: more executions per second.
set -eu
target=${1:?usage: fuzz/run.sh <target> [seconds]}
seconds=${2:-180}
cd "$(dirname "$0")/.."
mkdir -p "fuzz/corpus/$target"
set -- "fuzz/corpus/$target"
[ -d "fuzz/seeds/$target" ] && set -- "$@" "fuzz/seeds/$target"
dict=fuzz/dicts/$target.dict
if [ -f "$dict" ]; then
    set -- "$@" -- -max_total_time="$seconds" -dict="$dict"
else
    set -- "$@" -- -max_total_time="$seconds"
fi
# shellcheck disable=SC2086 # FUZZ_ARGS is a list of flags.
exec cargo +nightly fuzz run --sanitizer none "$target" "$@" ${FUZZ_ARGS:-}
