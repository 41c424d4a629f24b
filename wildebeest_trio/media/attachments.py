"""Processing an image attachment: the stored original, its small preview and their blurhash.

Synchronous and CPU-bound like the rest of `images`; callers run it in a worker
thread. Sizes follow Mastodon's `MediaAttachment::IMAGE_STYLES`: the original is
kept at most 8,294,400 pixels (the area of 3840x2160, any aspect ratio, so a
portrait photo keeps as much detail as a landscape one), the small preview at
most 230,400 pixels (the area of 640x360) and never more than 640 on a side,
and the blurhash (4x4 components) is computed on a copy of the preview at most
100 pixels on a side, as Mastodon does with libvips: the hash only keeps the
lowest frequencies, so the result is the same and the cost negligible.
"""

from __future__ import annotations

import base64
import functools
import io
import warnings
from dataclasses import dataclass
from typing import Any

import blurhash
from PIL import Image

from .images import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_PIXELS,
    ImageError,
    ProcessedImage,
    decode,
    encode,
    fit_within,
    orient_and_strip,
)

ORIGINAL_MAX_PIXELS = 8_294_400
SMALL_MAX_SIDE = 640
SMALL_MAX_PIXELS = 230_400
BLURHASH_COMPONENTS = (4, 4)
BLURHASH_INPUT_SIDE = 100
# blurhash-python reads pixels with `Image.getdata`, deprecated since Pillow 12 (removal
# planned for Pillow 14): the call still works, so keep its warning out of the logs.
warnings.filterwarnings("ignore", category=DeprecationWarning, module="blurhash")
# Modes Pillow resamples as they are (palette, bilevel and odd modes are normalized first).
_RESIZE_FIRST_MODES = frozenset({"RGB", "RGBA", "L", "CMYK"})
# No side limit on the original beyond the pixel count (Mastodon has none either).
_UNBOUNDED = 1 << 30


@dataclass(frozen=True)
class ProcessedAttachment:
    """The files and facts of a processed image attachment."""

    original: ProcessedImage
    small: ProcessedImage
    blurhash: str

    def meta(self) -> dict[str, Any]:
        """Mastodon's `meta` without `focus`: `original` and `small` dimensions."""
        return {"original": dimensions(self.original), "small": dimensions(self.small)}


def dimensions(image: ProcessedImage) -> dict[str, Any]:
    """`{width, height, size: "WxH", aspect}` as Mastodon's `meta.original` / `meta.small`."""
    return {
        "width": image.width,
        "height": image.height,
        "size": f"{image.width}x{image.height}",
        "aspect": image.width / image.height,
    }


def process_image(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> ProcessedAttachment:
    """Decode, orient, strip, downscale, make the preview and its blurhash; `ImageError` if bad.

    An animated GIF gives its first frame here; the media service sends animated GIFs
    to `video.gif_to_mp4` (`gifv`) instead.
    """
    img = decode(data, max_pixels, max_bytes=max_bytes)
    try:
        if img.mode in _RESIZE_FIRST_MODES:
            # The limit is a pixel count, the same in either orientation: shrinking
            # first means turning and colour-converting 8.3 MP rather than, say, 12.
            img = fit_within(img, _UNBOUNDED, _UNBOUNDED, ORIGINAL_MAX_PIXELS)
        img = orient_and_strip(img)
        img = fit_within(img, _UNBOUNDED, _UNBOUNDED, ORIGINAL_MAX_PIXELS)
        original = encode(img)
        small_img = make_small(img)
        small = encode(small_img)
        return ProcessedAttachment(original=original, small=small, blurhash=blurhash_of(small_img))
    except MemoryError:
        raise ImageError("The image is too large to process") from None


def process_thumbnail(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    keep_format: bool = False,
) -> tuple[ProcessedImage, str]:
    """A preview sized like `small`, with its blurhash: of a video's frame, or the one an
    uploader chose (`thumbnail`).

    With `keep_format` (an uploader's thumbnail) it stays JPEG, PNG or WebP as it came (an
    opaque PNG stays a PNG), as Mastodon keeps a thumbnail's format; a GIF gives its first
    frame as a PNG. Otherwise it is a JPEG, or a PNG when it has transparent pixels.
    """
    img = decode(data, max_pixels, max_bytes=max_bytes, min_size=(SMALL_MAX_SIDE, SMALL_MAX_SIDE))
    keep = ("PNG" if img.format == "GIF" else img.format) if keep_format else None
    try:
        img = make_small(orient_and_strip(img))
        return encode(img, keep=keep), blurhash_of(img)
    except MemoryError:
        raise ImageError("The image is too large to process") from None


def is_animated_gif(data: bytes) -> bool:
    """Whether `data` is a GIF of more than one frame (call after `images.probe` accepted it)."""
    try:
        with Image.open(io.BytesIO(data), formats=["GIF"]) as img:
            return bool(getattr(img, "is_animated", False))
    except Exception:  # anything Pillow raises: then it is not an animated GIF we can use
        return False


def make_small(img: Image.Image) -> Image.Image:
    """The preview: at most 640 on a side and 230,400 pixels, never upscaled."""
    return fit_within(img, SMALL_MAX_SIDE, SMALL_MAX_SIDE, SMALL_MAX_PIXELS, reducing_gap=2.0)


def blurhash_of(img: Image.Image) -> str:
    """The blurhash (4x4 components) of an image, from a copy at most 100 pixels on a side."""
    tiny = img.copy()
    tiny.thumbnail((BLURHASH_INPUT_SIDE, BLURHASH_INPUT_SIDE), Image.Resampling.BILINEAR)
    if tiny.mode != "RGB":
        # Alpha is dropped, as Mastodon's extract_band(0, n: 3) does.
        tiny = tiny.convert("RGB")
    x, y = BLURHASH_COMPONENTS
    return str(blurhash.encode(tiny, x_components=x, y_components=y))


__all__ = [
    "ORIGINAL_MAX_PIXELS",
    "SMALL_MAX_PIXELS",
    "SMALL_MAX_SIDE",
    "ProcessedAttachment",
    "blurhash_of",
    "dimensions",
    "is_animated_gif",
    "make_small",
    "process_image",
    "process_thumbnail",
]


# The placeholder a page shows while an image loads: the blurhash decoded to a few pixels
# (the browser's smooth scaling does the rest), as a data: URL the page can carry inline.
PLACEHOLDER_SIZE = (16, 9)
_MAX_BLURHASH = 100


@functools.lru_cache(maxsize=2048)
def placeholder_url(hash_: str) -> str | None:
    """A PNG `data:` URL of `hash_` decoded, or None for a blurhash that is not one."""
    if not hash_ or len(hash_) > _MAX_BLURHASH or not blurhash.is_valid_blurhash(hash_):
        return None
    try:
        image = blurhash.decode(hash_, *PLACEHOLDER_SIZE)
    except (ValueError, IndexError):
        return None
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")
