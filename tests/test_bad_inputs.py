"""Every bad input a user makes gets a clear one-line error, and nothing is lost.

One table of cases, as a new user would make them. Command-line cases run `python -m part_nb.cli`'s `main`, each
in a process of its own forked after the imports (`cli_forker.py`: the imports are most of a command's time), on a workspace of tiny data sets and run folders made once (`ws`); each asserts the exit code, a
stderr of one line `part_nb CMD: error: ...` with the expected words and no traceback, and that no file of the
workspace changed, appeared or vanished (checksums before and after). Python cases run in-process and assert
the exception and its words (or, for inputs that must work, the right result).
"""
import gzip, hashlib, json, os, pickle, shutil, socket, subprocess, sys, tempfile, warnings
from pathlib import Path
import numpy as np
import pytest
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
N = 64  # images per split of the tiny Fashion-MNIST-format data set


def idx_bytes(a: np.ndarray) -> bytes:
    "An unsigned-byte IDX file of array `a`."
    head = bytes([0, 0, 8, a.ndim]) + b''.join(int(s).to_bytes(4, 'big') for s in a.shape)
    return head + a.astype(np.uint8).tobytes()


def write_fmnist(d: Path, n_train=N, n_test=N, labels_train=None):
    "Four IDX files in Fashion-MNIST's names, random images (a pattern per class), gzipped."
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for split, n, nl in (('train', n_train, labels_train or n_train), ('t10k', n_test, n_test)):
        y = rng.integers(0, 10, nl)
        x = rng.integers(0, 256, (n, 28, 28))
        (d / f'{split}-images-idx3-ubyte.gz').write_bytes(gzip.compress(idx_bytes(x)))
        (d / f'{split}-labels-idx1-ubyte.gz').write_bytes(gzip.compress(idx_bytes(y)))
    return d


TINY = ['--data', 'fashion-mnist', '--arch', 'small_cnn', '--width', '4', '--epochs', '1', '--eps', '0.1', '--steps', '1',
        '--bs', '32', '--n-valid', '64']


