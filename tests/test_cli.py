"""The `part_nb` command on tiny budgets: train, resume after a kill, eval, report, and bad input
(exit code 2, a one-line message, no traceback, no file touched)."""
import json, re, shutil, subprocess, sys, time
from pathlib import Path
import pytest, torch
from part_nb.cli import main, demo_settings
from part_nb.core import cpu_cores
from part_nb.checkpoint import read_history, load_checkpoint

ROOT = Path(__file__).resolve().parents[1]
# A narrow small CNN on 1,024 images, one PGD step of 1.25 eps from a random start, a high learning rate: it
# learns something in 2 epochs of about 3 s each. One CPU thread: the CPU is shared (see the demo in nbs/09_cli).
TINY = ['--data', 'fashion-mnist', '--arch', 'small_cnn', '--width', '8', '--eps', '0.1', '--alpha', '0.125', '--steps', '1',
        '--bs', '32', '--lr', '0.1', '--n-train', '1024', '--n-valid', '64', '--quiet', '--threads', '1']
ONE_STEP = TINY[:8] + TINY[12:]  # without --alpha and --steps: the single-step methods take neither


def cli(*args) -> int:
    "Run `part_nb ARGS` in this process; its exit code."
    try: main([str(a) for a in args]); return 0
    except SystemExit as e: return e.code


def snapshot(folder) -> dict:
    return {f.name: f.read_bytes() for f in sorted(Path(folder).iterdir())}


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    "A finished 2-epoch PART run (1 warm-up epoch) and a 1-epoch AT run, shared by the tests."
    d = tmp_path_factory.mktemp('runs')
    assert cli('train', '--method', 'part', '--epochs', 2, '--warmup', 1, '--out', d/'part', *TINY) == 0
    assert cli('train', '--method', 'at', '--epochs', 1, '--out', d/'at', *TINY) == 0
    return d


def test_train(runs):
    run = runs/'part'
    assert {'config.json', 'checkpoint.pth', 'history.json', 'history.csv'} <= {f.name for f in run.iterdir()}
    assert not list(run.glob('.*.tmp'))
    cfg = json.loads((run/'config.json').read_text())['config']
    assert (cfg['method'], cfg['epochs'], cfg['eps'], cfg['eps_train'], cfg['n_train']) == ('part', 2, 0.1, 0.1, 1024)
    assert abs(cfg['eps_low'] - 0.0875) < 1e-9 and cfg['alpha'] == 0.125 and cfg['width'] == 8
    hist = read_history(run)
    assert hist.epoch.tolist() == [0, 1]
    assert hist.full_eps_frac[0] == 1.0 and hist.full_eps_frac[1] < 0.5       # warm-up, then PART
    assert abs(hist.mean_eps[0] - 0.1) < 1e-6 and 0.0875 <= hist.mean_eps[1] < 0.1
    csv_rows = (run/'history.csv').read_text().strip().splitlines()
    assert len(csv_rows) == 3 and csv_rows[0].startswith('epoch,train_loss,valid_loss,accuracy')
    ck = torch.load(run/'checkpoint.pth', weights_only=True)                   # plain data only
    assert ck['epoch'] == 2 and ck['config'] == cfg and len(ck['history']) == 2
    assert 0.3 < hist.accuracy.iloc[-1] <= 1                                   # it learned something
    at = read_history(runs/'at')
    assert at.full_eps_frac.tolist() == [1.0]                                  # AT: the uniform budget


def test_resume_is_exact(runs, tmp_path):
    "Stopped after epoch 1 (where a kill would leave it) and resumed: the same history and weights as uninterrupted."
    out = tmp_path/'part'
    args = ['--method', 'part', '--epochs', 2, '--warmup', 1, '--out', out, *TINY]
    assert cli('train', *args, '--stop-after', 1) == 0
    assert read_history(out).epoch.tolist() == [0]
    assert cli('train', '--out', out, '--resume', '--quiet') == 0              # the stored configuration
    full, resumed = (load_checkpoint(r/'checkpoint.pth') for r in (runs/'part', out))
    assert resumed['epoch'] == 2 and [r['epoch'] for r in resumed['history']] == [0, 1]
    for k, v in full['model'].items(): assert torch.equal(resumed['model'][k], v), k
    for a, b in zip(full['history'], resumed['history']):
        for k in ('train_loss', 'valid_loss', 'accuracy', 'full_eps_frac', 'mean_eps'): assert abs(a[k] - b[k]) < 1e-6, k
    assert cli('train', '--out', out, '--resume', '--quiet') == 0              # complete: nothing to do
    assert read_history(out).epoch.tolist() == [0, 1]


