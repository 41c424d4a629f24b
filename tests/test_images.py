"""Image processing: formats, orientation, metadata stripping, crops, and refusing bad files."""

from __future__ import annotations

import functools
import io
import os
import resource
import struct
import time
import zlib

import pytest
from PIL import Image, ImageCms

from wildebeest_trio.media.images import (
    ImageError,
    ProcessedImage,
    cover_crop,
    decode,
    encode,
    fit_within,
    orient_and_strip,
    process_avatar,
    process_header,
)

RED = (255, 0, 0)
BLUE = (0, 0, 255)


def encoded(img: Image.Image, fmt: str, **params: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **params)
    return buf.getvalue()


def two_halves(width: int, height: int) -> Image.Image:
    """Left half red, right half blue: shows which way an image was turned."""
    img = Image.new("RGB", (width, height), RED)
    img.paste(BLUE, (width // 2, 0, width, height))
    return img


def exif_with_gps(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "LeakyCamMaker"  # Make
    exif[0x0110] = "LeakyCamModel"  # Model
    exif[0x8825] = {  # GPS IFD
        1: "N",
        2: (48.0, 51.0, 29.0),
        3: "E",
        4: (2.0, 17.0, 40.0),
        0x1D: "2026:11:27",  # GPSDateStamp
    }
    return exif


def reopen(result: ProcessedImage) -> Image.Image:
    img = Image.open(io.BytesIO(result.data))
    img.load()
    return img


def close_to(pixel: tuple[int, ...], colour: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], colour, strict=True))


# --- formats -----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF"])
def test_each_format_becomes_an_avatar_and_a_header(fmt: str) -> None:
    data = encoded(two_halves(2000, 1000), fmt)
    avatar = process_avatar(data)
    assert (avatar.width, avatar.height) == (400, 400)
    assert avatar.content_type == "image/jpeg" and avatar.extension == "jpg"
    assert reopen(avatar).size == (400, 400)
    assert reopen(avatar).format == "JPEG"
    header = process_header(data)
    assert (header.width, header.height) == (1500, 500)
    assert reopen(header).size == (1500, 500)


def test_type_comes_from_content_not_name() -> None:
    # A WebP is a WebP whatever it was called; the output is re-encoded either way.
    data = encoded(two_halves(800, 800), "WEBP")
    assert decode(data).format == "WEBP"


def test_transparency_is_kept_as_png() -> None:
    img = Image.new("RGBA", (800, 800), (0, 128, 0, 255))
    img.paste((0, 0, 0, 0), (0, 0, 800, 400))
    for fmt in ("PNG", "WEBP"):
        out = process_avatar(encoded(img, fmt))
        assert out.content_type == "image/png" and out.extension == "png"
        back = reopen(out)
        assert back.format == "PNG" and back.mode == "RGBA"
        assert back.getpixel((200, 10))[3] == 0
        assert back.getpixel((200, 390))[3] == 255


def test_gif_palette_transparency_is_kept_as_png() -> None:
    img = Image.new("P", (300, 300), 0)
    img.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    img.paste(1, (0, 0, 150, 300))
    out = process_avatar(encoded(img, "GIF", transparency=1))
    assert out.content_type == "image/png"
    back = reopen(out)
    assert back.getpixel((10, 10))[3] == 0
    assert back.getpixel((290, 10))[:4] == (255, 0, 0, 255)


def test_opaque_alpha_channel_becomes_jpeg() -> None:
    img = Image.new("RGBA", (500, 500), (10, 20, 30, 255))
    assert process_avatar(encoded(img, "PNG")).content_type == "image/jpeg"


@pytest.mark.parametrize(
    ("mode", "fmt"),
    [("L", "PNG"), ("LA", "PNG"), ("I;16", "PNG"), ("1", "PNG"), ("CMYK", "JPEG"), ("P", "PNG")],
)
def test_other_modes_are_normalized(mode: str, fmt: str) -> None:
    out = process_avatar(encoded(Image.new(mode, (450, 450)), fmt))
    assert reopen(out).mode in ("RGB", "RGBA", "L")
    assert (out.width, out.height) == (400, 400)


def test_sixteen_bit_greyscale_is_scaled_not_clipped() -> None:
    img = Image.new("I;16", (400, 400), 32768)
    out = reopen(process_avatar(encoded(img, "PNG")))
    value = out.getpixel((200, 200))
    grey = value if isinstance(value, int) else value[0]
    assert 110 <= grey <= 145


# --- orientation and metadata ------------------------------------------------------------


def test_exif_orientation_is_applied_and_all_tags_are_gone() -> None:
    # Stored landscape 600x300, orientation 6: shown turned 90° clockwise, so 300x600
    # with the left (red) half on top.
    data = encoded(two_halves(600, 300), "JPEG", exif=exif_with_gps(6), quality=95)
    assert b"LeakyCam" in data
    with Image.open(io.BytesIO(data)) as original:
        assert original.getexif().get_ifd(0x8825)  # the GPS block is really there

    out = process_avatar(data)
    # 300x600 is too small to cover 400x400: cropped square, not upscaled.
    assert (out.width, out.height) == (300, 300)
    back = reopen(out)
    assert close_to(back.getpixel((150, 20)), RED)
    assert close_to(back.getpixel((150, 280)), BLUE)
    assert len(back.getexif()) == 0
    assert "exif" not in back.info and "icc_profile" not in back.info
    assert b"Exif" not in out.data and b"LeakyCam" not in out.data


@pytest.mark.parametrize("orientation", [1, 2, 3, 4, 5, 6, 7, 8])
def test_every_orientation(orientation: int) -> None:
    data = encoded(two_halves(80, 40), "PNG", exif=exif_with_gps(orientation))
    img = orient_and_strip(decode(data))
    expected = (40, 80) if orientation >= 5 else (80, 40)
    assert img.size == expected
    assert img.info == {}


def test_header_metadata_stripped_for_png_and_webp() -> None:
    for fmt in ("PNG", "WEBP"):
        data = encoded(two_halves(1600, 600), fmt, exif=exif_with_gps(1))
        out = process_header(data)
        assert b"LeakyCam" not in out.data
        assert len(reopen(out).getexif()) == 0


def test_icc_profile_is_applied_then_dropped() -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encoded(Image.new("RGB", (500, 500), (200, 100, 50)), "JPEG", icc_profile=srgb)
    out = process_avatar(data)
    back = reopen(out)
    assert "icc_profile" not in back.info
    assert close_to(back.getpixel((250, 250)), (200, 100, 50), tolerance=6)


def test_broken_icc_profile_does_not_refuse_the_image() -> None:
    data = encoded(Image.new("RGB", (500, 500), (200, 100, 50)), "PNG", icc_profile=b"garbage")
    assert process_avatar(data).width == 400


def test_png_text_chunks_are_dropped() -> None:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "secret-location")
    info.add_text("Author", "secret-author", zip=True)
    out = process_avatar(encoded(Image.new("RGB", (400, 400)), "PNG", pnginfo=info))
    assert b"secret" not in out.data


