"""Large pictures: a preview first, full-resolution windows of the pyramid where the view is zoomed in."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image as PILImage

from app.canvas.canvas import ImageCanvas, ViewData
from app.canvas.large_pictures import PictureFile, picture_for_view
from core.io.display_pyramid import PREVIEW_SIDE, build_pyramid, is_large
from core.io.thumbnails import ThumbnailCache
from core.store.blobs import sha256_file


def _file(path) -> PictureFile:
    return PictureFile(str(path), sha256_file(path), path.stat().st_size)


def _picture(h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (h // 8 + 1, w // 8 + 1), dtype=np.uint8)
    return np.ascontiguousarray(np.kron(coarse, np.ones((8, 8), np.uint8))[:h, :w] ^ rng.integers(0, 8, (h, w),
                                                                                                 dtype=np.uint8))


@pytest.fixture(scope="module")
def large_file(tmp_path_factory):
    pixels = _picture(3001, 4203)
    path = tmp_path_factory.mktemp("large") / "hide.png"
    PILImage.fromarray(pixels).save(path, compress_level=1)
    return path, pixels


def test_pyramid_levels_and_windows():
    px = _picture(1001, 2050)
    pyr = build_pyramid(px, stop_side=300)
    assert [lv.shape for lv in pyr.levels] == [(1001, 2050), (501, 1025), (251, 513), (126, 257)]
    assert pyr.level_for(0.5) == 0 and pyr.level_for(1.9) == 0 and pyr.level_for(2.0) == 1
    assert pyr.level_for(100.0) == 3
    crop, box = pyr.window(0, 10.5, 20.2, 30.1, 41.0)
    assert box == (10, 20, 31, 41) and np.array_equal(crop, px[20:41, 10:31])
    crop, box = pyr.window(1, 10, 20, 30, 40)
    assert box == (10, 20, 30, 40)
    expected = px[20:40, 10:30].reshape(10, 2, 10, 2).mean(axis=(1, 3))
    assert np.abs(crop.astype(float) - expected).max() <= 1.0  # a 2 x 2 box average
    crop, box = pyr.window(2, -50, -50, 5000, 5000)  # clipped to the frame
    assert crop.shape == (251, 513) and box == (0, 0, 2052, 1004)


def test_preview_made_with_the_thumbnail(tmp_path, large_file):
    path, pixels = large_file
    assert is_large(*pixels.shape) and not is_large(PREVIEW_SIDE * 2, PREVIEW_SIDE * 2)
    cache = ThumbnailCache(tmp_path / "thumbs")
    picture = _file(path)
    cache.get_or_create(path, picture.sha256)  # the gallery tile: one decode also writes the preview
    assert cache.lookup(picture.sha256, PREVIEW_SIDE) is not None
    shown, frame = picture_for_view(picture, cache)
    assert frame == (3001, 4203) and max(shown.shape) == PREVIEW_SIDE
    small = tmp_path / "small.png"
    PILImage.fromarray(pixels[:500, :600]).save(small)
    shown, frame = picture_for_view(_file(small), cache)
    assert frame is None and np.array_equal(shown, pixels[:500, :600])
    assert cache.lookup(_file(small).sha256, PREVIEW_SIDE) is None


def test_canvas_shows_full_resolution_where_zoomed_in(qtbot, tmp_path, large_file):
    path, pixels = large_file
    cache = ThumbnailCache(tmp_path / "thumbs")
    picture = _file(path)
    shown, frame = picture_for_view(picture, cache)
    canvas = ImageCanvas()
    qtbot.addWidget(canvas)
    canvas.resize(900, 700)
    canvas.show()
    qtbot.waitExposed(canvas)
    canvas.set_views([ViewData(1, "hide", shown, frame_size=frame, source=picture)])
    panel = canvas.panels[0]
    assert panel.shape == (3001, 4203)
    rect = panel.image.mapRectToParent(panel.image.boundingRect())
    assert (rect.width(), rect.height()) == (4203, 3001)  # the preview spans the whole frame
    qtbot.waitUntil(lambda: panel.detail.pyramid is not None, timeout=20000)
    assert not panel.detail.item.isVisible()  # fitted: the preview is as sharp as the screen
    canvas.zoom_to((2000, 1500, 2100, 1560), margin=0.2)
    qtbot.waitUntil(lambda: panel.detail.item.isVisible(), timeout=5000)
    level, (x0, y0, x1, y1) = panel.detail.shown
    assert level == 0
    assert np.array_equal(panel.detail.item.image, pixels[y0:y1, x0:x1])
    view = panel.vb.viewRect()
    assert x0 <= view.left() + 1 and y0 <= view.top() + 1 and x1 >= min(view.right(), 4203) - 1
    assert (x1 - x0) * (y1 - y0) < 0.01 * pixels.size  # only a window of the frame is on the item
    canvas.fit()
    qtbot.waitUntil(lambda: not panel.detail.item.isVisible(), timeout=5000)
    canvas.set_views([ViewData(2, "small", pixels[:100, :100].copy())])
    assert panel.detail.pyramid is None and canvas.pyramids.ready == {}  # levels of pictures off screen dropped
    canvas.pyramids.wait()


def test_a_changed_large_file_is_named_not_shown(qtbot, tmp_path, large_file):
    """The preview path checks the size at once and the hash with the full frame; a file whose content changed
    (same size) loses its preview for the reason once the full frame is read."""
    _, pixels = large_file
    path = tmp_path / "hide.bmp"  # uncompressed: the edit keeps the size
    PILImage.fromarray(pixels).save(path)
    picture = _file(path)
    cache = ThumbnailCache(tmp_path / "thumbs")
    shown, frame = picture_for_view(picture, cache)
    data = bytearray(path.read_bytes())
    data[-5000:] = bytes(255 - b for b in data[-5000:])
    path.write_bytes(bytes(data))
    shown, frame = picture_for_view(picture, cache)  # the cached preview of what was imported
    canvas = ImageCanvas()
    qtbot.addWidget(canvas)
    canvas.set_views([ViewData(1, "hide", shown, frame_size=frame, source=picture)])
    panel = canvas.panels[0]
    qtbot.waitUntil(lambda: panel.data.pixels is None, timeout=20000)
    assert "changed since its import" in panel.data.error and str(path) in panel.data.error
    assert panel.message.isVisible() and panel.detail.pyramid is None
    path.write_bytes(bytes(data[:-10]))
    with pytest.raises(Exception, match="changed since its import"):
        picture_for_view(picture, cache)  # a size change is refused before anything is shown


def test_a_large_jpeg_preview_is_decoded_at_a_dct_scale(tmp_path):
    from core.io.images import read_image_for_display

    pixels = np.repeat(_picture(2600, 4400)[:, :, None], 3, axis=2)
    path = tmp_path / "hide.jpg"
    PILImage.fromarray(pixels).save(path, quality=90)
    info, decoded = read_image_for_display(path, at_least=PREVIEW_SIDE)
    assert (info.height, info.width) == (2600, 4400)  # the full frame's size
    assert decoded.pixels.shape[:2] == (1300, 2200)  # 1/2: 1/4 would make a side shorter than the preview
    png = tmp_path / "hide.png"
    PILImage.fromarray(pixels).save(png, compress_level=1)
    assert read_image_for_display(png, at_least=PREVIEW_SIDE)[1].pixels.shape[:2] == (2600, 4400)
    cache = ThumbnailCache(tmp_path / "thumbs")
    shown, frame = picture_for_view(_file(path), cache)
    assert frame == (2600, 4400) and shown.shape[:2] == (1210, 2048)  # the preview fits 2048 px
