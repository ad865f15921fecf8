"""Timing helpers shared by the benchmark scripts of `bench/`: a device sync, and a fastai callback that times training
batches in blocks, one mode per block, in one fit (paired: clock drift and other jobs hit every mode alike)."""
import time
import torch
from fastai.callback.core import Callback


def sync(dev):
    "Wait for the work queued on `dev` (a CUDA device); nothing on the CPU, whose work is done when a call returns."
    dev = torch.device(dev)
    if dev.type == 'cuda': torch.cuda.synchronize(dev)


class BlockTimer(Callback):
    """Time training batches in blocks of `block` batches; block k runs in mode `sequence[k]`, switched by `set_mode(mode)`
    between blocks (synchronised, outside the timing). The first `warm` batches are untimed, in modes `warm_modes` in
    turn (compilation, cudnn autotuning). `.times[mode]`: ms per batch of each block of that mode."""
    order = 0  # before the callbacks whose settings `set_mode` switches

    def __init__(self, sequence, block, warm, set_mode, dev, warm_modes=None):
        self.sequence, self.block, self.warm, self.set_mode, self.dev = list(sequence), block, warm, set_mode, dev
        self.warm_modes = list(warm_modes or dict.fromkeys(self.sequence))

    def before_fit(self): self.times, self.t0 = {m: [] for m in dict.fromkeys(self.sequence)}, None

    def _lap(self, k):
        "Close the running block, which ran in mode `sequence[k]`."
        sync(self.dev)
        if self.t0 is not None: self.times[self.sequence[k]].append((time.perf_counter() - self.t0) / self.block * 1e3)

    def before_batch(self):
        if not self.training: return
        i = self.iter - self.warm
        if i < 0: self.set_mode(self.warm_modes[self.iter % len(self.warm_modes)]); return
        if i % self.block: return
        self._lap(i // self.block - 1)
        self.set_mode(self.sequence[i // self.block])
        sync(self.dev); self.t0 = time.perf_counter()

    def after_train(self): self._lap(len(self.sequence) - 1)
