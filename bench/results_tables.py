"""Markdown tables (one row per run, and mean ± std per variant) and the trade-off plot of a set of run folders.

Example:  python bench/results_tables.py results/fmnist-h200/* --png results/tradeoff-h200.png
"""
import argparse
from pathlib import Path
import pandas as pd
from part_nb.cli import results_table, summary_table, tradeoff_figure, _save_png


def markdown(df: pd.DataFrame) -> str:
    "A pipe table (pandas' to_markdown needs tabulate, which is not a dependency)."
    cell = lambda v: '' if v is None or (isinstance(v, float) and pd.isna(v)) else f'{v:.2f}' if isinstance(v, float) else str(v)
    rows = [' | '.join(map(str, df.columns)), ' | '.join('---' for _ in df.columns)]
    rows += [' | '.join(cell(v) for v in r) for r in df.itertuples(index=False)]
    return '\n'.join(f'| {r} |' for r in rows)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('runs', nargs='+'); p.add_argument('--png', help='write the trade-off plot here')
    p.add_argument('--order', help='comma-separated variant order of the summary (default: first seen)')
    a = p.parse_args()
    runs = [r for r in map(Path, a.runs) if (r/'config.json').exists()]
    t = results_table(runs)
    drop = ['data', 'arch', 'eps', 'method', 'mask']
    for c in ('eps_train', 'eps_low'): t[c] = t[c].map(lambda v: '' if pd.isna(v) else f'{v:.4g}')
    print(markdown(t.drop(columns=drop)))
    s = summary_table(t)
    if a.order: s = s.set_index('variant').loc[[v for v in a.order.split(',') if v in set(s.variant)]].reset_index()
    print('\n' + markdown(s))
    if a.png: _save_png(tradeoff_figure(t), Path(a.png)); print(f"\nwrote {a.png}")


if __name__ == '__main__': main()
