#!/usr/bin/env bash
# Runs every test: unit tests, then integration tests that start real containers as
# root and (through runuser) as an unprivileged user. Ends with one line:
#   tests: N passed, M failed
set -uo pipefail
cd "$(dirname "$0")"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
if [[ $(id -u) == 0 ]]; then
    tests/setup.sh || { echo "test.sh: tests/setup.sh failed" >&2; echo "tests: 0 passed, 1 failed"; exit 1; }
fi
if ! ./build.sh; then
    echo "tests: 0 passed, 1 failed"
    exit 1
fi

status=0
for project in tests/Skiff.Tests tests/Skiff.IntegrationTests; do
    echo "== $project"
    dotnet test "$project" --nologo -v quiet --logger "console;verbosity=normal" 2>&1 | tee -a "$log" \
        | grep -vE '^\s*$' || true
    [[ ${PIPESTATUS[0]} == 0 ]] || status=1
done

# vstest prints one summary per project: "Passed!  - Failed: 0, Passed: 12, Skipped: 0, ..."
sum() { grep -oE "$1: +[0-9]+" "$log" | awk '{ n += $2 } END { print n + 0 }'; }
passed=$(sum Passed)
failed=$(sum Failed)
summaries=$(grep -cE '^(Passed|Failed)!' "$log")
if [[ $summaries -lt 2 ]]; then
    echo "test.sh: a test project did not run to its summary" >&2
    failed=$((${failed:-0} + 1))
fi
echo "tests: ${passed:-0} passed, ${failed:-0} failed"
[[ $status == 0 && ${failed:-0} == 0 ]]
