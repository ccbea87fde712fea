#!/usr/bin/env bash
# Prove the Raspberry Pi path on 64-bit Arm without a Pi: a Debian bookworm arm64 root
# (debootstrap) run under qemu-user-static, the project installed there the way a Pi user
# does (`make install`: runtime only, mediapipe 0.10.18), then the CLI and the runtime tests
# run emulated, and the int8 outputs compared with x86's on the same photo.
#
#   sudo apt-get install -y debootstrap qemu-user-static binfmt-support
#   sudo tools/arm64-check.sh              # log: benchmarks/results/arm64/arm64-check.log
#
# Not part of `make test` (it takes tens of minutes under emulation). Needs root (chroot),
# the x86 venv (`make install`) for the reference outputs, and the network only for the
# Debian and PyPI registries. The root is cached in $ARM64_ROOT (outside the repo), so a
# rerun only re-copies the project; ARM64_FRESH_VENV=1 reinstalls the arm64 venv.
set -uo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
ROOT=${ARM64_ROOT:-/work/arm64-root}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
OUTDIR=${ARM64_OUT:-$REPO/benchmarks/results/arm64}
LOG=$OUTDIR/arm64-check.log
RAW=${ARM64_RAW_LOG:-$ROOT.raw.log}   # every command's full output, outside the repo
# every precision x backend on nano, plus small's int8 files (the Pi's photo model); emulated
# fp16 is slow (small.fp16.onnx: over 4 minutes on a 384x384 photo): ARM64_MODELS to change
MODELS=${ARM64_MODELS:-"nano.fp32.onnx nano.fp16.onnx nano.int8.onnx nano.fp16.tflite nano.int8.tflite small.int8.onnx small.int8.tflite"}
TESTS=${ARM64_TESTS:-"tests/runtime/engines tests/runtime/video/test_pipe.py tests/facemask/test_detector.py"}
NICE="nice -n 10"
PI_HOME=/home/pi
PROJ=$PI_HOME/edgedeblur
WORK=$ROOT$PROJ/out/arm64-check    # emulated outputs (seen from the host)
X86=$REPO/out/arm64-check-x86      # x86 reference outputs
FAILED=0

mkdir -p "$OUTDIR"
: > "$LOG"
say() { echo "$*" | tee -a "$LOG"; }
die() { say "FATAL: $*"; exit 1; }

# step NAME CMD...: run CMD, log its exit code and wall time, keep its output in the log.
step() {
    local name=$1; shift
    local t0=$SECONDS rc
    "$@" >> "$RAW" 2>&1; rc=$?
    say "$(printf '%-44s rc=%-3s %5ds' "$name" "$rc" $((SECONDS - t0)))"
    [ "$rc" -eq 0 ] || { FAILED=$((FAILED + 1)); tail -n 15 "$RAW" | sed 's/^/    | /' >> "$LOG"; }
    return "$rc"
}
# arm CMD: a shell command line run inside the root as user pi, in the project folder.
pi_id() { awk -F: '$1 == "pi" {print $3 ":" $4}' "$ROOT/etc/passwd"; }   # the root's user, by number
arm() { $NICE chroot --userspec="$(pi_id)" "$ROOT" /usr/bin/env -i HOME=$PI_HOME PATH=/usr/bin:/bin \
        LANG=C.UTF-8 /bin/sh -c "cd $PROJ && $*"; }

[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap and chroot need it)"
command -v debootstrap >/dev/null || die "apt-get install -y debootstrap qemu-user-static binfmt-support"
[ -x "$REPO/.venv/bin/edgedeblur" ] || die "no x86 venv: run 'make install' first (the x86 reference)"
: > "$RAW"

# 1. binfmt: the kernel must hand arm64 binaries to qemu-aarch64-static.
[ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64
INTERP=$(sed -n 's/^interpreter //p' /proc/sys/fs/binfmt_misc/qemu-aarch64)
[ -n "$INTERP" ] || die "qemu-aarch64 binfmt handler missing: apt-get install qemu-user-static binfmt-support"

say "# edgedeblur arm64 check, $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$REPO" rev-parse --short HEAD)"
say "# host: $(uname -m), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); emulator: $(qemu-aarch64-static --version | head -1)"

