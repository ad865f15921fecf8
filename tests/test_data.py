"""CIFAR-10 (JPEG copy) read from its real archive: counts, classes, pixel statistics, the cache of the decoded
images, and `get_dls` on it. The archive is never copied into the repository: it is read from the shared data
folder beside the checkout (read-only in CI), or from `$CIFAR10_JPEG` (`part_nb.files.find_cifar10_jpeg`); without it
every test here is skipped with the reason."""
import os, time
from pathlib import Path
import pytest, torch
from part_nb import datafiles
from part_nb.data import get_dls
from part_nb.datafiles import cache_file, cifar10_classes, load_cifar10
from part_nb.files import find_cifar10_jpeg, cifar10_jpeg_missing

ARCHIVE = find_cifar10_jpeg()
pytestmark = pytest.mark.skipif(ARCHIVE is None, reason=cifar10_jpeg_missing())


@pytest.fixture(scope='module')
def cifar():
    "The archive loaded twice: the first load decodes it (unless a cache exists already), the second must read the cache."
    had_cache = cache_file(ARCHIVE) is not None
    t0 = time.perf_counter(); first = load_cifar10(ARCHIVE)
    t1 = time.perf_counter(); second = load_cifar10(ARCHIVE)
    t2 = time.perf_counter()
    print(f"\nCIFAR-10 (JPEG copy): first load {t1 - t0:.1f} s ({'cache' if had_cache else 'decode'}), "
          f"second load {t2 - t1:.2f} s (cache {cache_file(ARCHIVE)})")
    return first, second


def test_counts_and_classes(cifar):
    (train, test), _ = cifar
    assert (len(train), len(test)) == (50_000, 10_000)
    assert train.vocab == test.vocab == cifar10_classes  # the sorted folder names are CIFAR-10's order
    assert torch.bincount(train.y, minlength=10).tolist() == [5000]*10
    assert torch.bincount(test.y, minlength=10).tolist() == [1000]*10
    assert train.x.shape[1:] == test.x.shape[1:] == (3, 32, 32)
    assert train.x.dtype == test.x.dtype == torch.uint8


def test_pixel_mean(cifar):
    (train, _), _ = cifar
    n = train.x[:, 0].numel()
    mean = [train.x[:, c].sum(dtype=torch.int64).item() / n / 255 for c in range(3)]
    print(f"train pixel mean {[round(m, 4) for m in mean]}")
    for m, ref in zip(mean, (0.4913, 0.4821, 0.4465)): assert abs(m - ref) < 1e-3


def test_cache(cifar, monkeypatch):
    (train, test), (train2, test2) = cifar
    f = cache_file(ARCHIVE)
    assert f is not None and f.is_file() and f.suffix == '.npz'
    if not os.access(ARCHIVE.parent, os.W_OK) or not ARCHIVE.parent.stat().st_mode & 0o222:
        assert f.parent != ARCHIVE.parent  # a read-only data folder: the user's cache folder
    assert torch.equal(train.x, train2.x) and torch.equal(test.y, test2.y) and train.vocab == train2.vocab
    def no_decode(*a, **k): raise AssertionError('decoded although a cache exists')
    monkeypatch.setattr(datafiles, '_tree_arrays', no_decode)
    monkeypatch.setattr(datafiles, '_archive_tree', no_decode)
    t0 = time.perf_counter(); train3, _ = load_cifar10(ARCHIVE)
    print(f"\ncached load {time.perf_counter() - t0:.2f} s")
    assert torch.equal(train3.y, train.y)


def test_get_dls(cifar):
    dls = get_dls('cifar10', path=ARCHIVE, bs=64, n_train=256, n_valid=128)
    assert (len(dls.train_ds), len(dls.valid_ds), dls.c, dls.vocab) == (256, 128, 10, cifar10_classes)
    for dl, bs in ((dls.train, 64), (dls.valid, 128)):  # validation batches are twice as large
        xb, yb = dl.one_batch()
        assert xb.shape == (bs, 3, 32, 32) and xb.dtype == torch.float32
        assert 0 <= xb.min() and xb.max() <= 1
        assert yb.shape == (bs,) and 0 <= yb.min() and yb.max() < 10
