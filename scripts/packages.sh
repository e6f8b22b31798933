#!/usr/bin/env bash
# .deb packages of each daemon for amd64, arm64 and armhf, in dist/, built
# with nfpm (run as a Go tool at a pinned version; nothing prebuilt is fetched).
# The armhf package carries the GOARM=6 build: Raspberry Pi OS's armhf is
# ARMv6, so one package runs on every Pi with a 32-bit OS.
# Usage: scripts/packages.sh [debarch ...]   (default: amd64 arm64 armhf)
set -euo pipefail
cd "$(dirname "$0")/.."
NFPM=${NFPM:-go run github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.48.0}
version=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
# Debian versions must start with a digit.
case $version in [0-9]*) ;; v[0-9]*) version=${version#v} ;; *) version="0.0.0~$version" ;; esac
dist=${DIST:-dist}
arches=("$@")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ ${#arches[@]} -gt 0 ] || arches=(amd64 arm64 armhf)
for a in "${arches[@]}"; do
  case $a in
    amd64) t=linux_amd64 ;; arm64) t=linux_arm64 ;; armhf) t=linux_armv6 ;;
    *) echo "packages: unknown architecture $a" >&2; exit 2 ;;
  esac
  [ -x "$dist/$t/edgeplane-agent" ] || DIST=$dist scripts/cross.sh "$t"
  for n in agent hubd bridge; do
    # nfpm expands variables in some fields only; fill them all in here.
    sed -e "s|\${EP_NAME}|$n|g" -e "s|\${EP_ARCH}|$a|g" -e "s|\${EP_BINDIR}|$dist/$t|g" -e "s|\${EP_VERSION}|$version|g" \
      packaging/nfpm/nfpm.yaml >"$work/nfpm-$n-$a.yaml"
    $NFPM package --config "$work/nfpm-$n-$a.yaml" --packager deb --target "$dist/" >/dev/null
  done
done
ls -1 "$dist"/*.deb
