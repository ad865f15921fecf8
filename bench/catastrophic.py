"""Catastrophic overfitting, epoch by epoch: plain FGSM training against N-FGSM, FGSM-RS and fast PART.

Single-step adversarial training can suddenly overfit to its own attack: within an epoch or two the PGD accuracy
falls to about 0 while the accuracy under the training attack (FGSM) rises. Each method here trains the same
small CNN on Fashion-MNIST (same seed, data order and schedule) with `PARTCallback(attack=...)`, and after every
epoch a callback evaluates natural, FGSM and PGD-20 accuracy on a fixed subset of the test set. Rows are appended
to `OUT/curves.jsonl` as they come (an interrupted study keeps its finished epochs; a rerun skips finished runs),
and `OUT/catastrophic.png` plots PGD-20 accuracy per epoch.

    python bench/catastrophic.py --out results/catastrophic --eps 0.3 --epochs 10
    python bench/catastrophic.py --out results/catastrophic --plot-only
"""
import argparse, json, time
from pathlib import Path
import torch

methods = {  # method name of `part_nb.callback.methods` -> extra callback settings
    'at-fgsm': {}, 'at-fgsm-rs': {}, 'at-nfgsm': {},
    'part-nfgsm': {'cam_pass': 'shared'}, 'part-fgsm': {'cam_pass': 'shared'},  # as results/catastrophic ran them (the default then)
}


def read_rows(f: Path) -> list:
    return [json.loads(l) for l in f.read_text().splitlines() if l.strip()] if f.exists() else []


def train_one(name, seed, a, out):
    from fastai.learner import Learner
    from fastai.callback.core import Callback
    from fastai.metrics import accuracy
    from fastai.torch_core import set_seed
    import fastai.callback.schedule, fastai.callback.progress  # fit_one_cycle, no_bar
    from part_nb.data import get_dls
    from part_nb.models import small_cnn
    from part_nb.callback import PARTCallback
    from part_nb.settings import methods as known
    from part_nb.evaluate import robust_eval
    from part_nb.attack import single_step
    m = known[name]
    set_seed(seed)
    dls = get_dls('fashion-mnist', bs=a.bs, n_train=a.n_train, n_valid=a.eval_n, seed=seed)
    valid = get_dls('fashion-mnist', bs=500, n_train=a.bs, n_valid=a.eval_n, seed=1234).valid  # the same test images for every run
    xs, ys = (torch.cat(t) for t in zip(*[(b[0], b[1]) for b in valid]))
    cb = PARTCallback(eps=a.eps, eps_low=a.eps * 7 / 8 if m['pixel_reweight'] else a.eps, attack=m['attack'],
                      pixel_reweight=m['pixel_reweight'], warmup=a.warmup, **methods[name])
    learn = Learner(dls, small_cnn(width=a.width), metrics=accuracy, lr=a.lr)

    class EpochEval(Callback):
        order = 90
        def after_epoch(self):
            model = self.learn.model
            res = robust_eval(model, (xs, ys), a.eps, attacks=('natural', 'pgd20'), bs=500, progress=False, seed=0).accuracy
            with torch.no_grad():  # the attack a collapsed model has overfitted to: FGSM at the full budget
                fg = (model.eval()(single_step(model, xs, ys, a.eps, 'fgsm')).argmax(1) == ys).float().mean().item()
            row = dict(method=name, seed=seed, epoch=self.epoch, natural=res['natural'], fgsm=fg, pgd20=res['pgd20'],
                       train_loss=float(self.learn.recorder.smooth_loss.value), eps=a.eps, t=round(time.time() - t0, 1))
            with open(out / 'curves.jsonl', 'a') as f: f.write(json.dumps(row) + '\n')
            print(f"{name} s{seed} epoch {self.epoch}: natural {row['natural']:.3f} FGSM {fg:.3f} PGD-20 {row['pgd20']:.3f}", flush=True)

    t0 = time.time()
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(a.epochs, a.lr, cbs=[cb, EpochEval()]) if a.schedule == 'one_cycle' \
        else learn.fit(a.epochs, a.lr, cbs=[cb, EpochEval()])


def plot(out: Path):
    import matplotlib; matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    rows = read_rows(out / 'curves.jsonl')
    if not rows: return
    fig, axs = plt.subplots(1, 2, figsize=(10, 3.6))
    for name in dict.fromkeys(r['method'] for r in rows):
        for seed in sorted({r['seed'] for r in rows if r['method'] == name}):
            rs = sorted((r for r in rows if r['method'] == name and r['seed'] == seed), key=lambda r: r['epoch'])
            kw = dict(label=name if seed == min(r['seed'] for r in rows if r['method'] == name) else None,
                      color=dict(zip(methods, plt.cm.tab10.colors)).get(name), alpha=0.8, marker='.')
            axs[0].plot([r['epoch'] + 1 for r in rs], [100 * r['pgd20'] for r in rs], **kw)
            axs[1].plot([r['epoch'] + 1 for r in rs], [100 * r['fgsm'] for r in rs], **kw)
    eps = rows[0]['eps']
    for ax, t in zip(axs, ('PGD-20', 'FGSM (the attack FGSM training overfits to)')):
        ax.set_xlabel('epoch'); ax.set_ylabel('accuracy (%)'); ax.set_title(t, fontsize=9); ax.grid(alpha=0.3)
    axs[0].legend(fontsize=8)
    fig.suptitle(f'Catastrophic overfitting on Fashion-MNIST, eps = {eps:g}: test accuracy after each epoch, one line per run', fontsize=10)
    fig.tight_layout(); fig.savefig(out / 'catastrophic.png', dpi=120)
    print(f"wrote {out / 'catastrophic.png'}")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a = p.add_argument
    a('--out', default='runs/catastrophic'); a('--methods', default=','.join(methods)); a('--seeds', default='0')
    a('--eps', type=float, default=0.3); a('--epochs', type=int, default=10); a('--warmup', type=int, default=0)
    a('--lr', type=float, default=0.05); a('--schedule', default='one_cycle', help='one_cycle or constant')
    a('--bs', type=int, default=128); a('--n-train', type=int, default=10000); a('--eval-n', type=int, default=1000)
    a('--width', type=int, default=32); a('--threads', type=int, default=1); a('--plot-only', action='store_true')
    args = p.parse_args()
    out = Path(args.out); out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(args.threads)
    if not args.plot_only:
        done = {(r['method'], r['seed']) for r in read_rows(out / 'curves.jsonl') if r['epoch'] == args.epochs - 1}
        for name in args.methods.split(','):
            for seed in map(int, args.seeds.split(',')):
                if (name, seed) in done: continue
                keep = [r for r in read_rows(out / 'curves.jsonl') if (r['method'], r['seed']) != (name, seed)]  # an interrupted run restarts
                (out / 'curves.jsonl').write_text(''.join(json.dumps(r) + '\n' for r in keep))
                train_one(name, seed, args, out)
    plot(out)


if __name__ == '__main__': main()
