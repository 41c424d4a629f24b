"""Image attachment processing: sizes, orientation, metadata, blurhash, and bad files."""

from __future__ import annotations

import io

import blurhash
import pytest
from PIL import Image, ImageStat

from tests.test_images import BLUE, RED, close_to, encoded, exif_with_gps, png_bomb, two_halves
from wildebeest_trio.media.attachments import (
    ORIGINAL_MAX_PIXELS,
    SMALL_MAX_PIXELS,
    blurhash_of,
    process_image,
    process_thumbnail,
)
from wildebeest_trio.media.images import ImageError, probe


def _open(data: bytes) -> Image.Image:
    """Decode stored bytes back into an image."""
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF"])
def test_each_format_is_processed(fmt: str) -> None:
    out = process_image(encoded(two_halves(1200, 800), fmt))
    assert (out.original.width, out.original.height) == (1200, 800)
    # 230,400 pixels at 3:2: 587x391 (Mastodon's small style).
    assert (out.small.width, out.small.height) == (587, 391)
    meta = out.meta()
    assert meta["original"] == {"width": 1200, "height": 800, "size": "1200x800", "aspect": 1.5}
    assert meta["small"]["size"] == "587x391"
    assert meta["small"]["aspect"] == pytest.approx(587 / 391)
    assert len(out.blurhash) == 36  # 4x4 components: 6 + 2 * 15 characters


def test_large_photo_is_limited_to_8_3_megapixels_any_aspect() -> None:
    landscape = process_image(encoded(Image.new("RGB", (4000, 3000)), "JPEG"))
    o = landscape.original
    assert o.width * o.height <= ORIGINAL_MAX_PIXELS
    assert o.width * o.height > 0.99 * ORIGINAL_MAX_PIXELS
    assert abs(o.width / o.height - 4 / 3) < 0.01
    portrait = process_image(encoded(Image.new("RGB", (3000, 4000)), "JPEG"))
    # Portraits keep as many pixels as landscapes (a pixel limit, not a 3840x2160 box).
    assert portrait.original.width * portrait.original.height > 0.99 * ORIGINAL_MAX_PIXELS
    s = portrait.small
    assert s.width <= 640 and s.height <= 640 and s.width * s.height <= SMALL_MAX_PIXELS


def test_small_is_at_most_640_on_a_side() -> None:
    out = process_image(encoded(Image.new("RGB", (4000, 200)), "PNG"))
    assert (out.small.width, out.small.height) == (640, 32)
    tiny = process_image(encoded(Image.new("RGB", (50, 40)), "PNG"))
    assert (tiny.small.width, tiny.small.height) == (50, 40)  # never upscaled


def test_orientation_applied_and_exif_with_gps_gone() -> None:
    data = encoded(two_halves(600, 300), "JPEG", exif=exif_with_gps(6), quality=95)
    assert b"LeakyCam" in data
    out = process_image(data)
    assert (out.original.width, out.original.height) == (300, 600)
    for image in (out.original, out.small):
        back = _open(image.data)
        assert len(back.getexif()) == 0
        assert "exif" not in back.info and "icc_profile" not in back.info
        assert b"Exif" not in image.data and b"LeakyCam" not in image.data
    back = _open(out.original.data)
    assert close_to(back.getpixel((150, 20)), RED)
    assert close_to(back.getpixel((150, 580)), BLUE)


def test_large_rotated_photo_is_shrunk_and_turned() -> None:
    # Stored 4000x3000 with orientation 6: shown as a 3000x4000 portrait, left half on top.
    data = encoded(two_halves(4000, 3000), "JPEG", exif=exif_with_gps(6), quality=90)
    out = process_image(data)
    assert (out.original.width, out.original.height) == (2494, 3325)
    back = _open(out.original.data)
    assert close_to(back.getpixel((1247, 100)), RED)
    assert close_to(back.getpixel((1247, 3200)), BLUE)
    assert len(back.getexif()) == 0 and b"LeakyCam" not in out.original.data
    assert (out.small.width, out.small.height) == (415, 554)