def test_resume_after_kill(tmp_path):
    "A training process killed (SIGKILL) after its first checkpoint, then resumed: epochs 0..n-1 exactly once."
    out, n = tmp_path/'killed', 12
    cmd = [sys.executable, '-m', 'part_nb.cli', 'train', '--method', 'at', '--epochs', str(n), '--out', str(out), *TINY, '--n-train', '256']
    p = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    t0 = time.time()
    while not (out/'checkpoint.pth').exists():
        assert p.poll() is None, p.stderr.read().decode()[-2000:]
        assert time.time() - t0 < 240, 'no checkpoint after 240 s'
        time.sleep(0.02)
    p.kill(); p.wait()
    done = load_checkpoint(out/'checkpoint.pth')['epoch']
    assert 1 <= done < n, f'killed too late: {done} epochs done'
    # the history is written just before the checkpoint, so a kill may leave it one epoch ahead, never behind
    assert read_history(out).epoch.tolist() in (list(range(done)), list(range(done + 1)))
    assert cli('train', '--out', out, '--resume', '--quiet', '--threads', '1') == 0
    hist = read_history(out)
    assert hist.epoch.tolist() == list(range(n))
    assert load_checkpoint(out/'checkpoint.pth')['epoch'] == n
    assert len((out/'history.csv').read_text().strip().splitlines()) == n + 1
    assert not list(out.glob('.*.tmp'))


def test_eval_and_report(runs, tmp_path, capsys):
    assert cli('eval', runs/'part', '--attacks', 'natural,pgd20,cw', '--n', 64) == 0
    out = capsys.readouterr().out
    assert 'PGD' in out or 'pgd20' in out
    ev = json.loads((runs/'part'/'eval.json').read_text())
    acc = {r['attack']: r['accuracy'] for r in ev['results']}
    assert list(acc) == ['natural', 'pgd20', 'cw', 'worst'] and all(r['n'] == 64 for r in ev['results'])
    assert 0.3 < acc['natural'] <= 1 and acc['pgd20'] < acc['natural'] - 0.1 and acc['cw'] < acc['natural'] - 0.1  # the attacks bite
    images = json.loads((runs/'part'/'eval_images.json').read_text())
    assert set(images) >= {'natural@64', 'pgd20@64', 'cw@64', 'worst@64'}  # per-image outcomes, for paired tests
    assert (runs/'part'/'eval.csv').read_text().startswith('attack,accuracy,n,seconds')
    # a later evaluation of another attack keeps the earlier rows
    assert cli('eval', runs/'at', '--attacks', 'natural', '--n', 64) == 0
    assert cli('eval', runs/'at', '--attacks', 'pgd20', '--n', 64) == 0
    assert [r['attack'] for r in json.loads((runs/'at'/'eval.json').read_text())['results']] == ['natural', 'pgd20']
    assert cli('eval', runs/'at', '--attacks', 'natural,pgd20', '--n', 32) == 0      # a nested subset, kept apart
    assert [(r['attack'], r['n']) for r in json.loads((runs/'at'/'eval.json').read_text())['results']] == \
        [('natural', 64), ('pgd20', 64), ('natural', 32), ('pgd20', 32)]
    assert cli('report', runs/'at', runs/'part', '--out', tmp_path/'report') == 0
    page = (tmp_path/'report'/'report.html').read_text()
    refs = re.findall(r"""src=['"]([^'"]+)['"]""", page)
    assert len(refs) == 3 and all((tmp_path/'report'/r).stat().st_size > 1000 for r in refs)  # trade-off, curves, 1 gallery
    assert not re.search(r'(src|href)=["\']?(https?:|//)', page)
    assert 'PART' in page and 'AT' in page and 'PGD-20@32' in page


def run_error(capsys, *args) -> str:
    "Run `part_nb ARGS`, expect exit code 2 with a message; return the message."
    assert cli(*args) == 2
    err = capsys.readouterr().err
    assert err.startswith('part_nb') and 'error' in err and 'Traceback' not in err, err
    return err


@pytest.mark.parametrize('args, message', [
    (['--method', 'madry'], "unknown method 'madry'"),
    (['--data', 'mnist'], "unknown data set 'mnist'"),
    (['--data', 'cifar10', '--path', '/nonexistent'], 'does not exist'),
    (['--arch', 'vgg16'], "unknown architecture 'vgg16'"),
    (['--compile', 'fast'], "unknown torch.compile mode 'fast'; known: default, reduce-overhead"),
    (['--method', 'at-nfgsm', '--compile'], "the single-step attack 'nfgsm' runs eagerly"),
    (['--method', 'at-nfgsm', '--steps', '3'], "`alpha` and `steps` are PGD's: drop them"),
])
def test_bad_settings(tmp_path, capsys, args, message):
    out = tmp_path/'run'
    base = ONE_STEP if 'at-nfgsm' in args else TINY
    assert message in run_error(capsys, 'train', '--out', out, *base, *args)  # the last --data wins
    assert not out.exists()


