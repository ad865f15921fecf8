"""PART vs AT training step, paired: where PART's extra time goes.

One ResNet-18 (CIFAR), random 3x32x32 batches, PGD-10. Three measurements, all in one process on one model:

1. blocks: `--block` AT steps, then `--block` PART steps, alternating `--rounds` times, no sync inside a block;
   the fastest block of each gives ms per step and the PART/AT ratio (clock drift and other jobs hit both alike).
2. components, each synchronised and timed `--iters` times (median): CAM + mask, PGD-10 with a float budget,
   PGD-10 with a per-pixel budget map, the training forward/backward/step; and the ratio they predict.
3. with --profile: torch.profiler over 3 AT and 3 PART steps, the top device-time operators of each.
4. with --fastai: the same alternating blocks inside one fastai `fit` of one `Learner` with one `PARTCallback`,
   whose `pixel_reweight` is switched between blocks (PART, then AT, ...): the fastai PART/AT ratio, paired.

    python bench/bench_step.py                                   # cuda if available
    python bench/bench_step.py --device cpu --width 8 --bs 32 --block 2 --rounds 2 --iters 3 --fastai
"""
import argparse, statistics, time
import torch, torch.nn.functional as F
from part_nb.models import resnet18_cifar
from part_nb.mask import pixel_eps_map
from part_nb.attack import pgd
from timing import sync, BlockTimer


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    p.add_argument('--bs', type=int, default=128)
    p.add_argument('--width', type=int, default=64)
    p.add_argument('--steps', type=int, default=10)
    p.add_argument('--block', type=int, default=10, help='steps per timed block')
    p.add_argument('--rounds', type=int, default=5, help='AT/PART block pairs')
    p.add_argument('--iters', type=int, default=20, help='timed calls per component')
    p.add_argument('--profile', action='store_true')
    p.add_argument('--fastai', action='store_true', help='also time fastai AT/PART blocks in one fit (paired)')
    p.add_argument('--cudnn-benchmark', action='store_true')
    a = p.parse_args()
    dev = torch.device(a.device)
    torch.backends.cudnn.benchmark = a.cudnn_benchmark
    print(f"device={dev} ({torch.cuda.get_device_name(dev) if dev.type == 'cuda' else 'cpu, %d threads' % torch.get_num_threads()}) "
          f"torch {torch.__version__} bs={a.bs} width={a.width} steps={a.steps} cudnn.benchmark={a.cudnn_benchmark}")
    torch.manual_seed(0)
    model = resnet18_cifar(width=a.width).to(dev)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=2e-4)
    xs, ys = torch.rand(4, a.bs, 3, 32, 32, device=dev), torch.randint(0, 10, (4, a.bs), device=dev)
    eps, eps_low, alpha = 8/255, 7/255, 2/255

    def budget(x): return pixel_eps_map(model, x, eps, eps_low)
    def attack(x, y, e): return pgd(model, x, y, e, alpha, a.steps, check=False)
    def train(xa, y):
        model.train(); loss = F.cross_entropy(model(xa), y)
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
    def at_step(i): x, y = xs[i % 4], ys[i % 4]; train(attack(x, y, eps), y)
    def part_step(i): x, y = xs[i % 4], ys[i % 4]; train(attack(x, y, budget(x)), y)

    for i in range(3): at_step(i); part_step(i)  # warm-up: cudnn, allocator
    sync(dev)
    blocks = {'AT': [], 'PART': []}
    for r in range(a.rounds):
        for name, f in (('AT', at_step), ('PART', part_step)) if r % 2 == 0 else (('PART', part_step), ('AT', at_step)):
            sync(dev); t0 = time.perf_counter()
            for i in range(a.block): f(i)
            sync(dev); blocks[name].append((time.perf_counter() - t0) / a.block * 1e3)
    for k, v in blocks.items(): print(f"block {k:4s} " + ' '.join(f'{t:7.2f}' for t in v) + f"  ms/step; fastest {min(v):.2f}, median {statistics.median(v):.2f}")
    print(f"PART/AT (fastest blocks) = {min(blocks['PART'])/min(blocks['AT']):.3f}; (median blocks) = "
          f"{statistics.median(blocks['PART'])/statistics.median(blocks['AT']):.3f}")

    x, y = xs[0], ys[0]
    em = budget(x)
    xa = attack(x, y, eps)
    comps = dict(cam_mask=lambda: budget(x), pgd_float=lambda: attack(x, y, eps), pgd_map=lambda: attack(x, y, em),
                 train=lambda: train(xa, y))
    res = {}
    for k, f in comps.items():
        ts = []
        for _ in range(a.iters):
            sync(dev); t0 = time.perf_counter(); f(); sync(dev); ts.append((time.perf_counter() - t0) * 1e3)
        res[k] = statistics.median(ts)
    print('components (median ms, synchronised): ' + ', '.join(f'{k} {v:.2f}' for k, v in res.items()))
    at, part = res['pgd_float'] + res['train'], res['cam_mask'] + res['pgd_map'] + res['train']
    print(f"predicted: AT {at:.2f} ms, PART {part:.2f} ms, PART/AT = {part/at:.3f} "
          f"(CAM+mask alone {1 + res['cam_mask']/at:.3f}; map vs float PGD {res['pgd_map']/res['pgd_float']:.3f})")

    if a.profile:
        from torch.profiler import profile, ProfilerActivity
        acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if dev.type == 'cuda' else [])
        tot_dev = {}
        for name, f in (('AT', at_step), ('PART', part_step)):
            sync(dev)
            with profile(activities=acts) as prof:
                for i in range(3): f(i)
                sync(dev)
            ka = prof.key_averages()
            # torch >= 2.4 names it self_device_time_total (self_cuda_time_total before)
            key = 'self_cpu_time_total' if dev.type != 'cuda' else next(k for k in ('self_device_time_total', 'self_cuda_time_total') if hasattr(ka[0], k))
            tot = tot_dev[name] = sum(getattr(e, key) for e in ka) / 3 / 1e3
            n_k = sum(e.count for e in ka if getattr(e, key) > 0) / 3
            print(f"\n== profile {name}: {tot:.2f} ms {'device' if dev.type == 'cuda' else 'CPU'} time per step ({key}), {n_k:.0f} op calls per step")
            print(ka.table(sort_by=key, row_limit=18, max_name_column_width=40))
        print(f"PART/AT in profiled {'device' if dev.type == 'cuda' else 'CPU'} time per step: {tot_dev['PART']/tot_dev['AT']:.3f}")

    if a.fastai: fastai_blocks(a, dev, sync)


