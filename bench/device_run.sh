#!/usr/bin/env bash
# What the GPU calls of the device tool ran (see BENCHMARKS.md and RESULTS.md). Run from the repo root on the
# GPU machine, with the wheels of ../shared/gpu/fetch-wheels.sh in .whl/ and Fashion-MNIST in .data/fashion-mnist.
#   bash bench/device_run.sh smoke     # a minute: CUDA paths of train/eval/AutoAttack and the benchmarks, tiny sizes
#   bash bench/device_run.sh full      # session 1: the benchmarks, then the Fashion-MNIST runs (until the deadline)
#   bash bench/device_run.sh bench     # paired PART-vs-AT step timing (plain and fastai) with the profiler, bench_train --repeat 7
#   bash bench/device_run.sh results   # whatever is missing of RESULTS.md's tables 1 and 2a in runs/fmnist (training,
#                                      # evaluation, AutoAttack@1000), PARALLEL at a time until DEADLINE/HARD seconds;
#                                      # new files -> $OUT/runs.tar.gz. Carry runs/fmnist (with its checkpoints).
#   bash bench/device_run.sh cifar10   # RESULTS.md section 3 (GPU rows): the paper's ResNet-18 (width 64) on the full CIFAR-10
#                                      # (JPEG copy) training set, eps 8/255, PGD-10, AT and PART (then the controls) from
#                                      # .data/cifar10-jpeg.tar.gz, EPOCHS (default 8) of which a quarter warm-up, PARALLEL runs
#                                      # at once (the GPU is launch-bound at batch 128); natural/PGD-20/CW on all 10,000 test
#                                      # images, AutoAttack on the fixed 1,000. Checkpoints (~90 MB each) cannot travel back
#                                      # (64 MiB a call): every run must finish inside its call; histories and evals -> $OUT.
#   bash bench/device_run.sh speed     # issue 22: bench_speed.py: AT and PART epoch time under each fast-path option (compiled
#                                      # attack, bf16, channels-last; CUDA graphs), paired, batch 128 and 512 (about 6 min)
#   bash bench/device_run.sh recipe    # issue 22: accuracy of the fast recipe (batch 512, lr x4, bf16, channels-last, compiled
#                                      # attack) against the current one (batch 128, fp32): CIFAR-10 (JPEG copy), ResNet-18,
#                                      # AT and PART, EPOCHS (default 8) each, natural/PGD-20 on the 10,000 test images
#   bash bench/device_run.sh gpu-seed  # issue 27: one paired seed (SEED, default 0) of AT, PART, AT at PART's mean budget and
#                                      # PART random on CIFAR-10 (JPEG copy), ResNet-18 width 64, all 50,000 images, then
#                                      # natural/PGD-20/CW on the 10,000 test images and AutoAttack on the fixed 500, all in one
#                                      # call of about 9 minutes (bench/cifar10_gpu.py; the first lease also fixes the schedule).
#                                      # Carry .whl and .data/cifar10-jpeg.tar.gz; pass PART_NB_COMMIT=<sha> (no .git there).
#                                      # The exact call, and what to do with what comes back: results/cifar10-gpu/README.md.
#                                      # On a CPU, without .whl: TINY=1 PY=.venv/bin/python DATA_PATH=... (tests/test_gpu_target.py)
# Next GPU session: issue 27 comes first, one call of gpu-seed (results/cifar10-gpu/README.md gives it exactly); if the
# lease has time left, issue 27's item 5. The older plans (cifar10, results) wait until issue 27's seeds are in.
set -uo pipefail
START=$(date +%s)  # the call's first second: gpu-seed's deadlines count from here
OUT=${OUT:-out}; mkdir -p "$OUT"
PY=${PY:-python3}  # a CPU test runs the targets with its virtual environment's python, which has the packages
if [ -d .whl ]; then  # the GPU machine lacks fastai, grad-cam and pyautoattack: the carried wheels
  $PY -m pip install -q --upgrade --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=$PWD:/tmp/site
