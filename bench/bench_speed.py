"""Training at the GPU's pace: the epoch time of AT and PART under each fast-path option, paired.

One fastai `fit` of one `Learner` with one `PARTCallback`; between blocks of `--block` batches the bench switches the
method (AT or PART) and the options: `compile` (`PARTCallback(compile=...)`: the PGD attack on a compiled model),
`bf16` (autocast from `before_batch` to `after_loss`, as fastai's `MixedPrecision`, on this device), `cl`
(channels-last model, as fastai's `ChannelsLast`). Each mode's blocks interleave with every other's (round r runs the
modes in order, round r+1 in reverse), so clock drift and other jobs hit all alike; every mode runs once before the
timing starts (compilation happens there). Prints ms per batch (fastest and median block), the epoch time it implies
for 50,000 images at this batch size, the speed-up of each option over plain fp32, and PART/AT per option.
Random 3x32x32 images (CIFAR-10 size), ResNet-18 of `--width`, PGD-`--steps`.

    python bench/bench_speed.py                                       # cuda if available: width 64, batch 128
    python bench/bench_speed.py --bs 512                              # the large-batch recipe's step
    python bench/bench_speed.py --options plain,compile --compile-mode reduce-overhead
    python bench/bench_speed.py --device cpu --width 8 --bs 32 --block 2 --rounds 2
"""
import argparse, statistics, time
import torch
from part_nb.models import resnet18_cifar
from timing import BlockTimer

option_sets = {
    'plain': dict(),
    'compile': dict(compile=True),
    'bf16': dict(bf16=True),
    'cl': dict(cl=True),
    'bf16+cl': dict(bf16=True, cl=True),
    'compile+bf16+cl': dict(compile=True, bf16=True, cl=True),
}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    p.add_argument('--bs', type=int, default=128)
    p.add_argument('--width', type=int, default=64)
    p.add_argument('--steps', type=int, default=10, help='PGD steps')
    p.add_argument('--block', type=int, default=10, help='batches per timed block')
    p.add_argument('--rounds', type=int, default=4, help='blocks per mode')
    p.add_argument('--options', default=','.join(option_sets), help=f"comma-separated, of: {', '.join(option_sets)}")
    p.add_argument('--compile-mode', default=None, help="torch.compile mode of the compiled options (default: torch's default)")
    p.add_argument('--methods', default='AT,PART')
    a = p.parse_args()
    from fastai.learner import Learner
    from fastai.callback.core import Callback
    from fastai.optimizer import SGD
    import fastai.callback.progress  # Learner.no_bar
    from part_nb.data import ImageArrays, array_dls
    from part_nb.callback import PARTCallback
    dev = torch.device(a.device)
    opts = a.options.split(',')
    for o in opts:
        if o not in option_sets: p.error(f"unknown option set {o!r}; known: {', '.join(option_sets)}")
    names = [(m, o) for o in opts for m in a.methods.split(',')]
    print(f"device={dev} ({torch.cuda.get_device_name(dev) if dev.type == 'cuda' else 'cpu, %d threads' % torch.get_num_threads()}) "
          f"torch {torch.__version__} bs={a.bs} width={a.width} PGD steps={a.steps} block={a.block} rounds={a.rounds} "
          f"compile mode={a.compile_mode}")
    order = [m for r in range(a.rounds) for m in (names if r % 2 == 0 else names[::-1])]
    warm = len(names)
    n = a.bs * (warm + len(order) * a.block)
    torch.manual_seed(0)
    data = ImageArrays(torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8), torch.randint(0, 10, (n,)), list('0123456789'))
    dls = array_dls(data, data.subset(a.bs), bs=a.bs, device=dev)
    learn = Learner(dls, resnet18_cifar(width=a.width).to(dev), opt_func=SGD, lr=0.01, wd=2e-4)
    part = PARTCallback(eps=8/255, eps_low=7/255, alpha=2/255, steps=a.steps, warmup=0, compile=a.compile_mode or True)

    state = dict(bf16=False)  # the block's precision, read by Autocast
    def set_mode(mode):
        method, o = mode
        s = option_sets[o]
        part.pixel_reweight = method == 'PART'
        part.compile = (a.compile_mode or True) if s.get('compile') else False
        state['bf16'] = s.get('bf16', False)
        learn.model.to(memory_format=torch.channels_last if s.get('cl') else torch.contiguous_format)
    # every mode once, untimed (compilation, cudnn autotuning); BlockTimer's order 0 runs before Autocast (10) and PART (55)
    blocks = BlockTimer(order, a.block, warm, set_mode, dev, warm_modes=names)

    class Autocast(Callback):
        "bf16 autocast from before_batch to after_loss when the block's mode asks for it, as fastai's MixedPrecision."
        order = 10
        def before_batch(self):
            self.ac = torch.autocast(dev.type, dtype=torch.bfloat16, enabled=self.training and state['bf16'])
            self.ac.__enter__()
        def after_pred(self): self.learn.pred = self.pred.float()
        def after_loss(self): self.ac.__exit__(None, None, None)

    t0 = time.perf_counter()
    with learn.no_bar(), learn.no_logging(): learn.fit(1, cbs=[part, blocks, Autocast()])
    print(f"fit: {time.perf_counter() - t0:.0f} s in all (compilation included)")
    v = {m: statistics.median(t) for m, t in blocks.times.items()}
    epoch = -(-50000 // a.bs)
    for m, t in blocks.times.items():
        print(f"{m[0]:4s} {m[1]:16s} " + ' '.join(f'{x:8.2f}' for x in t) + f"  ms/batch; fastest {min(t):.2f}, median "
              f"{v[m]:.2f}: {v[m] * epoch / 1e3:.1f} s per 50,000-image epoch")
    for o in opts:
        line = ', '.join(f"{m} {v[(m, 'plain')] / v[(m, o)]:.2f}x" for m in a.methods.split(',') if (m, 'plain') in v)
        pa = f"; PART/AT {v[('PART', o)] / v[('AT', o)]:.3f}" if ('PART', o) in v and ('AT', o) in v else ''
        print(f"{o:16s} speed-up over plain: {line}{pa}")


if __name__ == '__main__': main()
