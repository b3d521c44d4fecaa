#!/usr/bin/env bash
# Installs the Debian packages the test suite runs for real (registry, runtimes, image tools).
# Idempotent: does nothing when everything is present, and refreshes the apt index only when
# something has to be installed.
set -euo pipefail

# uidmap (newuidmap, newgidmap) and fuse-overlayfs are the rootless tool kit of this host kind, for
# the tests that run workers as an ordinary user (iii itself needs neither on kernels >= 5.11).
# bsdutils has util-linux's `script`, which puts the CLI on a pseudo-terminal in terminal tests.
# debootstrap makes the Debian stand-ins for the Python and Rust templates' public base images.
# podman runs what `iii export kubernetes` writes (`podman kube play`, with runc).
# tini has tini-static, which iii runs as PID 1 of each worker's sandbox (signals, zombies).
PACKAGES=(docker-registry runc crun skopeo umoci buildah busybox-static openssl uidmap fuse-overlayfs bsdutils debootstrap podman attr tini)

missing=()
for pkg in "${PACKAGES[@]}"; do
  # dpkg-query prints "install ok installed" only for a fully installed package.
  status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
  if [[ "$status" != "install ok installed" ]]; then
    missing+=("$pkg")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "test-env: all test packages present (${PACKAGES[*]})"
  exit 0
fi

if [[ "$(id -u)" -ne 0 ]]; then
  echo "test-env: missing packages: ${missing[*]}" >&2
  echo "test-env: run as root (or with sudo): apt-get install -y ${missing[*]}" >&2
  exit 1
fi

echo "test-env: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q "${missing[@]}"
echo "test-env: installed ${missing[*]}"