# 2. The root: Debian bookworm arm64 (what Raspberry Pi OS 64-bit is built on: Python 3.11).
#    debootstrap's first stage downloads it; its emulated second stage (dpkg and every
#    maintainer script under qemu) took over 12 minutes for a third of the packages on 2
#    busy cores, so the packages are unpacked here by the host's dpkg-deb instead: same
#    files, no maintainer scripts (a Python venv needs none), accounts from base-passwd.
if [ ! -e "$ROOT/.edgedeblur-root" ]; then
    rm -rf "$ROOT"; mkdir -p "$ROOT"
    step "debootstrap --foreign (download)" $NICE debootstrap --arch=arm64 --foreign --variant=minbase \
        --include=python3.11,python3.11-venv,python3-venv,make,ca-certificates bookworm "$ROOT" "$MIRROR" \
        || die "debootstrap failed (see $RAW)"
    unpack() { for deb in "$ROOT"/var/cache/apt/archives/*.deb; do
                   dpkg-deb --fsys-tarfile "$deb" | tar -x --keep-directory-symlink -C "$ROOT" || return 1; done; }
    step "unpack $(ls "$ROOT"/var/cache/apt/archives/*.deb | wc -l) packages (host dpkg-deb)" unpack || die "unpacking failed"
    cp "$ROOT/usr/share/base-passwd/passwd.master" "$ROOT/etc/passwd"
    cp "$ROOT/usr/share/base-passwd/group.master" "$ROOT/etc/group"
    echo "pi:x:1000:1000:pi:$PI_HOME:/bin/sh" >> "$ROOT/etc/passwd"
    echo "pi:x:1000:" >> "$ROOT/etc/group"
    mkdir -p "$ROOT$PI_HOME"
    touch "$ROOT/.edgedeblur-root"
fi
mkdir -p "$ROOT$(dirname "$INTERP")" && cp -L "$INTERP" "$ROOT$INTERP"   # binfmt without the F flag
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
# A TLS-intercepting proxy's CA (if this host trusts one) must be trusted inside too.
cp /etc/ssl/certs/ca-certificates.crt "$ROOT/etc/ssl/certs/ca-certificates.crt"
mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
mountpoint -q "$ROOT/dev" || mount --rbind /dev "$ROOT/dev"
# No /sys: with the x86 host's /sys visible, ONNX Runtime's cpuinfo (aarch64 code reading an
# x86 topology; qemu-user shows the host's /proc/cpuinfo too) segfaults creating a session.
# Without it ORT warns "cpuinfo_initialize failed" and runs its portable Arm kernels.
trap 'umount -R "$ROOT/dev" 2>/dev/null; umount "$ROOT/proc" 2>/dev/null' EXIT
say "# root: $ROOT, $(chroot "$ROOT" /usr/bin/python3.11 -c 'import platform,sys; print(platform.machine(), "Python", sys.version.split()[0])')"

# 3. The project as a Pi user has it: the tracked files, then the README's set-up.
mkdir -p "$ROOT$PROJ"
find "$ROOT$PROJ" -mindepth 1 -maxdepth 1 ! -name .venv -exec rm -rf {} +
git -C "$REPO" ls-files -co --exclude-standard -z | tar -C "$REPO" --null -T - -cf - | tar -C "$ROOT$PROJ" -xf -
[ "${ARM64_FRESH_VENV:-0}" = 1 ] && rm -rf "$ROOT$PROJ/.venv"
chown -R "$(pi_id)" "$ROOT$PI_HOME"
if [ -e "$ROOT$PROJ/.venv/.edgedeblur-installed" ]; then
    say "install: cached venv (ARM64_FRESH_VENV=1 to time a fresh install)"
    step "make install (cached)" arm "make install" || die "install failed"
else
    step "make install (fresh: pip from PyPI, emulated)" arm "make install" || die "install failed"
fi
arm ".venv/bin/pip list --format=freeze" | grep -iE '^(numpy|onnxruntime|ai-edge-litert|mediapipe|opencv-python-headless|av|protobuf)=' \
    | sed 's/^/# arm64 wheel: /' | tee -a "$LOG"

# 4. Inputs made on the host (same files for both machines): a sharp 16-bit photo with a
#    face (scikit-image's astronaut), its blurred copy, and a short clip.
rm -rf "$WORK" "$X86"; mkdir -p "$WORK" "$X86"
(cd "$REPO" && .venv/bin/python -m benchmarks.arch_diff inputs "$WORK") >> "$RAW" 2>&1 || die "could not make the inputs"
chown -R "$(pi_id)" "$WORK"
IN=out/arm64-check

# 5. The CLI under emulation.
step "edgedeblur demo" arm ".venv/bin/edgedeblur demo -o $IN/demo"
for m in $MODELS; do
    step "edgedeblur deblur --model $m" arm ".venv/bin/edgedeblur deblur $IN/blurred.png --method model --model $m -q -o $IN/$m.png"
    "$REPO/.venv/bin/edgedeblur" deblur "$WORK/blurred.png" --method model --model "$m" -q -o "$X86/$m.png" >> "$RAW" 2>&1
done
step "edgedeblur deblur (auto: kernel + model)" arm ".venv/bin/edgedeblur deblur $IN/blurred.png -q -o $IN/auto.png"
step "edgedeblur faces (LiteRT face models)" arm ".venv/bin/edgedeblur faces $IN/sharp.png --json --quiet --draw $IN/faces.png"
step "edgedeblur faces --backend mediapipe" arm ".venv/bin/edgedeblur faces $IN/sharp.png --json --quiet --backend mediapipe"
# --faces-strength 1: the model runs on every face (auto may judge the small faces sharp)
step "edgedeblur run (clip.mp4, 24 frames)" arm ".venv/bin/edgedeblur run --source $IN/clip.mp4 -o $IN/clip.sharp.mp4 --faces-strength 1 --no-progress --stats-json $IN/run.json"
step "edgedeblur run --source - (H.264 on stdin)" arm "cat $IN/clip.h264 | .venv/bin/edgedeblur run --source - -o $IN/pipe.sharp.mp4 --no-progress"
step "pytest (runtime, no training stack)" arm ".venv/bin/python -m pytest -q -p no:cacheprovider -m 'not gpu and not device and not slow' $TESTS"
grep -E '^[0-9]+ (passed|failed)|passed|failed' "$RAW" | tail -1 | sed 's/^/    /' | tee -a "$LOG"

# 6. Numerics: the same photo through each artifact on arm64 and on x86.
say ""
(cd "$REPO" && .venv/bin/python -m benchmarks.arch_diff compare "$WORK" "$X86" $MODELS) | tee -a "$LOG"
[ "${PIPESTATUS[0]}" -eq 0 ] || FAILED=$((FAILED + 1))
say ""
say "# $FAILED failure(s); full output: $RAW"
[ "$FAILED" -eq 0 ]
