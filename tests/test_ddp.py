"PART under fastai's distributed training: two CPU processes (gloo) must end with identical weights."
import json, os, socket, subprocess, sys
from pathlib import Path
import pytest, torch

HERE = Path(__file__).resolve().parent
FM = Path('/usr/share/datasets/fashion-mnist')


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


@pytest.mark.skipif(not (FM/'train-images-idx3-ubyte.gz').exists(), reason='Fashion-MNIST not installed')
@pytest.mark.parametrize('loss', ['at', 'trades'])
def test_two_process_ddp(tmp_path, loss):
    env = dict(os.environ, MASTER_ADDR='127.0.0.1', MASTER_PORT=str(_free_port()), WORLD_SIZE='2',
               OMP_NUM_THREADS='1', CUDA_VISIBLE_DEVICES='')
    procs = [subprocess.Popen([sys.executable, str(HERE/'ddp_worker.py'), str(tmp_path), loss],
                              env=dict(env, RANK=str(r), LOCAL_RANK=str(r)), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for r in range(2)]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    for p, o in zip(procs, outs): assert p.returncode == 0, o[-3000:]
    sd0, sd1 = (torch.load(tmp_path/f'rank{r}.pt', weights_only=True) for r in range(2))
    assert sd0.keys() == sd1.keys()
    for k in sd0:
        assert torch.equal(sd0[k], sd1[k]), f'replicas differ in {k}'
    from part_nb.models import small_cnn
    torch.manual_seed(0)
    init = small_cnn().state_dict()
    assert not torch.equal(init['features.0.weight'], sd0['features.0.weight']), 'no training happened'
    for r in range(2):
        info = json.loads((tmp_path/f'rank{r}.json').read_text())
        # 512 images, batches of 64, two ranks: 4 training batches each. Exactly one gradient all-reduce per
        # training batch (one bucket): the CAM's and the attack's backward passes never went through DDP.
        assert info['n_batch'] == 4, info
        assert info['n_reduce'] == info['n_batch'], info
        assert info['eps_map_values'] == pytest.approx([0.0875, 0.1]), info
