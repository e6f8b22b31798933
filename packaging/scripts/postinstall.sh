#!/bin/sh
# Owns the state directory, lets the service read its config, and enables the
# unit without starting it: the example config has to be edited first (device
# id, hub URL, token), then `systemctl start edgeplane-$NAME`.
set -e
# dpkg names the package being configured; the three packages share these scripts.
NAME=${DPKG_MAINTSCRIPT_PACKAGE#edgeplane-}
chown edgeplane:edgeplane /var/lib/edgeplane /var/lib/edgeplane/$NAME 2>/dev/null || true
chmod 0750 /var/lib/edgeplane/$NAME
chgrp edgeplane /etc/edgeplane/$NAME.hcl && chmod 0640 /etc/edgeplane/$NAME.hcl
if [ "$NAME" = agent ]; then
  # Raspberry Pi OS has these groups for /dev/gpiochip* and /dev/i2c-*.
  for g in gpio i2c; do
    if getent group $g >/dev/null; then adduser edgeplane $g >/dev/null 2>&1 || true; fi
  done
fi
if [ "$1" = configure ] || [ "$1" = 1 ]; then
  if command -v deb-systemd-helper >/dev/null 2>&1; then
    deb-systemd-helper enable edgeplane-$NAME.service >/dev/null || true
  elif [ -d /run/systemd/system ]; then
    systemctl enable edgeplane-$NAME.service >/dev/null || true
  fi
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload >/dev/null || true
  fi
  echo "edgeplane-$NAME: edit /etc/edgeplane/$NAME.hcl, then: systemctl start edgeplane-$NAME"
fi
