"""`bench/decisive_results.py`, which writes RESULTS.md section 2c's tables from the decisive experiment's run folders,
on synthetic runs whose answer is known: AT's three budgets lie on one line per seed, the arms at set heights above it."""
import json, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'bench'))
import decisive_results as dr
from part_nb.config import make_config


def fake_run(folder, arm, seed, natural, pgd20):
    "A finished run folder: config, a 4-epoch history, and an evaluation of natural and PGD-20 accuracy (in %)."
    s = dict(eps_train=0.075) if arm == 'at-e0.75' else dict(eps_train=0.0794) if arm == 'at-mean-r0.75' else {}
    if arm.startswith('part'): s = dict(eps_low=0.075, mask_source=arm.split('-')[1] if arm != 'part-r0.75' else 'cam')
    cfg = make_config(method='part' if arm.startswith('part') else 'at', eps=0.1, arch='small_cnn', epochs=4, seed=seed, **s)
    r = folder/f'{arm}-s{seed}'; r.mkdir(parents=True)
    (r/'config.json').write_text(json.dumps(dict(config=cfg)))
    (r/'history.json').write_text(json.dumps([dict(epoch=e, train_loss=1.0, valid_loss=1.0, accuracy=0.8, seconds=60.0) for e in range(4)]))
    rows = [dict(attack=a, n=2000, accuracy=v / 100, seconds=1.0) for a, v in (('natural', natural), ('pgd20', pgd20))]
    (r/'eval.json').write_text(json.dumps(dict(results=rows)))


def test_gap_above_the_curve(tmp_path):
    "AT's curve: robust = 70 + s - 5 (natural - 84) in seed s; PART 1, 2, 3, 2 points above it: gap +2.00, SE 0.41, t +4.9."
    folder = tmp_path/'fmnist-decisive'
    curve = lambda s, nat: 70 + s - 5 * (nat - 84)
    for s, up in enumerate((1, 2, 3, 2)):
        for arm, nat in (('at', 83.5), ('at-mean-r0.75', 84.2), ('at-e0.75', 84.6)): fake_run(folder, arm, s, nat, curve(s, nat))
        fake_run(folder, 'part-r0.75', s, 84.3, curve(s, 84.3) + up)
        fake_run(folder, 'part-random-r0.75', s, 84.3, curve(s, 84.3) - up)  # as far below as PART is above
    text = dr.block(folder, tmp_path/'t.png', 't.png')
    rows = {tuple(c.strip() for c in l.strip('|').split('|')[:2]): [c.strip() for c in l.strip('|').split('|')] for l in text.splitlines()
            if l.startswith('| PART')}
    assert rows['PART', 'PGD-20'][2:8] == ['4', '+2.00', '0.41', '+4.9', '4/0', '-5.00']
    assert rows['PART random', 'PGD-20'][2:7] == ['4', '-2.00', '0.41', '-4.9', '0/4']
    assert '20 of 48 runs complete' in text and 'seeds with all six arms: none' in text and (tmp_path/'t.png').stat().st_size > 0
    # PART minus AT at the mean: natural +0.10, PGD-20 curve(84.3) + up - curve(84.2) = up - 0.5 -> mean +1.50; 4 seeds: summary rows only
    pr = [l for l in text.splitlines() if l.startswith('| PART - AT at mean |')]
    assert [l.split('|')[2].strip() for l in pr] == ['mean', 'SE', 't', '+/-'] and '| +1.50 |' in pr[0]


def test_nothing_yet(tmp_path):
    assert dr.block(tmp_path, tmp_path/'t.png', 't.png') == '**Not yet run.**'


def test_no_t_without_spread():
    "The same difference in every seed has no spread: t is left blank, not a huge number made of rounding error."
    import pandas as pd
    from results_tables import paired
    t = pd.DataFrame(dict(variant=['A', 'A', 'B', 'B'], seed=[0, 1, 0, 1], natural=[84.65, 84.35, 83.95, 83.65]))
    rows = paired(t, 'A-B', stats=True).set_index('seed')
    assert (rows.loc['mean', 'natural'], rows.loc['SE', 'natural'], rows.loc['t', 'natural']) == ('+0.70', '0.00', '')
