"""The local provider's recording: a small real WAV, made the same way every time (no file to ship).

Eight seconds of 8 kHz mono 16-bit PCM (128 KB): a low tone, a quiet gap in the middle and a
higher tone, so a player that seeks to the middle is observably somewhere else than the start.
"""

from __future__ import annotations

import io
import math
import struct
import wave
from functools import lru_cache

RATE = 8000
SECONDS = 8
CONTENT_TYPE = "audio/x-wav"  # what Twilio answers for ``.wav`` media


def _sample(t: float) -> float:
    if t < 3.5:
        return 0.4 * math.sin(2 * math.pi * 440 * t)
    if t < 4.5:
        return 0.0  # the quiet gap
    return 0.4 * math.sin(2 * math.pi * 660 * t)


@lru_cache(maxsize=1)
def wav_bytes() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        frames = (int(32767 * _sample(i / RATE)) for i in range(RATE * SECONDS))
        w.writeframes(b"".join(struct.pack("<h", f) for f in frames))
    return out.getvalue()
