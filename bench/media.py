"""Benchmark: the image attachment pipeline against a bare Pillow decode and resize.

Run: `python bench/media.py` (options: `--rounds 7`; `--s3` adds the storage backends).

The input is a 12-megapixel (4000x3000) photo-like JPEG (smooth gradients and
sensor-like noise, quality 92) carrying EXIF with GPS, as a phone sends it.

- pipeline: `media.attachments.process_image`, exactly what the server runs:
  decode, EXIF orientation, metadata and ICC stripped, downscale to 8.3 MP,
  the small preview, its blurhash, and both files encoded for storage;
- baseline: `Image.open` + `load` + `resize` to the same 8.3 MP size with the
  same filter (LANCZOS), nothing else.

Figures are CPU time per image (`time.process_time`; all of it runs on one
thread), the best of several rounds that alternate between the two sides,
because the machine's two cores are shared. The last line is
`ratio media_pipeline_vs_resize <x>`: baseline time over pipeline time (1.0
would mean the whole pipeline costs no more than decode + resize; the target
of 0.7 allows the rest under half again).

With `--s3`, a SeaweedFS (built by scripts/weed, as the tests start it) serves an S3
bucket on 127.0.0.1 and the same photo is uploaded through `POST /api/v1/media` (the
app in process, SQLite) to an instance keeping media in the local folder and to one
keeping them in the bucket, alternating, wall-clock time per upload (median of the
rounds). That line is `ratio s3_vs_local_upload <x>`: local time over S3 time (1.0:
S3 costs nothing more; the target is at least 0.7). The time of the store step alone
(the original and its preview) is printed too.
"""

from __future__ import annotations

import argparse
import io
import math
import random
import time
from collections.abc import Callable

from PIL import Image, ImageFilter

from wildebeest_trio.media.attachments import (
    ORIGINAL_MAX_PIXELS,
    blurhash_of,
    make_small,
    process_image,
)
from wildebeest_trio.media.images import decode, encode, fit_within, orient_and_strip

WIDTH, HEIGHT = 4000, 3000


def photo_jpeg(orientation: int = 1) -> bytes:
    """A 12 MP JPEG that compresses like a photo (gradients and noise), with EXIF and GPS."""
    rng = random.Random(8)
    small = Image.new("RGB", (40, 30))
    small.putdata(
        [(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(40 * 30)]
    )
    img = small.resize((WIDTH, HEIGHT), Image.Resampling.BICUBIC)
    noise = Image.effect_noise((WIDTH, HEIGHT), 24).convert("RGB")
    img = Image.blend(img, noise, 0.15).filter(ImageFilter.SMOOTH)
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "BenchCam"
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 29.0), 3: "E", 4: (2.0, 17.0, 40.0)}
    out = io.BytesIO()
    img.save(out, "JPEG", quality=92, exif=exif)
    return out.getvalue()


def target_size(width: int, height: int) -> tuple[int, int]:
    """The 8.3 MP size the pipeline shrinks a width x height image to."""
    scale = math.sqrt(ORIGINAL_MAX_PIXELS / (width * height))
    return math.floor(width * scale), math.floor(height * scale)


def baseline(data: bytes) -> None:
    """Only decode and resize, the plain Pillow way."""
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        img.resize(target_size(*img.size), Image.Resampling.LANCZOS, reducing_gap=3.0)


def pipeline(data: bytes) -> None:
    """The whole attachment pipeline, as the server runs it."""
    process_image(data, max_bytes=64 * 1024 * 1024)


def cpu_time(fn: Callable[[bytes], None], data: bytes) -> float:
    """CPU seconds one call of `fn` takes."""
    start = time.process_time()
    fn(data)
    return time.process_time() - start


def breakdown(data: bytes) -> list[tuple[str, float]]:
    """Where the pipeline's time goes, step by step (one run)."""
    steps: list[tuple[str, float]] = []

    def step(name: str, fn: Callable[[], object]) -> object:
        start = time.process_time()
        result = fn()
        steps.append((name, time.process_time() - start))
        return result

    img = step("decode", lambda: decode(data, max_bytes=None))
    img = step("resize", lambda: fit_within(img, 1 << 30, 1 << 30, ORIGINAL_MAX_PIXELS))  # type: ignore[arg-type]
    img = step("orient+strip", lambda: orient_and_strip(img))  # type: ignore[arg-type]
    step("encode original", lambda: encode(img))  # type: ignore[arg-type]
    small = step("preview", lambda: make_small(img))  # type: ignore[arg-type]
    step("encode preview", lambda: encode(small))  # type: ignore[arg-type]
    step("blurhash", lambda: blurhash_of(small))  # type: ignore[arg-type]
    return steps


