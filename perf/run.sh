#!/usr/bin/env bash
# Builds the cold-start perf harness and runs it.
#   perf/run.sh [--quick] [--runs N] [--warmups N] [--timeout S] [--scenario NAME] [--skiff PATH] [--user NAME] [--out DIR]
# --user NAME measures everything (skiff and peers alike) as that unprivileged user: the whole harness
# is re-run under setpriv, so no per-run wrapper lands in the timings. Other options: see --help.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin="$repo/perf/Skiff.Perf/bin/run"

user=""
out=""
args=()
while (($#)); do
    case "$1" in
        --user) [[ $# -ge 2 ]] || { echo "perf/run.sh: --user needs a name" >&2; exit 2; }; user=$2; shift 2 ;;
        --out) [[ $# -ge 2 ]] || { echo "perf/run.sh: --out needs a directory" >&2; exit 2; }; out=$2; shift 2 ;;
        --skiff) [[ $# -ge 2 ]] || { echo "perf/run.sh: --skiff needs a path" >&2; exit 2; }
                 args+=(--skiff "$(realpath -m "$2")"); shift 2 ;;
        *) args+=("$1"); shift ;;
    esac
done

# Quiet unless the build fails; the report is the output.
if ! log=$(dotnet build "$repo/perf/Skiff.Perf" -c Release -o "$bin" --nologo -v quiet 2>&1); then
    echo "$log" >&2
    exit 1
fi

out=${out:-"$repo/perf/results/$(date -u +%Y%m%dT%H%M%SZ)"}
out=$(realpath -m "$out")
harness=("$bin/Skiff.Perf" --repo "$repo" --out "$out" "${args[@]}")

if [[ -z "$user" ]]; then
    exec "${harness[@]}"
fi

# setpriv execs in place (runuser would keep a PAM session parent around); --reset-env gives the
# user's HOME, USER and a plain PATH, as a login would. The report directory is made for the user.
[[ $(id -u) -eq 0 ]] || { echo "perf/run.sh: --user needs root to switch users" >&2; exit 2; }
id -u "$user" >/dev/null || { echo "perf/run.sh: no such user: $user" >&2; exit 2; }
mkdir -p "$out"
chown "$user:" "$out"
exec setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups --reset-env -- "${harness[@]}"
