"""Fast PART's training cost, paired: single-step PART against PGD-10 PART and against single-step AT.

One fastai `fit` of one `Learner` with one `PARTCallback` whose settings are switched between blocks of `--block`
batches: each mode's blocks interleave with every other's (round r runs the modes in order, round r+1 in reverse),
so clock drift and other jobs hit all of them alike. The fastest and the median block of each mode give ms per
batch; the ratios are of medians. Random 3x32x32 images (CIFAR-10 size), ResNet-18 of `--width`.

Modes: AT and PART with PGD-`--steps`, AT-N-FGSM, PART-N-FGSM with the CAM from the attack's pass ('shared'), and
PART-N-FGSM with a CAM pass of its own ('separate').

    python bench/bench_fast.py                                  # cuda if available, width 64, batch 128
    python bench/bench_fast.py --device cpu --width 16 --bs 64 --block 3 --rounds 4
"""
import argparse, statistics
import torch
from part_nb.models import resnet18_cifar
from timing import BlockTimer

modes = {
    'AT (PGD)':             dict(attack='pgd', pixel_reweight=False),
    'PART (PGD)':           dict(attack='pgd', pixel_reweight=True),
    'AT-N-FGSM':            dict(attack='nfgsm', pixel_reweight=False),
    'PART-N-FGSM shared':   dict(attack='nfgsm', pixel_reweight=True, cam_pass='shared'),
    'PART-N-FGSM separate': dict(attack='nfgsm', pixel_reweight=True, cam_pass='separate'),
}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    p.add_argument('--bs', type=int, default=128)
    p.add_argument('--width', type=int, default=64)
    p.add_argument('--steps', type=int, default=10, help='PGD steps of the PGD modes')
    p.add_argument('--block', type=int, default=10, help='batches per timed block')
    p.add_argument('--rounds', type=int, default=4, help='blocks per mode')
    a = p.parse_args()
    from fastai.learner import Learner
    from fastai.optimizer import SGD
    import fastai.callback.progress  # Learner.no_bar
    from part_nb.data import ImageArrays, array_dls
    from part_nb.callback import PARTCallback
    dev = torch.device(a.device)
    print(f"device={dev} ({torch.cuda.get_device_name(dev) if dev.type == 'cuda' else 'cpu, %d threads' % torch.get_num_threads()}) "
          f"torch {torch.__version__} bs={a.bs} width={a.width} PGD steps={a.steps} block={a.block} rounds={a.rounds}")
    names = list(modes)
    order = [m for r in range(a.rounds) for m in (names if r % 2 == 0 else names[::-1])]
    warm = 3
    n = a.bs * (warm + len(order) * a.block)
    torch.manual_seed(0)
    data = ImageArrays(torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8), torch.randint(0, 10, (n,)), list('0123456789'))
    dls = array_dls(data, data.subset(a.bs), bs=a.bs, device=dev)
    learn = Learner(dls, resnet18_cifar(width=a.width).to(dev), opt_func=SGD, lr=0.01, wd=2e-4)
    part = PARTCallback(eps=8/255, eps_low=7/255, alpha=2/255, steps=a.steps, warmup=0)

    def set_mode(m):
        for k, v in modes[m].items(): setattr(part, k, v)
    blocks = BlockTimer(order, a.block, warm, set_mode, dev, warm_modes=names)  # warm-up: every mode once
    with learn.no_bar(), learn.no_logging(): learn.fit(1, cbs=[part, blocks])
    v = {m: statistics.median(t) for m, t in blocks.times.items()}
    for m, t in blocks.times.items():
        print(f"{m:22s} " + ' '.join(f'{x:8.2f}' for x in t) + f"  ms/batch; fastest {min(t):.2f}, median {v[m]:.2f}, "
              f"{v[m] * 391 / 1e3:.1f} s per 391-batch epoch")
    fast = v['PART-N-FGSM shared']
    print(f"fast PART (shared) / PGD-{a.steps} PART = {fast / v['PART (PGD)']:.3f}")
    print(f"fast PART (shared) / AT-N-FGSM = {fast / v['AT-N-FGSM']:.3f}")
    print(f"fast PART (separate) / AT-N-FGSM = {v['PART-N-FGSM separate'] / v['AT-N-FGSM']:.3f}")
    print(f"PGD-{a.steps} PART / PGD-{a.steps} AT = {v['PART (PGD)'] / v['AT (PGD)']:.3f}")


if __name__ == '__main__': main()
