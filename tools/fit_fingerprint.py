"""Fingerprints of fixed-seed fits: the SHA-256 of the weights after a short PART, fast-PART (N-FGSM, both CAM passes),
PART-T (TRADES) and AT fit on 512 Fashion-MNIST images, one CPU thread. A refactoring that must not move the numbers
prints the same lines before and after it:

    PYTHONPATH=<old checkout> python tools/fit_fingerprint.py > before.txt
    python tools/fit_fingerprint.py > after.txt && diff before.txt after.txt
"""
import hashlib, warnings
warnings.filterwarnings('ignore')
import torch
from fastai.learner import Learner
from fastai.torch_core import set_seed
import fastai.callback.progress, fastai.callback.schedule  # Learner.no_bar, fit_one_cycle
from part_nb.data import get_dls
from part_nb.models import small_cnn
from part_nb.callback import PARTCallback

torch.set_num_threads(1)
runs = {'part': dict(), 'part-nfgsm-separate': dict(attack='nfgsm', cam_pass='separate'),
        'part-nfgsm-shared': dict(attack='nfgsm', cam_pass='shared'), 'part-t': dict(loss='trades'),
        'at': dict(pixel_reweight=False)}
for name, kw in runs.items():
    set_seed(0)
    dls = get_dls('fashion-mnist', bs=64, n_train=512, n_valid=64, device='cpu')
    learn = Learner(dls, small_cnn(width=8))
    with learn.no_bar(), learn.no_logging():
        learn.fit_one_cycle(2, 0.01, cbs=PARTCallback(eps=0.1, eps_low=0.075, alpha=0.025, steps=3, warmup=1, **kw))
    h = hashlib.sha256(b''.join(v.detach().cpu().numpy().tobytes() for v in learn.model.state_dict().values())).hexdigest()
    print(f"{name:22s} {h[:32]}")
