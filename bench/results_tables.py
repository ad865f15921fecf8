"""Markdown tables (one row per run, and mean ± std per variant) and the trade-off plot of a set of run folders.

Example:  python bench/results_tables.py results/fmnist-h200/* --png results/tradeoff-h200.png
"""
import argparse
from pathlib import Path
import pandas as pd
from part_nb.report import results_table, summary_table, tradeoff_figure, save_png


def markdown(df: pd.DataFrame) -> str:
    "A pipe table (pandas' to_markdown needs tabulate, which is not a dependency)."
    cell = lambda v: '' if v is None or (isinstance(v, float) and pd.isna(v)) else f'{v:.2f}' if isinstance(v, float) else str(v)
    rows = [' | '.join(map(str, df.columns)), ' | '.join('---' for _ in df.columns)]
    rows += [' | '.join(cell(v) for v in r) for r in df.itertuples(index=False)]
    return '\n'.join(f'| {r} |' for r in rows)


def paired(t: pd.DataFrame, pairs: str, stats: bool = False) -> pd.DataFrame:
    """Per seed, variant A minus variant B on every accuracy column, for each 'A-B' of `pairs` (split at the first '-' that leaves
    a known variant on each side); the mean, and with `stats` its standard error, t and the count of seeds above/below 0."""
    known, acc = set(t.variant), [c for c in t.columns if c in ('natural', 'CW', 'MMA', 'worst case') or c.startswith(('PGD-', 'CW-')) or '@' in c]
    rows, fmt = [], lambda v: '' if pd.isna(v) else f'{v:+.2f}'
    for pr in pairs.split(','):
        cut = [i for i, ch in enumerate(pr) if ch == '-' and pr[:i] in known and pr[i+1:] in known]
        if not cut: raise SystemExit(f"pair {pr!r}: not two variants of {sorted(known)} joined by '-'")
        va, vb = pr[:cut[0]], pr[cut[0]+1:]
        A, B = (t[t.variant == v].set_index('seed')[acc] for v in (va, vb))
        for s in sorted(set(A.index) & set(B.index)):
            rows.append(dict(pair=f'{va} - {vb}', seed=s, **{c: fmt(A.loc[s, c] - B.loc[s, c]) for c in acc}))
        d = A - B
        rows.append(dict(pair=f'{va} - {vb}', seed='mean', **{c: fmt(d[c].mean()) for c in acc}))
        if stats:
            d = d.dropna(how='all')
            se = d.std(ddof=1) / len(d) ** 0.5
            rows.append(dict(pair=f'{va} - {vb}', seed='SE', **{c: '' if pd.isna(se[c]) else f'{se[c]:.2f}' for c in acc}))
            rows.append(dict(pair=f'{va} - {vb}', seed='t', **{c: '' if pd.isna(se[c]) or se[c] < 1e-9 else f'{d[c].mean() / se[c]:+.1f}'
                                                                for c in acc}))
            rows.append(dict(pair=f'{va} - {vb}', seed='+/-', **{c: f"{int((d[c] > 0).sum())}/{int((d[c] < 0).sum())}" if d[c].notna().any() else '' for c in acc}))
    return pd.DataFrame(rows)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('runs', nargs='+'); p.add_argument('--png', help='write the trade-off plot here')
    p.add_argument('--order', help='comma-separated variant order of the summary (default: first seen)')
    p.add_argument('--pairs', help="comma-separated 'A-B' variant pairs: print A minus B per seed (e.g. 'PART-AT')")
    p.add_argument('--stats', action='store_true', help="add SE, t and the sign count under each pair's mean")
    a = p.parse_args()
    runs = [r for r in map(Path, a.runs) if (r/'config.json').exists()]
    t = results_table(runs)
    drop = ['data', 'arch', 'eps', 'method', 'mask']
    for c in ('eps_train', 'eps_low'): t[c] = t[c].map(lambda v: '' if pd.isna(v) else f'{v:.4g}')
    print(markdown(t.drop(columns=drop)))
    s = summary_table(t)
    if a.order: s = s.set_index('variant').loc[[v for v in a.order.split(',') if v in set(s.variant)]].reset_index()
    print('\n' + markdown(s))
    if a.pairs: print('\n' + markdown(paired(t, a.pairs, a.stats)))
    if a.png: save_png(tradeoff_figure(t), Path(a.png)); print(f"\nwrote {a.png}")


if __name__ == '__main__': main()