else export PYTHONPATH=$PWD; fi
export PYTHONUNBUFFERED=1
DATA=$PWD/.data/fashion-mnist
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo 'no nvidia-smi: no GPU here'
$PY -c "import torch, fastai, pytorch_grad_cam, pyautoattack; print('torch', torch.__version__, 'fastai', fastai.__version__)"
t0=$(date +%s)
case "${1:-smoke}" in
smoke)
  python3 bench/fmnist_results.py --out runs/smoke --path "$DATA" --seeds 0 --jobs part,trades,at-mean --width 8 --epochs 2 \
      --warmup 1 --n-train 2048 --bs 256 --steps 2 --n-valid 500 --aa-n 64 --parallel 2 --attacks natural,pgd20,cw,mma
  for f in runs/smoke/*/job.log; do echo "== $f"; grep -v Warning "$f" | tail -12; done
  python3 bench/bench_train.py --batches 5 --warm 2 2>&1 | tee "$OUT/bench_train_smoke.txt"
  python3 bench/bench_cam.py --iters 5 --reference --ref-n 8 2>&1 | tee "$OUT/bench_cam_smoke.txt"
  tar czf "$OUT/runs.tar.gz" runs ;;
full)
  { python3 bench/bench_train.py --batches 40 --warm 5
    python3 bench/bench_train.py --batches 40 --warm 5 --bf16
    python3 bench/bench_cam.py --iters 50 --reference --ref-n 128
    python3 bench/bench_cam.py --iters 50 --amp bf16 --channels-last; } 2>&1 | tee "$OUT/bench.txt"
  echo "benchmarks took $(( $(date +%s) - t0 )) s"
  python3 bench/fmnist_results.py --out runs/fmnist --path "$DATA" --parallel ${PARALLEL:-15} --width 32 --epochs 8 --bs 256 \
      --lr 0.05 --aa-n 1000 --deadline ${DEADLINE:-300} --hard ${HARD:-380} 2>&1 | tee "$OUT/results.txt"
  tar czf "$OUT/runs.tar.gz" runs ;;
bench)
  # session 2 ran: bench_step.py --profile; bench_train.py --repeat 3 --batches 20 --warm 3; ... --batches 10 --warm 3 --bf16
  { python3 bench/bench_step.py --profile --fastai
    python3 bench/bench_fast.py                                   # fast PART vs PGD-10 PART vs AT-N-FGSM, paired
    python3 bench/bench_cam.py --arch vit_tiny --reference          # the CAM benchmark's ViT row
    python3 bench/bench_train.py --repeat ${REPEAT:-7} --batches 20 --warm 3; } 2>&1 | grep -v Warning | tee "$OUT/bench.txt" ;;
results)
  touch /tmp/results.start
  python3 bench/fmnist_results.py --out runs/fmnist --path "$DATA" --parallel ${PARALLEL:-8} --width 32 --epochs 8 --bs 256 \
      --lr 0.05 --aa-n 1000 --jobs at,part,trades,part-t,mart,part-m,at-mean,part-shuffled,part-random,part-inverted \
      --deadline ${DEADLINE:-300} --hard ${HARD:-380} 2>&1 | tee "$OUT/results.txt"
  find runs/fmnist -type f -newer /tmp/results.start | tar czf "$OUT/runs.tar.gz" -T - ;;
cifar10)
  touch /tmp/results.start
  python3 bench/fmnist_results.py --data cifar10 --path "$PWD/.data/cifar10-jpeg.tar.gz" --out runs/cifar10 --arch resnet18 \
      --width 64 --epochs ${EPOCHS:-8} --warmup 0.25 --eps 0.03137254901960784 --alpha 0.00784313725490196 --steps 10 --bs 128 \
      --lr 0.1 --n-valid 1000 --aa-n 1000 --eval-bs 1000 --attacks natural,pgd20,cw --seeds ${SEEDS:-0} \
      --jobs ${JOBS:-at,part,at-mean,part-shuffled,part-random,part-inverted} --parallel ${PARALLEL:-2} \
      --deadline ${DEADLINE:-60} --hard ${HARD:-420} 2>&1 | tee "$OUT/results.txt"
  find runs/cifar10 -type f -newer /tmp/results.start ! -name '*.pth' | tar czf "$OUT/runs.tar.gz" -T - ;;
speed)
  { python3 bench/bench_speed.py --block 10 --rounds 3
    python3 bench/bench_speed.py --options plain,compile,compile+bf16+cl --compile-mode reduce-overhead --block 10 --rounds 3
    python3 bench/bench_speed.py --bs 512 --options plain,bf16+cl,compile+bf16+cl --block 5 --rounds 3
    python3 bench/bench_step.py --profile --steps 10 --block 5 --rounds 2 --iters 5; } 2>&1 | grep -v Warning | tee "$OUT/speed.txt" ;;
recipe)
  touch /tmp/results.start
  C="--data cifar10 --path $PWD/.data/cifar10-jpeg.tar.gz --arch resnet18 --width 64 --epochs ${EPOCHS:-8} --warmup 0.25 \
     --eps 0.03137254901960784 --alpha 0.00784313725490196 --steps 10 --n-valid 1000 --aa-n 0 --eval-bs 1000 \
     --attacks natural,pgd20 --seeds ${SEEDS:-0} --jobs at,part --deadline ${DEADLINE:-60} --hard ${HARD:-420}"
  python3 bench/fmnist_results.py $C --out runs/recipe-plain --bs 128 --lr 0.1 --parallel 2 2>&1 | tee "$OUT/recipe-plain.txt" &
  python3 bench/fmnist_results.py $C --out runs/recipe-fast --bs 512 --lr 0.4 --precision bf16 --channels-last --compile \
      --parallel 2 2>&1 | tee "$OUT/recipe-fast.txt"; wait
  find runs/recipe-* -type f -newer /tmp/results.start ! -name '*.pth' | tar czf "$OUT/runs.tar.gz" -T - ;;
gpu-seed)
  # SEED, ARMS (default all four), SCHEDULE (default the committed one: absent, the call times the options and writes it),
  # DATA_PATH, RUNS; GPU_ARGS: more options of bench/cifar10_gpu.py (--end, --eval-s, --timing-options ...); TINY=1: CPU size
  $PY bench/cifar10_gpu.py --start "$START" --seed "${SEED:-0}" --out "$OUT" --path "${DATA_PATH:-$PWD/.data/cifar10-jpeg.tar.gz}" \
      --schedule "${SCHEDULE:-results/cifar10-gpu/schedule.json}" --runs "${RUNS:-runs/cifar10-gpu}" ${ARMS:+--arms "$ARMS"} \
      ${TINY:+--tiny} ${GPU_ARGS:-} 2>&1 | tee "$OUT/log.txt"
  [ "${PIPESTATUS[0]}" = 0 ] || { echo "gpu-seed failed"; exit 1; } ;;
*) echo "unknown target ${1:-}"; exit 2 ;;
esac
echo "${1:-smoke} took $(( $(date +%s) - t0 )) s"
