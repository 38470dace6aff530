#!/bin/sh
# Installs the workspace with a pinned pnpm (corepack cannot be relied on) and builds every package.
# Safe to run again: pnpm skips what is already installed.
set -eu
cd "$(dirname "$0")/.."
PNPM_VERSION=10.34.9
if command -v pnpm >/dev/null 2>&1 && [ "$(pnpm --version 2>/dev/null)" = "$PNPM_VERSION" ]; then
  pnpm() { command pnpm "$@"; }
else
  pnpm() { npx --yes "pnpm@$PNPM_VERSION" "$@"; }
fi
pnpm install --frozen-lockfile --reporter=silent
pnpm -r --filter "./packages/**" run build
