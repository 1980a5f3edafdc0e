"""Tiled U-Flow scoring and training: tile geometry, exact stitching, regions per image, progress and cancel."""
import numpy as np
import pytest
import torch
from scipy import ndimage

from core.errors import JobCancelled
from core.models.preprocess import stack_views
from core.models.uflow import UFlowConfig, UFlowModel, tiling, train
from core.progress import CancelToken

SMALL = dict(random_backbone=True, strides=(8, 16), flow_steps=2, hidden_ratio=0.25, input_size=64)


def _texture(h, w, seed):
    rng = np.random.default_rng(seed)
    grain = ndimage.gaussian_filter(rng.normal(0.0, 40.0, (h, w)), 1.0)
    return np.repeat((128 + grain)[:, :, None], 3, axis=2).clip(0, 255).astype(np.float32)


def _perturbed_model(**overrides) -> UFlowModel:
    """A flow that is not the identity (its couplings start at zero), so that it has a receptive field."""
    model = UFlowModel(UFlowConfig(**{**SMALL, **overrides}))
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.flow.parameters():
            p.add_(0.05 * torch.randn(p.shape, generator=gen))
    return model


@pytest.mark.parametrize("n,tile,margin", [(37, 8, 2), (8, 8, 2), (5, 8, 3), (40, 8, 12), (17, 4, 0)])
def test_tile_interiors_partition_the_field_and_windows_share_one_shape(n, tile, margin):
    grid = tiling.TileGrid((n, n + 3), tile, margin)
    covered = np.zeros(grid.cells, dtype=int)
    shapes = set()
    for w in grid.windows():
        wy0, wx0, wy1, wx1 = w.window
        iy0, ix0, iy1, ix1 = w.interior
        covered[iy0:iy1, ix0:ix1] += 1
        shapes.add((wy1 - wy0, wx1 - wx0))
        assert 0 <= wy0 <= iy0 < iy1 <= wy1 <= grid.cells[0] and 0 <= wx0 <= ix0 < ix1 <= wx1 <= grid.cells[1]
        # context of at least `margin` cells wherever the window does not touch the field's border
        assert iy0 - wy0 >= margin or wy0 == 0
        assert wy1 - iy1 >= margin or wy1 == grid.cells[0]
        assert ix0 - wx0 >= margin or wx0 == 0
        assert wx1 - ix1 >= margin or wx1 == grid.cells[1]
    assert (covered == 1).all()
    assert len(shapes) == 1 and len(grid) == len(grid.windows())


@pytest.mark.parametrize("views,edges", [(1, False), (2, False), (1, True)])
def test_a_field_scored_in_tiles_equals_the_field_scored_whole(views, edges):
    """The default margin covers the receptive field of a stride-16 backbone (~190 px) and of the flow; with
    stacked views every window carries each view's pixels; border factors apply at the image's border, not at
    the tiles'."""
    model = _perturbed_model(input_size=256, stack_views=views)
    if edges:
        rows, cols = [0.5, 0.7, 0.8, 0.9, 1.05], [0.6, 0.8, 1.0, 1.0, 0.95]
        model.meta["calibration"] = {"latent_scale": [0.9, 1.1], "edge_scale": [[rows, cols]] * 2}
    image = stack_views([_texture(704, 768, seed=1 + v) for v in range(views)], [str(v) for v in range(views)])
    plan = tiling.plan_tiles(model, image.shape, tile=16)
    assert plan.scaled == (704, 768) and plan.n_tiles == 9 and plan.grid.margin == 12
    assert plan.grid.tile + 2 * plan.grid.margin < min(plan.grid.cells)  # windows smaller than the image
    tiled = tiling.predict_tiled(model, image, plan)
    with torch.no_grad():
        whole = model.latents_from_features(model.extract(tiling.image_tensor(image, plan)[None]))
    for z_tiled, z_whole in zip(tiled.latents, whole):
        assert z_tiled.shape == z_whole.shape[1:]
        np.testing.assert_allclose(z_tiled, z_whole[0].numpy(), rtol=1e-4, atol=1e-4)
    whole_map, whole_score = model.map_and_score(whole, plan.map_shape)
    np.testing.assert_allclose(tiled.anomaly_map, whole_map[0].numpy(), atol=1e-5)
    assert tiled.score == pytest.approx(float(whole_score[0]), abs=1e-5)
    no_margin = tiling.predict_tiled(model, image, tiling.plan_tiles(model, image.shape, tile=16, margin=0))
    assert max(float(np.abs(z - w[0].numpy()).max()) for z, w in zip(no_margin.latents, whole)) > 1e-2


