"""One paired seed of CIFAR-10 (JPEG copy) on one lent GPU, inside one device call (issue 27).

Four arms train at once, one `part_nb train` process each, from the same seed (same initial weights and data order):
AT; PART (eps 8/255, eps_low 7/255); AT at PART's mean training budget (`at-mean`); PART with a random mask of the
same area (`part-random`). Then each run is evaluated (`part_nb.runs.evaluate_run`, as `part_nb eval` does): natural,
PGD-20 and CW on all 10,000 test images, and natural, PGD-20, CW + AutoAttack (standard) on 500 of them, in the order
that keeps the most if the evaluation deadline cuts it (`eval_jobs`: AutoAttack before PGD-20/CW on 10,000). `part_nb eval --n
500` takes the sorted first 500 of one permutation drawn from a generator seeded 0 whatever the run's seed
(`ImageArrays.subset`), so the subset is the same for every run and every lease.

The clock (`--end`, seconds from `--start`, the call's first second): training is stopped at `end - tar_s - eval_s`,
evaluation at `end - tar_s`; what finished is packed either way (a run that was stopped is marked so by its history,
fewer epochs than its configuration, and `bench/gpu_results.py` leaves it out of the pairs).

The schedule (`--schedule`, committed as results/cifar10-gpu/schedule.json) fixes everything that must be the same for
every seed: options, batch, learning rate, epochs. When it is absent (the first lease) a timing phase decides it:
the four arms run a few dozen batches in parallel under each option of `--timing-options` (two epochs: warm-up, then
PART), the seconds per epoch of the slowest arm give the epochs each option fits in the training window of a lease
*without* the timing phase (every later one), and the option fitting the most epochs wins (ties: the smaller batch,
then the earlier option). The first lease then trains its seed on that schedule all the same: it is stopped at the
training deadline, evaluated, and kept as a pilot (the per-run table shows it as k/E epochs; the pairs leave it
out), which measures what a real seed's evaluation takes and, if PART got past its warm-up, PART's mean budget. Sizing
the schedule for the first lease's shorter window instead would cost every later seed about an epoch of its two or
three. Only options
that keep the recipe are timed by default (batch 128: fp32, or bf16 + channels-last); a larger batch trades SGD steps
for epochs with an accuracy cost that `device_run.sh recipe` measures and this call cannot, and a compiled attack's
compile time (unmeasured on the GPU, four processes compiling at once) is paid again in every lease: both can be
named in `--timing-options` (`bf16cl@512`, `compile-bf16cl@128`). The first lease writes the schedule into --out;
commit it, and every later lease reuses it verbatim with no timing phase.

AT at PART's mean budget: the budget is read once, from the first PART seed on the GPU, then fixed in the schedule
(`eps_at_mean`, the mean per-pixel budget after the warm-up, as `fmnist_results.part_mean_budget` computes it).
While it is unknown the third slot trains AT at the uniform 7/255 (`at-e0.875`): PART's budget is 7/255 almost
everywhere, so with AT at 8/255 it brackets the mean from below. The first lease whose PART run finishes (normally the
second: the first lease's seed is a pilot) writes `eps_at_mean` from it; that seed's missing `at-mean` runs later with
`--arms at-mean --seed N` (alone it takes less than a four-arm lease; `gpu_results.py` names the call once three seeds
are complete).

The commit: the device machine's copy has no .git; part_nb's `code_commit()` then records `$PART_NB_COMMIT`, which
the call's command line sets to the sha literally.

What comes back in --out: schedule.json, runs-sSEED.tar.gz (config, history, eval and log files of each run under
cifar10-gpu/, and the lease's summary; no checkpoint or export), and device_run.sh's log.

    bash bench/device_run.sh gpu-seed                           # the device call; SEED=N, see results/cifar10-gpu/README.md
    python bench/cifar10_gpu.py --tiny --path ARCHIVE --out OUT   # the same at a tiny size on a CPU (tests/test_gpu_target.py)
"""
import argparse, datetime, json, os, signal, subprocess, sys, tarfile, time
from pathlib import Path
from types import SimpleNamespace
sys.path.insert(0, str(Path(__file__).parent))
from fmnist_results import job_settings, options, part_mean_budget

