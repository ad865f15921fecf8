#!/usr/bin/env python
"""Time PART's per-batch CAM + mask (part_nb.mask.pixel_eps_map: part_nb.cam.batch_cam, then the mask) on a CIFAR ResNet-18 or a ViT-Ti.

Random weights and images (the cost does not depend on them), batch `--bs` of 3x32x32, after `--warmup` calls,
with device synchronisation around the timed loop. Prints ms per batch for the batched CAM alone, for CAM + mask,
and (with --reference) for pytorch_grad_cam's GradCAM called one image at a time on the same batch, as the PART
reference code does, with the ratio.

    python bench/bench_cam.py                       # cuda if available, else cpu; bs 128
    python bench/bench_cam.py --device cpu --iters 2 --warmup 1 --reference --ref-n 32
    python bench/bench_cam.py --amp bf16 --channels-last
    python bench/bench_cam.py --arch vit_tiny --reference     # timm ViT-Ti, 4x4 patches: tokens laid out on the 8x8 grid
"""
from __future__ import annotations
import argparse, platform, time
from contextlib import nullcontext
import torch
from part_nb.models import resnet18_cifar, vit_tiny
from timing import sync
from part_nb.cam import batch_cam, find_cam_layer, token_reshape
from part_nb.mask import pixel_eps_map, full_budget_fraction


def time_ms(f, device, iters:int, warmup:int) -> float:
    "Mean wall time of `f()` in ms over `iters` calls, after `warmup` calls, synchronising the device."
    for _ in range(warmup): f()
    sync(device)
    t = time.perf_counter()
    for _ in range(iters): f()
    sync(device)
    return (time.perf_counter() - t) / iters * 1000


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    p.add_argument('--bs', type=int, default=128)
    p.add_argument('--iters', type=int, default=20)
    p.add_argument('--warmup', type=int, default=3)
    p.add_argument('--arch', default='resnet18', choices=['resnet18', 'vit_tiny'])
    p.add_argument('--width', type=int, help='ResNet-18 width (default 64: the paper\'s 11M-parameter model); ViT token width (default 192)')
    p.add_argument('--method', default='gradcam', help='gradcam, xgradcam, layercam or gradcam++')
    p.add_argument('--rule', default='zscore', help='mask rule: zscore, top or soft')
    p.add_argument('--amp', choices=['none', 'bf16', 'fp16'], default='none', help='autocast dtype of the forward pass')
    p.add_argument('--channels-last', action='store_true')
    p.add_argument('--reference', action='store_true', help="also time pytorch_grad_cam's GradCAM one image at a time")
    p.add_argument('--ref-iters', type=int, default=1)
    p.add_argument('--ref-n', type=int, default=None,
                   help='time the reference on the first REF_N images only and scale to the batch (each image is a separate call)')
    a = p.parse_args(argv)

    dev = torch.device(a.device)
    torch.manual_seed(0)
    a.width = a.width or (64 if a.arch == 'resnet18' else 192)
    model = (resnet18_cifar if a.arch == 'resnet18' else vit_tiny)(width=a.width).to(dev).eval()
    x = torch.rand(a.bs, 3, 32, 32, device=dev)
    if a.channels_last: model, x = model.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    amp = nullcontext() if a.amp == 'none' else torch.autocast(dev.type, dtype=dict(bf16=torch.bfloat16, fp16=torch.float16)[a.amp])
    eps, eps_low = 8/255, 7/255

    def cam_only():
        with amp: return batch_cam(model, x, a.method)
    def cam_mask():
        with amp: return pixel_eps_map(model, x, eps, eps_low, a.method, rule=a.rule)

    name = torch.cuda.get_device_name(dev) if dev.type == 'cuda' else f"{platform.processor() or platform.machine()} CPU, {torch.get_num_threads()} threads"
    print(f"device: {dev} ({name}); torch {torch.__version__}")
    print(f"{'ResNet-18' if a.arch == 'resnet18' else 'ViT-Ti (timm, 4x4 patches)'} width {a.width}, 3x32x32, batch {a.bs}, method {a.method}, rule {a.rule}, amp {a.amp}, "
          f"channels_last {a.channels_last}, {a.iters} iters after {a.warmup} warm-up")
    t_cam = time_ms(cam_only, dev, a.iters, a.warmup)
    t_all = time_ms(cam_mask, dev, a.iters, a.warmup)
    frac = float(full_budget_fraction(cam_mask(), eps))
    print(f"batched CAM:          {t_cam:9.1f} ms/batch")
    print(f"batched CAM + mask:   {t_all:9.1f} ms/batch  ({t_all / a.bs:.2f} ms/image; "
          f"{frac:.3f} of pixels at full eps with random weights)")
    if a.reference:
        from pytorch_grad_cam import GradCAM
        cam = GradCAM(model=model, target_layers=[find_cam_layer(model)], reshape_transform=token_reshape(model, x[:1]) if a.arch == 'vit_tiny' else None)
        def reference(n=a.bs): return [cam(input_tensor=x[i:i+1], targets=None) for i in range(n)]  # float32, as the reference
        n = min(a.ref_n or a.bs, a.bs)
        reference(2)
        t_ref = time_ms(lambda: reference(n), dev, a.ref_iters, 0) * a.bs / n
        cam.activations_and_grads.release()
        how = '' if n == a.bs else f", timed on {n} images and scaled to {a.bs}"
        print(f"grad-cam one by one:  {t_ref:9.1f} ms/batch  ({t_ref / a.bs:.2f} ms/image{how}; "
              f"{t_ref / t_all:.1f}x the batched CAM + mask)")


if __name__ == '__main__': main()
