#!/usr/bin/env bash
# The perf suite: skiff side by side with the namespace floor and every peer installed here
# (bwrap, crun, runc, podman, skopeo+umoci, tar), then a report in perf/results/<UTC timestamp>/.
#
#   perf/run.sh [--quick] [--scenario NAME]... [--check] [--baseline] [--user NAME] [--all-peers]
#               [--runs N] [--warmups N] [--timeout S] [--skiff PATH] [--out DIR]
#   perf/run.sh --list                 the scenarios, and which this skiff can do
#   perf/run.sh --report-only DIR      rebuild DIR's report from its raw/ parts (add --check to check it)
#
# --user NAME  measure as that unprivileged user (what skiff is for): the harness itself is re-run under
#              setpriv, so no per-run wrapper lands in the timings. Needs root, which the OCI runtime
#              scenario (crun, runc, skiff-runc: rootful) gets in a phase of its own before.
# --check      after the run, compare its p50 ratios (never absolute times) with perf/results/baseline.json
#              and name every scenario more than 20% worse; exit 3 then. Not run by CI: timings there are noise.
# --baseline   make this run (a full one) the new perf/results/baseline.json.
# Into perf/results/, every run but a --quick one rewrites LATEST.md: each scenario from the newest run that measured it.
# --quick      few runs per system: a smoke test of the harness, not figures to quote.
# As root on a hybrid-cgroup host, each phase runs in a private mount namespace with a pure cgroup2 at
# /sys/fs/cgroup, which crun (alone and under podman) needs (PERF.md); the report says so.
# Without --skiff, a copy of out/skiff taken at the start is measured (and out/skiff-runc as its link).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin="$repo/perf/Skiff.Perf/bin/run"

user="" out="" report_only="" list=0
measure_args=() report_args=()
while (($#)); do
    case "$1" in
        --user) [[ $# -ge 2 ]] || { echo "perf/run.sh: --user needs a name" >&2; exit 2; }; user=$2; shift 2 ;;
        --out) [[ $# -ge 2 ]] || { echo "perf/run.sh: --out needs a directory" >&2; exit 2; }; out=$2; shift 2 ;;
        --skiff) [[ $# -ge 2 ]] || { echo "perf/run.sh: --skiff needs a path" >&2; exit 2; }
                 measure_args+=(--skiff "$(realpath -m "$2")"); shift 2 ;;
        --report-only) [[ $# -ge 2 ]] || { echo "perf/run.sh: --report-only needs a directory" >&2; exit 2; }
                 report_only=$(realpath -m "$2"); shift 2 ;;
        --check|--baseline) report_args+=("$1"); shift ;;
        --list) list=1; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        --runs|--warmups|--timeout|--scenario)
            [[ $# -ge 2 ]] || { echo "perf/run.sh: $1 needs a value" >&2; exit 2; }
            measure_args+=("$1" "$2"); shift 2 ;;
        *) measure_args+=("$1"); shift ;;
    esac
done

# Quiet unless the build fails; the report is the output.
if ! log=$(dotnet build "$repo/perf/Skiff.Perf" -c Release -o "$bin" --nologo -v quiet 2>&1); then
    echo "$log" >&2
    exit 1
fi
harness="$bin/Skiff.Perf"

if ((list)); then
    exec "$harness" list "${measure_args[@]}"
fi
if [[ -n "$report_only" ]]; then
    exec "$harness" report --repo "$repo" --out "$report_only" "${report_args[@]}"
fi

# Measure a copy of out/skiff taken now: others rebuild out/ while a run goes on, and a binary that
# changes half-way through would make every ratio meaningless.
skiff_given=0
for a in "${measure_args[@]}"; do [[ "$a" != --skiff ]] || skiff_given=1; done
if ((!skiff_given)) && [[ -x "$repo/out/skiff" ]]; then
    snapshot=$(mktemp -d /tmp/skiff-perf-bin.XXXXXX)
    trap 'rm -rf "$snapshot"' EXIT
    cp "$repo/out/skiff" "$snapshot/skiff"
    ln -s skiff "$snapshot/skiff-runc"
    chmod 755 "$snapshot"
    measure_args+=(--skiff "$snapshot/skiff")
fi

out=${out:-"$repo/perf/results/$(date -u +%Y%m%dT%H%M%SZ)"}
out=$(realpath -m "$out")
mkdir -p "$out/raw"

# The private mount namespace for crun: only as root, only on a host whose /sys/fs/cgroup is not cgroup2 already.
in_cgroup2_ns=()
if [[ $(id -u) -eq 0 && $(stat -fc %T /sys/fs/cgroup) != cgroup2fs ]]; then
    in_cgroup2_ns=(unshare --mount --propagation private -- sh -c
        'umount -R /sys/fs/cgroup 2>/dev/null || umount -l /sys/fs/cgroup; mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec "$@"' sh)
fi

status=0
if [[ $(id -u) -eq 0 ]]; then
    "${in_cgroup2_ns[@]}" "$harness" measure --phase root --repo "$repo" --out "$out" "${measure_args[@]}" || status=$?
    if [[ -n "$user" ]]; then
        id -u "$user" >/dev/null || { echo "perf/run.sh: no such user: $user" >&2; exit 2; }
        # setpriv execs in place (runuser would keep a PAM session parent around); --reset-env gives the
        # user's HOME, USER and a plain PATH, as a login would, and XDG_RUNTIME_DIR is what pam_systemd would
        # give (podman and skopeo keep their run state there). The user writes its parts into raw/.
        uid=$(id -u "$user")
        install -d -m 700 -o "$uid" -g "$(id -g "$user")" "/run/user/$uid"
        chown "$user:" "$out/raw"
        "${in_cgroup2_ns[@]}" setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups --reset-env -- \
            env XDG_RUNTIME_DIR="/run/user/$uid" \
            "$harness" measure --phase rootless --repo "$repo" --out "$out" "${measure_args[@]}" || status=$?
    else
        "${in_cgroup2_ns[@]}" "$harness" measure --phase rootless --repo "$repo" --out "$out" "${measure_args[@]}" || status=$?
    fi
else
    [[ -z "$user" ]] || { echo "perf/run.sh: --user needs root to switch users" >&2; exit 2; }
    "$harness" measure --phase all --repo "$repo" --out "$out" "${measure_args[@]}" || status=$?
fi
((status == 0)) || { echo "perf/run.sh: measuring failed (exit $status); the parts written so far are in $out/raw" >&2; exit "$status"; }

"$harness" report --repo "$repo" --out "$out" "${report_args[@]}" || status=$?
# The report belongs with the checkout, not with the user who measured.
[[ $(id -u) -ne 0 ]] || chown -R "$(stat -c %u:%g "$repo")" "$out"
exit "$status"
