#!/usr/bin/env bash
# Prepares a machine for the test suite (as root; idempotent): Debian packages, and the
# unprivileged users the rootless tests run as.
#   skiff-test    has subordinate ranges in /etc/subuid and /etc/subgid
#   skiff-nosub   has none (single mapping, with a warning)
set -euo pipefail
[[ $(id -u) == 0 ]] || { echo "tests/setup.sh: run as root" >&2; exit 1; }

pkgs=(busybox-static uidmap util-linux bsdutils file procps skopeo docker-registry apache2-utils openssl podman containerd conmon catatonit netavark iptables slirp4netns passt fuse-overlayfs)
need=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || need+=("$p")
done
if ((${#need[@]})); then
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
fi

add_user() {
    id "$1" >/dev/null 2>&1 || useradd -m -s /bin/bash "$1"
}
add_user skiff-test
grep -q '^skiff-test:' /etc/subuid || usermod --add-subuids 300000-365535 skiff-test
grep -q '^skiff-test:' /etc/subgid || usermod --add-subgids 300000-365535 skiff-test
add_user skiff-nosub
sed -i '/^skiff-nosub:/d' /etc/subuid /etc/subgid
# A test may reach the suite's build as these users: /tmp is where it copies it.
chmod 1777 /tmp
# Rootless private networking (pasta, slirp4netns) opens /dev/net/tun as the user: distros ship it 0666.
if [[ -c /dev/net/tun ]]; then chmod 0666 /dev/net/tun; fi
