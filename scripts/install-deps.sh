#!/usr/bin/env bash
# Installs everything dpscan's build, tests and demo need, from Debian 12's archive.
# Idempotent: packages already present are not fetched again; apt-get update runs only
# when something is missing. Needs root (it uses apt-get).
#   scripts/install-deps.sh [--bench]   --bench: also what scripts/bench-reflect.sh compares
#                                       against and plots with (zmap, python3-matplotlib)
#                                       and scripts/udp-peers.sh runs (nmap)
set -euo pipefail

PACKAGES=(
  # build
  g++ meson ninja-build pkg-config
  libdpdk-dev dpdk dpdk-dev libboost-program-options-dev libyaml-cpp-dev libfmt-dev doctest-dev
  # IPv6 hitlists: .gz, .xz and .zst read through Debian's libraries
  zlib1g-dev liblzma-dev libzstd-dev
  # sanitizer and fuzz builds, formatting check
  clang libclang-rt-14-dev clang-format
  # the lab and the tests
  iproute2 iptables ethtool procps bsdextrautils python3 python3-scapy python3-cryptography python3-yaml tshark
  strace masscan ndiff
  # hitlists the tests write in every encoding (gzip and xz are in Debian's base system)
  zstd
  # nmap's UDP payloads (--udp-payload nmap:PORT; data only, without nmap itself)
  nmap-common
  # the lab's UDP services (scripts/lab.sh up starts them in the target namespace only).
  # On a machine with systemd, installing them also enables their own services (snmpd and
  # memcached on 127.0.0.1, chronyd as the host's NTP client: chrony replaces
  # systemd-timesyncd, both provide time-daemon); the lab does not need those running.
  dnsmasq-base chrony snmpd memcached
  # --metrics-listen is checked against a real Prometheus (and its promtool)
  prometheus
  # cluster campaigns and the JetStream results sink; the tests start nats-server (and make
  # a CA and a certificate with openssl for its TLS)
  libnats-dev nats-server openssl
  # the fresh-root check (scripts/fresh-root-check.sh)
  debootstrap git
)
if [[ ${1:-} == --bench ]]; then
  PACKAGES+=(zmap python3-matplotlib nmap)
elif [[ $# -gt 0 ]]; then
  echo "install-deps: unknown argument '$1' (usage: $0 [--bench])" >&2
  exit 2
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi
if [[ $EUID -ne 0 ]]; then
  echo "install-deps: missing packages: ${missing[*]}; run as root (or: sudo $0)" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Several packages are daemons (prometheus, nats-server, snmpd, memcached, chrony) that the
# tests start themselves, inside their namespaces or on 127.0.0.1: keep apt from starting the
# host's own copies while installing (Debian's policy-rc.d, exit 101 = "not now").
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -q || { echo "install-deps: 'apt-get update' failed (see above): is a Debian mirror reachable?" >&2; exit 1; }
apt-get install -y -q --no-install-recommends "${missing[@]}" ||
  { echo "install-deps: 'apt-get install' failed (see above) for: ${missing[*]}" >&2; exit 1; }