# --- sizes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "avatar", "header"),
    [
        ((4000, 3000), (400, 400), (1500, 500)),
        ((3000, 4000), (400, 400), (1500, 500)),
        ((400, 400), (400, 400), (400, 133)),
        ((100, 50), (50, 50), (100, 33)),
        ((300, 300), (300, 300), (300, 100)),
        ((3000, 200), (200, 200), (600, 200)),
        ((1, 1), (1, 1), (1, 1)),
        ((10, 10), (10, 10), (10, 3)),
    ],
)
def test_cover_crop_never_upscales(
    size: tuple[int, int], avatar: tuple[int, int], header: tuple[int, int]
) -> None:
    data = encoded(Image.new("RGB", size, (1, 2, 3)), "JPEG")
    out = process_avatar(data)
    assert (out.width, out.height) == avatar
    out = process_header(data)
    assert (out.width, out.height) == header


def test_cover_crop_keeps_the_centre() -> None:
    # Wide image: a blue centre stripe with red sides, cropped square keeps the centre.
    img = Image.new("RGB", (1200, 400), RED)
    img.paste(BLUE, (400, 0, 800, 400))
    out = cover_crop(img, 400, 400)
    assert out.size == (400, 400)
    assert close_to(out.getpixel((5, 200)), BLUE) and close_to(out.getpixel((395, 200)), BLUE)


def test_cover_crop_of_exact_size_is_the_same_image() -> None:
    img = Image.new("RGB", (400, 400))
    assert cover_crop(img, 400, 400) is img


