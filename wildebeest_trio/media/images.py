"""Image processing with Pillow: decode safely, orient, strip metadata, crop, resize, encode.

Everything here is synchronous and CPU-bound; callers run it in a worker thread
(`trio.to_thread.run_sync`). Pillow releases the GIL while it decodes and
resamples, so several images are processed at once while Trio keeps serving.

The steps are separate functions so attachments (issue 8) reuse them:
`decode` -> `orient_and_strip` -> `cover_crop` / `fit_within` -> `encode`.

Metadata policy: EXIF (with GPS), XMP, IPTC, comments and PNG text are all
dropped. An embedded ICC profile is used to convert the pixels to sRGB, then
dropped too: browsers assume sRGB for untagged images, so colours stay right
and no profile (which can identify a device) is published.
"""

from __future__ import annotations

import io
import math
import struct
from collections.abc import Mapping
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageFile, ImageOps, PngImagePlugin

DEFAULT_MAX_BYTES = 16 * 1024 * 1024
# Mastodon's limit: 7680x4320.
DEFAULT_MAX_PIXELS = 33_177_600

AVATAR_SIZE = (400, 400)
HEADER_SIZE = (1500, 500)
JPEG_QUALITY = 90

# Pillow format name -> MIME type, for what avatars and headers accept.
IMAGE_FORMATS: Mapping[str, str] = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
}
FORMAT_NAMES = "JPEG, PNG, WebP or GIF"

# Pillow's limits. The pixel limit is ours, checked per call in `decode` (the
# configured value) before any pixel is decoded; Pillow's global bomb check
# (`Image.MAX_IMAGE_PIXELS`) is left at its default as a second wall, since a
# process-wide value cannot follow per-call limits. A truncated file is an
# error, never half an image.
ImageFile.LOAD_TRUNCATED_IMAGES = False
# PNG text chunks are discarded anyway; cap what a zTXt/iTXt bomb may inflate to.
PngImagePlugin.MAX_TEXT_CHUNK = 1024 * 1024
PngImagePlugin.MAX_TEXT_MEMORY = 4 * 1024 * 1024

# What a malformed file can make Pillow's decoders raise (found by fuzzing).
_DECODE_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    SyntaxError,
    EOFError,
    ValueError,
    struct.error,
    IndexError,
    TypeError,
    ZeroDivisionError,
)

_ORIENTATION_TAG = 0x0112
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


class ImageError(ValueError):
    """An upload that is not an acceptable image; the message can be shown to the user."""


@dataclass(frozen=True)
class ProcessedImage:
    """An encoded image, ready to store."""

    data: bytes
    content_type: str
    extension: str
    width: int
    height: int


def decode(
    data: bytes,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    *,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
    formats: Mapping[str, str] = IMAGE_FORMATS,
    min_size: tuple[int, int] | None = None,
) -> Image.Image:
    """Decode the first frame of an image, refusing anything unsafe with `ImageError`.

    The type comes from the content (never a declared type or file name). The
    size in pixels is checked from the header, before any pixel is decoded, so
    a decompression bomb costs nothing. With `min_size` (the smallest
    width x height the caller needs, after EXIF orientation), a JPEG may be
    decoded at 1/2, 1/4 or 1/8 scale, which is much faster for large photos.
    The image keeps its metadata (for `orient_and_strip`).
    """
    img = decode_header(data, max_pixels, max_bytes=max_bytes, formats=formats)
    try:
        if min_size is not None and img.format == "JPEG":
            need_w, need_h = min_size
            if _orientation(img) in (5, 6, 7, 8):
                need_w, need_h = need_h, need_w
            img.draft(img.mode, (max(1, need_w), max(1, need_h)))
        img.load()
    except ImageError:
        img.close()
        raise
    except Image.DecompressionBombError:
        img.close()
        raise ImageError(_too_many_pixels_message(None, max_pixels)) from None
    except (*_DECODE_ERRORS, MemoryError):
        img.close()
        raise ImageError("The image file is truncated or corrupt") from None
    return img


def probe(
    data: bytes,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    *,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
    formats: Mapping[str, str] = IMAGE_FORMATS,
) -> tuple[str, int, int]:
    """The MIME type, width and height of an image, read from its header alone.

    Refuses with `ImageError` what `decode` would refuse before decoding pixels
    (not an image, an unsupported type, too many bytes or pixels), so a request
    can answer at once and leave the full decode to a job. A truncated or
    corrupt body is only found by `decode`.
    """
    img = decode_header(data, max_pixels, max_bytes=max_bytes, formats=formats)
    try:
        return formats[img.format or ""], img.width, img.height
    finally:
        img.close()


def identify(data: bytes) -> str | None:
    """The Pillow format name of an image (any Pillow reads), or None when it is not one.

    Opening reads the header only. A file Pillow recognizes but cannot open further
    (too many pixels, a damaged header) still counts as an image: `probe` says why.
    """
    try:
        with Image.open(io.BytesIO(data)) as img:
            return str(img.format or "")
    except Image.UnidentifiedImageError:
        return None
    except Exception:  # a bomb or a damaged header: still an image, refused later
        return "?"


