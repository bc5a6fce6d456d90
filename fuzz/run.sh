#!/bin/sh
# Fuzz the config.json parser/validator: fuzz/run.sh [seconds] (default 600).
# Configures a clang build dir build-fuzz (once), builds fuzz_spec, runs it on
# a copy of fuzz/corpus/spec, prints the execution count; exit 1 on a crash.
set -eu

secs=${1:-600}
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build-fuzz"
work="$build/fuzz-run"

if [ ! -f "$build/build.ninja" ]; then
	CC=clang meson setup "$build" "$root" -Dfuzz=true -Dtests=false
fi
ninja -C "$build" fuzz/fuzz_spec

rm -rf "$work"
mkdir -p "$work/corpus" "$work/artifacts"
cp "$root"/fuzz/corpus/spec/* "$work/corpus/"

set +e
"$build/fuzz/fuzz_spec" -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
	-dict="$root/fuzz/spec.dict" -artifact_prefix="$work/artifacts/" "$work/corpus" >"$work/fuzz.log" 2>&1
rc=$?
set -e

execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log" | tail -n 1)
echo "executions: ${execs:-unknown} in ${secs}s (log: $work/fuzz.log)"
if [ "$rc" -ne 0 ] || [ -n "$(ls -A "$work/artifacts")" ]; then
	tail -n 40 "$work/fuzz.log"
	echo "CRASH found (exit $rc): reproducer in $work/artifacts/"
	exit 1
fi
echo "no crash found"