def test_fit_within() -> None:
    big = Image.new("RGB", (4000, 3000))
    assert fit_within(big, 3840, 2160).size == (2880, 2160)
    out = fit_within(big, 10_000, 10_000, 8_294_400 // 4)
    assert out.width * out.height <= 8_294_400 // 4
    assert abs(out.width / out.height - 4 / 3) < 0.01
    assert fit_within(Image.new("RGB", (640, 480)), 640, 640).size == (640, 480)
    small = Image.new("RGB", (10, 10))
    assert fit_within(small, 640, 640, 8_294_400) is small
    assert fit_within(Image.new("RGB", (5000, 1)), 640, 640).size == (640, 1)


def test_large_jpeg_is_decoded_at_reduced_scale() -> None:
    data = encoded(Image.new("RGB", (4000, 3000)), "JPEG")
    img = decode(data, min_size=(400, 400))
    assert 400 <= img.height < 3000 and 400 <= img.width < 4000
    # Rotated by orientation: the side shown as the width must cover 1500 after turning.
    data = encoded(Image.new("RGB", (4000, 3000)), "JPEG", exif=exif_with_gps(6))
    img = decode(data, min_size=(1500, 500))
    assert img.height >= 1500 and img.width >= 500
    assert orient_and_strip(img).width >= 1500


def test_encode_uses_quality_90_jpeg() -> None:
    noisy = Image.frombytes("RGB", (200, 200), os.urandom(200 * 200 * 3))
    q90 = encode(noisy)
    assert q90.content_type == "image/jpeg"
    assert len(encode(noisy, quality=50).data) < len(q90.data) < len(encode(noisy, quality=98).data)


# --- refusals -----------------------------------------------------------------------------


def test_text_file_named_png_is_not_an_image() -> None:
    with pytest.raises(ImageError, match="not an image"):
        process_avatar(b"hello, this is plainly text\n" * 10)


def test_empty_file() -> None:
    with pytest.raises(ImageError, match="empty"):
        process_avatar(b"")


def test_svg_is_not_an_image() -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>'
    with pytest.raises(ImageError, match="not an image"):
        process_header(svg)


@pytest.mark.parametrize("fmt", ["BMP", "TIFF", "ICO"])
def test_other_image_types_are_unsupported(fmt: str) -> None:
    data = encoded(Image.new("RGB", (64, 64)), fmt)
    with pytest.raises(ImageError, match="not supported") as info:
        process_avatar(data)
    assert "JPEG, PNG, WebP or GIF" in str(info.value)


def test_truncated_jpeg() -> None:
    noisy = Image.frombytes("RGB", (300, 300), os.urandom(300 * 300 * 3))
    data = encoded(noisy, "JPEG", quality=95)
    for cut in (len(data) // 2, len(data) - 100, 300):
        with pytest.raises(ImageError, match="truncated or corrupt"):
            process_avatar(data[:cut])


def test_truncated_png() -> None:
    noisy = Image.frombytes("RGB", (300, 300), os.urandom(300 * 300 * 3))
    data = encoded(noisy, "PNG")
    with pytest.raises(ImageError, match="truncated or corrupt"):
        process_header(data[: len(data) // 2])


def test_corrupt_header() -> None:
    data = bytearray(encoded(Image.new("RGB", (300, 300)), "PNG"))
    data[16:24] = b"\x00" * 8  # width and height zero
    with pytest.raises(ImageError):
        process_avatar(bytes(data))


def test_oversize_file() -> None:
    data = encoded(Image.new("RGB", (300, 300)), "PNG")
    with pytest.raises(ImageError, match="too large") as info:
        process_avatar(data, max_bytes=len(data) - 1)
    assert "bytes" in str(info.value)
    with pytest.raises(ImageError, match="at most 16 MB"):
        process_avatar(b"\x00" * (16 * 1024 * 1024 + 1))
    assert process_avatar(data, max_bytes=len(data)).width == 300


def test_too_many_pixels_for_the_configured_limit() -> None:
    data = encoded(Image.new("1", (2000, 2000)), "PNG")
    with pytest.raises(ImageError, match=r"2000x2000 pixels \(at most 1,000,000 pixels\)"):
        process_avatar(data, max_pixels=1_000_000)
    assert process_avatar(data, max_pixels=4_000_000).width == 400


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


@functools.cache
def png_bomb(width: int = 30_000, height: int = 30_000) -> bytes:
    """A valid all-black 1-bit PNG of width x height: ~110 KB on disk, 900 megapixels."""
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed bits
    deflate = zlib.compressobj(9)
    block = row * 1000
    parts = [deflate.compress(block) for _ in range(height // 1000)]
    parts.append(deflate.compress(row * (height % 1000)))
    parts.append(deflate.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", b"".join(parts))
        + _png_chunk(b"IEND", b"")
    )


def test_decompression_bomb_is_refused_fast_and_small() -> None:
    bomb = png_bomb()
    assert len(bomb) < 200_000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    for process in (process_avatar, process_header):
        with pytest.raises(ImageError, match="too large"):
            process(bomb)
    assert time.perf_counter() - started < 1.0
    # ru_maxrss is in KiB on Linux: the peak grew by far less than the 112 MB of pixels.
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50 * 1024


def test_bomb_just_over_our_limit_but_under_pillows() -> None:
    # 8000x8000 = 64 megapixels: Pillow's default would decode it; the configured limit does not.
    bomb = png_bomb(8000, 8000)
    started = time.perf_counter()
    with pytest.raises(ImageError, match="8000x8000 pixels"):
        process_avatar(bomb)
    assert time.perf_counter() - started < 0.5


def test_image_error_is_a_value_error() -> None:
    assert issubclass(ImageError, ValueError)


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_animated_image_becomes_its_first_frame(fmt: str) -> None:
    frames = [Image.new("RGB", (500, 500), colour) for colour in (RED, BLUE, (0, 255, 0))]
    buf = io.BytesIO()
    frames[0].save(buf, format=fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
    out = process_avatar(buf.getvalue())
    assert out.content_type == "image/jpeg"
    back = reopen(out)
    assert back.size == (400, 400)
    assert close_to(back.getpixel((200, 200)), RED)
    assert getattr(back, "n_frames", 1) == 1


def test_malformed_exif_does_not_refuse_the_image() -> None:
    broken = b"Exif\x00\x00II*\x00\xff\xff\xff\xff"  # IFD offset far past the end
    data = encoded(Image.new("RGB", (500, 500)), "JPEG", exif=broken)
    out = process_avatar(data)
    assert out.width == 400 and b"Exif" not in out.data
