"""Transcribe's result document into turns (who, when, what). Pure.

The document is AWS's (``results.transcripts``, ``results.items`` with ``channel_label``,
``start_time``, ``end_time``, ``alternatives[].content``, ``type`` of ``pronunciation`` or
``punctuation``; ``results.channel_labels`` when channel identification was on). Both engines
write it, so this one reader serves both. Twilio's dual-channel recordings carry the caller on
the first channel (the inbound leg) and the business on the second.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

SPEAKERS = {"ch_0": "caller", "ch_1": "business"}
PAUSE = 1.5  # seconds of silence on one side that start a new turn


@dataclass(frozen=True)
class Turn:
    who: str  # "caller" or "business"
    start: float  # seconds from the start of the recording
    end: float
    text: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class BadResult(ValueError):
    """Not a result document: the job is reported failed, never retried as if it were late."""


def _items(doc: dict[str, Any]) -> list[dict[str, Any]]:
    results = doc.get("results")
    if not isinstance(results, dict):
        raise BadResult("the document has no results")
    labels = results.get("channel_labels")
    if isinstance(labels, dict) and labels.get("channels"):
        items: list[dict[str, Any]] = []
        for channel in labels["channels"]:
            label = channel.get("channel_label", "ch_0")
            items += [{**i, "channel_label": i.get("channel_label", label)} for i in channel.get("items", [])]
        return items
    flat = results.get("items")
    if not isinstance(flat, list):
        raise BadResult("the document has no items")
    return flat


def turns(doc: dict[str, Any]) -> list[Turn]:
    """The conversation in time order: consecutive words of one side, split at a pause."""
    words: list[tuple[float, float, str, str]] = []  # start, end, who, text
    pending: dict[str, int] = {}  # who -> index of its last word (punctuation has no time)
    for item in _items(doc):
        alternatives = item.get("alternatives") or [{}]
        content = str(alternatives[0].get("content", "")).strip()
        who = SPEAKERS.get(str(item.get("channel_label", "ch_0")), "caller")
        if not content:
            continue
        if item.get("type") == "punctuation":
            if who in pending:
                s, e, w, t = words[pending[who]]
                words[pending[who]] = (s, e, w, t + content)
            continue
        start, end = float(item.get("start_time", 0)), float(item.get("end_time", item.get("start_time", 0)))
        words.append((start, end, who, content))
        pending[who] = len(words) - 1
    words.sort(key=lambda w: (w[0], w[2]))
    out: list[Turn] = []
    for start, end, who, text in words:
        last = out[-1] if out else None
        if last and last.who == who and start - last.end <= PAUSE:
            out[-1] = Turn(who, last.start, max(end, last.end), f"{last.text} {text}")
        else:
            out.append(Turn(who, round(start, 2), round(end, 2), text))
    return [Turn(t.who, round(t.start, 2), round(t.end, 2), t.text) for t in out]


def document(job: str, channels: list[list[tuple[float, float, str]]]) -> dict[str, Any]:
    """A result document in AWS's shape from recognised words per channel (start, end, word):
    what the local engine (and the tests' stand-in) writes."""
    labelled = [
        {
            "channel_label": f"ch_{n}",
            "start_time": f"{s:.2f}",
            "end_time": f"{e:.2f}",
            "alternatives": [{"confidence": "0.9", "content": w}],
            "type": "pronunciation",
        }
        for n, words in enumerate(channels)
        for s, e, w in words
    ]
    results: dict[str, Any] = {
        "transcripts": [{"transcript": " ".join(w for ws in channels for _, _, w in ws)}],
        "items": sorted(labelled, key=lambda i: float(i["start_time"])),
    }
    if len(channels) > 1:
        results["channel_labels"] = {
            "channels": [
                {"channel_label": f"ch_{n}", "items": [i for i in labelled if i["channel_label"] == f"ch_{n}"]}
                for n in range(len(channels))
            ],
            "number_of_channels": len(channels),
        }
    return {"jobName": job, "accountId": "000000000000", "status": "COMPLETED", "results": results}
