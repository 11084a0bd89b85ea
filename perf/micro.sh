#!/usr/bin/env bash
# Micro-benchmarks of skiff's hot-path code (BenchmarkDotNet, [MemoryDiagnoser], in-process), and the
# EventPipe runtime-counters collector for a long-running skiff process.
#
#   perf/micro.sh [--quick] [--filter PATTERN] [--out DIR]
#       --quick   BenchmarkDotNet's ShortRun job (3 warm-ups, 3 iterations): about a minute, for a smoke test
#       --filter  only the benchmark classes whose name contains PATTERN (CommandLineParsing, LaunchPlans,
#                 OverlayOptions, SeccompCompilation, DockerDefaultSeccomp, LaunchRecordLoading, DigestVerification, TarHeaders)
#       writes DIR (default perf/results/micro/<UTC timestamp>/)/report.md: one table per class
#   perf/micro.sh --counters PID [--seconds N]
#       GC heap size, allocation rate, gen 0/1/2 collections and working set of a running .NET process
#       (framework-dependent: the Native AOT skiff is built without EventSource). For `skiff serve`.
#   perf/micro.sh --counters-demo [--seconds N]
#       the same against a small allocating child of the collector, to show the collector works
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin="$repo/perf/Skiff.Perf.Micro/bin/run"
quick="" filter="" out="" counters="" seconds=10

while (($#)); do
    case "$1" in
        --quick) quick=--quick; shift ;;
        --filter) filter=${2:?--filter needs a pattern}; shift 2 ;;
        --out) out=${2:?--out needs a directory}; shift 2 ;;
        --counters) counters=${2:?--counters needs a pid}; shift 2 ;;
        --counters-demo) counters=demo; shift ;;
        --seconds) seconds=${2:?--seconds needs a number}; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "perf/micro.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

if ! log=$(dotnet build "$repo/perf/Skiff.Perf.Micro" -c Release -o "$bin" --nologo -v quiet 2>&1); then
    echo "$log" >&2
    exit 1
fi
micro="$bin/Skiff.Perf.Micro"

if [[ "$counters" == demo ]]; then
    exec "$micro" counters --demo --seconds "$seconds"
elif [[ -n "$counters" ]]; then
    exec "$micro" counters --pid "$counters" --seconds "$seconds"
fi

stamp=$(date -u +%Y%m%dT%H%M%SZ)
out=$(realpath -m "${out:-$repo/perf/results/micro/$stamp}")
artifacts=$(mktemp -d)
trap 'rm -rf "$artifacts"' EXIT
status=0
"$micro" bench --artifacts "$artifacts" $quick ${filter:+--filter "$filter"} >"$artifacts/console.log" 2>&1 || status=$?

mkdir -p "$out"
{
    echo "# skiff micro-benchmarks, $stamp"
    echo
    echo "Commit $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo none); $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), kernel $(uname -r)."
    job="default job, at most 30 iterations"
    [[ -z "$quick" ]] || job="ShortRun job (--quick: a smoke test, wide error bars)"
    echo "BenchmarkDotNet, in-process (JIT; skiff itself ships Native AOT, so read these as relative costs and allocations),"
    echo "$job. Allocated = managed bytes per operation."
    for report in "$artifacts"/results/*-report-github.md; do
        [[ -e "$report" ]] || continue
        name=$(basename "$report" -report-github.md)
        echo
        echo "## ${name#Skiff.Perf.Micro.}"
        echo
        # The environment block is the same for every class; keep the table.
        sed -n '/^|/p' "$report"
    done
} >"$out/report.md"
if ((status != 0)); then
    tail -40 "$artifacts/console.log" >&2
    echo "perf/micro.sh: BenchmarkDotNet failed (exit $status); partial results in $out/report.md" >&2
fi
cat "$out/report.md"
exit "$status"