def decode_header(
    data: bytes,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    *,
    max_bytes: int | None = DEFAULT_MAX_BYTES,
    formats: Mapping[str, str] = IMAGE_FORMATS,
) -> Image.Image:
    """Open an image without decoding its pixels, with the same checks as `decode`."""
    if max_bytes is not None and len(data) > max_bytes:
        raise ImageError(f"The file is too large (at most {_human_bytes(max_bytes)})")
    if not data:
        raise ImageError(f"The file is empty; upload a {FORMAT_NAMES} image")
    try:
        img = Image.open(io.BytesIO(data), formats=list(formats))
    except Image.DecompressionBombError:
        raise ImageError(_too_many_pixels_message(None, max_pixels)) from None
    except Image.UnidentifiedImageError:
        raise ImageError(_unidentified_message(data)) from None
    except _DECODE_ERRORS:
        raise ImageError("The image file is truncated or corrupt") from None
    width, height = img.size
    if width < 1 or height < 1:
        img.close()
        raise ImageError("The image file is truncated or corrupt")
    if width * height > max_pixels:
        img.close()
        raise ImageError(_too_many_pixels_message((width, height), max_pixels))
    return img


def orient_and_strip(img: Image.Image) -> Image.Image:
    """Apply EXIF orientation, convert to sRGB in RGB, RGBA or L mode, and drop all metadata.

    Takes ownership of `img` (it may be modified in place); use the result.
    """
    try:
        # In place: no full-size copy when the orientation is already upright.
        ImageOps.exif_transpose(img, in_place=True)
    except _DECODE_ERRORS:
        # A malformed EXIF block: keep the pixels as stored rather than refuse the image.
        pass
    icc = img.info.get("icc_profile")
    img = _normalize_mode(img)
    if icc and img.mode in ("RGB", "RGBA", "CMYK"):
        img = _to_srgb(img, icc)
    if img.mode == "CMYK":
        img = img.convert("RGB")
    # Only pixels remain: EXIF, XMP, ICC, comments, text chunks, GIF extensions.
    img.info = {}
    return img


def cover_crop(img: Image.Image, width: int, height: int) -> Image.Image:
    """Crop to the centre at `width:height` and scale down to `width` x `height`.

    Like CSS `object-fit: cover`, except that it never upscales: an image too
    small to cover the box is only cropped to the aspect ratio, keeping its size.
    """
    src_w, src_h = img.size
    # The largest centred box of the target aspect ratio inside the source.
    if src_w * height >= src_h * width:
        box_h = float(src_h)
        box_w = src_h * width / height
    else:
        box_w = float(src_w)
        box_h = src_w * height / width
    left = (src_w - box_w) / 2
    top = (src_h - box_h) / 2
    if box_w >= width and box_h >= height:
        if (src_w, src_h) == (width, height):
            return img
        return img.resize(
            (width, height),
            Image.Resampling.LANCZOS,
            box=(left, top, left + box_w, top + box_h),
            reducing_gap=3.0,
        )
    # Too small to cover: crop only, in whole pixels.
    out_w = max(1, min(src_w, round(box_w)))
    out_h = max(1, min(src_h, round(box_h)))
    x = (src_w - out_w) // 2
    y = (src_h - out_h) // 2
    if (out_w, out_h) == (src_w, src_h):
        return img
    return img.crop((x, y, x + out_w, y + out_h))


def fit_within(
    img: Image.Image,
    max_w: int,
    max_h: int,
    max_pixels: int | None = None,
    *,
    reducing_gap: float = 3.0,
) -> Image.Image:
    """Scale down (never up), keeping the aspect ratio, to fit `max_w` x `max_h` and `max_pixels`.

    Returns `img` itself when it already fits. `reducing_gap` is Pillow's: 3.0 is
    indistinguishable from a full LANCZOS; 2.0 is faster, for previews.
    """
    w, h = img.size
    scale = min(1.0, max_w / w, max_h / h)
    if max_pixels is not None and w * h > max_pixels:
        scale = min(scale, math.sqrt(max_pixels / (w * h)))
    if scale >= 1.0:
        return img
    new_w = max(1, min(max_w, math.floor(w * scale)))
    new_h = max(1, min(max_h, math.floor(h * scale)))
    # Float rounding may leave one pixel row too many; trim the longer side.
    while max_pixels is not None and new_w * new_h > max_pixels:
        if new_w >= new_h:
            new_w -= 1
        else:
            new_h -= 1
    return img.resize((new_w, new_h), Image.Resampling.LANCZOS, reducing_gap=reducing_gap)


def has_transparency(img: Image.Image) -> bool:
    """Whether any pixel of an RGBA/LA image is not fully opaque."""
    if img.mode not in ("RGBA", "LA"):
        return False
    low, _ = img.getchannel("A").getextrema()
    return bool(low < 255)


