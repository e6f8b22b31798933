#!/usr/bin/env bash
# Makes sure the programs the test suite starts are installed: redis-server,
# mosquitto, chromium (dashboard tests), node/npm, qemu-user-static (cross
# builds run under emulation) and systemd-analyze (unit checks). As root it installs what
# is missing with apt-get; otherwise it prints the exact command and fails.
set -euo pipefail

declare -A pkg=( [redis-server]=redis-server [mosquitto]=mosquitto [chromium]=chromium [node]=nodejs [npm]=npm
  [qemu-aarch64-static]=qemu-user-static [qemu-arm-static]=qemu-user-static [dpkg-deb]=dpkg [systemd-analyze]=systemd )
missing=()
for cmd in redis-server mosquitto chromium node npm qemu-aarch64-static qemu-arm-static dpkg-deb systemd-analyze; do
  if ! command -v "$cmd" >/dev/null 2>&1; then
    case " ${missing[*]} " in *" ${pkg[$cmd]} "*) ;; *) missing+=("${pkg[$cmd]}") ;; esac
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # The packaged services are not needed: tests start their own on free ports.
  exit 0
fi
echo "missing programs for the tests; install them with:" >&2
echo "  sudo apt-get install -y ${missing[*]}" >&2
exit 1
