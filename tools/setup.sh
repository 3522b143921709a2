#!/usr/bin/env bash
# Idempotent set-up for a fresh machine, run by `npm test` and `npm run demo`:
#  - system packages the tests use (Chromium for browser tests and PDF, Redis for the distributed
#    workers, ffmpeg for video screening), installed with apt-get when running as root;
#  - node modules with `npm ci`, skipped when node_modules already matches package-lock.json.
# VIGIL_SKIP_APT=1 skips the system packages (the demo does not need them).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${VIGIL_SKIP_APT:-0}" != "1" ]; then
  need=(chromium redis-server ffmpeg poppler-utils fonts-dejavu-core openssl)
  missing=()
  for pkg in "${need[@]}"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
      echo "setup: installing ${missing[*]}" >&2
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
      echo "setup: missing system packages: ${missing[*]} (install them with apt-get as root); tests that need them will fail" >&2
    fi
  fi
fi

stamp=node_modules/.vigil-lock-sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: npm ci" >&2
  # onnxruntime-node's postinstall would fetch CUDA binaries from NuGet: package.json's allowScripts
  # denies it on npm >= 11.19; its own ONNXRUNTIME_NODE_INSTALL=skip covers older npm.
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error
  echo "$want" > "$stamp"
fi
