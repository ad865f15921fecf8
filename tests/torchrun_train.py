"`part_nb train ARGS` in one torchrun process, which also saves its replica's final weights as OUT/rankR.pt (for tests/test_torchrun.py)."
import os, sys
import torch
from fastai.learner import Learner
from part_nb.cli import main
from part_nb.core import unwrap_model

out, args = sys.argv[1], sys.argv[2:]
fit = Learner.fit_one_cycle
def fit_and_save(self, *a, **k):
    fit(self, *a, **k)
    torch.save(unwrap_model(self.model).state_dict(), f"{out}/rank{os.environ['RANK']}.pt")
Learner.fit_one_cycle = fit_and_save
main(['train', '--out', out, *args])
