"""Issue 27's device call, `bash bench/device_run.sh gpu-seed`, at a tiny size on the CPU, so a lent GPU's 15 minutes are never
spent on a crash: the first lease's whole path (decode once, time the options, fix the schedule, train the four arms at once,
evaluate, read PART's mean budget, pack) and the plan of every later lease; then `bench/gpu_results.py`, which turns what
comes back into RESULTS.md's section, on those runs and on synthetic ones whose paired statistics are known."""
import json, os, subprocess, sys, tarfile
from pathlib import Path
import pytest
from part_nb.files import find_cifar10_jpeg, cifar10_jpeg_missing

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'bench'))
import cifar10_gpu, gpu_results
from fmnist_results import part_mean_budget

EPS, SHA = 8/255, 'f00dfeed' * 5
env = lambda **kw: dict(os.environ, OMP_NUM_THREADS='1', CUDA_VISIBLE_DEVICES='', PYTHONPATH=str(ROOT), **kw)


@pytest.fixture(scope='module')
def lease(tmp_path_factory):
    "The first lease at the tiny size: no schedule yet, no .git (GIT_DIR points nowhere, as on the device), the sha given."
    arch = find_cifar10_jpeg()
    if arch is None: pytest.skip(cifar10_jpeg_missing())
    d = tmp_path_factory.mktemp('lease')
    r = subprocess.run(['bash', 'bench/device_run.sh', 'gpu-seed'], cwd=ROOT, capture_output=True, text=True, timeout=900,
                       env=env(TINY='1', PY=sys.executable, OUT=str(d/'out'), SCHEDULE=str(d/'no-schedule.json'), RUNS=str(d/'runs'),
                               DATA_PATH=str(arch), PART_NB_COMMIT=SHA, GIT_DIR='/nonexistent', SEED='0'))
    assert r.returncode == 0, (r.stdout + r.stderr)[-4000:]
    (d/'back').mkdir()
    with tarfile.open(d/'out'/'runs-s0.tar.gz') as t:
        names = t.getnames(); t.extractall(d/'back', filter='data')
    return dict(dir=d, out=d/'out', names=names, log=r.stdout, runs=d/'back'/'cifar10-gpu', arch=arch)


@pytest.mark.slow
def test_first_lease(lease):
    runs, out = lease['runs'], lease['out']
    assert sorted(os.listdir(out)) == ['log.txt', 'runs-s0.tar.gz', 'schedule.json']
    # AT at 7/255 holds the at-mean slot while PART's mean budget is unknown; nothing heavy travels back
    assert {n.split('/')[1] for n in lease['names'] if n.count('/') == 2} == {'at-s0', 'part-s0', 'at-e0.875-s0', 'part-random-s0'}
    assert not [n for n in lease['names'] if n.endswith(('.pth', '.pkl'))]
    want = {'at-s0': ('at', EPS, 'cam'), 'part-s0': ('part', EPS, 'cam'), 'at-e0.875-s0': ('at', 7/255, 'cam'),
            'part-random-s0': ('part', EPS, 'random')}
    for run, (method, eps_train, mask) in want.items():
        c = json.loads((runs/run/'config.json').read_text())
        cfg = c['config']
        assert (cfg['method'], cfg['mask_source'], cfg['data'], cfg['arch']) == (method, mask, 'cifar10', 'resnet18'), run
        assert cfg['eps'] == pytest.approx(EPS) and cfg['eps_train'] == pytest.approx(eps_train), run
        if method == 'part': assert cfg['eps_low'] == pytest.approx(7/255), run
        assert cfg['seed'] == 0 and cfg['epochs'] == 2 and cfg['warmup'] == 0.25, run
        assert c['commit'] == SHA, run    # no git there: part_nb's code_commit records the sha the call passed
        assert len(json.loads((runs/run/'history.json').read_text())) == 2, run
        rows = {(r['attack'], r['n']) for r in json.loads((runs/run/'eval.json').read_text())['results']}
        assert {('natural', 50), ('pgd20', 50), ('cw', 50), ('worst', 50), ('natural', 8), ('pgd20', 8), ('cw', 8),
                ('autoattack', 8), ('worst', 8)} <= rows, (run, rows)
    # the schedule: timed, fixed, and AT at the mean's budget read from this lease's PART run
    s = json.loads((out/'schedule.json').read_text())
    assert s['train']['epochs'] == 2 and s['train']['option'] == 'fp32@32' and s['timing'][0]['epoch_s'] > 0
    assert s['eps_at_mean'] == part_mean_budget(runs/'part-s0') and 7/255 < s['eps_at_mean'] < EPS
    assert 'data decoded and cached' in lease['log'] and lease['log'].index('data decoded') < lease['log'].index('timing fp32@32')