async def _upload_times(rounds: int) -> None:
    """Upload the same photo to a local-storage and an S3 instance, alternating; print both."""
    import tempfile
    from contextlib import AsyncExitStack
    from pathlib import Path

    import trio

    from tests.conftest import make_config
    from tests.seaweed import running_seaweed
    from tests.social import make_user
    from tests.test_media_api import upload
    from wildebeest_trio.assembly import open_server_runtime
    from wildebeest_trio.http import create_app
    from wildebeest_trio.services.instance import ensure_instance_keys

    data = photo_jpeg()
    with running_seaweed() as weed, tempfile.TemporaryDirectory() as tmp:
        bucket = await trio.to_thread.run_sync(weed.new_bucket)
        times: dict[str, list[float]] = {"local": [], "s3": []}
        store_times: dict[str, list[float]] = {"local": [], "s3": []}
        settings = {"local": {"media_storage": "local"}, "s3": weed.settings(bucket)}
        async with (
            open_server_runtime(
                make_config(Path(tmp) / "l", f"sqlite:///{tmp}/l.db", **settings["local"])
            ) as local,
            open_server_runtime(
                make_config(Path(tmp) / "s", f"sqlite:///{tmp}/s.db", **settings["s3"])
            ) as s3,
        ):
            clients = {}
            users = {}
            async with AsyncExitStack() as stack:
                for name, rt in (("local", local), ("s3", s3)):
                    await ensure_instance_keys(rt)
                    test_app = await stack.enter_async_context(create_app(rt).test_app())
                    clients[name] = test_app.test_client()
                    users[name] = await make_user(rt, clients[name], "bench")
                processed = process_image(data, max_bytes=64 * 1024 * 1024)
                for round_ in range(rounds + 1):
                    for name, rt in (("local", local), ("s3", s3)):
                        start = time.perf_counter()
                        response = await clients[name].post(
                            "/api/v1/media",
                            headers=users[name].headers,
                            files={"file": upload(data)},
                        )
                        elapsed = time.perf_counter() - start
                        assert response.status_code == 200, await response.get_data()
                        start = time.perf_counter()
                        for image in (processed.original, processed.small):
                            await rt.media.put(
                                image.data,
                                content_type=image.content_type,
                                category="bench",
                                unique=True,
                            )
                        stored = time.perf_counter() - start
                        if round_:  # the first round warms up
                            times[name].append(elapsed)
                            store_times[name].append(stored)
    med = {name: sorted(t)[len(t) // 2] for name, t in times.items()}
    store_med = {name: sorted(t)[len(t) // 2] for name, t in store_times.items()}
    size = len(processed.original.data) + len(processed.small.data)
    print(f"# upload through POST /api/v1/media, {len(data) / 1e6:.1f} MB JPEG, median of {rounds}")
    for name in ("local", "s3"):
        print(
            f"{name:5}  upload {med[name] * 1000:7.1f} ms  "
            f"store step ({size / 1e6:.1f} MB in 2 files) {store_med[name] * 1000:6.1f} ms"
        )
    print(f"ratio s3_vs_local_upload {med['local'] / med['s3']:.2f}")


def main() -> None:
    """Run both sides, alternating, for an upright and a turned photo; print the ratio last."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--s3", action="store_true", help="also time uploads to local and S3 storage"
    )
    args = parser.parse_args()
    ratios: list[float] = []
    print(f"# media pipeline vs Pillow decode+resize: {WIDTH}x{HEIGHT} JPEG, CPU time per image")
    for orientation in (1, 6):
        data = photo_jpeg(orientation)
        pipeline(data)  # warm up: imports, codec tables
        best_base = best_pipe = math.inf
        for _ in range(args.rounds):
            best_base = min(best_base, cpu_time(baseline, data))
            best_pipe = min(best_pipe, cpu_time(pipeline, data))
        ratio = best_base / best_pipe
        ratios.append(ratio)
        steps = "  ".join(f"{name} {t * 1000:.0f}" for name, t in breakdown(data))
        print(
            f"orientation {orientation}  {len(data) / 1e6:.1f} MB  "
            f"decode+resize {best_base * 1000:7.1f} ms  pipeline {best_pipe * 1000:7.1f} ms  "
            f"x {ratio:.2f}"
        )
        print(f"  steps (ms): {steps}")
    print(f"ratio media_pipeline_vs_resize {min(ratios):.2f}")
    if args.s3:
        import trio

        trio.run(_upload_times, args.rounds)


if __name__ == "__main__":
    main()