def run_cli(*args, cwd):
    env = {**os.environ, 'PYTHONWARNINGS': 'ignore', 'HOME': str(cwd / 'home'), 'PART_NB_DATA': str(cwd / 'nodata')}
    env.pop('PART_NB_FASHION_MNIST', None)
    return subprocess.run([sys.executable, '-m', 'part_nb.cli', *map(str, args)], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


@pytest.fixture(scope='module')
def ws(tmp_path_factory):
    "The workspace: tiny data sets (good and corrupt), a finished tiny run and broken copies of it."
    w = tmp_path_factory.mktemp('ws')
    (w / 'home').mkdir(); (w / 'nodata').mkdir(); (w / 'empty').mkdir()
    (w / 'afile').write_text('not a folder\n')
    fm = write_fmnist(w / 'fm')
    r = run_cli('train', '--method', 'part', '--warmup', '0', '--path', fm, '--out', w / 'run', '--quiet', *TINY, cwd=w)
    assert r.returncode == 0, r.stderr
    # corrupt data sets
    for name in ('trunc_gz', 'trunc_raw', 'count'):
        shutil.copytree(fm, w / f'fm_{name}')
    f = w / 'fm_trunc_gz' / 'train-images-idx3-ubyte.gz'; f.write_bytes(f.read_bytes()[:-200])
    raw = w / 'fm_trunc_raw'
    (raw / 'train-images-idx3-ubyte.gz').unlink()
    (raw / 'train-images-idx3-ubyte').write_bytes(gzip.decompress((fm / 'train-images-idx3-ubyte.gz').read_bytes())[:-100])
    write_fmnist(w / 'fm_count', labels_train=N - 3)
    # broken copies of the run
    for name in ('nock', 'trunc', 'rand', 'arch', 'badeval', 'badhist', 'other', 'nan', 'evshape', 'histkeys', 'locked', '2proc'):
        shutil.copytree(w / 'run', w / f'run_{name}')
    (w / 'run_nock' / 'checkpoint.pth').unlink()
    ck = w / 'run_trunc' / 'checkpoint.pth'; ck.write_bytes(ck.read_bytes()[:1000])
    (w / 'run_rand' / 'checkpoint.pth').write_bytes(os.urandom(5000))
    cfg = json.loads((w / 'run_arch' / 'config.json').read_text()); cfg['config']['arch'] = 'resnet18'
    (w / 'run_arch' / 'config.json').write_text(json.dumps(cfg))
    (w / 'run_badeval' / 'eval.json').write_text('{"results": [{"att')
    (w / 'run_badhist' / 'history.json').write_text('[{"epoch": 0, "tra')
    (w / 'run_evshape' / 'eval.json').write_text('{"results": 5}')  # JSON that parses, with the wrong structure
    c2 = json.loads((w / 'run_2proc' / 'config.json').read_text()); c2.update(processes=2, global_bs=64)  # as torchrun wrote it
    (w / 'run_2proc' / 'config.json').write_text(json.dumps(c2))
    (w / 'run_locked' / '.lock').write_text(json.dumps(dict(pid=os.getpid(), host=socket.gethostname(), cmd='train')))  # a live owner
    (w / 'run_histkeys' / 'history.json').write_text('[{"epoch": 0}]')
    ck = torch.load(w / 'run_nan' / 'checkpoint.pth', weights_only=True)  # a diverged run's weights
    ck['model'] = {k: v.fill_(float('nan')) if v.is_floating_point() else v for k, v in ck['model'].items()}
    torch.save(ck, w / 'run_nan' / 'checkpoint.pth')
    return w


def snapshot(w: Path) -> dict:
    return {str(p.relative_to(w)): hashlib.sha1(p.read_bytes()).hexdigest()
            for p in sorted(w.rglob('*')) if p.is_file() and 'home' not in p.relative_to(w).parts}


# One case a line: id | command line ({w}: the workspace, {tiny}: TINY) | exit code | words the message must hold.
CASES = '''
# passed before this change
data-unknown | train --data nosuch --out {w}/x | 2 | unknown data set 'nosuch'
path-missing | train --data cifar10 --out {w}/x | 2 | CIFAR-10
path-nonexistent | train --data cifar10 --path {w}/nosuch --out {w}/x | 2 | does not exist
path-empty-folder | train --data cifar10 --path {w}/empty --out {w}/x | 2 | not found
eps-negative | train --eps -0.1 --path {w}/fm --out {w}/x | 2 | `eps` must be a finite number in (0, inf)
eps-low-above-eps | train --eps 0.1 --eps-low 0.2 --path {w}/fm --out {w}/x | 2 | must not exceed
alpha-zero | train --alpha 0 --path {w}/fm --out {w}/x | 2 | `alpha` must be
steps-zero | train --steps 0 --path {w}/fm --out {w}/x | 2 | `steps` must be an integer >= 1
arch-unknown | train --arch vgg --path {w}/fm --out {w}/x | 2 | unknown architecture 'vgg'
method-unknown | train --method madry --path {w}/fm --out {w}/x | 2 | unknown method 'madry'
width-zero | train --width 0 --path {w}/fm --out {w}/x | 2 | `width` must be an integer >= 1
bs-zero | train --bs 0 --path {w}/fm --out {w}/x | 2 | `bs` must be an integer >= 1
epochs-zero | train --epochs 0 --path {w}/fm --out {w}/x | 2 | `epochs` must be an integer >= 1
out-existing-run | train --method part --warmup 0 --path {w}/fm --out {w}/run --quiet {tiny} | 2 | pass --resume
out-other-config | train --method at --path {w}/fm --out {w}/run_other --quiet {tiny} | 2 | another configuration
out-is-a-file | train --path {w}/fm --out {w}/afile | 2 | is not a folder
eval-no-checkpoint | eval {w}/run_nock --attacks natural | 2 | has no checkpoint
eval-truncated-checkpoint | eval {w}/run_trunc --attacks natural | 2 | is corrupt
eval-random-checkpoint | eval {w}/run_rand --attacks natural | 2 | is corrupt
eval-other-arch-checkpoint | eval {w}/run_arch --attacks natural | 2 | another configuration
eval-attack-unknown | eval {w}/run --attacks natural,bogus | 2 | unknown attack 'bogus'
report-empty-folder | report {w}/empty | 2 | not a part_nb run folder
resume-finished | train --out {w}/run --resume | 0 | already complete
# failed before this change
idx-truncated-gz | train --path {w}/fm_trunc_gz --out {w}/x | 2 | train-images-idx3-ubyte.gz: truncated
idx-truncated-raw | train --path {w}/fm_trunc_raw --out {w}/x | 2 | train-images-idx3-ubyte: truncated
idx-count-mismatch | train --path {w}/fm_count --out {w}/x | 2 | labels
eval-n-zero | eval {w}/run --attacks natural --n 0 | 2 | argument --n/--n-images: must be at least 1
eval-n-negative | eval {w}/run --attacks natural --n -5 | 2 | argument --n/--n-images: must be at least 1
eval-bs-zero | eval {w}/run --attacks natural --bs 0 | 2 | argument --bs: must be at least 1
threads-negative | train --threads -1 --path {w}/fm --out {w}/x | 2 | argument --threads: must be at least 1
threads-zero | report {w}/run --threads 0 | 2 | argument --threads: must be at least 1
precision-fp16-cpu | train --precision fp16 --path {w}/fm --out {w}/x {tiny} | 2 | needs a CUDA GPU
precision-bf16-cpu | train --precision bf16 --path {w}/fm --out {w}/x {tiny} | 2 | needs a CUDA GPU
beta-nan | train --beta nan --path {w}/fm --out {w}/x | 2 | `beta` must be a finite number
lr-inf | train --lr inf --path {w}/fm --out {w}/x | 2 | `lr` must be a finite number
eps-2 | train --eps 2 --path {w}/fm --out {w}/x | 2 | did you mean 2/255
eps-8 | train --eps 8 --path {w}/fm --out {w}/x | 2 | did you mean 8/255
eps-inf | train --eps inf --path {w}/fm --out {w}/x | 2 | `eps` must be a finite number
eval-json-corrupt | eval {w}/run_badeval --attacks natural | 2 | eval.json is not a readable evaluation
history-json-corrupt | report {w}/run_badhist --out {w}/x | 2 | history.json is not a readable metrics history
eval-corrupt-checkpoint-hint | eval {w}/run_trunc | 2 | part_nb train --out
eps-not-a-number | train --eps abc --path {w}/fm --out {w}/x | 2 | argument --eps: not a number: 'abc'
warmup-inf | train --warmup inf --path {w}/fm --out {w}/x | 2 | argument --warmup: not a finite number: 'inf'
eps-low-nan-for-at | train --method at --eps-low nan --path {w}/fm --out {w}/x | 2 | `eps_low` must be a finite number
report-corrupt-checkpoint | report {w}/run_trunc --out {w}/x | 2 | is corrupt
# issue 30: a diverged run (its folder under home/, which the checksums leave out) and a checkpoint of NaN weights
lr-diverges | train --method at --lr 1e30 --path {w}/fm --out {w}/home/diverged {tiny} | 2 | training diverged in epoch 0
eval-nan-weights | eval {w}/run_nan --attacks natural | 2 | holds NaN or Inf weights
eval-json-wrong-structure | eval {w}/run_evshape --attacks natural | 2 | eval.json is not a part_nb evaluation (a list of rows, not int)
report-eval-json-wrong-structure | report {w}/run_evshape --out {w}/x | 2 | eval.json is not a part_nb evaluation
train-into-a-folder-in-use | train --method part --warmup 0 --path {w}/fm --out {w}/run_locked --resume {tiny} | 2 | is in use by part_nb train (pid
resume-with-another-process-count | train --out {w}/run_2proc --resume | 2 | was trained with 2 process(es) (global batch 64), this is 1: resume it as it ran, torchrun --nproc_per_node 2
eval-of-a-folder-in-use | eval {w}/run_locked --attacks natural | 2 | is in use by part_nb train
report-history-row-without-keys | report {w}/run_histkeys --out {w}/x | 2 | history.json is not a part_nb metrics history (row 0 lacks
# issue 30, more of a new user's mistakes: settings out of range or misspelt, each refused before anything is written
n-train-zero | train --n-train 0 --path {w}/fm --out {w}/x | 2 | `n_train` must be an integer >= 1, got 0
n-train-negative | train --n-train -5 --path {w}/fm --out {w}/x | 2 | `n_train` must be an integer >= 1, got -5
n-valid-zero | train --n-valid 0 --path {w}/fm --out {w}/x | 2 | `n_valid` must be an integer >= 1, got 0
warmup-negative | train --warmup -1 --path {w}/fm --out {w}/x | 2 | `warmup` must be whole epochs or a fraction below 1, got -1
warmup-longer-than-the-run | train --warmup 5 --epochs 2 --path {w}/fm --out {w}/x | 2 | warmup (5) is longer than the run (2 epochs)
eps-train-zero | train --eps-train 0 --path {w}/fm --out {w}/x | 2 | `eps_train` must be a finite number in (0, inf), got 0.0
eps-train-2 | train --eps-train 2 --path {w}/fm --out {w}/x | 2 | `eps_train` is 2, but budgets are in pixel units of images in [0, 1]: did you mean 2/255
eps-low-negative | train --eps-low -0.1 --path {w}/fm --out {w}/x | 2 | `eps_low` must be a finite number in [0, inf), got -0.1
beta-negative | train --method trades --beta -1 --path {w}/fm --out {w}/x | 2 | `beta` must be a finite number in [0, inf), got -1.0
wd-negative | train --wd -1 --path {w}/fm --out {w}/x | 2 | `wd` must be a finite number in [0, inf), got -1.0
wd-nan | train --wd nan --path {w}/fm --out {w}/x | 2 | `wd` must be a finite number in [0, inf), got nan
lr-zero | train --lr 0 --path {w}/fm --out {w}/x | 2 | `lr` must be a finite number in (0, inf), got 0.0
lr-negative | train --lr -0.1 --path {w}/fm --out {w}/x | 2 | `lr` must be a finite number in (0, inf), got -0.1
opt-unknown | train --opt rmsprop --path {w}/fm --out {w}/x | 2 | unknown optimizer 'rmsprop'; known: sgd, adam
cam-unknown | train --cam scorecam --path {w}/fm --out {w}/x | 2 | unknown CAM method 'scorecam'; known: gradcam, xgradcam, layercam, gradcam++
mask-source-unknown | train --mask-source bogus --path {w}/fm --out {w}/x | 2 | unknown mask source 'bogus'; known: cam, shuffled, random, inverted
cam-pass-unknown | train --method part-nfgsm --cam-pass both --path {w}/fm --out {w}/x | 2 | unknown CAM pass 'both'; known: separate, shared
steps-single-step | train --method at-nfgsm --steps 3 --path {w}/fm --out {w}/x | 2 | `alpha` and `steps` are PGD's: drop them
compile-mode-unknown | train --compile bogus --path {w}/fm --out {w}/x | 2 | unknown torch.compile mode 'bogus'; known: default, reduce-overhead
seed-negative | train --seed -1 --path {w}/fm --out {w}/x | 2 | `seed` must be an integer >= 0, got -1
seed-not-an-integer | train --seed abc --path {w}/fm --out {w}/x | 2 | argument --seed: invalid int value: 'abc'
bs-not-an-integer | train --bs abc --path {w}/fm --out {w}/x | 2 | argument --bs: invalid int value: 'abc'
steps-not-an-integer | train --steps 1.5 --path {w}/fm --out {w}/x | 2 | argument --steps: invalid int value: '1.5'
epochs-not-an-integer | train --epochs 1.5 --path {w}/fm --out {w}/x | 2 | argument --epochs: invalid int value: '1.5'
alpha-nan | train --alpha nan --path {w}/fm --out {w}/x | 2 | `alpha` must be a finite number in (0, inf), got nan
alpha-2 | train --alpha 2 --path {w}/fm --out {w}/x | 2 | `alpha` is 2, but budgets are in pixel units of images in [0, 1]: did you mean 2/255
mask-source-for-at | train --method at --mask-source random --path {w}/fm --out {w}/x | 2 | mask source 'random' needs a PART method
width-negative | train --width -3 --path {w}/fm --out {w}/x | 2 | `width` must be an integer >= 1, got -3
precision-unknown | train --precision fp8 --path {w}/fm --out {w}/x | 2 | unknown precision 'fp8'; known: fp32, bf16, fp16
fewer-images-than-a-batch | train --path {w}/fm --out {w}/x {tiny} --bs 128 | 2 | 64 training images are fewer than one batch (128)
path-is-a-file | train --path {w}/afile --out {w}/x | 2 | afile
svhn-not-found | train --data svhn --out {w}/x | 2 | SVHN
tiny-imagenet-not-found | train --data tiny-imagenet --out {w}/x | 2 | Tiny-ImageNet
resume-and-force | train --resume --force --out {w}/run | 2 | pass one of them, not both
unknown-option | train --bogus-option | 2 | unrecognized arguments: --bogus-option
eval-nonexistent-folder | eval {w}/nosuch --attacks natural | 2 | nosuch
eval-a-file | eval {w}/afile --attacks natural | 2 | afile
eval-empty-folder | eval {w}/empty --attacks natural | 2 | not a part_nb run folder
eval-attacks-empty-list | eval {w}/run --attacks , | 2 | no attack given; known: natural
eval-attack-of-0-steps | eval {w}/run --attacks natural,pgd0 | 2 | `steps of pgd0` must be an integer >= 1, got 0
eval-attack-of-0-restarts | eval {w}/run --attacks pgd20x0 | 2 | `restarts of pgd20x0` must be an integer >= 1
eval-n-not-an-integer | eval {w}/run --n abc | 2 | argument --n/--n-images
eval-bs-negative | eval {w}/run --bs -3 | 2 | argument --bs: must be at least 1
eval-without-a-run | eval | 2 | the following arguments are required: run
report-nonexistent-folder | report {w}/nosuch --out {w}/x | 2 | nosuch
report-a-file | report {w}/afile --out {w}/x | 2 | afile
report-out-is-a-file | report {w}/run --out {w}/afile | 2 | afile
report-without-runs | report | 2 | the following arguments are required: runs
'''
C = [(i, c.replace('{tiny}', ' '.join(TINY)), int(k), words) for i, c, k, words in
     (l.split(' | ', 3) for l in CASES.strip().splitlines() if not l.startswith('#'))]


class Forked:
    "What `subprocess.run` returns, for a command line run by `cli_forker.py`."
    def __init__(self, returncode, stdout, stderr): self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


@pytest.fixture(scope='module')
def cli_results(ws):
    "Every command-line case, one at a time, each with the workspace's checksums before and after."
    env = {**os.environ, 'HOME': str(ws / 'home'), 'PART_NB_DATA': str(ws / 'nodata')}
    env.pop('PART_NB_FASHION_MNIST', None)
    forker = subprocess.Popen([sys.executable, str(ROOT / 'tests' / 'cli_forker.py')], cwd=ws, env={**env, 'PYTHONWARNINGS': 'ignore'},
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    out, err, res = ws / 'home' / 'out.txt', ws / 'home' / 'err.txt', {}
    try:
        for name, cmd, code, words in C:
            before = snapshot(ws)
            forker.stdin.write(json.dumps(dict(args=cmd.format(w=ws).split(), cwd=str(ws), env=env, out=str(out), err=str(err))) + '\n')
            forker.stdin.flush()
            rc = int(forker.stdout.readline())
            res[name] = Forked(rc, out.read_text(), err.read_text()), before, snapshot(ws)
    finally:
        forker.stdin.close(); forker.wait(60)
    return res


@pytest.mark.parametrize('name,cmd,code,words', C, ids=[c[0] for c in C])
def test_cli_case(cli_results, name, cmd, code, words):
    r, before, after = cli_results[name]
    assert r.returncode == code, (r.returncode, r.stderr[-2000:])
    out = (r.stderr if code else r.stdout).strip()
    assert 'Traceback' not in r.stderr, r.stderr[-2000:]
    if code:
        assert len(out.splitlines()) == 1, out
        assert out.startswith(f"part_nb {cmd.split()[0]}: error: "), out
    assert words in out, out
    assert after == before, sorted(set(after.items()) ^ set(before.items()))


def test_eval_corrupt_checkpoint_hint_names_no_eval_force(cli_results):
    "The corrupt-checkpoint message of `eval` must not suggest `eval --force`, which does not exist."
    r = cli_results['eval-corrupt-checkpoint-hint'][0]
    assert 'part_nb train --out' in r.stderr and 'pass --force' not in r.stderr


# ------------------------------------------------------------------ Python cases, in-process
from fastai.learner import Learner
import fastai.callback.progress  # Learner.no_bar
from fastai.callback.core import Callback
from fastai.vision.learner import vision_learner
from torchvision.models import resnet18
from part_nb.core import InputError
from part_nb.data import ImageArrays, array_dls
from part_nb.models import small_cnn
from part_nb.cam import batch_cam
from part_nb.mask import importance_mask, pixel_eps_map
from part_nb.attack import pgd, mma, single_step
from part_nb.callback import PARTCallback
from part_nb.models import get_model
from part_nb.data import get_dls
from part_nb.evaluate import robust_eval
from part_nb.runs import train


def dls(n=128, c=1, size=28, bs=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    a = ImageArrays(torch.randint(0, 256, (n, c, size, size), dtype=torch.uint8, generator=g),
                    torch.randint(0, 10, (n,), generator=g), list('abcdefghij'))
    return array_dls(a, a, bs=bs, device='cpu')


def fit(model, cb, n_epoch=1, data=None, extra=()):
    learn = Learner(data or dls(), model)
    with learn.no_bar(), learn.no_logging(): learn.fit(n_epoch, 1e-3, cbs=[cb, *extra])
    return learn


class NaNAt(Callback):
    order = 54
    def __init__(self, it): self.it = it
    def before_batch(self):
        if self.training and self.iter == self.it: self.learn.xb = (self.xb[0].clone().fill_(float('nan')),)


class Interrupt(Callback):
    def before_batch(self):
        if self.training and self.iter == 1: raise KeyboardInterrupt()


class Body(nn.Module):
    "A user model with a submodule that happens to be called `module`."
    def __init__(self):
        super().__init__()
        self.module, self.cam_layer = small_cnn(width=4).features, 'module'
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))
    def forward(self, x): return self.head(self.module(x))


def within_budget(model, n):
    x = torch.rand(n, 1, 28, 28); y = torch.randint(0, 10, (n,))
    em = pixel_eps_map(model, x, 0.1, 0.05)
    xa = pgd(model, x, y, em, 0.03, 2)
    return bool(((xa - x).abs() <= em + 1e-6).all() and xa.min() >= 0 and xa.max() <= 1)


def kbd_interrupt_then_fit():
    learn = Learner(dls(), small_cnn(width=4))
    with learn.no_bar(), learn.no_logging():
        with pytest.raises(KeyboardInterrupt): learn.fit(1, cbs=[PARTCallback(eps=0.1, eps_low=0.05, steps=1), Interrupt()])
        learn.fit(1, cbs=PARTCallback(eps=0.1, eps_low=0.05, steps=1))
    return list(learn.recorder.metric_names).count('full_eps_frac')


def inplace_cam() -> bool:
    "An in-place ReLU right after the CAM layer gives the same CAM as an ordinary one (the hook keeps its own copy)."
    torch.manual_seed(0); conv, lin, x = nn.Conv2d(1, 4, 3), nn.Linear(4, 10), torch.rand(3, 1, 8, 8)
    cam = lambda inplace: batch_cam(nn.Sequential(conv, nn.ReLU(inplace=inplace), nn.AdaptiveAvgPool2d(1), nn.Flatten(), lin), x, layer='0')
    a, b = cam(True), cam(False)
    return bool(torch.allclose(a, b) and not a.isnan().any() and a.abs().sum() > 0)


def pgd_moves_within(attack) -> bool:
    "`attack(model, x, y)` on `SumFirst` (stride-0 input gradient): AEs inside the budget's reach, and not the images themselves."
    x, y = xy()
    d = (attack(SumFirst(), x, y) - x).abs()
    return bool(d.max() > 0 and (d <= 0.3 + 1e-6).all())  # N-FGSM may reach 3 eps = 0.3; PGD stays within 0.1 (tested elsewhere)


def fit_body() -> bool:
    "A model with a submodule called `module` (as DDP's wrapper has) trains as itself, with a per-pixel budget after no warm-up."
    learn = fit(Body(), PARTCallback(eps=0.1, eps_low=0.05, steps=1, warmup=0))
    return learn.recorder.values[-1][learn.recorder.metric_names.index('full_eps_frac') - 1] < 1


def crafted_cifar_pickle():
    "A torchvision-format CIFAR-10 folder whose first batch, unpickled, would run a shell command."
    from part_nb.data import load_cifar10
    class Evil:
        def __reduce__(self): return (os.system, (f'touch {d}/ran',))
    with tempfile.TemporaryDirectory() as d:
        for f in ('data_batch_1', 'test_batch'): (Path(d) / f).write_bytes(pickle.dumps({b'data': Evil(), b'labels': [0]}))
        try: load_cifar10(d)
        finally: assert not (Path(d) / 'ran').exists(), 'the pickle ran its command'


class SumFirst(nn.Module):
    "A model whose first operation reduces its input: autograd hands back an expanded (stride-0) input gradient."
    def __init__(self): super().__init__(); self.lin = nn.Linear(1, 10)
    def forward(self, x): return self.lin(x.sum((2, 3)) / 784)


def xy(n=2): return torch.rand(n, 1, 28, 28), torch.arange(n) % 10


def vision_learner_32():
    learn = vision_learner(dls(n=64, c=3, size=32), resnet18, pretrained=False)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3, cbs=PARTCallback(steps=1, warmup=0))
    return ' '.join(str(m.message) for m in w)


