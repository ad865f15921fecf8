"""Peer check of `part_nb.attack.pgd`: its PGD-20 accuracy must match torchattacks' PGD (an independent
implementation) within 1 point on 1,000 real Fashion-MNIST test images, on the same briefly trained small CNN.

Two budgets: the notebooks' eps = 0.1, where this non-robust model keeps almost nothing (a weak check), and
eps = 0.03, where about a third of the images survive, so a weaker or stronger attack would show."""
from pathlib import Path
import pytest, torch

torchattacks = pytest.importorskip('torchattacks')
FM = Path('/usr/share/datasets/fashion-mnist')
pytestmark = pytest.mark.skipif(not (FM/'train-images-idx3-ubyte.gz').exists(),
                                reason=f"Fashion-MNIST not installed in {FM} (apt-get install dataset-fashion-mnist)")
N, BS = 1000, 250


@pytest.fixture(scope='module')
def trained():
    from fastai.learner import Learner
    from fastai.callback.progress import ProgressCallback
    import fastai.callback.schedule  # Learner.fit_one_cycle
    from fastai.torch_core import set_seed
    from part_nb.data import get_dls
    from part_nb.models import small_cnn
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the test machine's 2 cores are shared: one thread avoids OpenMP stalls
    set_seed(0)  # python, numpy and torch: fastai shuffles with python's `random`
    dls = get_dls(n_train=6000, n_valid=N, bs=64)
    learn = Learner(dls, small_cnn(width=16))
    learn.remove_cb(ProgressCallback)
    with learn.no_logging(): learn.fit_one_cycle(1, 1e-2)
    x = torch.cat([b[0] for b in dls.valid]).as_subclass(torch.Tensor)
    y = torch.cat([b[1] for b in dls.valid]).as_subclass(torch.Tensor)
    yield learn.model.eval(), x, y
    torch.set_num_threads(threads)


def attack_all(attack, x, y):
    "AEs of all of `x`, batch by batch."
    return torch.cat([attack(x[i:i+BS], y[i:i+BS]) for i in range(0, len(x), BS)])


def accuracy(model, x, y):
    with torch.no_grad(): return (model(x).argmax(1) == y).float().mean().item()


@pytest.mark.parametrize('eps', [pytest.param(0.1, marks=pytest.mark.slow), 0.03])  # 0.1: the weak check, `make test-all` only
def test_pgd20_matches_torchattacks(trained, eps):
    from part_nb.attack import pgd
    model, x, y = trained
    torch.manual_seed(1)
    ours = attack_all(lambda xb, yb: pgd(model, xb, yb, eps, eps/4, 20), x, y)
    torch.manual_seed(1)
    theirs = attack_all(torchattacks.PGD(model, eps=eps, alpha=eps/4, steps=20, random_start=True), x, y)
    natural, acc_ours, acc_theirs = accuracy(model, x, y), accuracy(model, ours, y), accuracy(model, theirs, y)
    print(f"eps={eps}: natural {natural:.3f}, PGD-20 ours {acc_ours:.3f}, torchattacks {acc_theirs:.3f}, "
          f"max |AE difference| {(ours - theirs).abs().max().item():.2g}")
    assert natural > 0.6 and acc_ours < natural - 0.2
    assert abs(acc_ours - acc_theirs) <= 0.01, (acc_ours, acc_theirs)
    # Both draw the same uniform start from the same seed and take the same projected sign steps,
    # so the AEs themselves agree (up to float rounding in the projection) on nearly every image.
    same = ((ours - theirs).abs().flatten(1).amax(1) < 1e-5).float().mean().item()
    assert same > 0.98, same