@pytest.fixture(scope="module")
def small_tiles():
    """64-pixel tiles with 32 pixels of context, so that small test images have many tiles."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tiling, "TILE_INPUT_PX", 64)
        mp.setattr(tiling, "MARGIN_INPUT_PX", 32)
        yield


@pytest.fixture(scope="module")
def trained(small_tiles):
    goods = [_texture(320, 448, seed=10 + i) for i in range(5)]
    return train(goods, UFlowConfig(**SMALL, train_steps=30, batch_size=8))


def test_training_samples_tiles_of_large_images_and_records_the_pixel_scale(trained):
    info = trained.meta["training"]
    assert info["tiled_images"] == 5 and info["pixel_scale"] == 64
    assert info["orientations"] == [] and info["orientation_shifts"] is None  # tiles: no copies to check
    assert info["layout_check"]["tiles"] and info["layout_check"]["samples"] == 32  # tile windows choose the layout
    assert trained.regions_calibrated
    again = UFlowModel.from_bytes(*trained.to_bytes(), backbone=trained.backbone)
    assert again.config.tiling and tiling.pixel_scale(again.config) == 64


def test_a_defect_straddling_tile_borders_gives_one_region(trained):
    image = _texture(320, 448, seed=99)
    # tiles are 64 px: this dark patch covers the corner where four tiles meet (y = 128, x = 192)
    image[112:144, 176:208] = 5.0
    pred = trained.predict([image])[0]
    assert pred.tiles == 35 and pred.input_shape == (320, 448)
    seg = trained.segment(pred, k=0.0)
    defect = np.zeros(pred.input_shape, dtype=bool)
    defect[112:144, 176:208] = True
    hits = [r for r in seg.regions if (seg.labels == r.label)[defect].any()]
    assert len(hits) == 1
    y0, x0, y1, x1 = hits[0].bbox
    assert y0 < 128 < y1 and x0 < 192 < x1  # one region across both borders, not one per tile


def test_a_larger_pixel_scale_scores_the_image_at_a_coarser_grid(trained):
    trained.config.tile_px = 128
    try:
        pred = trained.predict([_texture(320, 448, seed=3)])[0]
    finally:
        trained.config.tile_px = None
    assert pred.input_shape == (160, 224) and pred.tiles == 12


def test_no_tile_resizes_the_image_whole(trained):
    trained.config.tiling = False
    try:
        pred = trained.predict([_texture(320, 448, seed=3)])[0]
    finally:
        trained.config.tiling = True
    assert pred.tiles == 0 and pred.input_shape == (64, 64)


def test_progress_counts_tiles(trained):
    seen = []
    trained.predict([_texture(320, 448, seed=4), _texture(64, 64, seed=5)],
                    progress=lambda f, m: seen.append((f, m)))
    tiles = [m for _, m in seen if m.startswith("image 1/2, tile ")]
    assert tiles[-1] == "image 1/2, tile 35/35: flow" and "image 1/2, tile 35/35: backbone" in tiles
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


class _CancelAfter(CancelToken):
    def __init__(self, checks: int):
        super().__init__()
        self.left = checks

    def check(self) -> None:
        self.left -= 1
        if self.left < 0:
            self.cancel()
        super().check()


def test_cancel_stops_between_tile_batches(trained):
    seen = []
    with pytest.raises(JobCancelled):
        trained.predict([_texture(320, 448, seed=6)], cancel=_CancelAfter(2), progress=lambda f, m: seen.append(m))
    assert seen and seen[-1] == f"image 1/1, tile {2 * tiling.DEFAULT_TILE_BATCH}/35: backbone"


def test_a_revision_tiles_only_when_most_of_its_training_images_are_large():
    config = UFlowConfig(**SMALL, train_steps=2, batch_size=2, crossfit_folds=0)
    mostly_small = [_texture(64, 64, s) for s in range(3)] + [_texture(160, 160, 9)]
    model = train(mostly_small, config)
    assert model.config.tiling is False and model.meta["training"]["tiled_images"] == 0  # one pixel scale
    mostly_large = [_texture(160, 160, s) for s in range(3)] + [_texture(64, 64, 9)]
    model = train(mostly_large, config)
    assert model.config.tiling is True and model.meta["training"]["tiled_images"] == 3


def test_tiled_images_of_several_sizes_calibrate_their_regions():
    goods = [_texture(h, w, seed=20 + i) for i, (h, w) in enumerate([(160, 200), (200, 160), (176, 240), (160, 160)])]
    model = train(goods, UFlowConfig(**SMALL, train_steps=2, batch_size=2))
    assert model.meta["training"]["tiled_images"] == 4
    assert model.regions_calibrated  # the correlation area pools latent fields of four different shapes
