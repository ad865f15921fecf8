"""Seconds per 391-batch epoch of AT and PART training steps: the fastai callbacks and a plain PyTorch loop.

ResNet-18 (CIFAR), 3x32x32 random data, batch 128, PGD-10 by default. Prints one line per variant and the
ratios PART/AT and fastai-PART/plain-PART. Example (GPU):  python bench/bench_train.py --device cuda --repeat 3
CPU-sized:  python bench/bench_train.py --device cpu --batches 3 --width 16
"""
import argparse, statistics, time
import torch, torch.nn.functional as F
from fastai.learner import Learner
from fastai.callback.core import Callback
import fastai.callback.progress  # Learner.no_bar
import fastai.callback.fp16  # Learner.to_bf16
from fastai.optimizer import SGD
from part_nb.data import ImageArrays, array_dls
from part_nb.models import resnet18_cifar
from part_nb.callback import PARTCallback, ATCallback
from part_nb.mask import pixel_eps_map
from part_nb.attack import pgd
from timing import sync


def fastai_epoch(cb, args, dev):
    n = args.bs * (args.batches + args.warm)
    data = ImageArrays(torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8), torch.randint(0, 10, (n,)), list('0123456789'))
    dls = array_dls(data, data.subset(args.bs), bs=args.bs, device=dev)
    torch.manual_seed(0)
    learn = Learner(dls, resnet18_cifar(width=args.width).to(dev), opt_func=SGD, lr=0.01, wd=2e-4)
    if args.bf16: learn = learn.to_bf16()

    class Timer(Callback):
        order = 99
        def before_batch(self):
            if self.training and self.iter == args.warm: sync(dev); self.t0 = time.perf_counter()
        def after_train(self): sync(dev); self.t = time.perf_counter() - self.t0
    timer = Timer()
    with learn.no_bar(), learn.no_logging():
        learn.fit(1, cbs=[cb, timer])
    return timer.t / args.batches


def plain_epoch(args, dev, part=True):
    torch.manual_seed(0)
    model = resnet18_cifar(width=args.width).to(dev)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=2e-4)
    xs = torch.rand(args.batches + args.warm, args.bs, 3, 32, 32, device=dev)
    ys = torch.randint(0, 10, (args.batches + args.warm, args.bs), device=dev)
    for i in range(args.batches + args.warm):
        if i == args.warm: sync(dev); t0 = time.perf_counter()
        x, y = xs[i], ys[i]
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=args.bf16):
            if part:
                eps = pixel_eps_map(model, x, 8/255, 7/255)
            else: eps = 8/255
            xa = pgd(model, x, y, eps, 2/255, args.steps)
            model.train()
            loss = F.cross_entropy(model(xa).float(), y)
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
    sync(dev)
    return (time.perf_counter() - t0) / args.batches


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    p.add_argument('--bs', type=int, default=128)
    p.add_argument('--batches', type=int, default=20, help='timed batches (after --warm untimed ones)')
    p.add_argument('--warm', type=int, default=3)
    p.add_argument('--steps', type=int, default=10)
    p.add_argument('--width', type=int, default=64, help='ResNet-18 width (64 = the paper model)')
    p.add_argument('--bf16', action='store_true', help='bf16 autocast')
    p.add_argument('--repeat', type=int, default=1, help='time the four variants this many times, interleaved; report the median and the fastest of each')
    args = p.parse_args()
    dev = torch.device(args.device)
    print(f"device={dev} ({torch.cuda.get_device_name(dev) if dev.type == 'cuda' else 'cpu, %d threads' % torch.get_num_threads()}) "
          f"bs={args.bs} steps={args.steps} width={args.width} bf16={args.bf16} timed batches={args.batches}")
    variants = {'fastai AT': lambda: fastai_epoch(ATCallback(eps=8/255, alpha=2/255, steps=args.steps), args, dev),
                'fastai PART': lambda: fastai_epoch(PARTCallback(eps=8/255, eps_low=7/255, alpha=2/255, steps=args.steps, warmup=0), args, dev),
                'plain AT': lambda: plain_epoch(args, dev, part=False),
                'plain PART': lambda: plain_epoch(args, dev, part=True)}
    times = {k: [] for k in variants}
    names = list(variants)
    for r in range(args.repeat):  # interleaved, in a rotating order, so that clock changes and other jobs hit all variants alike
        for k in names[r % 4:] + names[:r % 4]: times[k].append(variants[k]())
    if args.repeat > 1:
        for k, v in times.items(): print(f"{k:12s} " + ' '.join(f'{t*1000:7.1f}' for t in v) + ' ms/batch (each repeat)')
    # the median is the figure to quote when repeats scatter (they did by +-10% on a shared H200); the fastest is printed too
    for label, pick in (('median', statistics.median), ('fastest', min)) if args.repeat > 1 else (('', min),):
        res = {k: pick(v) for k, v in times.items()}
        if label: print(f"-- {label} of {args.repeat} repeats")
        for k, v in res.items(): print(f"{k:12s} {v*1000:9.1f} ms/batch  {v*391:8.1f} s per 391-batch epoch")
        print(f"PART/AT (fastai) = {res['fastai PART']/res['fastai AT']:.3f}   fastai PART / plain PART = {res['fastai PART']/res['plain PART']:.3f}"
              f"   plain PART/AT = {res['plain PART']/res['plain AT']:.3f}")


if __name__ == '__main__': main()
