#!/usr/bin/env bash
# Rebuild the vendored map bundle (needs Node.js and the npm registry; the result is committed, so
# installing confiance never needs either). Versions are pinned in package.json and package-lock.json.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
npm run build
out=../src/confiance/web/static/map.LICENSES.txt
{
  echo "Third-party code bundled in map.js (built by frontend/build.sh with esbuild)."
  for pkg in sigma graphology graphology-utils events; do
    version=$(node -p "require('./node_modules/$pkg/package.json').version")
    echo; echo "==== $pkg $version ===="
    cat node_modules/$pkg/LICENSE* 
  done
} > "$out"
