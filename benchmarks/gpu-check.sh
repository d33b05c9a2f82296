#!/usr/bin/env bash
# The GPU check, for a machine with an NVIDIA GPU: fraud.onnx and wide.onnx on ExecutionProvider.Cuda (official package
# Microsoft.ML.OnnxRuntime.Gpu.Linux, CUDA 13), checked against their numpy references; the micro-batcher driven for
# --seconds on the GPU and on the CPU; GPU memory before load, loaded and after dispose (nvidia-smi).
#
#   bash benchmarks/gpu-check.sh publish OUT   # here: a self-contained build of the check into OUT (no .NET needed there)
#   bash benchmarks/gpu-check.sh run OUT [--seconds 10] [--callers 256]   # on the GPU machine
#
# ONNX Runtime's CUDA provider needs the CUDA 13 runtime, cuBLAS, cuDNN and cuFFT; where they come as Python wheels
# (nvidia-*-cu13), their lib folders are put on LD_LIBRARY_PATH.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
mode="${1:?publish OUT | run OUT [args]}"
out="${2:?the folder of the published check}"
shift 2
case "$mode" in
  publish)
    dotnet publish "$repo/benchmarks/InProcServe.GpuCheck" -c Release -r linux-x64 --self-contained -o "$out" --nologo -v q
    echo "published to $out ($(du -sh "$out" | cut -f1))"
    ;;
  run)
    nvidia_libs="$(python3 - <<'PY' 2>/dev/null || true
import glob, os, site
paths = []
for root in site.getsitepackages() + [site.getusersitepackages()]:
    paths += sorted(glob.glob(os.path.join(root, "nvidia", "*", "lib")))
print(":".join(paths))
PY
)"
    export LD_LIBRARY_PATH="$out:${nvidia_libs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
    "$out/InProcServe.GpuCheck" "$@"
    ;;
  *) echo "unknown mode '$mode': publish OUT | run OUT [args]"; exit 2 ;;
esac
