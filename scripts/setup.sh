#!/usr/bin/env bash
# Installs what sluice needs to build, test and run its demo, from Debian's
# archive only; does nothing for packages already installed.
set -euo pipefail

packages=(
  build-essential cmake pkg-config ccache git
  libcaf-dev libboost1.81-dev capnproto libcapnp-dev
  libmariadb-dev mariadb-server catch2 libbenchmark-dev libtomlplusplus-dev
  libfmt-dev libspdlog-dev libcli11-dev libre2-dev zlib1g-dev nlohmann-json3-dev clang-format
  libssl-dev openssl
  libzstd-dev
  libxxhash-dev robin-map-dev libsqlite3-dev sqlite3
)
if [[ "${SLUICE_SETUP_FUZZ:-0}" == 1 ]]; then
  packages+=(clang libclang-rt-14-dev)
fi
if [[ "${SLUICE_SETUP_BENCH:-0}" == 1 ]]; then
  packages+=(rsyslog time util-linux)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} > 0)); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  if [[ $(id -u) != 0 ]]; then sudo="sudo"; fi
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi
