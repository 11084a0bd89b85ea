#!/usr/bin/env bash
# Builds skiff: native/ (the C shim) then one Native AOT executable, out/skiff, with
# out/skiff-runc linked to it, and out/rootfs/busybox, the default root filesystem.
# As root, installs missing Debian prerequisites first.
set -euo pipefail
cd "$(dirname "$0")"

missing=()
command -v cc >/dev/null || missing+=(gcc libc6-dev)
command -v make >/dev/null || missing+=(make)
command -v file >/dev/null || missing+=(file)
[[ -f /usr/include/zlib.h ]] || missing+=(zlib1g-dev)
[[ -x /bin/busybox ]] || missing+=(busybox-static)
[[ -x /usr/bin/newuidmap ]] || missing+=(uidmap)
# The default private network of `run` needs pasta (or slirp4netns).
[[ -x /usr/bin/pasta || -x /usr/bin/slirp4netns ]] || missing+=(passt)
if ((${#missing[@]})); then
    if [[ $(id -u) == 0 ]]; then
        echo "build.sh: installing ${missing[*]}" >&2
        (apt-get install -y -q "${missing[@]}" >/dev/null 2>&1) || {
            apt-get update -q >/dev/null && apt-get install -y -q "${missing[@]}" >/dev/null
        }
    else
        echo "build.sh: missing ${missing[*]}: install them (sudo apt-get install ${missing[*]})" >&2
        exit 1
    fi
fi
command -v dotnet >/dev/null || { echo "build.sh: the .NET 10 SDK (dotnet) is required" >&2; exit 1; }

make -s -C native
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
dotnet publish src/Skiff.Cli -c Release -o out/.publish --nologo -v quiet \
    -p:SourceRevisionId="$commit" -clp:ErrorsOnly
# rename into place: a running keeper (or container) keeps the old file busy
install -m 755 out/.publish/skiff out/skiff.new && mv -f out/skiff.new out/skiff
ln -sf skiff out/skiff-runc
[[ -d out/rootfs/busybox ]] || scripts/busybox-rootfs.sh out/rootfs/busybox
echo "built out/skiff ($(du -h out/skiff | cut -f1)), default rootfs out/rootfs/busybox" >&2
