"""The local transcription engine and its speech: ``espeak-ng`` says a sentence (one pinned voice,
``en-us+f2``, 16 kHz), ``pocketsphinx`` (PyPI, with its English model) recognises it.

Outside the Lambda package: ``make run`` and the tests only. The engine works like Transcribe as
``chalicelib.integrations.transcripts.engine`` sees it: it reads the recording from the bucket,
recognises each channel, and writes AWS's result document where Transcribe would.
"""

from __future__ import annotations

import array
import io
import json
import subprocess
import wave
from functools import lru_cache
from typing import Any

from chalicelib.integrations.transcripts.engine import JobSpec, JobState
from chalicelib.integrations.transcripts.results import document

VOICE = "en-us+f2"  # recognised almost word for word; espeak-ng's default voice is not
RATE = 16_000
FRAMES_PER_SECOND = 100  # pocketsphinx's frame rate
SILENCE = 300  # peak amplitude below which a channel holds no speech
_FILLERS = ("<s>", "</s>", "<sil>", "[NOISE]", "[SPEECH]")


def _resample(samples: array.array[int], src: int, dst: int) -> array.array[int]:
    if src == dst:
        return samples
    n = int(len(samples) * dst / src)
    last = len(samples) - 1
    return array.array("h", (samples[min(int(i * src / dst), last)] for i in range(n)))


@lru_cache(maxsize=32)
def say(text: str) -> bytes:
    """``text`` spoken by the pinned voice: 16 kHz mono 16-bit PCM (synthesised once per process)."""
    command = ["espeak-ng", "-v", VOICE, "--stdout", "--", text]  # Debian's espeak-ng (make test installs it)
    wav = subprocess.run(command, check=True, capture_output=True).stdout  # noqa: S603 (a list, no shell)
    with wave.open(io.BytesIO(wav)) as w:
        rate, raw = w.getframerate(), w.readframes(w.getnframes())
    return _resample(array.array("h", raw), rate, RATE).tobytes()


def stereo_wav(caller: str | None, business: str | None = None, *, lead: float = 0.5) -> bytes:
    """A dual-channel recording as Twilio makes one: the caller on the first channel, the business on
    the second. The business speaks first (a greeting), the caller after it."""
    pad = array.array("h", bytes(2 * int(lead * RATE)))
    left, right = array.array("h"), array.array("h")
    if business:
        right = pad + array.array("h", say(business))
    left = array.array("h", bytes(2 * len(right))) + pad if business else pad[:]
    if caller:
        left += array.array("h", say(caller))
    left += pad
    right += array.array("h", bytes(2 * max(0, len(left) - len(right))))
    frames = array.array("h", (s for pair in zip(left, right, strict=True) for s in pair))
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(frames.tobytes())
    return out.getvalue()


@lru_cache(maxsize=1)
def _decoder() -> Any:
    from pocketsphinx import Decoder  # a development dependency: only the local engine loads it

    # Narrower beams than the defaults: half the time on a loaded machine, the same words from the pinned voice.
    return Decoder(samprate=RATE, loglevel="FATAL", beam=1e-40, wbeam=1e-20, pbeam=1e-40, maxhmmpf=3000)


def recognise(pcm: bytes) -> list[tuple[float, float, str]]:
    """Words heard in 16 kHz mono PCM: (start, end, word), seconds. A silent channel (nobody spoke on
    that side) is not decoded at all."""
    if max(map(abs, array.array("h", pcm)), default=0) < SILENCE:
        return []
    d = _decoder()
    d.start_utt()
    d.process_raw(pcm, full_utt=True)
    d.end_utt()
    words: list[tuple[float, float, str]] = []
    for seg in d.seg():
        word = seg.word.split("(")[0]
        if word in _FILLERS or word.startswith("<") or word.startswith("["):
            continue
        words.append((seg.start_frame / FRAMES_PER_SECOND, seg.end_frame / FRAMES_PER_SECOND, word))
    return words


def channels_of(wav: bytes, split: bool) -> list[bytes]:
    """Each channel (or the mix, ``split`` off) as 16 kHz mono PCM."""
    with wave.open(io.BytesIO(wav)) as w:
        n, rate, raw = w.getnchannels(), w.getframerate(), w.readframes(w.getnframes())
    samples = array.array("h", raw)
    if not split and n > 1:
        mixed = array.array("h", (sum(samples[i : i + n]) // n for i in range(0, len(samples), n)))
        return [_resample(mixed, rate, RATE).tobytes()]
    return [_resample(samples[c::n], rate, RATE).tobytes() for c in range(n)]


class LocalEngine:
    """Recognises at start (a few seconds of audio take well under a second) and writes the result
    document in AWS's shape; ``state`` answers from the document's presence, like a finished job."""

    def __init__(self) -> None:
        self.started: list[str] = []

    def _s3(self) -> Any:
        from chalicelib.recordings import storage

        return storage.s3()

    def start(self, spec: JobSpec) -> None:
        self.started.append(spec.name)
        wav = self._s3().get_object(Bucket=spec.bucket, Key=spec.media_key)["Body"].read()
        heard = [recognise(pcm) for pcm in channels_of(wav, spec.channels)]
        body = json.dumps(document(spec.name, heard)).encode()
        self._s3().put_object(Bucket=spec.bucket, Key=spec.output_key, Body=body, ContentType="application/json")

    def state(self, spec: JobSpec) -> JobState:
        client = self._s3()
        try:
            client.head_object(Bucket=spec.bucket, Key=spec.output_key)
        except client.exceptions.ClientError:
            return JobState("IN_PROGRESS")
        return JobState("COMPLETED")

    def delete(self, name: str) -> None:
        return None