def test_blurhash_decodes_to_the_average_colour() -> None:
    colour = (30, 120, 200)
    out = process_image(encoded(Image.new("RGB", (800, 600), colour), "PNG"))
    decoded = blurhash.decode(out.blurhash, 8, 6)
    avg = tuple(round(v) for v in ImageStat.Stat(decoded.convert("RGB")).mean)
    assert close_to(avg, colour, tolerance=6), avg


def test_blurhash_of_transparent_image() -> None:
    img = Image.new("RGBA", (300, 200), (0, 200, 0, 128))
    assert len(blurhash_of(img)) == 36


def test_thumbnail_is_small_with_its_own_blurhash() -> None:
    image, hash_ = process_thumbnail(encoded(Image.new("RGB", (2000, 2000), RED), "JPEG"))
    assert image.width == image.height == 480  # 230,400 pixels, square
    assert len(hash_) == 36


@pytest.mark.parametrize(
    ("fmt", "kept"),
    [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp"), ("GIF", "image/png")],
)
def test_an_uploaders_thumbnail_keeps_its_format(fmt: str, kept: str) -> None:
    opaque = encoded(Image.new("RGB", (50, 50), RED), fmt)
    image, _ = process_thumbnail(opaque, keep_format=True)
    assert (image.content_type, image.width, image.height) == (kept, 50, 50)
    with Image.open(io.BytesIO(image.data)) as img:
        assert img.get_format_mimetype() == kept
    # A video's frame (no format to keep) is a JPEG when opaque.
    assert process_thumbnail(opaque)[0].content_type == "image/jpeg"


def test_probe_reads_only_the_header() -> None:
    assert probe(encoded(Image.new("RGB", (300, 200)), "WEBP")) == ("image/webp", 300, 200)
    with pytest.raises(ImageError, match="not an image"):
        probe(b"hello, I am text")
    with pytest.raises(ImageError, match="too large"):
        probe(png_bomb())
    with pytest.raises(ImageError, match="too large"):
        probe(b"\xff" * 2000, max_bytes=1000)


def test_bad_files_are_refused() -> None:
    with pytest.raises(ImageError, match="not an image"):
        process_image(b"just some text, named .png")
    with pytest.raises(ImageError, match="too large"):
        process_image(png_bomb())
    jpeg = encoded(Image.new("RGB", (800, 600), RED), "JPEG")
    with pytest.raises(ImageError, match="truncated"):
        process_image(jpeg[: len(jpeg) // 2])
    with pytest.raises(ImageError, match="too large"):
        process_image(jpeg, max_bytes=len(jpeg) - 1)
    with pytest.raises(ImageError, match="800x600 pixels"):
        process_image(jpeg, max_pixels=100_000)


def test_entity_of_a_queued_and_a_finished_row() -> None:
    from wildebeest_trio.config import load_config
    from wildebeest_trio.serializers.media import media_attachment_entity

    config = load_config(env={}, overrides={"domain": "media.example"})
    row: dict[str, object] = {
        "id": 42,
        "type": "image",
        "processing": "queued",
        "file_key": None,
        "preview_key": None,
        "thumbnail_key": None,
        "meta": {},
        "description": "",
        "focus_x": None,
        "focus_y": None,
        "blurhash": None,
        "thumbnail_blurhash": None,
        "remote_url": None,
        "preview_remote_url": None,
    }
    queued = media_attachment_entity(config, row)
    assert queued["id"] == "42" and queued["url"] is None and queued["preview_url"] is None
    assert queued["description"] is None and queued["meta"] == {} and queued["text_url"] is None
    done = media_attachment_entity(
        config,
        {
            **row,
            "processing": "complete",
            "file_key": "media_attachments/original/ab/cd/x.jpg",
            "preview_key": "media_attachments/small/ab/cd/y.jpg",
            "meta": {"original": {"width": 2}},
            "focus_x": 0.5,
            "focus_y": -1.0,
            "blurhash": "hash",
        },
    )
    assert done["url"] == f"{config.base_url}/system/media_attachments/original/ab/cd/x.jpg"
    assert done["preview_url"].endswith("/system/media_attachments/small/ab/cd/y.jpg")
    assert done["meta"] == {"original": {"width": 2}, "focus": {"x": 0.5, "y": -1.0}}
    assert done["blurhash"] == "hash"