def test_folder_of_another_run(runs, capsys):
    before = snapshot(runs/'part')
    err = run_error(capsys, 'train', '--method', 'at', '--epochs', 2, '--warmup', 1, '--out', runs/'part', *TINY)
    assert "another configuration" in err and "method: 'part' -> 'at'" in err and '--force' in err
    err = run_error(capsys, 'train', '--method', 'part', '--epochs', 2, '--warmup', 1, '--out', runs/'part', *TINY)
    assert '--resume' in err  # the same run again, without --resume
    err = run_error(capsys, 'train', '--out', runs/'part', '--resume', '--epochs', 3)
    assert "epochs: 2 -> 3" in err
    assert snapshot(runs/'part') == before


@pytest.mark.parametrize('kind', ['corrupt', 'truncated', 'foreign'])
def test_bad_checkpoint(runs, tmp_path, capsys, kind):
    run = tmp_path/'run'
    shutil.copytree(runs/'part', run)
    ck = run/'checkpoint.pth'
    if kind == 'corrupt': ck.write_bytes(b'this is not a checkpoint')
    elif kind == 'truncated': ck.write_bytes(ck.read_bytes()[:5000])
    else: torch.save({'state_dict': {'w': torch.zeros(3)}, 'epoch': 1}, ck)
    before = snapshot(run)
    err = run_error(capsys, 'train', '--out', run, '--resume', '--quiet')
    assert ('not a part_nb checkpoint' if kind == 'foreign' else 'corrupt') in err
    assert str(ck) in err
    run_error(capsys, 'eval', run, '--attacks', 'natural', '--n', 16)  # eval refuses it too
    assert snapshot(run) == before


def test_bad_eval_and_report_input(runs, tmp_path, capsys):
    assert "unknown attack 'fgsm'" in run_error(capsys, 'eval', runs/'part', '--attacks', 'natural,fgsm')
    assert 'not a part_nb run folder' in run_error(capsys, 'eval', tmp_path)
    assert 'not a part_nb run folder' in run_error(capsys, 'report', runs/'part', tmp_path/'nothing')
    assert not (tmp_path/'nothing').exists()


