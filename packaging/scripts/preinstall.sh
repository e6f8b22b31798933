#!/bin/sh
# Creates the edgeplane system user and group (shared by the three daemons).
set -e
if ! getent group edgeplane >/dev/null; then
  addgroup --system edgeplane >/dev/null
fi
if ! getent passwd edgeplane >/dev/null; then
  adduser --system --ingroup edgeplane --home /var/lib/edgeplane --no-create-home \
    --shell /usr/sbin/nologin --gecos "edgeplane" edgeplane >/dev/null
fi