def fastai_blocks(a, dev, sync):
    "Alternating AT/PART blocks of `a.block` batches inside one `Learner.fit`, switching `PARTCallback.pixel_reweight`."
    from fastai.learner import Learner
    from fastai.optimizer import SGD
    import fastai.callback.progress  # Learner.no_bar
    from part_nb.data import ImageArrays, array_dls
    from part_nb.callback import PARTCallback
    warm, n_b = 3, 2 * a.rounds * a.block
    n = a.bs * (warm + n_b)
    torch.manual_seed(0)
    data = ImageArrays(torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8), torch.randint(0, 10, (n,)), list('0123456789'))
    dls = array_dls(data, data.subset(a.bs), bs=a.bs, device=dev)
    learn = Learner(dls, resnet18_cifar(width=a.width).to(dev), opt_func=SGD, lr=0.01, wd=2e-4)
    part = PARTCallback(eps=8/255, eps_low=7/255, alpha=2/255, steps=a.steps, warmup=0)
    # block k (0-based) runs PART when k % 4 in (0, 3), AT otherwise: PART AT AT PART PART AT ... (ABBA order)
    def mode(k): return 'PART' if k % 4 in (0, 3) else 'AT'

    def set_mode(m): part.pixel_reweight = m == 'PART'
    blocks = BlockTimer([mode(k) for k in range(n_b // a.block)], a.block, warm, set_mode, dev, warm_modes=['PART'])
    with learn.no_bar(), learn.no_logging(): learn.fit(1, cbs=[part, blocks])
    v = blocks.times
    for k in ('AT', 'PART'): print(f"fastai block {k:4s} " + ' '.join(f'{t:7.2f}' for t in v[k]) + f"  ms/batch; fastest {min(v[k]):.2f}, median {statistics.median(v[k]):.2f}")
    print(f"fastai PART/AT (fastest blocks) = {min(v['PART'])/min(v['AT']):.3f}; (median blocks) = "
          f"{statistics.median(v['PART'])/statistics.median(v['AT']):.3f}; PART {statistics.median(v['PART'])*391/1e3:.1f} s per 391-batch epoch (median)")


if __name__ == '__main__': main()