EPS, ALPHA = 8/255, 2/255
arms = ['at', 'part', 'at-mean', 'part-random']
bracket = 'at-e0.875'  # the at-mean slot while eps_at_mean is unknown: AT at the uniform eps_low = 7/255
speed_options = {'fp32': dict(precision='fp32'), 'bf16cl': dict(precision='bf16', channels_last=True),
                 'compile-bf16cl': dict(precision='bf16', channels_last=True, compile=True),
                 'compile': dict(precision='fp32', compile=True)}
keep = ('config.json', 'history.json', 'history.csv', 'eval.json', 'eval.csv', 'eval_images.json', 'train.log', 'eval.log')


def base_settings(a, name, bs, epochs):
    "The training settings of option `name` at batch `bs` (lr 0.1 at 128, scaled linearly), `epochs` of which a quarter warm-up."
    return dict(data='cifar10', arch='resnet18', width=a.width, epochs=epochs, warmup=0.25, eps=EPS, alpha=ALPHA, steps=a.steps,
                bs=bs, lr=0.1 * bs / 128, n_train=a.n_train, n_valid=a.n_valid, opt='sgd', option=f'{name}@{bs}',
                **{'precision': 'fp32', 'compile': None, 'channels_last': False, **speed_options[name]})


def arm_settings(arm, train, seed, path, eps_at_mean=None):
    "`part_nb train` settings of `arm` under the schedule's `train` settings (fmnist_results' job names)."
    s = job_settings(arm, SimpleNamespace(path=path, **{k: v for k, v in train.items() if k != 'option'}))
    if arm == 'at-mean':
        if eps_at_mean is None: raise SystemExit('at-mean needs eps_at_mean in the schedule (it comes from the first PART seed)')
        s['eps_train'] = eps_at_mean
    return dict(s, seed=seed)


class Clock:
    def __init__(self, start): self.t0 = start or time.time()
    def __call__(self): return time.time() - self.t0
    def say(self, msg): print(f"[{self():5.0f} s] {msg}", flush=True)


def run_all(jobs, stop_at, clock, threads):
    "Run `{name: (command, log file)}` in parallel, each in its own process group, killing what runs past `stop_at`; states."
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), PYTHONUNBUFFERED='1')
    procs, states = {}, {}
    for name, (cmd, log) in jobs.items():
        Path(log).parent.mkdir(parents=True, exist_ok=True)
        f = open(log, 'a'); f.write(f"$ {cmd}\n"); f.flush()
        procs[name] = (subprocess.Popen(['bash', '-c', cmd], stdout=f, stderr=subprocess.STDOUT, env=env, start_new_session=True),
                       time.time())
    while len(states) < len(procs):
        for name, (p, t) in procs.items():
            if name in states: continue
            if p.poll() is not None: states[name] = dict(state='done' if p.returncode == 0 else f'failed ({p.returncode})')
            elif clock() > stop_at:
                os.killpg(p.pid, signal.SIGKILL); p.wait(); states[name] = dict(state='stopped at the deadline')
            else: continue
            states[name]['seconds'] = round(time.time() - t, 1)
            clock.say(f"{name}: {states[name]['state']} after {states[name]['seconds']:.0f} s")
        time.sleep(0.5)
    return states


def train_cmd(run, settings):
    return f"{sys.executable} -m part_nb.cli train --out {run} --quiet --resume " + ' '.join(options(settings))


def history(run):
    f = Path(run)/'history.json'
    return json.loads(f.read_text()) if f.exists() else []


