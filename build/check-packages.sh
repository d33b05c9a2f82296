#!/usr/bin/env bash
# Packs InProcServe and InProcServe.AspNetCore into a local feed, then builds fresh apps outside the repository that
# restore them from it, as users would (build/package-apps/):
#   typed          one package line; a typed prediction on models/fraud.onnx equals the numpy reference
#   shared-native  also references Microsoft.ML.OnnxRuntime and uses it directly: one libonnxruntime mapped
#   gpu-natives    adds Microsoft.ML.OnnxRuntime.Gpu.Linux: build and publish hold one libonnxruntime, the GPU one
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
feed="$work/feed"

dotnet pack "$repo/src/InProcServe" -c Release -o "$feed" --nologo -v q
dotnet pack "$repo/src/InProcServe.AspNetCore" -c Release -o "$feed" --nologo -v q
version="$(basename "$(ls "$feed"/InProcServe.[0-9]*.nupkg)" .nupkg)"
version="${version#InProcServe.}"
ort="$(sed -n 's:.*<OnnxRuntimeVersion>\(.*\)</OnnxRuntimeVersion>.*:\1:p' "$repo/Directory.Packages.props")"
echo "packed InProcServe $version (ONNX Runtime $ort):"
ls "$feed"

# Every package must carry its readme and docs; InProcServe its generator and build targets.
members="$(unzip -Z1 "$feed/InProcServe.$version.nupkg")"
for member in README.md analyzers/dotnet/cs/InProcServe.Generators.dll buildTransitive/InProcServe.targets lib/net10.0/InProcServe.xml; do
  grep -qx "$member" <<<"$members" || { echo "InProcServe.$version.nupkg lacks $member"; exit 1; }
done

app() {
  local name="$1"
  mkdir -p "$work/$name"
  cp -r "$repo/build/package-apps/$name/." "$work/$name/"
  cp "$repo/models/fraud.onnx" "$repo/models/fraud.reference.json" "$work/$name/"
  # The local feed beside the machine's own sources (no <clear/>): dependencies still come from NuGet.
  cat > "$work/$name/nuget.config" <<CONFIG
<configuration>
  <packageSources>
    <add key="inprocserve-local" value="$feed" />
  </packageSources>
</configuration>
CONFIG
  echo "$work/$name"
}

props=(-p:InProcServeVersion="$version" -p:OnnxRuntimeVersion="$ort" --nologo)
# NuGet caches packages by id and version: a repack of the same version must not be served from the cache.
export NUGET_PACKAGES="$work/packages-cache"
mkdir -p "$NUGET_PACKAGES"
# Reuse the machine's cache for everything but InProcServe (ONNX Runtime's packages are large).
if [ -d "$HOME/.nuget/packages" ]; then
  for package in "$HOME"/.nuget/packages/*; do
    case "$(basename "$package")" in inprocserve*) ;; *) ln -s "$package" "$NUGET_PACKAGES/" ;; esac
  done
fi

dir="$(app typed)"
dotnet run --project "$dir" -c Release "${props[@]}"

dir="$(app shared-native)"
dotnet run --project "$dir" -c Release "${props[@]}"

dir="$(app gpu-natives)"
dotnet build "$dir" -c Release "${props[@]}" -v q -o "$dir/out"
dotnet publish "$dir" -c Release -r linux-x64 "${props[@]}" -v q -o "$dir/published"
gpu_size="$(stat -c %s "$NUGET_PACKAGES/microsoft.ml.onnxruntime.gpu.linux/$ort/runtimes/linux-x64/native/libonnxruntime.so")"
for output in out/runtimes/linux-x64/native published; do
  libraries="$(find "$dir/$output" -maxdepth 1 -name 'libonnxruntime.so' | wc -l)"
  built_size="$(stat -c %s "$dir/$output/libonnxruntime.so" 2>/dev/null || echo none)"
  if [ "$libraries" != 1 ] || [ "$gpu_size" != "$built_size" ] || [ ! -f "$dir/$output/libonnxruntime_providers_cuda.so" ]; then
    echo "gpu-natives app, $output: expected one libonnxruntime.so, the GPU package's ($gpu_size bytes), beside its CUDA provider; found $libraries, $built_size bytes"
    exit 1
  fi
done
echo "gpu-natives app: build and publish hold one linux-x64 libonnxruntime.so, the GPU package's ($gpu_size bytes), with the CUDA provider"
