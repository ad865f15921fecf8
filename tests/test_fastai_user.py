"""A fastai user's first hour (issue 31), at a tiny size: plain fastai loaders (`ImageDataLoaders.from_folder` over the
CIFAR-10 JPEG copy), `vision_learner` and `Learner(resnet18_cifar)`, trained with `PARTCallback`, the PART view,
`robust_validate`, `export` and `load_learner`, `predict`; and the package's own loaders (`get_dls`) doing fastai's
`show_batch`, `show_results` and `predict`. Skipped, with its reason, where the archive is absent (a user's clone)."""
import tarfile, warnings
import pytest
from part_nb.files import find_cifar10_jpeg, cifar10_jpeg_missing


@pytest.fixture(scope='module')
def folder(tmp_path_factory):
    "A folder of 16 training and 4 test images per class, extracted from the archive as a user would have them."
    arch = find_cifar10_jpeg()
    if arch is None: pytest.skip(cifar10_jpeg_missing())
    root = tmp_path_factory.mktemp('cifar')
    with tarfile.open(arch) as t:
        keep = [m for m in t.getmembers() if m.isfile() and m.name.endswith('.jpg')
                and int(m.name.rsplit('/', 1)[-1][:-4]) < (16 if '/train/' in m.name else 4)]
        t.extractall(root, members=keep, filter='data')
    return root/'cifar10-jpeg'


def test_plain_fastai_workflow(folder, tmp_path):
    from fastai.vision.all import ImageDataLoaders, Normalize, vision_learner, resnet18, Learner, accuracy, load_learner
    from part_nb.all import PARTCallback, resnet18_cifar, part_view, dl_norm
    import torch, matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt
    dls = ImageDataLoaders.from_folder(folder, train='train', valid='test', bs=32, num_workers=0,
                                       batch_tfms=Normalize.from_stats([0.49, 0.48, 0.45], [0.25, 0.24, 0.26]))
    img = sorted((folder/'test'/'cat').glob('*.jpg'))[0]
    for make in (lambda: vision_learner(dls, resnet18, pretrained=False, metrics=accuracy),
                 lambda: Learner(dls, resnet18_cifar(width=8), metrics=accuracy)):
        learn = make()
        with learn.no_bar(), learn.no_logging(), warnings.catch_warnings():
            warnings.simplefilter('ignore')  # vision_learner's 1x1 layer4 at 32x32: PART says it moves to layer2
            learn.fit_one_cycle(2, 1e-3, cbs=(cb := PARTCallback(steps=1, warmup=1)))
            learn.show_part(n=4); fig = plt.gcf()
            xb, yb = dls.valid.one_batch()
            v = part_view(learn.model, cb.step, xb, yb, dl_norm(dls.valid), cb.layer_used)
        assert len(fig.axes) == 4 * 4 + 2                                  # image, CAM, budget, perturbation; two colour bars
        assert ((v['x_adv'] - v['x']).abs() <= v['budget'] + 1e-6).all() and (v['budget'] == 8/255).any()  # through Normalize
        res = learn.robust_validate(8/255, attacks='natural,pgd20', n=32, progress=False)
        assert res.index.tolist() == ['natural', 'pgd20'] and res.n.tolist() == [32, 32]
        learn.export(tmp_path/'export.pkl')
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            ours, back = learn.predict(img), load_learner(tmp_path/'export.pkl').predict(img)
        assert back[0] == ours[0] and torch.allclose(back[2], ours[2], atol=1e-5)  # the exported model is the trained one


def test_package_loaders_are_fastai_loaders(tmp_path):
    from fastai.vision.all import Learner, accuracy, load_learner
    from part_nb.all import get_dls, small_cnn
    import torch, matplotlib; matplotlib.use('Agg')
    dls = get_dls(n_train=128, n_valid=64, bs=32, normalize=True)
    dls.show_batch(max_n=4)
    learn = Learner(dls, small_cnn(width=8), metrics=accuracy)
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-2)
    learn.show_results(max_n=4)
    from fastai.interpret import ClassificationInterpretation
    import matplotlib.pyplot as plt
    ClassificationInterpretation.from_learner(learn).plot_top_losses(4)  # the loader's items go back through test_dl
    assert {im.get_cmap().name for ax in plt.gcf().axes for im in ax.images} == {'gray'}  # grey images in grey
    learn.export(tmp_path/'export.pkl')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        name, idx, probs = load_learner(tmp_path/'export.pkl').predict(dls.valid_ds.x[0])
        ours = learn.predict(dls.valid_ds.x[0])
    assert name == dls.vocab[int(idx)] == ours[0] and torch.allclose(probs, ours[2], atol=1e-5)
