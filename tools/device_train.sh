#!/usr/bin/env bash
# One call on a lent GPU machine: fine-tune the deblur nets side by side on a packed photo
# folder, then put their EMA weights, curves and logs in $OUT (what the device tool brings back).
#
#   here:   .venv/bin/python -m convert.pack device_pack --data ../shared/train_photos/general \
#               --face-data ../shared/train_photos/faces --max-mib 21    # 684 of the 910 photos
#   device: run(command="MINUTES=7 bash tools/device_train.sh", carry=["device_pack"], timeout_s=600)
#   here:   python -m convert.ship small nano --weights gpu_out --models-dir /tmp/candidate
#           python -m benchmarks.realblur --models-dir /tmp/candidate, and ship only what gains.
#
# The machine has only PyTorch, OpenCV and NumPy: convert.train and convert.freeze need no
# more (tests/convert/test_device_train.py checks it), and H.264 round trips switch off where
# PyAV is missing. Start-up (photos, kernel bank) takes about a minute: keep MINUTES <= 8. The checkpoints are picked back here: the
# camera-blur pairs do not fit the call's 64 MiB beside the photos.
#
# Capacity at equal training (issue item 4): MODELS="small small-wide small-deep" trains the
# variants from small's weights (convert.grow) beside small itself, the same minutes each.
#
# Environment: OUT (required), PACK=device_pack, MINUTES=7 (the LR schedule spans it),
# MODELS="small nano", DEVICE=cuda, BATCH=64, LR=5e-4, THREADS=4, BANK=4000,
# RUN=train_runs_device, PYTHON=python.
set -euo pipefail
: "${OUT:?set OUT to the folder that comes back}"
PACK=${PACK:-device_pack}
MINUTES=${MINUTES:-7}
MODELS=${MODELS:-small nano}
DEVICE=${DEVICE:-cuda}
BATCH=${BATCH:-64}
LR=${LR:-5e-4}
THREADS=${THREADS:-4}
BANK=${BANK:-4000}
RUN=${RUN:-train_runs_device}
PYTHON=${PYTHON:-python}

for d in "$PACK/general" "$PACK/faces"; do
    [ -d "$d" ] || { echo "device_train: $d is missing; pack it first (python -m convert.pack) and carry $PACK" >&2; exit 1; }
done
H264=0.08
"$PYTHON" -c "import av" 2>/dev/null || H264=0
"$PYTHON" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), \
torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')" > "$OUT/env.txt"
echo "h264_probability $H264" >> "$OUT/env.txt"

pids=()
for m in $MODELS; do
    init="convert/weights/$m.pt"   # a capacity variant starts from the net it grows from
    [ -f "$init" ] || init="convert/weights/$("$PYTHON" -c "from convert.zoo import get_spec; print(get_spec('$m').grows_from)").pt"
    "$PYTHON" -m convert.train "$m" --device "$DEVICE" --batch "$BATCH" --lr "$LR" --minutes "$MINUTES" \
        --init "$init" --data "$PACK/general" --face-data "$PACK/faces" --face-fraction 0.3 \
        --crop 192 --sharp-fraction 0.18 --h264-probability "$H264" --no-synthetic-val --bank-size "$BANK" \
        --threads "$THREADS" \
        --ckpt-every 500 --val-every 500 --run-dir "$RUN" > "$OUT/$m.log" 2>&1 &
    pids+=($!)
done
status=0
for p in "${pids[@]}"; do wait "$p" || status=1; done
for m in $MODELS; do
    [ -f "$RUN/$m/curve.jsonl" ] && cp "$RUN/$m/curve.jsonl" "$OUT/$m.curve.jsonl"
done
[ "$status" -eq 0 ] || { echo "device_train: a trainer failed; see $OUT/*.log" >&2; exit 1; }
"$PYTHON" -m convert.freeze $MODELS --run-dir "$RUN" --checkpoint last --out "$OUT"
