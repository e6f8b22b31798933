#!/usr/bin/env bash
# Static builds of the three daemons for every supported target, in dist/<target>/:
#   linux_amd64, linux_arm64, linux_armv7 (GOARM=7), linux_armv6 (GOARM=6: Pi Zero/1, Raspberry Pi OS armhf).
# Usage: scripts/cross.sh [target ...]   (default: all); VERSION and COMMIT are stamped.
set -euo pipefail
cd "$(dirname "$0")/.."
version=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
commit=${COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
ldflags="-s -w -X github.com/edgeplane/edgeplane/internal/version.Version=$version -X github.com/edgeplane/edgeplane/internal/version.Commit=$commit"
dist=${DIST:-dist}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(linux_amd64 linux_arm64 linux_armv7 linux_armv6)
for t in "${targets[@]}"; do
  goarm=
  case $t in
    linux_amd64) goarch=amd64 ;;
    linux_arm64) goarch=arm64 ;;
    linux_armv7) goarch=arm goarm=7 ;;
    linux_armv6) goarch=arm goarm=6 ;;
    *) echo "cross: unknown target $t" >&2; exit 2 ;;
  esac
  mkdir -p "$dist/$t"
  echo "cross: $t"
  CGO_ENABLED=0 GOOS=linux GOARCH=$goarch GOARM=$goarm go build -trimpath -ldflags "$ldflags" -o "$dist/$t/" \
    ./agent/cmd/edgeplane-agent ./hubd/cmd/edgeplane-hubd ./bridge/cmd/edgeplane-bridge
done
