#!/bin/sh
# On purge: disable the unit and remove its state (spool, cursors). The user
# stays, as other edgeplane packages may use it.
set -e
# dpkg names the package being configured; the three packages share these scripts.
NAME=${DPKG_MAINTSCRIPT_PACKAGE#edgeplane-}
if [ "$1" = remove ] || [ "$1" = purge ]; then
  if command -v deb-systemd-helper >/dev/null 2>&1; then
    deb-systemd-helper mask edgeplane-$NAME.service >/dev/null 2>&1 || true
    [ "$1" = purge ] && deb-systemd-helper purge edgeplane-$NAME.service >/dev/null 2>&1 || true
    [ "$1" = purge ] && deb-systemd-helper unmask edgeplane-$NAME.service >/dev/null 2>&1 || true
  fi
  if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null 2>&1 || true; fi
fi
if [ "$1" = purge ]; then
  rm -rf /var/lib/edgeplane/$NAME
  rmdir /var/lib/edgeplane 2>/dev/null || true
fi