def vit_patch_5():
    "A ViT of 5x5 patches on 28x28 images, trained with PART."
    from part_nb.models import vit_tiny
    return fit(vit_tiny(1, patch=5, depth=1, width=16, heads=1), PARTCallback(eps=0.1, eps_low=0.05, steps=1))


def cache_of_other_arrays():
    "A CIFAR-10-layout archive whose cache file holds labels out of range: named in a warning, decoded again, replaced."
    import tarfile
    from PIL import Image
    from part_nb.datafiles import load_cifar10, cache_file
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        for s, c in (('train', 'cat'), ('train', 'dog'), ('test', 'cat'), ('test', 'dog')):
            (d/'c'/s/c).mkdir(parents=True); Image.new('RGB', (8, 8), (9, 99, 199)).save(d/'c'/s/c/'0.png')
        with tarfile.open(d/'c.tar', 'w') as tf: tf.add(d/'c', arcname='c')
        good = load_cifar10(d/'c.tar')[0].y
        f = cache_file(d/'c.tar'); z = dict(np.load(f)); z['y_train'] = z['y_train'] + 5
        with open(f, 'wb') as fh: np.savez(fh, **z)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter('always'); again = load_cifar10(d/'c.tar')[0].y
        return (torch.equal(again, good) and any('not a cache of these images (y_train outside 0..1)' in str(m.message) for m in w)
                and int(np.load(f)['y_train'].max()) == 1)