# Formats `encode(keep=...)` writes back as they came, with their MIME type and extension.
KEPT_FORMATS: Mapping[str, tuple[str, str]] = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "WEBP": ("image/webp", "webp"),
}


def encode(
    img: Image.Image, *, quality: int = JPEG_QUALITY, keep: str | None = None
) -> ProcessedImage:
    """Encode as PNG when the image has transparent pixels, else as JPEG; or, with `keep`
    (the Pillow format of the uploaded file), in that format when it is JPEG, PNG or WebP.

    `img` should come from `orient_and_strip` (RGB, RGBA or L, no metadata);
    nothing but pixels is written either way.
    """
    fmt = keep if keep in KEPT_FORMATS else "PNG" if has_transparency(img) else "JPEG"
    buf = io.BytesIO()
    if fmt == "PNG":
        img.save(buf, format="PNG", compress_level=6)
    elif fmt == "WEBP":
        img.save(buf, format="WEBP", quality=quality)
    else:
        if img.mode not in ("RGB", "L"):
            img = img.convert("L" if img.mode == "LA" else "RGB")
        img.save(buf, format="JPEG", quality=quality, optimize=True)
    content_type, extension = KEPT_FORMATS[fmt]
    return ProcessedImage(
        data=buf.getvalue(),
        content_type=content_type,
        extension=extension,
        width=img.width,
        height=img.height,
    )


def process_avatar(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> ProcessedImage:
    """An uploaded avatar, oriented, stripped and cover-cropped to 400x400 (static)."""
    return _process_cover(data, AVATAR_SIZE, max_bytes=max_bytes, max_pixels=max_pixels)


def process_header(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> ProcessedImage:
    """An uploaded profile header, oriented, stripped and cover-cropped to 1500x500 (static)."""
    return _process_cover(data, HEADER_SIZE, max_bytes=max_bytes, max_pixels=max_pixels)


def _process_cover(
    data: bytes, size: tuple[int, int], *, max_bytes: int, max_pixels: int
) -> ProcessedImage:
    img = decode(data, max_pixels, max_bytes=max_bytes, min_size=size)
    try:
        img = orient_and_strip(img)
        img = cover_crop(img, *size)
        return encode(img)
    except MemoryError:
        raise ImageError("The image is too large to process") from None


def _orientation(img: Image.Image) -> int:
    try:
        return int(img.getexif().get(_ORIENTATION_TAG, 1))
    except (*_DECODE_ERRORS, KeyError):
        return 1


def _normalize_mode(img: Image.Image) -> Image.Image:
    """RGB, RGBA, L or CMYK (for the ICC step), with palette transparency made alpha."""
    mode = img.mode
    if mode.startswith("I"):
        # 16-bit greyscale: scale to 8 bits rather than clip at 255.
        return img.convert("I").point(lambda v: v / 256).convert("L")
    if mode in ("LA", "La", "PA", "RGBa") or "transparency" in img.info:
        # Palette, greyscale or RGB with a transparent colour (GIF, PNG tRNS) become alpha.
        return img if mode == "RGBA" else img.convert("RGBA")
    if mode in ("RGB", "RGBA", "L", "CMYK"):
        return img
    if mode == "1":
        return img.convert("L")
    return img.convert("RGB")


def _to_srgb(img: Image.Image, icc: bytes) -> Image.Image:
    """Convert pixels from their embedded profile to sRGB; keep them as they are if it is bad."""
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        out_mode = "RGBA" if img.mode == "RGBA" else "RGB"
        converted = ImageCms.profileToProfile(
            img,
            source,
            _SRGB,
            renderingIntent=ImageCms.Intent.PERCEPTUAL,
            outputMode=out_mode,
        )
    except (ImageCms.PyCMSError, *_DECODE_ERRORS):
        return img
    return converted if converted is not None else img


def _too_many_pixels_message(size: tuple[int, int] | None, max_pixels: int) -> str:
    if size is None:
        return f"The image is too large (at most {max_pixels:,} pixels)"
    w, h = size
    return f"The image is too large: {w}x{h} pixels (at most {max_pixels:,} pixels)"


def _unidentified_message(data: bytes) -> str:
    # Pillow may know the format even though we do not accept it: say so plainly.
    try:
        with Image.open(io.BytesIO(data)) as other:
            fmt = other.format
    except Exception:  # anything at all: it is simply not an image we can name
        fmt = None
    if fmt:
        return f"Images of type {fmt} are not supported; upload a {FORMAT_NAMES} image"
    return f"The file is not an image; upload a {FORMAT_NAMES} image"


def _human_bytes(n: int) -> str:
    if n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)} MB"
    if n % 1024 == 0:
        return f"{n // 1024} KB"
    return f"{n} bytes"


__all__ = [
    "AVATAR_SIZE",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_PIXELS",
    "HEADER_SIZE",
    "IMAGE_FORMATS",
    "ImageError",
    "ProcessedImage",
    "cover_crop",
    "decode",
    "encode",
    "fit_within",
    "has_transparency",
    "identify",
    "orient_and_strip",
    "probe",
    "process_avatar",
    "process_header",
]
