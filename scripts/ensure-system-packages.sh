#!/usr/bin/env bash
# Installs the Debian packages the test suite needs when they are missing (fresh machine, CI).
# The namespace tests need iproute2, ping, tcpdump and iperf3; the interop tests need strongSwan
# and tshark. Runs apt-get only when something is missing, so a warm machine pays nothing.
set -euo pipefail
need=()
have() { command -v "$1" >/dev/null 2>&1; }
have ip || need+=(iproute2)
have ping || need+=(iputils-ping)
have tcpdump || need+=(tcpdump)
have iperf3 || need+=(iperf3)
have tshark || need+=(tshark)
have swanctl || need+=(strongswan-swanctl)
[ -x /usr/lib/ipsec/charon ] || need+=(strongswan-charon)
[ -e /usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so ] || need+=(libcharon-extra-plugins)
# The interop matrix needs GCM, ECP and SHA-384 (openssl, gcm: standard plugins) and
# ChaCha20-Poly1305 and Curve25519 (chapoly, curve25519: extra plugins).
[ -e /usr/lib/ipsec/plugins/libstrongswan-openssl.so ] || need+=(libstrongswan-standard-plugins)
[ -e /usr/lib/ipsec/plugins/libstrongswan-chapoly.so ] || need+=(libstrongswan-extra-plugins)
have openssl || need+=(openssl)
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" -ne 0 ]; then
  echo "tsipsec tests need these Debian packages: ${need[*]} (run as root so they can be installed)" >&2
  exit 1
fi
echo "installing test dependencies: ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