# (id, function, exception (None: must work) or check of the result, words in the message)
P = [
    ('pgd-nan', lambda: pgd(small_cnn(width=4), torch.full((2, 1, 28, 28), float('nan')), torch.tensor([0, 1]), 0.1, 0.03, 2), InputError, 'NaN'),
    ('batch-of-1', lambda: within_budget(small_cnn(width=4), 1), True, ''),
    ('batch-of-3', lambda: within_budget(small_cnn(width=4), 3), True, ''),
    ('batch-of-7', lambda: within_budget(small_cnn(width=4), 7), True, ''),
    ('3-channels-into-1-channel-model', lambda: batch_cam(small_cnn(width=4), torch.rand(2, 3, 28, 28)), RuntimeError, 'channels'),
    ('model-without-its-cam-layer', lambda: batch_cam(nn.Sequential(small_cnn(width=4)), torch.rand(2, 1, 28, 28), layer='features.9'), InputError, 'no submodule named'),
    ('callback-eps-low-above-eps', lambda: PARTCallback(eps=8/255, eps_low=9/255), InputError, 'must not exceed'),
    ('callback-eps-8', lambda: PARTCallback(eps=8), InputError, 'did you mean 8/255'),
    ('callback-eps-low-7', lambda: PARTCallback(eps=8/255, eps_low=7), InputError, '`eps_low` is 7, but budgets are in pixel units'),
    ('predict-wrong-shape', lambda: get_dls(n_train=32, n_valid=32, bs=16).test_dl([torch.zeros(3, 32, 32)]).one_batch(), InputError,
     'takes images of shape (1, 28, 28) (C, H, W), got (3, 32, 32)'),
    ('callback-unknown-cam', lambda: PARTCallback(cam='gradcum'), InputError, "unknown CAM method 'gradcum'"),
    ('callback-unknown-rule', lambda: PARTCallback(rule='median'), InputError, "unknown mask rule 'median'"),
    ('callback-frac-out-of-range', lambda: PARTCallback(rule='top', frac=2.), InputError, '`frac` must be a finite number in [0, 1]'),
    ('callback-thresh-nan', lambda: PARTCallback(thresh=float('nan')), InputError, '`thresh` must be a finite number'),
    ('callback-beta-nan', lambda: PARTCallback(loss='trades', beta=float('nan')), InputError, '`beta` must be a finite number'),
    ('callback-layer-type', lambda: PARTCallback(layer=3), InputError, '`layer` must be None'),
    ('callback-unknown-layer-at-before-fit', lambda: fit(small_cnn(width=4), PARTCallback(layer='features.99')), InputError, "no submodule named 'features.99'"),
    ('callback-default-warmup', lambda: PARTCallback().warmup == 0.25, True, ''),
    ('nan-first-batch', lambda: fit(small_cnn(width=4), PARTCallback(eps=0.1, eps_low=0.05, steps=1), extra=[NaNAt(0)]), InputError, 'batch 0 of epoch 0 holds NaN'),
    ('nan-later-batch', lambda: fit(small_cnn(width=4), PARTCallback(eps=0.1, eps_low=0.05, steps=1), extra=[NaNAt(2)]), InputError, 'batch 2 of epoch 0 holds NaN'),
    ('ddp-lookalike-submodule-named-module', fit_body, True, ''),
    ('cam-layer-then-inplace-relu', inplace_cam, True, ''),
    ('top-rule-all-zero-cam', lambda: float(importance_mask(torch.zeros(2, 8, 8), 'top').sum()) == 0., True, ''),
    ('keyboard-interrupt-leaves-no-columns', lambda: kbd_interrupt_then_fit() == 1, True, ''),
    ('vision-learner-1x1-cam-layer', lambda: "using layer '0.5'" in vision_learner_32(), True, ''),
    ('pgd-eps-8', lambda: pgd(small_cnn(width=4), *xy(), 8, 0.03, 2), InputError, 'did you mean 8/255'),
    ('mma-eps-8', lambda: mma(small_cnn(width=4), *xy(), 8, 0.03, 2), InputError, 'did you mean 8/255'),
    ('single-step-eps-8', lambda: single_step(small_cnn(width=4), *xy(), 8), InputError, 'did you mean 8/255'),
    ('pgd-budget-map-of-2', lambda: pgd(small_cnn(width=4), *xy(), torch.full((2, 1, 28, 28), 2.), 0.03, 2), InputError, 'reaches 1 or more'),
    ('pgd-expanded-input-gradient', lambda: pgd_moves_within(lambda m, x, y: pgd(m, x, y, 0.1, 0.03, 2)), True, ''),
    ('nfgsm-expanded-input-gradient', lambda: pgd_moves_within(lambda m, x, y: single_step(m, x, y, 0.1)), True, ''),
    ('cifar-pickle-runs-nothing', crafted_cifar_pickle, InputError, 'refused or unreadable pickle'),
    ('explicit-1x1-cam-layer', lambda: fit(vision_learner(dls(n=64, c=3, size=32), resnet18, pretrained=False).model,
                                           PARTCallback(steps=1, warmup=0, layer='0.7'), data=dls(n=64, c=3, size=32)), InputError, 'gives 1x1 maps'),
    # issue 30: the Python API's own mistakes
    ('batch-cam-nan-image', lambda: batch_cam(small_cnn(width=4), torch.where(torch.arange(3)[:, None, None, None] == 1, float('nan'), torch.rand(3, 1, 28, 28))),
     InputError, 'holds NaN or Inf values (images [1])'),
    ('vit-patch-does-not-tile-the-image', vit_patch_5, InputError, "28x28 images are not tiled by the model's 5x5 patches"),
    ('cache-file-of-other-arrays', cache_of_other_arrays, True, ''),
    ('train-resume-and-force', lambda: train(tempfile.mkdtemp(), resume=True, force=True), InputError, 'pass one of them, not both'),
    ('callback-steps-zero', lambda: PARTCallback(steps=0), InputError, '`steps` must be an integer >= 1'),
    ('callback-alpha-2', lambda: PARTCallback(alpha=2), InputError, 'did you mean 2/255'),
    ('callback-eps-nan', lambda: PARTCallback(eps=float('nan')), InputError, '`eps` must be a finite number'),
    ('callback-eps-low-negative', lambda: PARTCallback(eps_low=-0.01), InputError, '`eps_low` must be a finite number in [0, inf)'),
    ('callback-unknown-loss', lambda: PARTCallback(loss='hinge'), InputError, "unknown loss 'hinge'"),
    ('callback-unknown-attack', lambda: PARTCallback(attack='bim'), InputError, "unknown training attack 'bim'"),
    ('callback-unknown-cam-pass', lambda: PARTCallback(attack='nfgsm', cam_pass='both'), InputError, "unknown CAM pass 'both'"),
    ('callback-unknown-mask-source', lambda: PARTCallback(mask_source='bogus'), InputError, "unknown mask source 'bogus'"),
    ('callback-unknown-target', lambda: PARTCallback(target='true'), InputError, "unknown CAM target 'true'"),
    ('callback-warmup-negative', lambda: PARTCallback(warmup=-1), InputError, '`warmup` must be whole epochs or a fraction below 1, got -1'),
    ('callback-warmup-1.5', lambda: PARTCallback(warmup=1.5), InputError, '`warmup` must be whole epochs or a fraction below 1'),
    ('callback-single-step-with-trades', lambda: PARTCallback(attack='nfgsm', loss='trades'), InputError, "single-step attacks train with loss='at' only"),
    ('callback-compile-single-step', lambda: PARTCallback(attack='nfgsm', compile=True), InputError, "compile compiles the PGD attack; the single-step attack 'nfgsm' runs eagerly"),
    ('callback-steps-single-step', lambda: PARTCallback(attack='nfgsm', steps=5), InputError, "`alpha` and `steps` are PGD's: drop them"),
    ('callback-alpha-single-step', lambda: PARTCallback(attack='fgsm-rs', alpha=0.01), InputError, "takes one step of its own size (1.25 eps)"),
    ('callback-default-alpha-scales', lambda: PARTCallback(eps=0.1).alpha == 0.025, True, ''),
    ('callback-numpy-eps', lambda: fit(small_cnn(width=4), PARTCallback(eps=np.float32(0.1), steps=1, warmup=0)).part_callback.eps_low > 0.087, True, ''),
    ('pgd-labels-of-another-length', lambda: pgd(small_cnn(width=4), xy(3)[0], torch.tensor([0, 1]), 0.1, 0.03, 2), InputError, 'labels must have shape (3,) to match the images'),
    ('pgd-labels-out-of-range', lambda: pgd(small_cnn(width=4), xy(2)[0], torch.tensor([0, 12]), 0.1, 0.03, 2), InputError, 'labels'),
    ('pgd-uint8-images', lambda: pgd(small_cnn(width=4), torch.zeros(2, 1, 28, 28, dtype=torch.uint8), torch.tensor([0, 1]), 0.1, 0.03, 2), TypeError, 'floating-point'),
    ('pgd-images-above-1', lambda: pgd(small_cnn(width=4), xy()[0] * 255, xy()[1], 0.1, 0.03, 2), InputError, 'images must lie in [0, 1]'),
    ('pgd-steps-negative', lambda: pgd(small_cnn(width=4), *xy(), 0.1, 0.03, -1), InputError, 'steps must be an int >= 0'),
    ('pgd-alpha-2', lambda: pgd(small_cnn(width=4), *xy(), 0.1, 2, 2), InputError, '`alpha` is 2, but budgets are in pixel units'),
    ('mask-unknown-rule', lambda: importance_mask(torch.rand(2, 8, 8), 'median'), InputError, "unknown mask rule 'median'"),
    ('eps-map-eps-low-above-eps', lambda: pixel_eps_map(small_cnn(width=4), xy()[0], 0.05, 0.1), InputError, 'must not exceed'),
    ('get-model-unknown', lambda: get_model('vgg16'), ValueError, "Unknown architecture 'vgg16'"),
    ('get-dls-unknown', lambda: get_dls('mnist'), ValueError, "Unknown data set 'mnist'"),
    ('image-arrays-float-images', lambda: ImageArrays(torch.rand(2, 1, 8, 8), torch.zeros(2), ['a']), TypeError, 'images must be uint8'),
    ('image-arrays-labels-out-of-range', lambda: ImageArrays(torch.zeros(2, 1, 8, 8, dtype=torch.uint8), torch.tensor([0, 3]), ['a', 'b']), ValueError, 'labels must lie in 0..1'),
    ('robust-eval-unknown-attack', lambda: robust_eval(small_cnn(width=4), xy(4), 0.1, attacks=('natural', 'fgsm')), InputError, "unknown attack 'fgsm'"),
]


