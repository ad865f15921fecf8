"""Train and evaluate the runs behind RESULTS.md, several `part_nb` processes at a time (Fashion-MNIST by default;
`--data cifar10 --path ARCHIVE` for CIFAR-10 (JPEG copy)).

Every job is `part_nb train` followed by `part_nb eval` (natural, PGD-20, CW, MMA on the full test set or `--eval-n` images;
natural and AutoAttack standard on a fixed subset of `--aa-n` test images). Jobs are started in priority order, so that if
the time runs out (`--deadline`: no new job after it; `--hard`: running jobs are stopped) the finished rows are
whole seeds of the first table first:

1. table 1, per seed: AT, PART, TRADES, PART-T, MART, PART-M;
2. table 2, per seed: AT at PART's mean budget, and PART with shuffled, random and inverted masks
   (`--eps-train` = the mean per-pixel budget of the seed-0 PART run after its warm-up, read from its history);
3. the trade-off sweep, per seed: PART with `eps_low = 0.75 eps` and AT at a uniform `0.8 eps`;
4. the sweep's mask controls, per seed: PART inverted and PART random with `eps_low = 0.75 eps`, and AT at the mean
   budget of the seed-0 PART run with `eps_low = 0.75 eps` (`at-mean-r0.75`);
5. single-step training (RESULTS.md section 4), per seed: AT and PART with N-FGSM (PART's CAM from the attack's pass,
   `cam_pass='shared'`, the default until 2026-12-04; `part-nfgsm-sep`: from a pass of its own, the default since),
   with FGSM-RS, and with plain FGSM (the catastrophic-overfitting control);
6. the decisive experiment (RESULTS.md section 2c, issue 32), per seed: AT, PART with `eps_low = 0.75 eps`, AT at that
   PART's mean budget, AT at the uniform `0.75 eps` (with AT at `eps`, two budgets that bracket the mean), PART random
   and PART inverted at `eps_low = 0.75 eps`. `--seed-major` starts whole seeds first.

Example (GPU):   python bench/fmnist_results.py --out runs/fmnist --parallel 12
CPU-sized:       python bench/fmnist_results.py --out runs/fmnist-cpu --parallel 2 --n-train 10000 --steps 5 ...
Then:            part_nb report runs/fmnist/*  and  python bench/results_tables.py runs/fmnist/*
"""
import argparse, json, os, subprocess, sys, time, signal
from part_nb.settings import warmup_epochs
from pathlib import Path

table1 = ['at', 'part', 'trades', 'part-t', 'mart', 'part-m']
table2 = ['at-mean', 'part-shuffled', 'part-random', 'part-inverted']
sweep = ['part-r0.75', 'at-e0.8']
sweep_masks = ['part-inverted-r0.75', 'part-random-r0.75', 'at-mean-r0.75']  # is the sweep's gain the CAM's placement?
decisive = ['at', 'part-r0.75', 'at-mean-r0.75', 'at-e0.75', 'part-random-r0.75', 'part-inverted-r0.75']
fast = ['at-nfgsm', 'part-nfgsm', 'part-nfgsm-sep', 'at-fgsm-rs', 'part-fgsm-rs', 'at-fgsm', 'part-fgsm']  # single-step training


def job_settings(name, a):
    "The `part_nb train` options of job `name` (without seed, out)."
    s = dict(data=a.data, arch=a.arch, width=a.width, epochs=a.epochs, warmup=a.warmup, eps=a.eps,
             alpha=a.alpha, steps=a.steps, bs=a.bs, lr=a.lr, n_train=a.n_train, n_valid=a.n_valid, path=a.path,
             precision=a.precision, opt=a.opt, compile=a.compile, channels_last=a.channels_last)
    if name in table1: return dict(s, method=name)
    if name in fast: s = {k: v for k, v in s.items() if k not in ('alpha', 'steps')}  # PGD's settings: a single step takes neither
    if name == 'part-nfgsm-sep': return dict(s, method='part-nfgsm', cam_pass='separate')
    if name.startswith('part-') and name in fast: return dict(s, method=name, cam_pass='shared')  # as RESULTS section 4 ran them
    if name in fast: return dict(s, method=name)
    if name.startswith('part-') and name[5:] in ('shuffled', 'random', 'inverted'):
        return dict(s, method='part', mask_source=name[5:])
    if name == 'part-r0.75': return dict(s, method='part', eps_low=0.75 * a.eps)
    if name in sweep_masks: return dict(job_settings(name[:-len('-r0.75')], a), eps_low=0.75 * a.eps)
    if name.startswith('at-e'): return dict(s, method='at', eps_train=float(name[4:]) * a.eps)  # at-e0.8: 0.8 eps
    if name in ('at-mean', 'at-mean-r0.75'): return dict(s, method='at')  # eps_train filled in from the PART run
    raise ValueError(name)


