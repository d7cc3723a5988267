"""What an uploaded file really is, decided by PyAV rather than by its name or headers.

``inspect(path)`` accepts WebM/Matroska, Ogg and MP4/M4A files whose audio and video
streams use Opus, Vorbis, AAC, VP8, VP9, AV1 or H.264; it measures the duration by
demuxing every packet (which also finds truncated and damaged files) and returns what
the thread needs to play it. ``poster_jpeg`` and ``waveform`` make the preview shown
before playback. Everything here is blocking: call it in a worker thread.
"""

from __future__ import annotations

import array
import os
import threading
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import av

AUDIO_CODECS = frozenset({"opus", "vorbis", "aac"})
VIDEO_CODECS = frozenset({"vp8", "vp9", "av1", "h264"})
WEBM_CODECS = frozenset({"opus", "vorbis", "vp8", "vp9", "av1"})
FORMATS = {"matroska,webm": "matroska", "ogg": "ogg", "mov,mp4,m4a,3gp,3g2,mj2": "mp4"}
WAVEFORM_RATE = 8000
POSTER_MAX_WIDTH = 640

Kind = Literal["audio", "video"]
_av_logging = threading.Lock()


class Refused(Exception):
    """The file is not a recording Meridian can play; the message says why, to a person."""


@dataclass(frozen=True, slots=True)
class MediaInfo:
    kind: Kind
    content_type: str
    extension: str
    duration_seconds: float
    codecs: tuple[str, ...]
    width: int | None = None
    height: int | None = None


def inspect(path: Path) -> MediaInfo:
    """Accept or refuse ``path``; raise ``Refused`` with the reason."""
    if path.stat().st_size == 0:
        raise Refused("The file is empty.")
    _capture_errors()
    try:
        with av.logging.Capture():
            container = av.open(str(path), mode="r")
    except (av.FFmpegError, ValueError, OSError):
        raise Refused("This is not an audio or video recording Meridian can play.") from None
    with container:
        family = FORMATS.get(container.format.name)
        if family is None:
            raise Refused(
                "Only WebM, Ogg and MP4 recordings are accepted "
                f"(this file is {container.format.long_name})."
            )
        streams: list[Any] = [s for s in container.streams if s.type in ("audio", "video")]
        video = [s for s in streams if s.type == "video"]
        if not streams:
            raise Refused("The file holds no audio or video.")
        codecs = tuple(s.codec_context.codec.canonical_name for s in streams)
        allowed = AUDIO_CODECS | VIDEO_CODECS
        for s, codec in zip(streams, codecs, strict=True):
            if codec not in allowed or (s.type == "audio") != (codec in AUDIO_CODECS):
                raise Refused(
                    f"The {s.type} codec {codec} is not accepted: use Opus, Vorbis or AAC "
                    "audio and VP8, VP9, AV1 or H.264 video."
                )
        if any(_is_still_image(s) for s in video):
            raise Refused("The file is a still image, not a recording.")
        begins, ends = _demux_span(container, [s.index for s in streams])
        duration = ends - begins
        declared = container.duration / 1_000_000 if container.duration else None
        if duration <= 0:
            raise Refused("The recording holds no sound or picture.")
        # Where the packets end, not how long they last: media may begin late (a live
        # recording whose first frames came late) and the file is still whole.
        if declared is not None and ends < declared * 0.9 - 0.25:
            raise Refused("The file is truncated: it ends before the recording does.")
        width = video[0].codec_context.width if video else None
        height = video[0].codec_context.height if video else None
    if family == "ogg":
        _check_ogg_end(path)
    kind: Kind = "video" if video else "audio"
    return MediaInfo(
        kind=kind,
        content_type=_content_type(family, kind, codecs),
        extension=_extension(family, kind, codecs),
        duration_seconds=round(duration, 3),
        codecs=codecs,
        width=width,
        height=height,
    )


def _capture_errors() -> None:
    """Route libav's log to PyAV (off by default) so damage reported while demuxing is seen."""
    with _av_logging:
        if av.logging.get_level() is None:
            av.logging.set_level(av.logging.ERROR)


def _is_still_image(stream: Any) -> bool:
    # Cover art and single pictures come as "attached pictures" in every container.
    disposition = getattr(stream, "disposition", None)
    return bool(disposition is not None and "attached_pic" in str(disposition))


