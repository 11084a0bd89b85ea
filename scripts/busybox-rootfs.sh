#!/usr/bin/env bash
# Makes a root filesystem directory from the host's static busybox: the default image
# of the quick start and of the tests. Usage: scripts/busybox-rootfs.sh DIR
set -euo pipefail
dir=${1:?usage: $0 DIR}
busybox=${BUSYBOX:-/bin/busybox}
if [[ ! -x $busybox ]] || ! file -L "$busybox" 2>/dev/null | grep -q 'statically linked'; then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        apt-get install -y -q busybox-static >/dev/null
    fi
fi
[[ -x $busybox ]] || { echo "$0: $busybox not found: install Debian's busybox-static" >&2; exit 1; }

mkdir -p "$(dirname "$dir")"
tmp=$(mktemp -d "${dir%/}.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,home,var,run}
chmod 1777 "$tmp/tmp"
chmod 700 "$tmp/root"
cp "$busybox" "$tmp/bin/busybox"
for applet in $("$tmp/bin/busybox" --list); do
    [[ -e $tmp/bin/$applet ]] || ln -s busybox "$tmp/bin/$applet"
done
cat > "$tmp/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat > "$tmp/etc/group" <<'GROUP'
root:x:0:
daemon:x:1:
bin:x:2:
tty:x:5:
wheel:x:10:root,user
user:x:1000:
nogroup:x:65534:
GROUP
mkdir -p "$tmp/home/user"
echo "skiff busybox rootfs" > "$tmp/etc/issue"
chmod 755 "$tmp"
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
