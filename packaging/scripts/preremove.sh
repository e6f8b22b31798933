#!/bin/sh
set -e
# dpkg names the package being configured; the three packages share these scripts.
NAME=${DPKG_MAINTSCRIPT_PACKAGE#edgeplane-}
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
  systemctl stop edgeplane-$NAME.service >/dev/null 2>&1 || true
fi
