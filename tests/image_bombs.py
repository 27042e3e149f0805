"""Image files written by hand for the input tests: hostile ones (a few bytes whose header claims a
huge image), and PNGs of the colour types OpenCV cannot write (gray + alpha, palette)."""
import struct
import zlib

import cv2
import numpy as np


def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def bomb_png(width=20000, height=20000):
    """A few kB of PNG whose IHDR says ``width x height`` RGB (decoding would need width*height*3 bytes)."""
    idat = zlib.compress(b"\0" * (width * 3 + 1) * 4, 9)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + _chunk(b"IDAT", idat) + _chunk(b"IEND", b""))


def hand_png(width, height, color_type, rows, chunks=()):
    """PNG bytes, 8 bits per sample, of ``rows`` (each row's samples, unfiltered) and extra
    ``chunks`` (``(kind, data)`` pairs, e.g. ``PLTE`` and ``tRNS``, placed before the data)."""
    idat = zlib.compress(b"".join(b"\0" + bytes(r) for r in rows))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + b"".join(_chunk(k, d) for k, d in chunks)
            + _chunk(b"IDAT", idat) + _chunk(b"IEND", b""))


def jpeg_with_orientation(image_bgr, orientation=6):
    """JPEG bytes of ``image_bgr`` with an EXIF APP1 segment whose Orientation tag is
    ``orientation`` (6: the picture is to be turned 90° clockwise for display)."""
    ok, buf = cv2.imencode(".jpg", image_bgr)
    tiff = (b"MM\x00\x2a\x00\x00\x00\x08" + struct.pack(">H", 1)
            + struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack(">I", 0))
    app1 = b"Exif\x00\x00" + tiff
    data = buf.tobytes()
    return data[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + data[2:]


def bomb_jpeg(width=20000, height=20000):
    """A small real JPEG whose SOF header is rewritten to ``width x height``."""
    ok, buf = cv2.imencode(".jpg", np.zeros((16, 16, 3), np.uint8))
    data = bytearray(buf.tobytes())
    i = data.find(b"\xff\xc0")
    data[i + 5:i + 9] = struct.pack(">HH", height, width)
    return bytes(data)
