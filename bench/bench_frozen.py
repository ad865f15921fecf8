"""The attack's backward with and without the weight gradients, eager and compiled, paired.

`part_nb`'s attacks run the model with its weights frozen (`part_nb.core.frozen`): their backward wants the images'
gradient only. Eager PyTorch skips the weight gradients anyway (`torch.autograd.grad` computes what leads to its
inputs); a `torch.compile`d model does not (its backward graph serves every input that requires a gradient). This
times PGD on one batch four ways, interleaved `--rounds` times: a plain PGD loop with the weights requiring
gradients (what an attack without `frozen` does), and `part_nb.attack.pgd`, each on the eager and on the compiled
model; it also checks that eager `pgd` gives the same AEs either way.

    python bench/bench_frozen.py                                  # cuda if available: ResNet-18 width 64, batch 128
    python bench/bench_frozen.py --device cpu --width 16 --bs 64 --steps 5
"""
import argparse, statistics, time
import torch, torch.nn.functional as F
from part_nb.models import resnet18_cifar
from part_nb.attack import pgd
from timing import sync


def unfrozen_pgd(model, x, y, eps, alpha, steps):
    "PGD as `part_nb.attack.pgd` computes it, but with the weights left requiring gradients."
    was = model.training; model.eval()
    xa = (x + (torch.rand_like(x) * 2 - 1) * eps).clamp(0, 1)
    for _ in range(steps):
        xa.requires_grad_(True)
        g, = torch.autograd.grad(F.cross_entropy(model(xa).float(), y, reduction='sum'), xa)
        xa = torch.min(torch.max(xa.detach() + alpha * g.sign(), x - eps), x + eps).clamp(0, 1)
    model.train(was)
    return xa


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    p.add_argument('--bs', type=int, default=128)
    p.add_argument('--width', type=int, default=64)
    p.add_argument('--steps', type=int, default=10)
    p.add_argument('--rounds', type=int, default=5)
    a = p.parse_args()
    dev = torch.device(a.device)
    print(f"device={dev} ({torch.cuda.get_device_name(dev) if dev.type == 'cuda' else 'cpu, %d threads' % torch.get_num_threads()}) "
          f"torch {torch.__version__} bs={a.bs} width={a.width} PGD steps={a.steps}")
    torch.manual_seed(0)
    model = resnet18_cifar(width=a.width).to(dev)
    compiled = torch.compile(model)
    x, y = torch.rand(a.bs, 3, 32, 32, device=dev), torch.randint(0, 10, (a.bs,), device=dev)
    eps, alpha = 8/255, 2/255
    ways = {'eager, weights requiring grad': lambda: unfrozen_pgd(model, x, y, eps, alpha, a.steps),
            'eager, frozen (part_nb)': lambda: pgd(model, x, y, eps, alpha, a.steps, check=False),
            'compiled, weights requiring grad': lambda: unfrozen_pgd(compiled, x, y, eps, alpha, a.steps),
            'compiled, frozen (part_nb)': lambda: pgd(compiled, x, y, eps, alpha, a.steps, check=False)}
    torch.manual_seed(1); a1 = unfrozen_pgd(model, x, y, eps, alpha, a.steps)
    torch.manual_seed(1); a2 = pgd(model, x, y, eps, alpha, a.steps, check=False)
    print(f"eager AEs identical with and without frozen weights: {torch.equal(a1, a2)}")
    for name, f in ways.items():  # compile both graphs first
        sync(dev); t = time.perf_counter(); f(); sync(dev); print(f"first call, {name}: {time.perf_counter() - t:.1f} s")
    times = {k: [] for k in ways}
    for r in range(a.rounds):
        for name in (list(ways) if r % 2 == 0 else list(ways)[::-1]):
            sync(dev); t = time.perf_counter(); ways[name](); sync(dev); times[name].append((time.perf_counter() - t) * 1e3)
    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in times.items(): print(f"{k:34s} " + ' '.join(f'{t:9.1f}' for t in v) + f"  ms; median {med[k]:.1f}")
    base = med['eager, frozen (part_nb)']
    for k in ways: print(f"{k:34s} {base / med[k]:.2f}x the speed of eager part_nb pgd")


if __name__ == '__main__': main()
