#!/usr/bin/env bash
# Usage: ./run.sh SUITE MODE [extra jest args]
#   SUITE: commander | jest-extended | dom-testing-library
#   MODE:  stock  - the project's own config, stock Jest workers
#          zygote - jest.nsbox.config.js (project config + runner line), nsbox's default zygote mode
#          fresh  - same, with testEnvironmentOptions.nsbox.mode = 'fresh'
# Environment:
#   WORKERS=N        Jest worker count for every mode (default 2: on this 2-core machine Jest's default
#                    would be 1, and with 1 worker stock Jest runs in band in its own process)
#   NODE=/path/node  Node binary to run Jest with (default: `node` on PATH, Node 20)
#   NSBOX_TIMEOUT=ms per-file sandbox timeout (nsbox modes only)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
suite=${1:?usage: run.sh SUITE stock|zygote|fresh [jest args]}
mode=${2:?usage: run.sh SUITE stock|zygote|fresh [jest args]}
shift 2
case $suite in
  commander|jest-extended|dom-testing-library) ;;
  *) echo "unknown suite: $suite (commander | jest-extended | dom-testing-library)" >&2; exit 2 ;;
esac
args=(-w "${WORKERS:-2}")
# jest-extended's own `npm test` is `jest --color=true` (its snapshots hold the colored messages)
[ "$suite" = jest-extended ] && args+=(--color=true)
case $mode in
  stock)  cfg=() ;;
  zygote) cfg=(-c jest.nsbox.config.js); export NSBOX_MODE=zygote ;;
  fresh)  cfg=(-c jest.nsbox.config.js); export NSBOX_MODE=fresh ;;
  *) echo "unknown mode: $mode (stock | zygote | fresh)" >&2; exit 2 ;;
esac
cd "$here/$suite"
set -x
exec "${NODE:-node}" node_modules/jest/bin/jest.js "${cfg[@]}" "${args[@]}" "$@"
