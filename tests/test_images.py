"""gain_tf.images: bad or hostile files (empty, truncated, decompression bombs, 16-bit, gray, RGBA)."""
import os

import cv2
import numpy as np
import pytest

from gain_tf import images as I
from tests.image_bombs import bomb_jpeg, bomb_png, hand_png, jpeg_with_orientation


@pytest.fixture()
def no_decode(monkeypatch):
    """Fails the test if OpenCV is asked to decode anything."""
    def refuse(*a, **k):
        raise AssertionError("cv2.imdecode was called")
    monkeypatch.setattr(I.cv2, "imdecode", refuse)


def test_zero_byte_file(tmp_path):
    p = tmp_path / "empty.png"
    p.write_bytes(b"")
    for read in (I.read_image, I.read_gray):
        with pytest.raises(I.ImageReadError) as e:
            read(str(p))
        assert str(e.value) == f"{p}: empty file"
    with pytest.raises(I.ImageReadError, match=r"^up\.png: empty file$"):
        I.decode_image_bytes(b"", "up.png")


def test_truncated_png_and_jpeg(tmp_path):
    img = np.random.default_rng(0).integers(0, 256, (20, 24, 3), dtype=np.uint8)
    png, jpg = I.encode_png(img), I.encode_jpeg(img)
    (tmp_path / "t.png").write_bytes(png[: len(png) // 2])
    (tmp_path / "t.jpg").write_bytes(jpg[: len(jpg) // 2])
    with pytest.raises(I.ImageReadError) as e:
        I.read_image(str(tmp_path / "t.png"))
    assert str(e.value) == f"{tmp_path / 't.png'}: truncated PNG (no IEND chunk)"
    with pytest.raises(I.ImageReadError) as e:
        I.read_gray(str(tmp_path / "t.jpg"))
    assert str(e.value) == f"{tmp_path / 't.jpg'}: truncated JPEG (no end-of-image marker)"
    (tmp_path / "junk.png").write_bytes(b"not an image at all")
    with pytest.raises(I.ImageReadError) as e:
        I.read_image(str(tmp_path / "junk.png"))
    assert str(e.value) == f"{tmp_path / 'junk.png'}: not a readable image"


def test_header_size_png_jpeg_and_other_formats():
    img = np.zeros((30, 50, 3), np.uint8)
    assert I.image_header_size(I.encode_png(img)) == (50, 30)
    assert I.image_header_size(I.encode_jpeg(img)) == (50, 30)
    ok, prog = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
    assert I.image_header_size(prog.tobytes()) == (50, 30)
    ok, bmp = cv2.imencode(".bmp", img)
    assert I.image_header_size(bmp.tobytes()) is None
    assert I.image_header_size(b"\xff\xd8") is None
    assert I.image_header_size(bomb_png()) == (20000, 20000)
    assert I.image_header_size(bomb_jpeg()) == (20000, 20000)


@pytest.mark.parametrize("ext,make", [("png", bomb_png), ("jpg", bomb_jpeg)])
def test_decompression_bomb_refused_before_decoding(tmp_path, no_decode, ext, make):
    p = tmp_path / f"bomb.{ext}"
    p.write_bytes(make())
    assert p.stat().st_size < 100_000
    msg = f"{p}: 20000x20000 is 400000000 pixels, more than the limit of 40000000 (--max_pixels)"
    for read in (I.read_image, I.read_gray):
        with pytest.raises(I.ImageReadError) as e:
            read(str(p))
        assert str(e.value) == msg
    with pytest.raises(I.ImageReadError) as e:
        I.decode_image_bytes(p.read_bytes(), "upload")
    assert str(e.value) == msg.replace(str(p), "upload")


def test_pixel_limit_is_a_parameter(tmp_path):
    img = np.zeros((30, 50, 3), np.uint8)
    I.write_png(str(tmp_path / "a.png"), img)
    assert I.read_image(str(tmp_path / "a.png"), max_pixels=1500).shape == (30, 50, 3)
    with pytest.raises(I.ImageReadError) as e:
        I.read_image(str(tmp_path / "a.png"), max_pixels=1499)
    assert str(e.value) == f"{tmp_path / 'a.png'}: 50x30 is 1500 pixels, more than the limit of 1499 (--max_pixels)"
    assert I.read_image(str(tmp_path / "a.png"), max_pixels=None).shape == (30, 50, 3)
    # Other formats: no header reader, checked after decoding.
    assert cv2.imwrite(str(tmp_path / "a.bmp"), img)
    with pytest.raises(I.ImageReadError) as e:
        I.read_image(str(tmp_path / "a.bmp"), max_pixels=100)
    assert str(e.value) == f"{tmp_path / 'a.bmp'}: 50x30 is 1500 pixels, more than the limit of 100 (--max_pixels)"


def test_16_bit_png_becomes_8_bit_high_byte(tmp_path):
    bgr16 = np.random.default_rng(1).integers(0, 65536, (9, 11, 3), dtype=np.uint16)
    assert cv2.imwrite(str(tmp_path / "a16.png"), bgr16)
    rgb = I.read_image(str(tmp_path / "a16.png"))
    assert rgb.dtype == np.uint8 and rgb.shape == (9, 11, 3)
    np.testing.assert_array_equal(rgb, (bgr16 >> 8).astype(np.uint8)[..., ::-1])
    gray = I.read_gray(str(tmp_path / "a16.png"))
    assert gray.dtype == np.uint8 and gray.shape == (9, 11)


def test_gray_and_rgba_become_rgb(tmp_path):
    gray = np.arange(30, dtype=np.uint8).reshape(5, 6)
    assert cv2.imwrite(str(tmp_path / "g.png"), gray)
    rgb = I.read_image(str(tmp_path / "g.png"))
    assert rgb.shape == (5, 6, 3)
    for c in range(3):
        np.testing.assert_array_equal(rgb[..., c], gray)
    bgra = np.zeros((5, 6, 4), np.uint8)
    bgra[..., 0], bgra[..., 1], bgra[..., 2], bgra[..., 3] = 10, 20, 30, 0  # fully transparent
    assert cv2.imwrite(str(tmp_path / "rgba.png"), bgra)
    rgb = I.read_image(str(tmp_path / "rgba.png"))
    assert rgb.shape == (5, 6, 3)
    np.testing.assert_array_equal(rgb[0, 0], [30, 20, 10])  # alpha dropped, not composited
    rgba = I.read_image(str(tmp_path / "rgba.png"), alpha=True)
    assert rgba.shape == (5, 6, 4)
    np.testing.assert_array_equal(rgba[0, 0], [30, 20, 10, 0])
    assert I.read_image(str(tmp_path / "g.png"), alpha=True).shape == (5, 6, 3)  # no alpha: RGB


def test_exif_orientation_is_applied_with_or_without_alpha(tmp_path):
    """A mask read for its alpha channel must stay aligned with its photo: a JPEG's EXIF rotation
    applies either way."""
    bgr = np.zeros((20, 40, 3), np.uint8)
    bgr[:5, :10] = 255                                   # a mark in the top-left corner
    (tmp_path / "turned.jpg").write_bytes(jpeg_with_orientation(bgr, 6))
    plain, with_alpha = (I.read_image(str(tmp_path / "turned.jpg"), alpha=a) for a in (False, True))
    assert plain.shape == (40, 20, 3)                    # turned 90° clockwise: the mark is top-right
    assert plain[:10, -5:].mean() > 200 and plain[:10, :5].mean() < 50
    np.testing.assert_array_equal(with_alpha, plain)


def test_alpha_from_gray_alpha_palette_and_16_bit_files(tmp_path):
    # Gray + alpha (colour type 4): gray 200 everywhere, opaque at one pixel only.
    (tmp_path / "la.png").write_bytes(hand_png(
        4, 3, 4, [[v for x in range(4) for v in (200, 255 if (y, x) == (1, 2) else 0)] for y in range(3)]))
    got = I.read_image(str(tmp_path / "la.png"), alpha=True)
    assert got.shape == (3, 4, 4) and (got[..., :3] == 200).all()
    assert got[1, 2, 3] == 255 and got[..., 3].sum() == 255
    # Palette (colour type 3) whose entry 0 is transparent (tRNS); the last pixel is entry 1.
    (tmp_path / "pal.png").write_bytes(hand_png(
        4, 3, 3, [[0] * 4, [0] * 4, [0, 0, 0, 1]],
        [(b"PLTE", bytes([255, 255, 255, 10, 20, 30])), (b"tRNS", bytes([0]))]))
    got = I.read_image(str(tmp_path / "pal.png"), alpha=True)
    assert got.shape == (3, 4, 4) and (got[..., 3] == [[0] * 4] * 2 + [[0, 0, 0, 255]]).all()
    np.testing.assert_array_equal(got[2, 3], [10, 20, 30, 255])
    bgra16 = np.random.default_rng(2).integers(0, 65536, (3, 4, 4), dtype=np.uint16)
    assert cv2.imwrite(str(tmp_path / "a16.png"), bgra16)
    np.testing.assert_array_equal(I.read_image(str(tmp_path / "a16.png"), alpha=True),
                                  (bgra16 >> 8).astype(np.uint8)[..., [2, 1, 0, 3]])


@pytest.mark.parametrize("umask,folder,file", [(0o022, 0o755, 0o644), (0o077, 0o700, 0o600)])
def test_give_usual_mode_follows_the_umask(tmp_path, umask, folder, file):
    import tempfile
    previous = os.umask(umask)
    try:
        d = tempfile.mkdtemp(dir=tmp_path)                 # 0700, whatever the umask
        fd, f = tempfile.mkstemp(dir=tmp_path)             # 0600
        os.close(fd)
        I.give_usual_mode(d)
        I.give_usual_mode(f)
    finally:
        os.umask(previous)
    assert os.stat(d).st_mode & 0o777 == folder and os.stat(f).st_mode & 0o777 == file

