#!/usr/bin/env bash
# bench/real/reinstall-nsbox.sh DIR: packs this checkout's packages (as built: run `npm run setup`
# first) and installs the tarballs into the three suites in DIR with --no-save (their package.json
# and lock files stay as they are; an `npm ci` there removes nsbox again: run this afterwards).
set -euo pipefail
dir=$(cd "${1:?usage: reinstall-nsbox.sh DIR}" && pwd)
checkout=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$dir/tarballs"
(cd "$checkout" && npx --yes pnpm@10.34.9 -r --filter './packages/**' pack --pack-destination "$dir/tarballs")
for suite in commander jest-extended dom-testing-library; do
  extra=(); [ "$suite" = jest-extended ] && extra=(--legacy-peer-deps)
  (cd "$dir/$suite" && npm install --no-save --no-audit --no-fund "${extra[@]}" \
     "$dir/tarballs/nsbox-0.1.0.tgz" "$dir/tarballs/jest-environment-nsbox-0.1.0.tgz")
done
