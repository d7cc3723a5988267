"""Recordings made with PyAV for the tests: a few seconds of a tone and a moving picture."""

from __future__ import annotations

import array
import math
import os
import struct
from fractions import Fraction
from pathlib import Path

import av

RATE = 48_000
# SVT-AV1 prints a banner to stderr unless told to log only errors.
os.environ.setdefault("SVT_LOG", "1")


def record(
    path: Path,
    *,
    container: str,
    video: str | None,
    audio: str | None,
    seconds: float = 2.0,
    size: tuple[int, int] = (160, 120),
    fps: int = 15,
    options: dict[str, str] | None = None,
    late: float = 0.0,
) -> Path:
    """Encode ``seconds`` of a 440 Hz tone and/or a brightening picture into ``path``,
    the first ``late`` seconds of the timeline left empty."""
    out = av.open(str(path), mode="w", format=container, options=options or {})
    vstream = astream = None
    if video:
        vstream = out.add_stream(video, rate=fps)
        vstream.width, vstream.height = size
        vstream.pix_fmt = "yuv420p"
    if audio:
        astream = out.add_stream(audio, rate=RATE)
        astream.layout = "stereo" if audio == "vorbis" else "mono"
        if audio == "vorbis":
            astream.codec_context.options = {"strict": "experimental"}
    if vstream is not None:
        width, height = size
        for i in range(int(seconds * fps)):
            frame = av.VideoFrame(width, height, "rgb24")
            frame.planes[0].update(bytes([(i * 9) % 256, 80, 160]) * (width * height))
            frame = frame.reformat(format="yuv420p")
            frame.pts = i + round(late * fps)
            frame.time_base = Fraction(1, fps)
            for packet in vstream.encode(frame):
                out.mux(packet)
        for packet in vstream.encode():
            out.mux(packet)
    if astream is not None:
        size_ = astream.codec_context.frame_size or 1024
        ctx = astream.codec_context
        resampler = av.AudioResampler(format=ctx.format.name, layout=ctx.layout.name, rate=RATE)
        n = 0
        while n < seconds * RATE:
            loud = 0.2 + 0.6 * (n / (seconds * RATE))
            samples = array.array(
                "f",
                (loud * math.sin(2 * math.pi * 440 * (n + k) / RATE) for k in range(size_)),
            )
            frame = av.AudioFrame(format="flt", layout="mono", samples=size_)
            frame.planes[0].update(samples.tobytes())
            frame.sample_rate = RATE
            frame.pts = n + round(late * RATE)
            frame.time_base = Fraction(1, RATE)
            n += size_
            for converted in resampler.resample(frame):
                for packet in astream.encode(converted):
                    out.mux(packet)
        for packet in astream.encode():
            out.mux(packet)
    out.close()
    return path


def png(path: Path) -> Path:
    out = av.open(str(path), mode="w", format="image2")
    stream = out.add_stream("png")
    stream.width, stream.height, stream.pix_fmt = 32, 32, "rgb24"
    for packet in stream.encode(av.VideoFrame(32, 32, "rgb24")):
        out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)
    out.close()
    return path


def padded_mp4(source: Path, destination: Path, padding: int) -> Path:
    """``source`` (an MP4) followed by a ``free`` box of random bytes, which players skip.

    A large file that is still a valid recording: what a long upload carries.
    """
    with destination.open("wb") as out:
        out.write(source.read_bytes())
        out.write(struct.pack(">I4s", 8 + padding, b"free"))
        left = padding
        while left:
            piece = os.urandom(min(left, 1 << 20))
            out.write(piece)
            left -= len(piece)
    return destination
