"""Recount saved evaluations by the strict rule (issue 32): an image is robust to an attack only if it is also right
clean, and the worst case over the attacks run on it is added. Reads each run's `eval.json` and `eval_images.json`
(per-image outcomes), attacks nothing; runs without per-image outcomes, or without natural ones, are left as they are.

    python bench/strict_rescore.py results/*/*            # print what would change, run by run
    python bench/strict_rescore.py results/*/* --write    # and rewrite eval.json, eval.csv, eval_images.json
"""
import argparse, json
from pathlib import Path
import pandas as pd
from part_nb.evaluate import strict_results, attack_label
from part_nb.config import write_json, write_csv


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('runs', nargs='+'); p.add_argument('--write', action='store_true')
    a = p.parse_args()
    changed = kept = 0
    for run in map(Path, a.runs):
        if not (run/'eval.json').exists(): continue
        ev = json.loads((run/'eval.json').read_text())
        f = run/'eval_images.json'
        if not f.exists(): kept += 1; continue
        images = json.loads(f.read_text())
        results, images2 = strict_results(ev['results'], images)
        old = {(r['attack'], r['n']): r['accuracy'] for r in ev['results']}
        diffs = [f"{attack_label(r['attack'])}@{r['n']} " + (f"{100 * old[(r['attack'], r['n'])]:.2f} -> " if (r['attack'], r['n']) in old else 'new ')
                 + f"{100 * r['accuracy']:.2f}" for r in results if old.get((r['attack'], r['n'])) != r['accuracy']]
        print(f"{run}: " + ('; '.join(diffs) if diffs else 'unchanged'))
        changed += bool(diffs)
        if a.write and diffs:
            write_json(run/'eval.json', {**ev, 'results': results, 'rule': 'strict'})
            write_csv(run/'eval.csv', pd.DataFrame(results))
            write_json(f, images2)
    print(f"{changed} runs {'recounted' if a.write else 'would change'}; {kept} without per-image outcomes, left as they are")


if __name__ == '__main__': main()