def part_mean_budget(run: Path) -> float | None:
    "Mean per-pixel budget of a finished PART run after its warm-up (None if not finished)."
    f = run / 'history.json'
    cfg = json.loads((run / 'config.json').read_text())['config'] if (run / 'config.json').exists() else None
    if not f.exists() or cfg is None: return None
    h = json.loads(f.read_text())
    if len(h) < cfg['epochs']: return None
    w = warmup_epochs(cfg['warmup'], cfg['epochs'])
    vals = [r['mean_eps'] for r in h if r['epoch'] >= w]
    return round(sum(vals) / len(vals), 5)


def options(d):
    out = []
    for k, v in d.items():
        if v is None or v is False: continue
        out += [f"--{k.replace('_', '-')}"] + ([] if v is True else [str(v)])
    return out


class Job:
    def __init__(self, name, seed, a):
        self.name, self.seed, self.a = name, seed, a
        self.run = Path(a.out) / f"{name}-s{seed}"
        self.proc, self.t0, self.state = None, None, 'waiting'
        self.settings = dict(job_settings(name, a), seed=seed)

    def ready(self, jobs):
        if self.name not in ('at-mean', 'at-mean-r0.75'): return True
        part = 'part-s0' if self.name == 'at-mean' else 'part-r0.75-s0'
        m = (self.a.eps_mean if self.name == 'at-mean' else None) or part_mean_budget(Path(self.a.out) / part)
        if m is None: return False
        self.settings['eps_train'] = m
        return True

    def trained(self):
        "Whether the run folder holds a finished training (all epochs in the history, and the checkpoint)."
        h, c = self.run / 'history.json', self.run / 'checkpoint.pth'
        return h.exists() and c.exists() and len(json.loads(h.read_text())) >= self.a.epochs

    def evaluated(self, attacks, n):
        "Whether the run's eval.json already holds these attacks on `n` test images (None: the whole test set)."
        f = self.run / 'eval.json'
        if not f.exists(): return False
        rows = {(r['attack'], r['n']) for r in json.loads(f.read_text())['results']}
        return all((a, n or 10000) in rows for a in attacks.split(','))

    def script(self):
        "Train (or finish an interrupted training: `--resume`), then the evaluations not already in eval.json."
        py, run = sys.executable, str(self.run)
        ev = f"{py} -m part_nb.cli eval {run} --bs {self.a.eval_bs}"
        cmds = [] if self.trained() else [f"{py} -m part_nb.cli train --out {run} --quiet --resume " + ' '.join(options(self.settings))]
        if not self.evaluated(self.a.attacks, self.a.eval_n):
            cmds.append(f"{ev} --attacks {self.a.attacks}" + (f" --n {self.a.eval_n}" if self.a.eval_n else ''))
        if self.a.aa_n and not self.evaluated('natural,autoattack', self.a.aa_n):
            cmds.append(f"{ev} --attacks natural,autoattack --n {self.a.aa_n}")
        return ' && '.join(cmds) or 'true'

    def start(self):
        self.run.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, OMP_NUM_THREADS=str(self.a.threads), MKL_NUM_THREADS=str(self.a.threads), PYTHONUNBUFFERED='1')
        log = open(self.run / 'job.log', 'a')
        log.write(f"$ {self.script()}\n"); log.flush()
        self.proc = subprocess.Popen(['bash', '-c', self.script()], stdout=log, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)
        self.t0, self.state = time.time(), 'running'


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a = p.add_argument
    a('--out', default='runs/fmnist'); a('--data', default='fashion-mnist', help='fashion-mnist or cifar10')
    a('--path', help='the data: Fashion-MNIST folder (default: the Debian package), CIFAR-10 archive or folder')
    a('--seeds', default='0,1,2'); a('--jobs', default=','.join(table1 + table2 + sweep + sweep_masks), help='job names')
    a('--arch', default='small_cnn'); a('--width', type=int, default=32)
    a('--epochs', type=int, default=10); a('--warmup', default='0.25')
    a('--eps', type=float, default=0.1); a('--alpha', type=float, default=0.025); a('--steps', type=int, default=10)
    a('--bs', type=int, default=256); a('--lr', type=float, default=0.05)
    a('--n-train', type=int); a('--n-valid', type=int, default=2000, help='images validated on per epoch')
    a('--precision', default='fp32'); a('--opt', default='sgd', help='sgd or adam (ViTs)')
    a('--compile', nargs='?', const=True, help="the PGD attack on a compiled model (part_nb train --compile [MODE])")
    a('--channels-last', action='store_true', help='channels-last model (part_nb train --channels-last)')
    a('--eps-mean', type=float, help="AT-at-mean's training budget (default: read from this folder's part-s0 history)")
    a('--attacks', default='natural,pgd20,cw,mma', help='attacks on the full test set')
    a('--aa-n', type=int, default=1000, help='test images of the AutoAttack evaluation (0: none)')
    a('--eval-bs', type=int, default=1000)
    a('--eval-n', type=int, help='evaluate --attacks on a fixed subset of this many test images (default: all)')
    a('--seed-major', action='store_true', help='start whole seeds first, jobs in the order --jobs names them')
    a('--parallel', type=int, default=4); a('--threads', type=int, default=1, help='CPU threads per process')
    a('--deadline', type=float, default=1e9, help='seconds after which no job is started')
    a('--hard', type=float, default=1e9, help='seconds after which running jobs are stopped')
    args = p.parse_args()
    t0 = time.time()
    seeds = [int(s) for s in args.seeds.split(',')]
    names = args.jobs.split(',')
    groups = [table1, table2, sweep, sweep_masks, fast]
    order = ([(n, s) for s in seeds for n in names] if args.seed_major else
             [(n, s) for g in groups for s in seeds for n in g if n in names])
    jobs = [Job(n, s, args) for n, s in order]
    print(f"{len(jobs)} jobs, {args.parallel} at a time, into {args.out}", flush=True)
    while True:
        now = time.time() - t0
        for j in jobs:
            if j.state == 'running' and j.proc.poll() is not None:
                j.state = 'done' if j.proc.returncode == 0 else f'failed ({j.proc.returncode})'
                print(f"[{now:6.0f} s] {j.run.name}: {j.state} after {time.time() - j.t0:.0f} s", flush=True)
            elif j.state == 'running' and now > args.hard:
                os.killpg(j.proc.pid, signal.SIGKILL); j.proc.wait(); j.state = 'stopped at the hard deadline'
                print(f"[{now:6.0f} s] {j.run.name}: {j.state}", flush=True)
        running = sum(j.state == 'running' for j in jobs)
        waiting = [j for j in jobs if j.state == 'waiting']
        if now < args.deadline:
            for j in waiting:
                if running >= args.parallel: break
                if j.ready(jobs): j.start(); running += 1; print(f"[{now:6.0f} s] start {j.run.name}", flush=True)
        elif waiting:
            for j in waiting: j.state = 'not started (deadline)'
        if running == 0 and not any(j.state == 'waiting' for j in jobs): break
        time.sleep(1)
    summary = {j.run.name: j.state for j in jobs}
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / 'jobs.json').write_text(json.dumps(dict(args=vars(args), jobs=summary, seconds=round(time.time() - t0)), indent=1))
    print(f"{sum(v == 'done' for v in summary.values())} of {len(jobs)} jobs done in {time.time() - t0:.0f} s", flush=True)


if __name__ == '__main__': main()
