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
    big = write_png(tmp_path / "big.png", np.zeros((1600, 1600), dtype=np.uint8))  # 2.56 MP
    assert read_image(big).pixels.shape == (1600, 1600)
    monkeypatch.setenv("CONTRARIO_MEMORY_BUDGET_MB", "64")
    assert max_pixels() == (64 << 20) // PIPELINE_BYTES_PER_PIXEL
    with pytest.raises(ImageError, match="memory budget of 64 MiB"):
        read_image(big)


_MEASURE = textwrap.dedent("""
    import json, resource, sys
    import numpy as np
    from PIL import Image
    side = 2000
    g = np.add.outer(np.arange(side), np.arange(side)).astype(np.uint8)
    rgb = np.dstack([g, g.T, g[::-1]])  # distinct channels: the colour path
    Image.fromarray(rgb).save(sys.argv[1], compress_level=1)
    Image.fromarray(rgb[:32, :32]).save(sys.argv[2])
    del rgb, g
    from core.io.images import read_image
    from core.models.preprocess import load_rgb, to_input_tensor
    from core.models.classic.inputs import image_channels
    from core.models.classic.pyramid import resize

    def peak():  # VmHWM is this process's own peak; ru_maxrss would carry the parent's over exec
        try:
            with open("/proc/self/status") as fh:
                return next(int(l.split()[1]) for l in fh if l.startswith("VmHWM:")) * 1024
        except OSError:
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    steps = {
        "uflow": lambda p: to_input_tensor(load_rgb(read_image(p)).rgb, (256, 256)),
        "classic": lambda p: resize(image_channels(read_image(p)), (512, 512)),
    }
    step = steps[sys.argv[3]]
    step(sys.argv[2])  # warm up: imports and allocator pools
    base = peak()
    step(sys.argv[1])
    print(json.dumps((peak() - base) / side**2))
""")


@pytest.mark.parametrize("pipeline", ["uflow", "classic"])
def test_the_pipeline_stays_within_its_declared_bytes_per_pixel(tmp_path, pipeline):
    out = subprocess.run([sys.executable, "-c", _MEASURE, str(tmp_path / "big.png"), str(tmp_path / "small.png"),
                          pipeline], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert out.returncode == 0, out.stderr
    per_pixel = json.loads(out.stdout)
    assert 3 <= per_pixel <= PIPELINE_BYTES_PER_PIXEL, per_pixel