@pytest.mark.parametrize('name,f,expect,words', P, ids=[p[0] for p in P])
def test_python_case(name, f, expect, words):
    torch.manual_seed(0)
    if expect is True: assert f() is True
    else:
        with pytest.raises(expect) as e: f()
        msg = str(e.value).split('\n\t')[-1]  # fastai puts the callback and event on a line before a callback's message
        assert words in msg and '\n' not in msg.strip(), msg


def test_table_size():
    assert len(C) + len(P) >= 140, len(C) + len(P)  # issue 30: 46 old cases and 99 new, less merges


@pytest.mark.skipif(os.getuid() != 0, reason='the set-up calls apt-get only as root (or with sudo, which would not see a stand-in)')
def test_two_setups_at_once_take_turns(tmp_path):
    "Two `tools/setup.sh` at once (issue 30): apt runs in one of them, one call at a time, and neither says it failed."
    shim, log, fm = tmp_path/'bin', tmp_path/'apt.log', tmp_path/'fm'
    shim.mkdir()
    (shim/'apt-get').write_text(f'#!/bin/bash\necho "start $$" >> {log}; sleep 1\n'
                                f'if [[ "$*" == *install* ]]; then mkdir -p {fm}; touch {fm}/train-images-idx3-ubyte.gz; fi\n'
                                f'echo "end $$" >> {log}\n')
    (shim/'apt-get').chmod(0o755)
    env = {**os.environ, 'PATH': f"{shim}:{os.environ['PATH']}", 'PART_NB_SYSTEM_FASHION_MNIST': str(fm), 'TMPDIR': str(tmp_path)}
    ps = [subprocess.Popen(['bash', str(ROOT/'tools'/'setup.sh')], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
          for _ in range(2)]
    outs = [p.communicate(timeout=900) for p in ps]
    assert [p.returncode for p in ps] == [0, 0], outs
    assert not any('WARNING' in err or 'failed' in err for _, err in outs), outs
    events = [l.split() for l in log.read_text().splitlines()]
    assert [e[0] for e in events] == ['start', 'end', 'start', 'end'], events  # update, then install: never two at once
    assert len({pid for _, pid in events[:2]}) == 1 and len({pid for _, pid in events[2:]}) == 1, events
    assert sum('installing Debian package' in out for out, _ in outs) == 1, outs  # the second found the data