@pytest.mark.slow
def test_later_lease_plan(lease):
    "With the schedule committed, a lease times nothing and trains AT at exactly the fixed mean budget."
    r = subprocess.run([sys.executable, 'bench/cifar10_gpu.py', '--dry-run', '--seed', '3', '--schedule', str(lease['out']/'schedule.json'),
                        '--path', str(lease['arch']), '--out', str(lease['dir']/'plan')], cwd=ROOT, env=env(), capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    plan, s = json.loads(r.stdout), json.loads((lease['out']/'schedule.json').read_text())
    assert plan['timing'] is False and sorted(plan['arms']) == ['at-mean-s3', 'at-s3', 'part-random-s3', 'part-s3']
    assert plan['arms']['at-mean-s3']['eps_train'] == s['eps_at_mean'] and plan['arms']['at-mean-s3']['method'] == 'at'
    for a in plan['arms'].values():
        assert {k: a[k] for k in ('epochs', 'bs', 'lr', 'width', 'seed')} == {**{k: s['train'][k] for k in ('epochs', 'bs', 'lr', 'width')},
                                                                               'seed': 3}


@pytest.mark.slow
def test_results_section_of_the_lease(lease, tmp_path):
    folder = tmp_path/'cifar10-gpu'
    subprocess.run(['cp', '-r', str(lease['runs']), str(folder)], check=True)
    (folder/'schedule.json').write_text((lease['out']/'schedule.json').read_text())
    text = gpu_results.section(folder, folder/'tradeoff.png', 'tradeoff.png', '## GPU')
    for run in ('at-s0', 'part-s0', 'at-e0.875-s0', 'part-random-s0'): assert f'| {run} |' in text
    assert '| PART - AT | 0 |' in text and '| PART - AT 7/255 | 0 |' in text and 'PART - AT at mean' not in text
    assert 'AutoAttack@8' in text and (folder/'tradeoff.png').stat().st_size > 0
    assert '0 seed(s) with all four arms complete (none)' in text  # seed 0 has AT at 7/255, not AT at the mean: not a full seed
    assert 'SEED=1 bash bench/device_run.sh gpu-seed' in text


def test_choose_the_schedule():
    t = lambda opt, bs, epoch_s, startup=10, one_off=0: dict(option=opt, bs=bs, epoch_s=epoch_s, startup_s=startup, one_off_s=one_off)
    assert cifar10_gpu.fit_epochs(t('a', 128, 50), 300) == 5                   # (300 - 10) // 52.5
    assert cifar10_gpu.fit_epochs(t('a', 128, 50, one_off=60), 300) == 4       # a compile's one-off cost counts
    fast, slow = t('bf16cl@128', 128, 40), t('fp32@128', 128, 60)
    assert cifar10_gpu.choose([slow, fast], 300) == (fast, 6)
    assert cifar10_gpu.choose([t('bf16cl@512', 512, 45), slow, t('x@128', 128, 45)], 300)[0]['option'] == 'x@128'  # tie: smaller batch
    assert cifar10_gpu.choose([t('fp32@128', 128, 50), t('bf16cl@128', 128, 50)], 300)[0]['option'] == 'fp32@128'  # then the earlier
    assert cifar10_gpu.choose([dict(option='bf16cl@128', bs=128, states={'at': 'failed (2)'})], 300) == (None, 0)


def test_evaluation_order():
    "Cheapest first: natural on the test set, then every attack on the AutoAttack subset, then PGD-20/CW on the test set."
    ev = dict(attacks='natural,pgd20,cw', n=None, bs=1000, aa_n=500, aa_bs=500)
    assert cifar10_gpu.eval_jobs(ev) == [('natural', None, 1000), ('natural,pgd20,cw,autoattack', 500, 500), ('pgd20,cw', None, 1000)]
    assert cifar10_gpu.eval_jobs(dict(ev, aa_n=0)) == [('natural', None, 1000), ('pgd20,cw', None, 1000)]


def test_results_section_without_runs(tmp_path):
    text = gpu_results.section(tmp_path, tmp_path/'t.png', 't.png', '## GPU')
    assert 'Not yet run' in text and 'SEED=0 bash bench/device_run.sh gpu-seed' in text and 'carry `[".whl", ".data/cifar10-jpeg.tar.gz"]`' in text
    assert not (tmp_path/'t.png').exists()


def fake_run(folder, arm, seed, acc, epochs=2, done=2):
    "A run folder as a lease leaves it: config, history of `done` epochs, and eval rows of accuracies `acc` (fractions)."
    from part_nb.config import make_config
    s = {'at': {}, 'part': {}, 'at-mean': dict(eps_train=0.0281), 'part-random': dict(mask_source='random')}[arm]
    cfg = make_config(method='part' if arm.startswith('part') else 'at', data='cifar10', epochs=epochs, seed=seed, **s)
    r = folder/f'{arm}-s{seed}'; r.mkdir(parents=True)
    (r/'config.json').write_text(json.dumps(dict(config=cfg)))
    (r/'history.json').write_text(json.dumps([dict(epoch=e, train_loss=1.0, valid_loss=1.0, accuracy=0.5, seconds=60.0) for e in range(done)]))
    rows = [dict(attack=a, n=10000, accuracy=v, seconds=1.0) for a, v in zip(('natural', 'pgd20', 'cw'), acc)]
    (r/'eval.json').write_text(json.dumps(dict(results=rows + [dict(attack='autoattack', n=500, accuracy=acc[1] - 0.05, seconds=1.0)])))


def test_results_section_pairs(tmp_path):
    "Three synthetic seeds: PART - AT natural is +1, +2, +3 points (mean 2, SE 0.58, t 3.5, 3/0); a stopped run is left out."
    folder = tmp_path/'cifar10-gpu'
    for s, d in enumerate((0.01, 0.02, 0.03)):
        fake_run(folder, 'at', s, (0.70, 0.40, 0.38))
        fake_run(folder, 'part', s, (0.70 + d, 0.40, 0.38))
        fake_run(folder, 'at-mean', s, (0.71, 0.40 - d, 0.38))
        fake_run(folder, 'part-random', s, (0.70, 0.40, 0.38), done=1 if s == 2 else 2)  # seed 2's was stopped after epoch 1
    text = gpu_results.section(folder, folder/'tradeoff.png', 'tradeoff.png', '## GPU')
    rows = {tuple(c.strip() for c in l.strip('|').split('|')[:3]): l for l in text.splitlines() if l.startswith('| PART - ')}
    assert rows['PART - AT', 'mean', '+2.00'] and rows['PART - AT', 'SE', '0.58'] and rows['PART - AT', 't', '+3.5']
    assert rows['PART - AT', '+/-', '3/0'] and rows['PART - AT at mean', 'mean', '+1.00']
    assert ('PART - PART random', '1', '+2.00') in rows and not [k for k in rows if k[:2] == ('PART - PART random', '2')]  # stopped
    assert '| part-random-s2 | PART random | 2 | 1/2 |' in text
    assert '2 seed(s) with all four arms complete (0, 1)' in text and "AT's natural accuracy: 70.00%" in text
    # --write: the section replaces itself between its marks, and the rest of the file stays as it was
    f = tmp_path/'RESULTS.md'; f.write_text('# Results\n\nsection 5 text\n')
    for _ in range(2): gpu_results.write(f, text)
    new = f.read_text()
    assert new.startswith('# Results\n\nsection 5 text\n') and new.count(gpu_results.marks[0]) == 1 and new.count('| PART - AT | mean') == 1
