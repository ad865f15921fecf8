"""RESULTS.md section 2c's tables and plot (issue 32, the decisive Fashion-MNIST experiment), regenerated from the run
folders of results/fmnist-decisive/ (`ARM-sSEED`, copied without checkpoints from the worktree that runs them).

Per arm: mean ± std over its seeds. Paired by seed: PART minus each other arm (mean, SE, t, sign count). And the question
the experiment asks, at equal natural accuracy: how far each arm lies above **AT's curve**, the line through AT's three
budgets (0.75 eps, PART's mean budget, eps) in the natural-vs-robust plane. The curve's slope is fitted once from all
seeds' AT runs, within seeds (each seed its own level: `robust - mean_s = b (natural - mean_s)`); an arm's gap in seed s
is its robust accuracy minus the curve of seed s at its natural accuracy. Mean, SE and t of the gap are over seeds, the
SE a leave-one-seed-out jackknife that refits the slope each time (the slope's own uncertainty counts). Only seeds whose
three AT runs are complete give a curve. Hand-written prose stays outside the marks; the reading's one sentence too.

    python bench/decisive_results.py                     # print the block
    python bench/decisive_results.py --write RESULTS.md  # replace it between its marks (appended if absent)
"""
import argparse, os, sys, warnings
from pathlib import Path
import numpy as np
import pandas as pd
warnings.filterwarnings('ignore', message=r'`torch\.jit\.script` is deprecated', category=FutureWarning)  # fastai's, at import
sys.path.insert(0, str(Path(__file__).parent))
from results_tables import markdown, paired
from gpu_results import runs_of, write
from part_nb.report import results_table, summary_table, tradeoff_figure, save_png
from part_nb.checkpoint import read_config, read_history

marks = ('<!-- fmnist-decisive: start (bench/decisive_results.py writes from here to the end mark) -->', '<!-- fmnist-decisive: end -->')
labels = {'at': 'AT', 'part-r0.75': 'PART', 'at-mean-r0.75': 'AT at mean', 'at-e0.75': 'AT 0.75 eps',
          'part-random-r0.75': 'PART random', 'part-inverted-r0.75': 'PART inverted'}
at_curve = ('AT 0.75 eps', 'AT at mean', 'AT')
seeds_wanted = 8
robust = ('PGD-20', 'CW', 'PGD-50x3', 'worst case')


def slope(t: pd.DataFrame, col: str) -> float:
    "The within-seed least-squares slope of `col` on natural accuracy over AT's runs (each seed centred on its own means)."
    g = t[t.variant.isin(at_curve)]
    d = g.groupby('seed')[['natural', col]].transform(lambda v: v - v.mean())
    return float((d.natural * d[col]).sum() / (d.natural ** 2).sum())


def gaps(t: pd.DataFrame, col: str, b: float | None = None) -> pd.DataFrame:
    "Per seed and arm: `col` minus AT's curve (slope `b`, else fitted) at the arm's natural accuracy, for seeds with the whole curve."
    full = [s for s, g in t.groupby('seed') if set(at_curve) <= set(g.variant)]
    t = t[t.seed.isin(full)]
    b = slope(t, col) if b is None else b
    at = t[t.variant.isin(at_curve)].groupby('seed')[['natural', col]].mean()
    base = at.loc[t.seed].to_numpy()
    return t.assign(gap=t[col].to_numpy() - (base[:, 1] + b * (t.natural.to_numpy() - base[:, 0])))[['variant', 'seed', 'gap']]


def gap_table(t: pd.DataFrame) -> pd.DataFrame:
    "Each arm's gap above AT's curve for each robust column: mean, jackknife SE, t, seeds above/below, and the slope used."
    rows = []
    full = sorted(s for s, g in t.groupby('seed') if set(at_curve) <= set(g.variant))
    for col in [c for c in robust if c in t.columns]:
        g = gaps(t, col).pivot(index='seed', columns='variant', values='gap')
        jack = [gaps(t[(t.seed != s)], col).groupby('variant').gap.mean() for s in full] if len(full) > 2 else []
        for v in [v for v in labels.values() if v in g.columns and v not in at_curve]:
            x = g[v].dropna(); n = len(x)
            js = pd.Series([j.get(v, np.nan) for j in jack]).dropna()
            se = float(np.sqrt((len(js) - 1) / len(js) * ((js - js.mean()) ** 2).sum())) if len(js) > 2 else np.nan
            rows.append({'arm': v, 'robust': col, 'seeds': n, 'gap': f'{x.mean():+.2f}', 'SE': '' if np.isnan(se) else f'{se:.2f}',
                         't': '' if np.isnan(se) or se < 1e-9 else f'{x.mean() / se:+.1f}', '+/-': f'{int((x > 0).sum())}/{int((x < 0).sum())}',
                         'slope': f'{slope(t[t.seed.isin(full)], col):+.2f}'})
    return pd.DataFrame(rows)


def complete(run: Path) -> bool:
    return len(read_history(run)) >= read_config(run)['epochs'] and (run/'eval.json').exists()


def block(folder: Path, png: Path, link: str) -> str:
    found = {r: a for r, a in runs_of(folder).items() if a[0] in labels and complete(r)}
    if not found: return '**Not yet run.**'
    t = results_table(list(found))
    t['variant'] = [labels[a] for a, _ in found.values()]
    seeds = sorted({s for _, s in found.values()})
    full = [s for s in seeds if len(t[t.seed == s]) == len(labels)]
    order = [v for v in labels.values() if v in set(t.variant)]
    summ = summary_table(t).set_index('variant').loc[order].reset_index()
    out = [f"{len(t)} of {len(labels) * seeds_wanted} runs complete; seeds with all six arms: {', '.join(map(str, full)) or 'none'} "
           f"(of {seeds_wanted}). Accuracy in %, on the fixed 2,000 test images, strict counting.", '',
           'Per arm (mean ± std over seeds):', '', markdown(summ.drop(columns=['MMA'], errors='ignore')), '']
    others = [v for v in order if v != 'PART']
    if 'PART' in order and others:
        d = paired(t, ','.join(f'PART-{v}' for v in others), stats=True)
        if len(seeds) > 3: d = d[d.seed.isin(['mean', 'SE', 't', '+/-'])]  # the per-seed rows are in the run folders
        out += ['PART minus each other arm of the same seed (points; mean, SE, t, seeds above/below 0):', '', markdown(d), '']
    if set(at_curve) <= set(t.variant):
        out += ["Above AT's curve at equal natural accuracy (points of robust accuracy; the curve through AT's three budgets, "
                'slope fitted within seeds; SE by leaving one seed out and refitting):', '', markdown(gap_table(t)), '']
    save_png(tradeoff_figure(t), png)
    out += [f'![natural vs PGD-20, the decisive experiment]({link})']
    return '\n'.join(out)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--folder', default='results/fmnist-decisive'); p.add_argument('--write', help='the markdown file (RESULTS.md)')
    a = p.parse_args()
    folder = Path(a.folder); png = folder.parent/f'tradeoff-{folder.name}.png'
    link = os.path.relpath(png, Path(a.write).resolve().parent if a.write else Path.cwd())
    text = block(folder, png, link)
    if a.write: write(Path(a.write), text, marks); print(f"wrote the block into {a.write}")
    else: print(text)


if __name__ == '__main__': main()
