"CPU-side (dispatch) cost of PART's extra work vs one PGD step, on a ResNet-18 too small for arithmetic to matter."
import time, torch, torch.nn.functional as F
torch.set_num_threads(1)
from part_nb.models import resnet18_cifar
from part_nb.cam import batch_cam
from part_nb.mask import pixel_eps_map
from part_nb.attack import pgd
m = resnet18_cifar(width=4); x = torch.rand(2, 3, 8, 8); y = torch.tensor([0, 1])
def t(f, n=200):
    for _ in range(10): f()
    t0 = time.perf_counter()
    for _ in range(n): f()
    return (time.perf_counter() - t0) / n * 1e3
cam = lambda: batch_cam(m, x)
mask = lambda: pixel_eps_map(m, x, 8/255, 7/255)
step1 = lambda: pgd(m, x, y, 8/255, 2/255, 1, check=False)
step0 = lambda: pgd(m, x, y, 8/255, 2/255, 0, check=False)
def train():
    m.train(); loss = F.cross_entropy(m(x), y); loss.backward(); m.zero_grad(set_to_none=True)
res = dict(cam=t(cam), cam_mask=t(mask), pgd1=t(step1), pgd0=t(step0), train=t(train))
step = res['pgd1'] - res['pgd0']
print({k: round(v, 3) for k, v in res.items()}, 'ms per call')
print(f"one PGD step ~{step:.3f} ms; CAM+mask = {res['cam_mask']/step:.2f} PGD steps; PGD-10 + train = {(10*step + res['pgd0'] + res['train']):.2f} ms")
print(f"predicted PART/AT if every op costs its dispatch only: {1 + res['cam_mask'] / (10*step + res['pgd0'] + res['train']):.3f}")
em = pixel_eps_map(m, x, 8/255, 7/255)
s1 = t(lambda: pgd(m, x, y, em, 2/255, 1, check=False)); s0 = t(lambda: pgd(m, x, y, em, 2/255, 0, check=False))
print(f"per-pixel eps map: pgd0 {s0:.3f} ms, one step {s1 - s0:.3f} ms (float eps: pgd0 {res['pgd0']:.3f}, step {step:.3f})")
