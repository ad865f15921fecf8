#!/usr/bin/env bash
# What the GPU calls of the device tool ran (see BENCHMARKS.md and RESULTS.md). Run from the repo root on the
# GPU machine, with the wheels of ../shared/gpu/fetch-wheels.sh in .whl/ and Fashion-MNIST in .data/fashion-mnist.
#   bash bench/device_run.sh smoke     # a minute: CUDA paths of train/eval/AutoAttack and the benchmarks, tiny sizes
#   bash bench/device_run.sh full      # session 1: the benchmarks, then the Fashion-MNIST runs (until the deadline)
#   bash bench/device_run.sh bench     # paired PART-vs-AT step timing (plain and fastai) with the profiler, bench_train --repeat 7
#   bash bench/device_run.sh results   # whatever is missing of RESULTS.md's tables 1 and 2a in runs/fmnist (training,
#                                      # evaluation, AutoAttack@1000), PARALLEL at a time until DEADLINE/HARD seconds;
#                                      # new files -> $OUT/runs.tar.gz. Carry runs/fmnist (with its checkpoints).
# Next GPU session (issue 5's paired figures, then table 2a's seeds 1-2 and its AutoAttack), one call, timeout_s 560:
#   T0=$(date +%s); bash bench/device_run.sh bench; E=$(( $(date +%s)-T0 )); PARALLEL=4 DEADLINE=$((420-E)) HARD=$((520-E)) bash bench/device_run.sh results
set -uo pipefail
OUT=${OUT:-out}; mkdir -p "$OUT"
python3 -m pip install -q --upgrade --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=$PWD:/tmp/site PYTHONUNBUFFERED=1
DATA=$PWD/.data/fashion-mnist
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
python3 -c "import torch, fastai, pytorch_grad_cam, pyautoattack; print('torch', torch.__version__, 'fastai', fastai.__version__)"
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
    python3 bench/bench_train.py --repeat ${REPEAT:-7} --batches 20 --warm 3; } 2>&1 | grep -v Warning | tee "$OUT/bench.txt" ;;
results)
  touch /tmp/results.start
  python3 bench/fmnist_results.py --out runs/fmnist --path "$DATA" --parallel ${PARALLEL:-8} --width 32 --epochs 8 --bs 256 \
      --lr 0.05 --aa-n 1000 --jobs at,part,trades,part-t,mart,part-m,at-mean,part-shuffled,part-random,part-inverted \
      --deadline ${DEADLINE:-300} --hard ${HARD:-380} 2>&1 | tee "$OUT/results.txt"
  find runs/fmnist -type f -newer /tmp/results.start | tar czf "$OUT/runs.tar.gz" -T - ;;
esac
echo "$1 took $(( $(date +%s) - t0 )) s"