def test_console_script_error_has_no_traceback(tmp_path):
    out = subprocess.run([sys.executable, '-m', 'part_nb.cli', 'train', '--method', 'madry', '--out', str(tmp_path/'x')],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 2 and "unknown method 'madry'; known: at, part, trades, part-t, mart, part-m" in out.stderr
    assert 'Traceback' not in out.stderr and not (tmp_path/'x').exists()
    assert 'Warning' not in out.stderr, out.stderr  # e.g. fastai's torch.jit.script FutureWarning at import: silenced


def test_demo_settings():
    cpu, gpu, quick = demo_settings(cuda=False), demo_settings(cuda=True), demo_settings(quick=True)
    assert cpu['train']['arch'] == 'small_cnn' and gpu['train']['arch'] == 'resnet18'
    assert gpu['train']['n_train'] is None and cpu['train']['n_train'] <= 20000
    for s in (cpu, gpu, quick):
        assert s['train']['eps'] == 0.1 and s['train']['warmup'] >= 1
        assert {a for e in s['evals'] for a in e['attacks']} >= {'natural', 'pgd20', 'cw'}
    attacks = {k: {a for e in s['evals'] for a in e['attacks']} for k, s in dict(cpu=cpu, gpu=gpu).items()}
    assert 'autoattack' in attacks['gpu'] and 'autoattack' not in attacks['cpu']  # on a CPU: a printed command, with its time
    assert cpu['evals'][0]['n'] >= 1000  # a CPU demo's robust accuracies within about 1.5 points (SE at 1,000 images)


def test_eps_train_changes_training_not_evaluation(tmp_path):
    "`--eps-train`: AT trains at that uniform budget after a warm-up at `--eps` (PART's schedule); eval stays at `--eps`."
    out = tmp_path/'at-mean'
    assert cli('train', '--method', 'at', '--eps-train', '0.08', '--epochs', 2, '--warmup', 1, '--out', out, *TINY) == 0
    cfg = json.loads((out/'config.json').read_text())['config']
    assert (cfg['eps'], cfg['eps_train']) == (0.1, 0.08)
    hist = read_history(out)
    assert abs(hist.mean_eps[0] - 0.1) < 1e-6 and hist.full_eps_frac[0] == 1.0   # warm-up: uniform eps
    assert abs(hist.mean_eps[1] - 0.08) < 1e-6 and hist.full_eps_frac[1] == 1.0  # then uniform eps_train
    assert cli('eval', out, '--attacks', 'natural,pgd20', '--n', 32, '--threads', 1) == 0
    ev = json.loads((out/'eval.json').read_text())
    assert ev['eps'] == 0.1                                                    # the threat model is unchanged


def test_eval_progress_bars_name_the_attack(runs, tmp_path):
    "The console bars of `part_nb eval` say which attack they measure, not fastprogress's 'Epoch k/n'."
    shutil.copytree(runs/'at', tmp_path/'at')
    out = subprocess.run([sys.executable, '-m', 'part_nb.cli', 'eval', str(tmp_path/'at'), '--attacks', 'natural,pgd5', '--n', '64',
                          '--bs', '32', '--threads', '1'], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert 'attack 1/2 (natural)' in out.stdout and 'attack 2/2 (pgd5)' in out.stdout, out.stdout[-500:]
    assert 'Epoch' not in out.stdout


def test_single_step_methods(tmp_path):
    "Fast PART from the command line: `--method part-nfgsm` trains with N-FGSM and, after the warm-up, the clean image's CAM (its own pass)."
    out = tmp_path/'fast'
    assert cli('train', '--method', 'part-nfgsm', '--epochs', 2, '--warmup', 1, '--out', out, *ONE_STEP) == 0
    cfg = json.loads((out/'config.json').read_text())['config']
    assert cfg['method'] == 'part-nfgsm' and cfg['cam_pass'] == 'separate'  # PART's rule by default
    assert (cfg['alpha'], cfg['steps']) == (None, None)  # recorded as what it used: one step of its own size
    hist = read_history(out)
    assert hist.full_eps_frac[0] == 1.0 and 0 < hist.full_eps_frac[1] < 0.5   # warm-up, then a real mask
    assert 0.0875 <= hist.mean_eps[1] < 0.1
    assert 0.3 < hist.accuracy.iloc[-1] <= 1
    assert cli('eval', out, '--attacks', 'natural,pgd20', '--n', 32, '--threads', 1) == 0


def test_resume_may_turn_on_the_speed_settings(tmp_path):
    "`--channels-last` (like `--compile`) says how fast, not what, a run trains: a resumed run may turn it on."
    out = tmp_path/'run'
    assert cli('train', '--method', 'at', '--epochs', 2, '--warmup', 1, '--out', out, '--stop-after', 1, *TINY) == 0
    assert json.loads((out/'config.json').read_text())['config']['channels_last'] is False
    assert cli('train', '--out', out, '--resume', '--channels-last') == 0
    assert json.loads((out/'config.json').read_text())['config']['channels_last'] is True
    assert list(read_history(out).epoch) == [0, 1]


def test_quick_demo_side_by_side(tmp_path):
    "The README's main job at smoke-test size, as a user runs it: two runs side by side, their epochs, the table, the report."
    r = subprocess.run([sys.executable, '-m', 'part_nb.cli', 'demo', '--quick', '--out', str(tmp_path/'demo')], cwd=tmp_path,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    out = r.stdout
    if cpu_cores() >= 2: assert 'side by side' in out and out.count('epoch 2/2') == 2, out
    assert re.search(r'^ *part +PART( +\d+\.\d\d){4}$', out, re.M), out  # natural, PGD-20, CW, worst case of the PART run
    assert 'Warning' not in r.stderr, r.stderr[-2000:]  # no warnings leak from the two processes
    assert (tmp_path/'demo'/'report'/'report.html').is_file()


def test_two_writers_into_one_folder(tmp_path):
    "Two trainings with different settings started together into one --out: exactly one runs, the other is refused."
    out = tmp_path/'run'
    cmd = lambda m: [sys.executable, '-m', 'part_nb.cli', 'train', '--method', m, '--epochs', '2', '--warmup', '1', '--out', str(out), *map(str, TINY)]
    ps = [subprocess.Popen(cmd(m), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for m in ('at', 'part')]
    res = [(p.wait(600), p.stderr.read()) for p in ps]
    assert sorted(rc for rc, _ in res) == [0, 2], res
    (rc_won, _), (_, err) = sorted(res)
    assert 'is in use by part_nb train' in err or 'another configuration' in err, err   # refused while it ran, or after
    won = ('at', 'part')[[rc for rc, _ in res].index(0)]
    assert json.loads((out/'config.json').read_text())['config']['method'] == won and len(read_history(out)) == 2
    assert not (out/'.lock').exists()
