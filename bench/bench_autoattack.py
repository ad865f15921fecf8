"""What each of AutoAttack's four attacks costs, in gradient steps of the same batch: the constants of
`part_nb.evaluate.attack_cost`, which `robust_eval` uses to say how long an evaluation may take.

The model is an untrained small CNN and the budget tiny, so that no image falls and every attack runs on the whole
batch (AutoAttack's most expensive case). One step is the mean time of a PGD step on the batch (PGD-20, after one
to warm up).

    python bench/bench_autoattack.py --width 16 --n 32
"""
import argparse, time
import torch
from part_nb.models import small_cnn
from part_nb.attack import pgd
from part_nb.evaluate import autoattack, attack_cost


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--width', type=int, default=16); p.add_argument('--n', type=int, default=32)
    p.add_argument('--eps', type=float, default=0.0005, help='small enough that every image stays robust')
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    a = p.parse_args()
    torch.manual_seed(0)
    m = small_cnn(width=a.width).eval().to(a.device)
    for q in m.parameters(): q.requires_grad_(False)
    x = torch.rand(a.n, 1, 28, 28, device=a.device); y = m(x).argmax(1)  # right clean: every image is attacked
    pgd(m, x, y, a.eps, a.eps / 4, 1).sum().item()
    t = time.perf_counter(); pgd(m, x, y, a.eps, a.eps / 4, 20).sum().item(); step = (time.perf_counter() - t) / 20
    print(f"small_cnn width {a.width}, {a.n} images, {a.device}, {torch.get_num_threads()} thread(s): one PGD step {1000 * step:.1f} ms")
    last, total = [time.perf_counter()], [0.0]
    def tick(k, stage, left):
        now = time.perf_counter(); s = (now - last[0]) / step; last[0] = now; total[0] += s
        print(f"  {stage:8s} {s:6.0f} steps ({left} of {a.n} still robust)")
    autoattack(m, x, y, a.eps, step=tick)
    print(f"  AutoAttack {total[0]:.0f} steps in all; attack_cost('autoattack') says {attack_cost('autoattack'):.0f}")


if __name__ == '__main__': main()