def timing(a, clock, window_end):
    "Each option of `--timing-options`: the four arms in parallel for two short epochs (warm-up, PART); their seconds."
    out = []
    for spec in a.timing_options.split(','):
        name, _, bs = spec.partition('@'); bs = int(bs or 128)
        train = base_settings(a, name, bs, 2)
        train.update(warmup=1, n_train=a.timing_batches * bs, n_valid=min(bs, a.n_valid or 10000))
        root = Path(a.runs)/'timing'/spec.replace('@', '-b')
        jobs = {arm: (train_cmd(root/arm, arm_settings(arm, train, a.seed, a.path)), root/arm/'train.log')
                for arm in ['at', 'part', bracket, 'part-random']}
        clock.say(f"timing {spec}: {a.timing_batches} batches of {bs} per epoch, two epochs, the four arms at once")
        st = run_all(jobs, min(clock() + a.timing_cap, window_end), clock, a.threads)
        h = {arm: history(root/arm) for arm in jobs}
        t = dict(option=spec, bs=bs, batches=a.timing_batches, states={k: v['state'] for k, v in st.items()},
                 epoch_seconds={arm: [r['seconds'] for r in rows] for arm, rows in h.items()})
        if all(len(rows) == 2 for rows in h.values()):
            per_batch = max(rows[1]['seconds'] for rows in h.values()) / a.timing_batches  # the slowest arm, after the warm-up
            t.update(epoch_s=round(per_batch * ((a.n_train or 50000) // bs), 1),
                     startup_s=round(max(st[k]['seconds'] - sum(r['seconds'] for r in h[k]) for k in h), 1),
                     one_off_s=round(max(0, max(rows[0]['seconds'] - rows[1]['seconds'] for rows in h.values())), 1))
        out.append(t)
        clock.say(f"timing {spec}: " + (f"{t['epoch_s']} s per epoch of the four, start-up {t['startup_s']} s, first-epoch extra "
                                        f"{t['one_off_s']} s" if 'epoch_s' in t else f"no figure ({t['states']})"))
    return out


def fit_epochs(t, window, margin=1.05):
    "Epochs of the four arms in parallel that fit `window` seconds under the timed option `t` (5% margin on the epoch)."
    return int((window - t['startup_s'] - t['one_off_s']) // (margin * t['epoch_s'])) if t.get('epoch_s') else 0


def choose(timings, window):
    "The timed option fitting the most epochs in `window` s (ties: the smaller batch, then the earlier option) and its epochs."
    ok = [(fit_epochs(t, window), -t['bs'], -i, t) for i, t in enumerate(timings) if t.get('epoch_s')]
    if not ok: return None, 0
    e, _, _, t = max(ok, key=lambda r: r[:3])
    return t, e


def eval_jobs(ev):
    """`(attacks, n, bs)` of the evaluations, cheapest-first so that a deadline cuts the least: natural on the test set (or
    `n` images); then natural, PGD-20, CW and AutoAttack on the fixed `aa_n` (a worst case over all four on the same
    images); then PGD-20 and CW on the test set. A cut during the last keeps every attack on the `aa_n` images."""
    rest = ','.join(a for a in ev['attacks'].split(',') if a != 'natural')
    return ([('natural', ev['n'], ev['bs'])] + ([(f"{ev['attacks']},autoattack", ev['aa_n'], ev['aa_bs'])] if ev['aa_n'] else [])
            + [(rest, ev['n'], ev['bs'])])


def evaluate(run, ev):
    "The evaluations in one process (one start-up, one CUDA context), in order; each runs even if one before it failed."
    from part_nb.runs import evaluate_run
    failed = 0
    for attacks, n, bs in eval_jobs(ev):
        print(f"$ evaluate_run({str(run)!r}, attacks={attacks!r}, n={n}, bs={bs})", flush=True)
        try: print(evaluate_run(run, attacks=attacks, n=n, bs=bs).to_string(), flush=True)
        except Exception as e: print(f"failed: {type(e).__name__}: {e}", flush=True); failed = 1
    raise SystemExit(failed)


def pack(runs, root, out, seed, lease):
    "runs-sSEED.tar.gz: each run's small files under cifar10-gpu/RUN/, and the lease summary; never a checkpoint."
    f = Path(out)/f'runs-s{seed}.tar.gz'
    summary = Path(root)/f"lease-{lease['date'][:16].replace(':', '')}-s{seed}.json"
    summary.write_text(json.dumps(lease, indent=1) + '\n')
    with tarfile.open(f, 'w:gz') as t:
        t.add(summary, f'cifar10-gpu/{summary.name}')
        for r in runs:
            for k in keep:
                if (r/k).exists(): t.add(r/k, f'cifar10-gpu/{r.name}/{k}')
    return f


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    a = p.add_argument
    a('--seed', type=int, default=0); a('--arms', default=','.join(arms), help=f"of {', '.join(arms)} (default: all four)")
    a('--path', default='.data/cifar10-jpeg.tar.gz', help='the CIFAR-10 JPEG archive')
    a('--schedule', default='results/cifar10-gpu/schedule.json', help='the fixed schedule; absent: time the options, write one')
    a('--out', default='out', help="what comes back ($OUT)"); a('--runs', default='runs/cifar10-gpu', help='run folders here')
    a('--start', type=float, help='epoch second the call started (default: now)')
    a('--end', type=float, default=550, help='seconds from --start by which everything is packed')
    a('--eval-s', type=float, default=180, help='seconds kept for the evaluation'); a('--tar-s', type=float, default=10)
    a('--timing-options', default='fp32@128,bf16cl@128', help=f"NAME@BS, NAME of {', '.join(speed_options)}")
    a('--timing-batches', type=int, default=24); a('--timing-cap', type=float, default=45, help='seconds per timed option at most')
    a('--epochs', type=int, help='use these epochs instead of the ones that fit (tests)')
    a('--width', type=int, default=64); a('--steps', type=int, default=10)
    a('--n-train', type=int); a('--n-valid', type=int, default=1000)
    a('--eval-n', type=int, help='test images of the PGD-20/CW evaluation (default: all)'); a('--aa-n', type=int, default=500)
    a('--threads', type=int, default=2, help='CPU threads per process')
    a('--commit', default=os.environ.get('PART_NB_COMMIT'), help='git commit of this code (default: $PART_NB_COMMIT)')
    a('--tiny', action='store_true', help='a CPU-sized smoke run of the same path: width 4, 256 images, 2 epochs, small evaluations')
    a('--dry-run', action='store_true', help='print the plan (arms and their settings) as JSON, run nothing')
    a('--evaluate', help=argparse.SUPPRESS); a('--eval-json', help=argparse.SUPPRESS)  # one run's evaluations (a child process)
    args = p.parse_args()
    if args.evaluate: return evaluate(args.evaluate, json.loads(args.eval_json))
    if args.tiny:
        args.__dict__.update(width=4, steps=2, n_train=256, n_valid=64, eval_n=50, aa_n=8, epochs=args.epochs or 2, threads=1,
                             timing_options='fp32@32', timing_batches=2, end=900, eval_s=300)
    clock, out, root, sched_f = Clock(args.start), Path(args.out), Path(args.runs), Path(args.schedule)
    out.mkdir(parents=True, exist_ok=True); root.mkdir(parents=True, exist_ok=True)
    train_stop, eval_stop = args.end - args.tar_s - args.eval_s, args.end - args.tar_s
    sch = json.loads(sched_f.read_text()) if sched_f.exists() else None
    eps_at_mean = sch and sch.get('eps_at_mean')
    want = args.arms.split(',')
    mine = [bracket if arm == 'at-mean' and eps_at_mean is None else arm for arm in want]
    if args.dry_run:
        train = sch['train'] if sch else base_settings(args, 'fp32', 128, args.epochs or 0)
        print(json.dumps(dict(schedule=str(sched_f) if sch else None, timing=sch is None, arms={
            f'{arm}-s{args.seed}': arm_settings(arm, train, args.seed, args.path, eps_at_mean) for arm in mine}), indent=1))
        return
    if not args.commit: clock.say("warning: no PART_NB_COMMIT: where there is no git checkout the runs record no commit")
    clock.say(f"seed {args.seed}: {', '.join(mine)}; training until {train_stop:.0f} s, evaluation until {eval_stop:.0f} s")

    # decode the JPEG archive once, into part_nb's cache beside it, before any of the processes that read it start
    subprocess.run([sys.executable, '-c', f"from part_nb.datafiles import load_cifar10, cache_file; load_cifar10({args.path!r}); "
                    f"print('cache:', cache_file({args.path!r}))"], check=True)
    clock.say('data decoded and cached')
    ready = clock()  # where a lease without the timing phase starts training

    if sch is None:
        timings = timing(args, clock, train_stop)
        window = train_stop - ready - 5  # a later lease's training window: the schedule is sized for it, not for this lease
        t, e = choose(timings, window)
        if t is None: raise SystemExit(f"no option could be timed: {timings}")
        name, bs = t['option'].split('@')
        train = base_settings(args, name, int(bs), args.epochs or e)
        clock.say(f"schedule: {t['option']}, {train['epochs']} epochs (fit: {e} in the {window:.0f} s of a lease without timing; "
                  f"this lease has {train_stop - clock() - 5:.0f} s left, so its seed is likely stopped early: a pilot)")
        sch = dict(train=train, eval=dict(attacks='natural,pgd20,cw', n=args.eval_n, bs=1000 if not args.tiny else 50,
                                          aa_n=args.aa_n, aa_bs=500 if not args.tiny else 8),
                   eps_at_mean=None, eps_at_mean_from=None, timing=timings, window_s=round(window), epochs_fit=e,
                   decided=datetime.datetime.now().isoformat(timespec='seconds'), commit=args.commit, tiny=args.tiny)
        (out/'schedule.json').write_text(json.dumps(sch, indent=1) + '\n')
        if train['epochs'] < 2: raise SystemExit("fewer than 2 epochs fit (a warm-up and PART) even without the timing phase: "
                                                 "schedule written for the record, nothing trained; do not commit it as the series'")

    runs = [root/f'{arm}-s{args.seed}' for arm in mine]
    jobs = {r.name: (train_cmd(r, arm_settings(arm, sch['train'], args.seed, args.path, eps_at_mean)), r/'train.log')
            for arm, r in zip(mine, runs)}
    clock.say(f"training {sch['train']['epochs']} epochs ({sch['train']['option']})")
    trained = run_all(jobs, train_stop, clock, args.threads)

    part = root/f'part-s{args.seed}'
    if sch.get('eps_at_mean') is None and part in runs and (m := part_mean_budget(part)) is not None:
        sch.update(eps_at_mean=m, eps_at_mean_from=f'{part.name}, {datetime.date.today()}')
        clock.say(f"PART's mean budget after the warm-up: {m} ({m * 255:.3f}/255), fixed for AT at the mean from now on")
    (out/'schedule.json').write_text(json.dumps(sch, indent=1) + '\n')

    me = f"{sys.executable} {Path(__file__).resolve()}"
    ev = {r.name: (f"{me} --evaluate {r} --eval-json '{json.dumps(sch['eval'])}'", r/'eval.log') for r in runs
          if (r/'checkpoint.pth').exists()}
    clock.say(f"evaluating {len(ev)} runs")
    evaluated = run_all(ev, eval_stop, clock, args.threads)

    lease = dict(date=datetime.datetime.now().isoformat(timespec='seconds'), seed=args.seed, arms=mine, commit=args.commit,
                 schedule=sch['train'], train=trained, eval=evaluated, seconds=round(clock()),
                 epochs_done={r.name: len(history(r)) for r in runs})
    f = pack(runs, root, out, args.seed, lease)
    clock.say(f"packed {f} ({f.stat().st_size / 2**20:.2f} MiB); unpack with: tar xzf {f.name} -C results/")


if __name__ == '__main__': main()