def _demux_span(container: Any, indexes: list[int]) -> tuple[float, float]:
    """Read every packet: when the first begins and the last ends. libav errors mean damage."""
    end = Fraction(0)
    start: Fraction | None = None
    try:
        with av.logging.Capture() as logs:
            for packet in container.demux():
                if packet.stream.index not in indexes or packet.pts is None:
                    continue
                tb = packet.time_base
                first = packet.pts * tb
                start = first if start is None else min(start, first)
                end = max(end, (packet.pts + (packet.duration or 0)) * tb)
    except (av.FFmpegError, ValueError, OSError):
        raise Refused("The file is damaged: its recording cannot be read.") from None
    if any(level <= av.logging.ERROR for level, _name, _message in logs):
        raise Refused("The file is truncated or damaged: its recording cannot be read to the end.")
    if start is None:
        return 0.0, 0.0
    return float(max(start, Fraction(0))), float(end)


def _check_ogg_end(path: Path) -> None:
    """A finished Ogg stream ends with a whole page flagged end-of-stream."""
    size = path.stat().st_size
    with path.open("rb") as f:
        f.seek(max(0, size - 70_000))
        tail = f.read()
    at = tail.rfind(b"OggS")
    if at < 0 or len(tail) - at < 27:
        raise Refused("The file is truncated: it ends before the recording does.")
    header_type = tail[at + 5]
    segments = tail[at + 26]
    table = tail[at + 27 : at + 27 + segments]
    page_size = 27 + segments + sum(table)
    if len(table) < segments or at + page_size != len(tail) or not header_type & 0x04:
        raise Refused("The file is truncated: it ends before the recording does.")


def _content_type(family: str, kind: Kind, codecs: tuple[str, ...]) -> str:
    if family == "matroska":
        if set(codecs) <= WEBM_CODECS:
            return f"{kind}/webm"
        return f"{kind}/x-matroska"
    if family == "ogg":
        return f"{kind}/ogg"
    return f"{kind}/mp4"


def _extension(family: str, kind: Kind, codecs: tuple[str, ...]) -> str:
    if family == "matroska":
        return "webm" if set(codecs) <= WEBM_CODECS else "mkv"
    if family == "ogg":
        return "ogg"
    return "mp4" if kind == "video" else "m4a"


def poster_jpeg(path: Path, destination: Path) -> bool:
    """Write the first picture of the video as a JPEG; False if no picture can be decoded."""
    try:
        with av.open(str(path), mode="r") as container:
            if not container.streams.video:
                return False
            stream = container.streams.video[0]
            for frame in container.decode(stream):
                jpeg = _encode_jpeg(frame)
                _write_durably(destination, jpeg)
                return True
    except (av.FFmpegError, ValueError, OSError):
        return False
    return False


def _encode_jpeg(frame: Any) -> bytes:
    width, height = frame.width, frame.height
    if width > POSTER_MAX_WIDTH:
        height = max(2, round(height * POSTER_MAX_WIDTH / width / 2) * 2)
        width = POSTER_MAX_WIDTH
    picture = frame.reformat(width=width, height=height, format="yuvj420p")
    codec = av.CodecContext.create("mjpeg", "w")
    codec.width = width
    codec.height = height
    codec.pix_fmt = "yuvj420p"
    codec.time_base = Fraction(1, 25)
    codec.options = {"q:v": "4"}
    picture.pts = 0
    packets = [*codec.encode(picture), *codec.encode(None)]
    return b"".join(bytes(p) for p in packets)


def waveform(path: Path, buckets: int = 100) -> list[float]:
    """Peak loudness (0..1, relative to the loudest moment) in ``buckets`` equal slices."""
    blocks: list[int] = []
    block = WAVEFORM_RATE // 50  # 20 ms
    try:
        with av.open(str(path), mode="r") as container:
            if not container.streams.audio:
                return []
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="s16", layout="mono", rate=WAVEFORM_RATE)
            pending = array.array("h")
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    pending.frombytes(bytes(out.planes[0])[: out.samples * 2])
                while len(pending) >= block:
                    chunk = pending[:block]
                    blocks.append(max(max(chunk), -min(chunk)))
                    del pending[:block]
            if pending:
                blocks.append(max(max(pending), -min(pending)))
    except (av.FFmpegError, ValueError, OSError):
        return []
    if not blocks:
        return []
    peaks = []
    for i in range(buckets):
        lo = i * len(blocks) // buckets
        hi = max(lo + 1, (i + 1) * len(blocks) // buckets)
        peaks.append(max(blocks[lo:hi]) if lo < len(blocks) else 0)
    loudest = max(peaks) or 1
    return [round(p / loudest, 3) for p in peaks]


def _write_durably(destination: Path, data: bytes) -> None:
    tmp = destination.with_suffix(destination.suffix + ".tmp")
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(destination)
