"One process of the two-process CPU (gloo) DDP test; run by tests/test_ddp.py with RANK/WORLD_SIZE set."
import json, os, sys
import torch
from fastai.vision.all import Learner, Callback, accuracy, LongTensor
import fastai.distributed as fd
from torch.distributed.algorithms.ddp_comm_hooks.default_hooks import allreduce_hook
from part_nb.data import get_dls
from part_nb.models import small_cnn
from part_nb.callback import PARTCallback


def _cpu_broadcast(self, t, rank):
    "fastai 2.8.12's DistributedDL._broadcast calls .cuda(); gloo broadcasts CPU tensors."
    t = LongTensor(t)
    torch.distributed.broadcast(t, rank)
    return t.tolist()
fd.DistributedDL._broadcast = _cpu_broadcast


class CountAllReduce(Callback):
    "Counts DDP's gradient all-reduces (one per bucket per backward through DDP) and the training batches."
    order = 12  # right after DistributedTrainer wrapped the model
    def before_fit(self):
        self.n_reduce, self.n_batch = 0, 0
        def hook(state, bucket):
            self.n_reduce += 1
            return allreduce_hook(state, bucket)
        self.learn.model.register_comm_hook(None, hook)
    def after_batch(self):
        if self.training: self.n_batch += 1


def main(out, loss):
    torch.manual_seed(0)
    dls = get_dls('fashion-mnist', bs=64, n_train=512, n_valid=128, device='cpu')
    learn = Learner(dls, small_cnn(), metrics=accuracy)
    part = PARTCallback(eps=0.1, eps_low=0.0875, alpha=0.025, steps=2, loss=loss, warmup=0)
    cnt = CountAllReduce()
    with learn.distrib_ctx(sync_bn=False, cpu=True):
        with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-2, cbs=[part, cnt])
        torch.distributed.barrier()  # both ranks done before the group is torn down (a rank leaving first could abort the other)
    rank = int(os.environ['RANK'])
    torch.save(learn.model.state_dict(), f'{out}/rank{rank}.pt')
    json.dump(dict(n_reduce=cnt.n_reduce, n_batch=cnt.n_batch,
                   eps_map_values=sorted(set(part.eps_map.unique().tolist()))), open(f'{out}/rank{rank}.json', 'w'))


if __name__ == '__main__': main(sys.argv[1], sys.argv[2])
