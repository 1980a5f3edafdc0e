"""Which flips and turns training adds: the transforms themselves, the check on textures whose orientation is
known (real Lite0 features), and what a trained revision records."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from core.models.backbones import build_backbone
from core.models.preprocess import load_rgb
from core.models.uflow import UFlowConfig, UFlowModel, orientation, train

train_module = importlib.import_module("core.models.uflow.train")

SIDE = 128


@pytest.fixture(scope="module")
def lite0():
    return build_backbone("tf_efficientnet_lite0")


def texture(kind: str, n: int = 8, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:SIDE, 0:SIDE].astype(np.float32)
    out = []
    for _ in range(n):
        img = 128 + 20 * rng.standard_normal((SIDE, SIDE)).astype(np.float32)
        if kind == "stripes":  # horizontal: flips keep them, turns do not
            img += 40 * np.sin(2 * np.pi * yy / 10 + rng.uniform(0, 2 * np.pi))
        elif kind == "disc":  # a dark part always at the same place: nothing keeps it
            img -= 80 * (((yy - 35) ** 2 + (xx - 45) ** 2) < 15 ** 2)
        out.append(np.clip(img, 0, 255).astype(np.uint8))
    return out


def test_the_seven_transforms_are_the_symmetries_of_the_square_other_than_identity():
    px = np.arange(12).reshape(3, 4)
    got = [orientation.transformed(px, t) for t in range(len(orientation.TRANSFORMS))]
    expected = [px[:, ::-1], px[::-1], np.rot90(px, 2), px.T, np.rot90(px, -1), np.rot90(px, 1), np.rot90(px, 1)[:, ::-1]]
    assert all(np.array_equal(g, e) for g, e in zip(got, expected))
    assert len({g.tobytes() + bytes(g.shape) for g in got + [px]}) == 8
    rgb = np.zeros((3, 5, 3))
    assert orientation.transformed(rgb, 4).shape == (5, 3, 3)  # channels stay last
    with pytest.raises(ValueError, match="transform index"):
        orientation.transformed(px, 7)


def _check(kind: str, lite0) -> tuple[list[int], np.ndarray]:
    from core.progress import NEVER_CANCELLED

    model = UFlowModel(UFlowConfig(input_size=SIDE, tiling=False), backbone=lite0)
    checked, kept, shifts = train_module._layout_check(model, [load_rgb(im) for im in texture(kind)],
                                                       NEVER_CANCELLED, 0, lambda f: None)
    assert checked
    return kept, shifts


def test_the_check_keeps_the_copies_that_look_normal_and_only_those(lite0):
    kept, shifts = _check("noise", lite0)
    assert kept == list(range(7)) and shifts.shape == (7, 3)
    kept, shifts = _check("stripes", lite0)
    assert not set(kept) & {3, 4, 5, 6}  # a turn makes vertical stripes
    assert shifts[3:].max(axis=1).min() > 10 * orientation.MAX_SHIFT_IQR
    kept, _ = _check("disc", lite0)
    assert kept == []


def test_too_few_images_get_no_check_and_no_copies():
    one = [[np.zeros((1, 2, 2), dtype=np.float32)]]
    kept, shifts = orientation.normal_transforms(one * 3, [one * 7] * 3)
    assert kept == [] and shifts.size == 0


def test_a_revision_records_the_copies_it_learned_and_old_configs_learned_none(lite0):
    config = UFlowConfig(input_size=SIDE, train_steps=4, batch_size=2, hidden_ratio=0.25, flow_steps=2,
                         tiling=False, crossfit_folds=0)
    assert config.image_flips == -1  # the automatic check is the default
    model = train(texture("noise", n=6), config, backbone=lite0)
    training = model.meta["training"]
    assert training["orientations"] == list(orientation.TRANSFORMS) and training["image_flips"] == 7
    assert np.shape(training["orientation_shifts"]) == (7, 3)
    model = train(texture("disc", n=6), config, backbone=lite0)
    assert model.meta["training"]["orientations"] == [] and model.meta["training"]["image_flips"] == 0
    fixed = train(texture("disc", n=6), UFlowConfig.from_dict({**config.to_dict(), "image_flips": 1}), backbone=lite0)
    assert fixed.meta["training"]["orientations"] == ["flip left-right"]  # asked for: not checked
    assert UFlowConfig.from_dict({"input_size": 64}).image_flips == 0  # stored before the check existed


def test_the_flow_layout_is_chosen_from_the_checked_orientations(lite0):
    config = UFlowConfig(input_size=SIDE, train_steps=4, batch_size=2, hidden_ratio=0.25, flow_steps=2,
                         tiling=False, crossfit_folds=0)
    assert config.scale_context is None  # chosen in training
    noise = train(texture("noise", n=6), config, backbone=lite0)  # every flip and turn looks normal: a texture
    assert noise.config.scale_context is False and noise.meta["training"]["scale_context_chosen"] is True
    assert noise.layout.latent_channels == tuple(noise.channels[::-1])  # each scale's own features
    stripes = train(texture("stripes", n=6), config, backbone=lite0)  # a direction: the turns do not look normal
    assert stripes.config.scale_context is True and stripes.layout.up_channels
    disc = train(texture("disc", n=6), config, backbone=lite0)  # a layout
    assert disc.config.scale_context is True
    asked = train(texture("noise", n=6), UFlowConfig.from_dict({**config.to_dict(), "scale_context": True}),
                  backbone=lite0)
    assert asked.config.scale_context is True and asked.meta["training"]["scale_context_chosen"] is False
    by_hand = train(texture("noise", n=6), UFlowConfig.from_dict({**config.to_dict(), "image_flips": 3}),
                    backbone=lite0)  # flips set by hand: the copies are not checked, the layout still is
    assert by_hand.config.scale_context is False and by_hand.meta["training"]["orientations"] == list(
        orientation.TRANSFORMS[:3])
    layout_check = by_hand.meta["training"]["layout_check"]
    assert {k: layout_check[k] for k in ("samples", "tiles", "kept")} == {"samples": 5, "tiles": False, "kept": 7}
    assert np.shape(layout_check["shifts"]) == (7, 3)  # one held out; the copies' own shifts stay apart
    assert by_hand.meta["training"]["orientation_shifts"] is None  # one held out
    assert noise.meta["training"]["layout_check"] is None  # the copies' own check chose it
    few = train(texture("noise", n=3), UFlowConfig.from_dict({**config.to_dict(), "image_flips": 0}), backbone=lite0)
    assert few.config.scale_context is True and few.meta["training"]["layout_check"] is None  # nothing to check
    child = train(texture("noise", n=6), UFlowConfig.from_dict({**config.to_dict(), "train_steps": 2}),
                  init_from=disc, backbone=lite0)
    assert child.config.scale_context is True  # a fine-tuned revision keeps its parent's layout


def test_tiled_images_choose_their_layout_from_tile_windows(lite0):
    """Large images train on tiles and add no copies; a sample of tile-sized windows decides the layout."""
    big = [np.tile(im, (3, 3)) for im in texture("noise", n=2)] + [np.tile(im, (3, 3)) for im in texture("stripes", n=2)]
    loaded = [load_rgb(im) for im in big]
    samples = train_module.layout_samples(loaded, True, seed=0, pixel_scale=SIDE)
    assert len(samples) == orientation.MAX_IMAGES and {s.shape for s in samples} == {(SIDE, SIDE)}
    assert all(np.shares_memory(s.pixels, loaded[i % 4].pixels) for i, s in enumerate(samples))  # every image
    assert len({s.pixels.__array_interface__["data"][0] for s in samples}) > 4  # at different places
    whole = train_module.layout_samples(loaded * 10, False, seed=0, pixel_scale=SIDE)
    assert len(whole) == orientation.MAX_IMAGES and all(s.shape == (3 * SIDE, 3 * SIDE) for s in whole)
    config = UFlowConfig(input_size=SIDE, train_steps=4, batch_size=2, hidden_ratio=0.25, flow_steps=2,
                         crossfit_folds=0)
    messages = []
    noise = train([np.tile(im, (3, 3)) for im in texture("noise", n=2)], config, backbone=lite0,
                  progress=lambda f, m: messages.append((f, m)))
    check = [f for f, m in messages if "32 tile windows for the flow's layout" in m]
    assert check and all(f == 0.30 for f in check) and any(m.endswith("100 %") for _, m in messages)
    assert noise.meta["training"]["tiled_images"] == 2 and noise.meta["training"]["orientations"] == []
    assert noise.config.scale_context is False
    layout_check = noise.meta["training"]["layout_check"]
    assert {k: layout_check[k] for k in ("samples", "tiles", "kept")} == {
        "samples": orientation.MAX_IMAGES, "tiles": True, "kept": 7}
    stripes = train([np.tile(im, (3, 3)) for im in texture("stripes", n=2)], config, backbone=lite0)
    assert stripes.config.scale_context is True and stripes.meta["training"]["layout_check"]["kept"] < 7
