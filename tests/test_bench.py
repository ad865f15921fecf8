"""The benchmark scripts of `bench/` at tiny sizes on the CPU: each runs to the end and prints its figures.

They are meant for the lent GPU, whose time is short; a script that crashes there (as `bench_step.py`'s profiler
part once did) wastes the call. These runs catch what the CPU can: argument handling, the fastai and plain loops,
the printed ratios. They check no speed (speed targets are read from the figures, BENCHMARKS.md)."""
import os, re, subprocess, sys
import pytest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def bench(script, *args) -> str:
    "Run `bench/SCRIPT ARGS` on the CPU with one thread; its stdout (fails on a non-zero exit)."
    env = dict(os.environ, OMP_NUM_THREADS='1', CUDA_VISIBLE_DEVICES='', PYTHONPATH=str(ROOT))
    r = subprocess.run([sys.executable, '-W', 'ignore', f'bench/{script}', '--device', 'cpu', *map(str, args)],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout


def figure(out, pattern) -> float:
    "The number matched by the group of regex `pattern` in a line of `out`."
    m = re.search(pattern, out, re.M)
    assert m, f'{pattern!r} not in:\n{out}'
    return float(m.group(1))


def test_bench_step():
    out = bench('bench_step.py', '--width', 4, '--bs', 4, '--steps', 1, '--block', 2, '--rounds', 2, '--iters', 2,
                '--profile', '--fastai')
    # every measurement printed a positive ratio: paired plain blocks, components, the profiler, paired fastai blocks
    for pattern in (r'^PART/AT \(fastest blocks\) = [0-9.]+; \(median blocks\) = ([0-9.]+)$',
                    r'^predicted: AT .* PART/AT = ([0-9.]+) ', r'^PART/AT in profiled CPU time per step: ([0-9.]+)$',
                    r'^fastai PART/AT \(fastest blocks\) = [0-9.]+; \(median blocks\) = ([0-9.]+);'):
        assert figure(out, pattern) > 0
    assert len(re.findall(r'fastai block (AT|PART) ', out)) == 2
    # each fastai block list holds `rounds` blocks: ABBA order gives both modes the same number
    for mode in ('AT', 'PART'):
        line = re.search(rf'fastai block {mode}\s+(.*)  ms/batch', out).group(1)
        assert len(line.split()) == 2, line


def test_bench_train():
    out = bench('bench_train.py', '--width', 4, '--bs', 4, '--steps', 1, '--batches', 2, '--warm', 1, '--repeat', 2)
    assert 'median' in out.lower(), out
    for v in ('fastai AT', 'fastai PART', 'plain AT', 'plain PART'): assert v in out, out


@pytest.mark.slow
def test_bench_cam():
    out = bench('bench_cam.py', '--width', 4, '--bs', 4, '--iters', 1, '--warmup', 1, '--reference', '--ref-n', 2)
    assert 'ms' in out and 'grad' in out.lower(), out
    out = bench('bench_cam.py', '--arch', 'vit_tiny', '--width', 12, '--bs', 4, '--iters', 1, '--warmup', 1, '--reference', '--ref-n', 2)
    assert figure(out, r'^batched CAM \+ mask: +([0-9.]+) ms/batch') > 0 and 'ViT-Ti' in out, out
    assert figure(out, r'([0-9.]+)x the batched CAM \+ mask') > 0, out


def test_bench_fast():
    out = bench('bench_fast.py', '--width', 4, '--bs', 4, '--steps', 1, '--block', 2, '--rounds', 2)
    for pattern in (r'^fast PART \(shared\) / PGD-1 PART = ([0-9.]+)$', r'^fast PART \(shared\) / AT-N-FGSM = ([0-9.]+)$',
                    r'^fast PART \(separate\) / AT-N-FGSM = ([0-9.]+)$', r'^PGD-1 PART / PGD-1 AT = ([0-9.]+)$'):
        assert figure(out, pattern) > 0
    # every mode got `rounds` timed blocks
    for mode in ('AT \\(PGD\\)', 'PART \\(PGD\\)', 'AT-N-FGSM', 'PART-N-FGSM shared', 'PART-N-FGSM separate'):
        line = re.search(rf'^{mode}\s+(.*)  ms/batch', out, re.M).group(1)
        assert len(line.split()) == 2, (mode, line)


@pytest.mark.slow
def test_bench_speed():
    out = bench('bench_speed.py', '--width', 4, '--bs', 4, '--steps', 1, '--block', 1, '--rounds', 2,
                '--options', 'plain,bf16,compile+bf16+cl')
    for o in ('plain', 'bf16', r'compile\+bf16\+cl'):
        assert figure(out, rf'^{o} +speed-up over plain: AT [0-9.]+x, PART [0-9.]+x; PART/AT ([0-9.]+)$') > 0
        for m in ('AT', 'PART'):  # every mode got `rounds` timed blocks
            line = re.search(rf'^{m} +{o} +(.*)  ms/batch', out, re.M).group(1)
            assert len(line.split()) == 2, (m, o, line)
    assert figure(out, r'^PART +plain .*: ([0-9.]+) s per 50,000-image epoch$') > 0


@pytest.mark.slow  # AutoAttack's per-query overhead: 1-2 minutes even at this size
def test_bench_autoattack():
    out = bench('bench_autoattack.py', '--width', 2, '--n', 4)
    stages = re.findall(r'^  (apgd-ce|apgd-t|fab-t|square) +(\d+) steps \((\d+) of 4 still robust\)$', out, re.M)
    assert [s for s, _, _ in stages] == ['apgd-ce', 'apgd-t', 'fab-t', 'square'], out
    assert all(left == '4' for _, _, left in stages)  # the budget is too small to fool any image: every attack ran on all of them
    assert figure(out, r'^  AutoAttack (\d+) steps in all') > 0
