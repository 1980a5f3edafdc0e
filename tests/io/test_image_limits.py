"""Item 4: decompression bombs. The largest accepted image follows from a memory budget and the bytes per pixel
the pipeline really needs at its peak, measured here on every run."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from imagefiles import write_png, write_png_header_only
from PIL import Image

from core.errors import ImageError
from core.io.images import probe_image, read_image
from core.io.limits import PIPELINE_BYTES_PER_PIXEL, max_pixels

REPO = Path(__file__).resolve().parents[2]


def test_a_small_png_declaring_900_megapixels_is_refused_from_its_header(tmp_path):
    bomb = write_png_header_only(tmp_path / "bomb.png", 30000, 30000)
    assert bomb.stat().st_size < 200
    with pytest.raises(ImageError, match="too large to process: 30000x30000 = 900 MP"):
        probe_image(bomb)


def test_the_limit_follows_the_memory_budget(tmp_path, monkeypatch):
    side = int(((64 << 20) // PIPELINE_BYTES_PER_PIXEL) ** 0.5) + 16  # just over the limit at 64 MiB
    big = write_png(tmp_path / "big.png", np.zeros((side, side), dtype=np.uint8))
    assert read_image(big).pixels.shape == (side, side)
    monkeypatch.setenv("CONTRARIO_MEMORY_BUDGET_MB", "64")
    assert max_pixels() == (64 << 20) // PIPELINE_BYTES_PER_PIXEL
    with pytest.raises(ImageError, match="memory budget of 64 MiB"):
        read_image(big)


_MEASURE = textwrap.dedent("""
    import json, resource, sys
    from core.io.images import read_image
    from core.models.preprocess import load_rgb
    from core.models.classic.config import ClassicConfig
    from core.models.classic.detector import load_channels
    from core.models.uflow.tiling import ImageWindows, TileGrid, TilePlan

    def peak():  # VmHWM is this process's own peak; ru_maxrss would carry the parent's over exec
        try:
            with open("/proc/self/status") as fh:
                return next(int(l.split()[1]) for l in fh if l.startswith("VmHWM:")) * 1024
        except OSError:
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    def tiled(path):  # every window of a native-resolution tile plan (small windows: their cost is per window)
        image = load_rgb(read_image(path))
        cells = (image.shape[0] // 32, image.shape[1] // 32)
        plan = TilePlan(image.shape, (cells[0] * 32, cells[1] * 32), 32, TileGrid(cells, 4, 2), 1)
        windows = ImageWindows(image, plan)
        for w in plan.grid.windows():
            windows.crop(tuple(32 * c for c in w.window))

    steps = {
        "uflow": lambda p: load_rgb(read_image(p)).input_tensor((256, 256)),
        "classic": lambda p: load_channels(read_image(p), ClassicConfig(max_side=512)),
        "tiled": tiled,
    }
    step = steps[sys.argv[3]]
    step(sys.argv[2])  # warm up: imports and allocator pools
    base = peak()
    step(sys.argv[1])
    print(json.dumps((peak() - base) / (int(sys.argv[4]) ** 2)))
""")

SIDE = 2000


KINDS = ("rgb-png", "rgba-png", "rotated-jpeg", "rgb16-tiff")


@pytest.fixture(scope="module")
def measured_images(tmp_path_factory):
    """(big, small) files of each kind, written here, not in the measuring process, whose peak must not include
    making them. Distinct channels: the colour path."""
    import tifffile

    folder = tmp_path_factory.mktemp("peaks")
    ramp = np.add.outer(np.arange(SIDE), np.arange(SIDE))
    g = ramp.astype(np.uint8)
    rgb = np.dstack([g, g.T, g[::-1]])
    rgb16 = np.dstack([ramp % 4096, (ramp % 4096).T, (ramp % 4096)[::-1]]).astype(np.uint16)  # 12 bits used
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated by 90 degrees: one more copy of the frame
    writers = {
        "rgb-png": lambda a, path: Image.fromarray(a).save(path.with_suffix(".png"), compress_level=1),
        "rgba-png": lambda a, path: Image.fromarray(np.dstack([a, a[:, :, 0]])).save(path.with_suffix(".png"),
                                                                                     compress_level=1),
        "rotated-jpeg": lambda a, path: Image.fromarray(a).save(path.with_suffix(".jpg"), exif=exif.tobytes()),
        "rgb16-tiff": lambda a, path: tifffile.imwrite(path.with_suffix(".tif"), a),
    }
    out = {}
    for kind, write in writers.items():
        pixels = rgb16 if kind == "rgb16-tiff" else rgb
        write(pixels, folder / f"{kind}-big")
        write(pixels[:64, :64], folder / f"{kind}-small")
        out[kind] = tuple(next(folder.glob(f"{kind}-{size}.*")) for size in ("big", "small"))
    return out


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("pipeline", ["uflow", "classic", "tiled"])
def test_the_pipeline_stays_within_its_declared_bytes_per_pixel(measured_images, pipeline, kind):
    big, small = measured_images[kind]
    out = subprocess.run([sys.executable, "-c", _MEASURE, str(big), str(small), pipeline, str(SIDE)],
                         capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr
    per_pixel = json.loads(out.stdout)
    assert 3 <= per_pixel <= PIPELINE_BYTES_PER_PIXEL, per_pixel
