#!/usr/bin/env bash
# Issue 20's CPU half on a fresh checkout, in one command, so that a session lent a GPU
# spends its minutes on the device and not on getting ready (README, "On a GPU"):
#   1. runs to export: LM=, TAG=, TRANSLATE=, CAPTION= name existing run folders; each one
#      not named is trained here, briefly (any trained weights serve the parity checks);
#   2. the kit: python -m bench.gpu_kit gpu_kit (exports, inputs, the CPU's answers);
#   3. its dry run on the CPU: python -m bench.gpu gpu_kit --device cpu;
#   4. the onnxruntime-gpu wheel, downloaded and split into wheels0/..wheels5/ with its
#      SHA-256 in wheels0/SHA256, as bench/gpu_device.sh reassembles it.
# Then six device calls back to back: carry ["wheels0"] .. ["wheels4"], then
# ["wheels5", "gpu_kit"], each running `bash bench/gpu_device.sh`.
# gpu_kit/ and wheels*/ are git-ignored; an existing one is refused, never written over.
set -euo pipefail
cd "$(dirname "$0")/.."
WHEEL=onnxruntime-gpu==1.31.1
for f in gpu_kit wheels0; do
  if [ -e "$f" ]; then echo "error: $f exists; move it away to prepare afresh" >&2; exit 2; fi
done

train() {  # $1 run folder, then train.py flags; an existing folder is used as it is
  [ -f "$1/config.json" ] \
    || python train.py --run-dir "$@" --no-progress --no-export > "$1.log" 2>&1 \
    || { echo "error: training $1 failed; see $1.log" >&2; exit 1; }
  echo "$1"
}
LM=${LM:-$(train runs/gpu-lm --minutes 1)}
TAG=${TAG:-$(train runs/gpu-tag --task tag --minutes 1)}
TRANSLATE=${TRANSLATE:-$(train runs/gpu-translate --task translate --minutes 2)}
CAPTION=${CAPTION:-$(train runs/gpu-caption --task caption --minutes 2)}

python -m bench.gpu_kit gpu_kit --lm "$LM" --tag "$TAG" --translate "$TRANSLATE" \
  --caption "$CAPTION"
python -m bench.gpu gpu_kit --device cpu --rows b1,step_b1 --repeats 2 | tail -n 20

download=$(mktemp -d)
python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
  --platform manylinux_2_28_x86_64 "$WHEEL" -d "$download"
wheel=$(cd "$download" && ls onnxruntime_gpu-*.whl)
split -b 43000000 -d -a 1 "$download/$wheel" "$download/part."
for part in "$download"/part.*; do
  mkdir "wheels${part##*.}" && mv "$part" "wheels${part##*.}/"
done
(cd "$download" && sha256sum "$wheel") > wheels0/SHA256
rm -r "$download"
ls wheels*/ >/dev/null && du -sh gpu_kit wheels*
echo "ready: six device calls, each \`bash bench/gpu_device.sh\`, carrying wheels0 .. wheels4," \
  "then wheels5 with gpu_kit"
