"""`part_nb train` and `part_nb eval` under torchrun: two CPU processes (gloo). Training keeps the replicas identical
and rank 0's checkpoint equal to them, resumes after every process was killed; sharded evaluation equals the
single-process one image by image."""
import json, os, shutil, signal, socket, subprocess, sys, time
from pathlib import Path
import pytest, torch
from part_nb.checkpoint import read_history
from part_nb.evaluate import unpack_outcomes

ROOT = Path(__file__).resolve().parent.parent
FM = Path('/usr/share/datasets/fashion-mnist')
pytestmark = pytest.mark.skipif(not (FM/'train-images-idx3-ubyte.gz').exists(), reason='Fashion-MNIST not installed')
TINY = ['--data', 'fashion-mnist', '--arch', 'small_cnn', '--width', '8', '--eps', '0.1', '--alpha', '0.125', '--steps', '1',
        '--bs', '32', '--lr', '0.1', '--n-train', '1024', '--n-valid', '64', '--quiet', '--threads', '1']
ENV = dict(os.environ, OMP_NUM_THREADS='1', CUDA_VISIBLE_DEVICES='', PYTHONPATH=str(ROOT), PYTHONWARNINGS='ignore')


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


def torchrun(*args, n=2, **kw):
    "`torchrun --nproc_per_node n ARGS` on this machine's CPUs."
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', str(n), '--master_addr', '127.0.0.1',
           '--master_port', str(_free_port()), *map(str, args)]
    return subprocess.Popen(cmd, env=ENV, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, **kw)


def finish(p, timeout=600):
    out = p.communicate(timeout=timeout)[0]
    assert p.returncode == 0, out[-4000:]
    return out


@pytest.fixture(scope='module')
def ddp_run(tmp_path_factory):
    "A 2-epoch PART run trained by two processes, each of which saved its final weights."
    out = tmp_path_factory.mktemp('ddp')/'part'
    out.mkdir()
    finish(torchrun(ROOT/'tests'/'torchrun_train.py', out, '--method', 'part', '--epochs', 2, '--warmup', 1, *TINY))
    return out


def test_replicas_and_checkpoint_agree(ddp_run):
    ck = torch.load(ddp_run/'checkpoint.pth', weights_only=True)
    for r in range(2):
        w = torch.load(ddp_run/f'rank{r}.pt', weights_only=True)
        assert w.keys() == ck['model'].keys()                       # no 'module.' prefix: the model, not its DDP wrapper
        for k in w: assert torch.equal(w[k], ck['model'][k]), (r, k)
    cfg = json.loads((ddp_run/'config.json').read_text())
    assert (cfg['processes'], cfg['global_bs'], cfg['config']['bs']) == (2, 64, 32)
    h = read_history(ddp_run)
    assert h.epoch.tolist() == [0, 1] and h.full_eps_frac[0] == 1.0 and h.full_eps_frac[1] < 0.5
    assert not [f for f in ddp_run.iterdir() if f.name.startswith('.')]   # no temporary file left by either rank


@pytest.mark.slow
def test_resume_after_killing_every_process(tmp_path):
    out = tmp_path/'at'
    args = ['-m', 'part_nb.cli', 'train', '--method', 'at', '--epochs', 4, '--out', out, *TINY]
    p = torchrun(*args)
    deadline = time.time() + 600
    while not (out/'checkpoint.pth').exists():  # the first epoch's checkpoint: kill the whole job then
        assert p.poll() is None and time.time() < deadline, p.communicate()[0][-3000:] if p.poll() is not None else 'timeout'
        time.sleep(0.2)
    os.killpg(p.pid, signal.SIGKILL); p.wait()
    done = len(read_history(out))
    assert 1 <= done < 4
    finish(torchrun(*args, '--resume'))
    h = read_history(out)
    assert h.epoch.tolist() == [0, 1, 2, 3]                          # no gap, no repeat
    assert torch.load(out/'checkpoint.pth', weights_only=True)['epoch'] == 4


def test_sharded_eval_equals_single_process(ddp_run, tmp_path):
    attacks = 'natural,pgd20,cw,mma'
    single, sharded = tmp_path/'single', tmp_path/'sharded'
    for d in (single, sharded): shutil.copytree(ddp_run, d)
    ev = ['eval', '--attacks', attacks, '--n-images', '48', '--bs', '16', '--threads', '1']
    r = subprocess.run([sys.executable, '-m', 'part_nb.cli', ev[0], str(single), *ev[1:]], env=ENV, cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    finish(torchrun('-m', 'part_nb.cli', ev[0], sharded, *ev[1:]))
    a, b = (json.loads((d/'eval_images.json').read_text()) for d in (single, sharded))
    assert sorted(a) == sorted(f'{x}@48' for x in attacks.split(',') + ['worst'])
    for k in a:
        assert a[k] == b[k], k                                       # image by image
        assert unpack_outcomes(a[k], 48).float().mean() > 0 or k != 'natural@48'
    acc = lambda d: {(e['attack'], e['n']): e['accuracy'] for e in json.loads((d/'eval.json').read_text())['results']}
    assert acc(single) == acc(sharded)
