#!/usr/bin/env bash
# Issue 20's device work, one script for every call to the GPU machine (README, "On a GPU").
#
# requirements-gpu.txt's wheels (onnxruntime-gpu alone is 256 MB) are more than one call
# may carry, so they travel in folders wheels0/ .. wheels6/ (git-ignored; made by
# bench/gpu_prepare.sh), one per call, back to back (the machine forgets /tmp when it goes
# cold), and the kit (python -m bench.gpu_kit gpu_kit/, ~24 MB) with the last one, under
# 64 MiB together. Each call keeps what it brought in /tmp; the call that completes the
# onnxruntime-gpu wheel (its SHA-256 in wheels0/SHA256) runs `pip install -r
# requirements-gpu.txt` offline from the carried wheels into /tmp/site, then the gpu
# tests, the CLI on both devices, the hidden-GPU refusal and `python -m bench --device
# cuda`, writing what it found under $OUT.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT"
state=/tmp/rnn-keras-gpu
mkdir -p "$state/deps"
[ -f wheels0/SHA256 ] && cp wheels0/SHA256 "$state/SHA256"
[ -d gpu_kit ] && [ ! -d "$state/kit" ] && cp -r gpu_kit "$state/kit"
read -r sum wheel < "$state/SHA256" || { echo "error: carry wheels0 first"; exit 2; }
for part in wheels*/part.*; do  # keep each part once, whichever call brought it
  [ -f "$part" ] && [ ! -f "$state/$(basename "$part")" ] && cp "$part" "$state/"
done
cp -n wheels*/*.whl "$state/deps/" 2>/dev/null
echo "parts here:" $(cd "$state" && ls part.* 2>/dev/null)
cat "$state"/part.* > "$state/deps/$wheel" 2>/dev/null  # the glob's order: part.0, part.1, ...
if [ "$(sha256sum "$state/deps/$wheel" | cut -d' ' -f1)" != "$sum" ]; then
  echo "wheel incomplete ($(stat -c %s "$state/deps/$wheel") bytes); carry the next wheels folder"
  exit 0
fi
{
  python3 -m pip install -q --no-index --find-links "$state/deps" --target /tmp/site \
    -r requirements-gpu.txt && echo "pip install -r requirements-gpu.txt: done (offline)" \
    || { echo "pip install -r requirements-gpu.txt FAILED; onnxruntime-gpu alone instead"
         python3 -m pip install -q --no-deps --target /tmp/site "$state/deps/$wheel" || exit 1; }
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  PYTHONPATH=/tmp/site python3 -c "import onnxruntime as o, numpy, onnx, torch; print('onnxruntime', o.__version__, o.get_available_providers(), 'numpy', numpy.__version__, 'onnx', onnx.__version__); print('torch', torch.__version__, torch.backends.cudnn.version())"
} 2>&1 | tee "$OUT/machine.txt"
export PYTHONPATH=/tmp/site:$PWD
kit="$state/kit"
RNN_KERAS_GPU_KIT=$kit python3 -m pytest -q -p no:cacheprovider -m gpu tests/test_gpu.py -rs \
  2>&1 | tail -n 15 | tee "$OUT/tests.txt"
infer() { python3 -m export.infer "$kit/lm/native/step.onnx" --prime "ROMEO:" --length 200 \
  --seed 5 "$@" 2>&1; }
{  # the CLI: the same text for the same seed on both devices, plain and --fast
  cpu=$(infer --device cpu); cuda=$(infer --device cuda); fast=$(infer --device cuda --fast)
  [ "$cpu" = "$cuda" ] && echo "export.infer: same text on cpu and cuda"
  [ "$cpu" = "$fast" ] && echo "export.infer: same text on cuda with --fast (CUDA graph)"
  printf '%s\n--- cuda\n%s\n--- cuda --fast\n%s\n' "$cpu" "$cuda" "$fast"
} | tee "$OUT/infer.txt"
CUDA_VISIBLE_DEVICES="" python3 -m export.infer "$kit/lm/native/step.onnx" --device cuda \
  2>&1 | tee "$OUT/hidden.txt"
python3 -m bench --device cuda --kit "$kit" --full 2>&1 | tee "$OUT/bench.txt"
cp "$kit/results-cuda.json" "$OUT/" 2>/dev/null
