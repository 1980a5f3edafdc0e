"""Decoding every accepted format, and one test per kind of bad input."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from imagefiles import pattern, write_bad_files, write_every_format, write_png

from core.errors import ImageError
from core.io.images import probe_image, read_image, to_rgb_float


@pytest.fixture
def files(tmp_path):
    return write_every_format(tmp_path / "ok")


@pytest.mark.parametrize(
    "name, mode, depth, shape",
    [
        ("png_l", "L", 8, (24, 36)),
        ("png_rgb", "RGB", 8, (24, 36, 3)),
        ("png_rgba", "RGBA", 8, (24, 36, 4)),
        ("jpeg_exif6", "RGB", 8, (36, 24, 3)),  # orientation 6: rotated by 90 degrees
        ("bmp", "RGB", 8, (24, 36, 3)),
        ("tiff8", "L", 8, (24, 36)),
        ("tiff16", "I;16", 16, (24, 36)),
        ("tiff16_rgb", "RGB;16", 16, (24, 36, 3)),
    ],
)
def test_read_every_format(files, name, mode, depth, shape):
    decoded = read_image(files[name])
    assert decoded.pixels.shape == shape
    assert decoded.mode == mode and decoded.bit_depth == depth
    assert decoded.pixels.dtype == (np.uint16 if depth == 16 else np.uint8)
    info = probe_image(files[name], decode=False)
    assert (info.height, info.width) == shape[:2]
    assert (info.mode, info.bit_depth, info.channels) == (mode, depth, decoded.channels)
    rgb = to_rgb_float(decoded)
    assert rgb.shape == shape[:2] + (3,) and rgb.dtype == np.float32 and 0 <= rgb.min() <= rgb.max() <= 255


def test_pixels_are_exact(files):
    png = read_image(files["png_rgb"]).pixels
    assert np.array_equal(read_image(files["bmp"]).pixels, png)
    assert np.array_equal(read_image(files["tiff16_rgb"]).pixels, png.astype(np.uint16) * 257)
    grey16 = tifffile.imread(files["tiff16"])
    assert np.array_equal(read_image(files["tiff16"]).pixels, grey16)


def test_exif_orientation_applied(tmp_path):
    from imagefiles import write_jpeg_exif

    arr = np.zeros((20, 40, 3), np.uint8)
    arr[:, :20] = 255  # left half white
    upright = read_image(write_jpeg_exif(tmp_path / "o1.jpg", arr, 1)).pixels
    rotated = read_image(write_jpeg_exif(tmp_path / "o6.jpg", arr, 6)).pixels  # 90 degrees clockwise
    assert upright.shape == (20, 40, 3) and rotated.shape == (40, 20, 3)
    assert rotated[:20].mean() > 200 and rotated[20:].mean() < 50  # the white half is now on top


def test_multipage_tiff_reads_first_page(tmp_path):
    pages = np.stack([pattern(channels=1, seed=1), pattern(channels=1, seed=2)])
    tifffile.imwrite(tmp_path / "pages.tif", pages)
    assert np.array_equal(read_image(tmp_path / "pages.tif").pixels, pages[0])


@pytest.mark.parametrize(
    "kind, words",
    [
        ("zero", "empty file"),
        ("truncated_png", "truncated"),
        ("truncated_jpeg", "truncated"),
        ("corrupt_png", "corrupt"),
        ("not_image", "not an image"),
        ("absurd", "absurd size"),
    ],
)
def test_bad_inputs_raise_image_error(tmp_path, kind, words):
    path = write_bad_files(tmp_path)[kind]
    with pytest.raises(ImageError, match=words) as err:
        read_image(path)
    assert str(path) in str(err.value)
    with pytest.raises(ImageError, match=words):
        probe_image(path)


def test_absurd_size_is_refused_from_the_header(tmp_path):
    from imagefiles import write_png_header_only

    path = write_png_header_only(tmp_path / "huge.png", 31000, 31000)
    with pytest.raises(ImageError, match="absurd size 31000x31000"):
        probe_image(path, decode=False)


def test_missing_file(tmp_path):
    with pytest.raises(ImageError, match="file not found"):
        read_image(tmp_path / "nope.png")


def test_header_probe_does_not_catch_truncation_but_full_decode_does(tmp_path):
    path = write_bad_files(tmp_path)["truncated_jpeg"]
    assert probe_image(path, decode=False).format == "JPEG"
    with pytest.raises(ImageError, match="truncated"):
        probe_image(path, decode=True)


def test_float_tiff_is_refused_clearly(tmp_path):
    tifffile.imwrite(tmp_path / "f.tif", np.ones((4, 4), np.float32))
    with pytest.raises(ImageError, match="unsupported pixel type float32"):
        read_image(tmp_path / "f.tif")


def test_probe_from_bytes(tmp_path):
    path = write_png(tmp_path / "a.png", pattern())
    info = probe_image(path.read_bytes(), name="a.png")
    assert (info.format, info.width, info.height) == ("PNG", 36, 24)
