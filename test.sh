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
        | grep -avE '^\s*$' || true
    [[ ${PIPESTATUS[0]} == 0 ]] || status=1
done

# vstest's console logger ends each project with "Total tests: N", "Passed: N" and,
# when any failed, "Failed: N" (-a: test output may hold binary bytes).
sum() { grep -aoE "^ +$1: +[0-9]+" "$log" | awk '{ n += $2 } END { print n + 0 }'; }
passed=$(sum Passed)
failed=$(sum Failed)
summaries=$(grep -ac '^Total tests:' "$log")
if [[ $summaries -lt 2 ]]; then
    echo "test.sh: a test project did not run to its summary" >&2
    failed=$((failed + 1))
fi
# The failures again, just above the summary, so that a log's tail names them.
if grep -aqE '^\s+Failed [A-Za-z_]' "$log"; then
    echo "== failed tests"
    grep -aA8 -E '^\s+Failed [A-Za-z_]' "$log" | grep -avE '^\s*$' | cut -c1-300
fi
echo "tests: ${passed:-0} passed, ${failed:-0} failed"
[[ $status == 0 && ${failed:-0} == 0 ]]
