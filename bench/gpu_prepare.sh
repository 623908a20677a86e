#!/usr/bin/env bash
# Issue 20's CPU half on a fresh checkout, in one command, so that a session lent a GPU
# spends its minutes on the device and not on getting ready (README, "On a GPU"):
#   1. runs to export: LM=, TAG=, TRANSLATE=, CAPTION= name existing run folders; each one
#      not named is trained here, briefly (any trained weights serve the parity checks);
#   2. the kit: python -m bench.gpu_kit gpu_kit (exports, inputs, the CPU's answers);
#   3. its dry run on the CPU: python -m bench.gpu gpu_kit --device cpu;
#   4. requirements-gpu.txt's wheels for the device's Python: onnxruntime-gpu split into
#      wheels0/..wheels6/ (its SHA-256 in wheels0/SHA256), the others spread among them,
#      as bench/gpu_device.sh reassembles and installs them.
# Then seven device calls back to back: carry ["wheels0"] .. ["wheels5"], then
# ["wheels6", "gpu_kit"], each running `bash bench/gpu_device.sh`.
# gpu_kit/ and wheels*/ are git-ignored; an existing one is refused, never written over.
set -euo pipefail
cd "$(dirname "$0")/.."
# One device call carries at most 64 MiB: the tree (~2 MB), one part of the 256 MB
# onnxruntime-gpu wheel, and beside it the other wheels or, with the last part, the kit.
PART=37000000
ROOM=60000000
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
# requirements-gpu.txt resolved here for the device's Python (3.12, manylinux) and carried
# as wheels, so that there `pip install -r requirements-gpu.txt` runs for real, offline
python -m pip download -q --only-binary=:all: --python-version 3.12 --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 -r requirements-gpu.txt -d "$download"
wheel=$(cd "$download" && ls onnxruntime_gpu-*.whl)
(cd "$download" && sha256sum "$wheel") > "$download/SHA256"
split -b "$PART" -d -a 1 "$download/$wheel" "$download/part."
rm "$download/$wheel"
for part in "$download"/part.*; do
  mkdir "wheels${part##*.}" && mv "$part" "wheels${part##*.}/"
done
mv "$download/SHA256" wheels0/
# the other wheels, largest first, each into the first folder with room (the last
# folder keeps its room for the kit)
last=$(ls -d wheels* | sort -V | tail -n 1)
for dep in $(ls -S "$download"/*.whl); do
  for folder in $(ls -d wheels* | sort -V); do
    [ "$folder" = "$last" ] && continue
    if [ $(( $(du -sb "$folder" | cut -f1) + $(stat -c %s "$dep") )) -le "$ROOM" ]; then
      mv "$dep" "$folder/" && break
    fi
  done
done
if ls "$download"/*.whl >/dev/null 2>&1; then
  echo "error: no room for $(ls "$download"/*.whl)" >&2; exit 1
fi
rm -r "$download"
ls wheels*/ >/dev/null && du -sh gpu_kit wheels*
echo "ready: seven device calls, each \`bash bench/gpu_device.sh\`, carrying wheels0 .." \
  "wheels5, then wheels6 with gpu_kit"
