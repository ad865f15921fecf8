"Checks that need no notebook: the real Fashion-MNIST files, the README's two commands, the console script."
import re, subprocess, sys
from pathlib import Path
import pytest, torch

ROOT = Path(__file__).resolve().parents[1]
FM = Path('/usr/share/datasets/fashion-mnist')


@pytest.mark.skipif(not (FM/'train-images-idx3-ubyte.gz').exists(),
                    reason=f"Fashion-MNIST not installed in {FM} (apt-get install dataset-fashion-mnist)")
def test_real_fashion_mnist():
    from part_nb.data import load_fashion_mnist
    train, test = load_fashion_mnist()
    assert (len(train), len(test)) == (60000, 10000)
    assert train.x.shape[1:] == (1, 28, 28) and train.x.dtype == torch.uint8
    assert torch.bincount(train.y).tolist() == [6000]*10
    # real images, not noise: the mean grey level of Fashion-MNIST is about 0.286
    assert abs(train.x.float().mean().item()/255 - 0.286) < 0.01


def test_readme_has_exactly_two_fresh_machine_commands():
    cmds = re.findall(r'^ *\$ (.+)$', (ROOT/'README.md').read_text(), re.M)
    assert cmds == ['make demo', 'make test']
    assert 'make test' in (ROOT/'.ci'/'run').read_text()


def test_readme_has_no_unfilled_placeholders():
    "Figures like 'about N minutes' are measured and written in; a template word such as DEMO_MIN never ships."
    left = re.findall(r'\b[A-Z]{2,}_(?:MIN|SEC|S|N|PCT|TIME)\b', (ROOT/'README.md').read_text())
    assert not left, f"README.md has unfilled placeholders: {sorted(set(left))}"


def test_console_script_help():
    out = subprocess.run([sys.executable, '-m', 'part_nb.cli', '--help'], capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0 and 'demo' in out.stdout, out.stderr
