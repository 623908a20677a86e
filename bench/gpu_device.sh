#!/usr/bin/env bash
# Issue 20's device work, one script for every call to the GPU machine (README, "On a GPU").
#
# The onnxruntime-gpu wheel (256 MB) is more than one call may carry, so it travels in
# parts, /wheels0/ .. /wheels5/ (git-ignored; `split -b 43000000` here), one folder per call,
# back to back (the machine forgets /tmp when it goes cold), and the kit (python -m
# bench.gpu_kit gpu_kit/, 21 MB) with the last, smallest part, under 64 MiB together. Each
# call keeps the parts it brought in /tmp; the call that completes the wheel (its SHA-256 in
# wheels0/SHA256) installs it into /tmp/site and runs the gpu tests, the CLI on both
# devices, the hidden-GPU refusal and the timings, writing what it found under $OUT.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT"
state=/tmp/rnn-keras-gpu
mkdir -p "$state"
[ -f wheels0/SHA256 ] && cp wheels0/SHA256 "$state/SHA256"
[ -d gpu_kit ] && [ ! -d "$state/kit" ] && cp -r gpu_kit "$state/kit"
read -r sum wheel < "$state/SHA256" || { echo "error: carry wheels0 first"; exit 2; }
for part in wheels*/part.*; do  # keep each part once, whichever call brought it
  [ -f "$part" ] && [ ! -f "$state/$(basename "$part")" ] && cp "$part" "$state/"
done
echo "parts here:" $(cd "$state" && ls part.* 2>/dev/null)
cat "$state"/part.* > "/tmp/$wheel" 2>/dev/null  # the glob's order: part.0, part.1, ...
if [ "$(sha256sum "/tmp/$wheel" | cut -d' ' -f1)" != "$sum" ]; then
  echo "wheel incomplete ($(stat -c %s "/tmp/$wheel") bytes); carry the next wheels folder"
  exit 0
fi
python3 -m pip install -q --no-deps --target /tmp/site "/tmp/$wheel" || exit 1
export PYTHONPATH=/tmp/site:$PWD
kit="$state/kit"
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  python3 -c "import onnxruntime as o, torch; print('onnxruntime', o.__version__, o.get_available_providers()); print('torch', torch.__version__, torch.backends.cudnn.version())"
} 2>&1 | tee "$OUT/machine.txt"
RNN_KERAS_GPU_KIT=$kit python3 -m pytest -q -p no:cacheprovider -m gpu tests/test_gpu.py -rs \
  2>&1 | tail -n 15 | tee "$OUT/tests.txt"
for device in cpu cuda; do  # the CLI: the same text for the same seed on both
  python3 -m export.infer "$kit/lm/native/step.onnx" --prime "ROMEO:" --length 200 --seed 5 \
    --device "$device" > "$OUT/infer-$device.txt" 2>&1
done
cmp "$OUT/infer-cpu.txt" "$OUT/infer-cuda.txt" && echo "export.infer: same text on cpu and cuda"
CUDA_VISIBLE_DEVICES="" python3 -m export.infer "$kit/lm/native/step.onnx" --device cuda \
  2>&1 | tail -n 1 | tee "$OUT/hidden.txt"
python3 -m bench.gpu "$kit" --device cuda --repeats "${REPEATS:-50}" 2>&1 | tee "$OUT/bench.txt"
cp "$kit/results-cuda.json" "$OUT/" 2>/dev/null
