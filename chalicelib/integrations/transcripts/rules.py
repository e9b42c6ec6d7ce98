"""Keyword rules: words or phrases, on a line or everywhere, on the caller's side, the business's or
both, that tag a call, set its outcome or score it. Pure: checking a rule and matching turns.

What a match does to the call goes through the outcome editor's own code (``jobs.apply``), so
reports, webhooks, alerts, CRMs and ad platforms follow as they do for a person's edit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from chalicelib.core import validation as v
from chalicelib.core.errors import BadRequest
from chalicelib.integrations.transcripts.results import Turn

SIDES = ("caller", "business", "both")
RULE_OUTCOMES = ("lead", "sale", "spam")
MAX_RULES = 100
MAX_PHRASES = 20
MODES = ("on", "off")  # per line; or a number: only calls longer than that many seconds
_WORD = re.compile(r"[\w']+")


@dataclass(frozen=True)
class Rule:
    id: str
    phrases: tuple[str, ...]
    side: str = "caller"
    line: str | None = None  # a channel or pool id; None: every line
    tags: tuple[str, ...] = ()
    outcome: str | None = None
    score: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "phrases": list(self.phrases),
            "side": self.side,
            "line": self.line,
            "tags": list(self.tags),
            "outcome": self.outcome,
            "score": self.score,
        }


@dataclass(frozen=True)
class Verdict:
    """What the rules found in one transcript."""

    keywords: tuple[str, ...] = ()  # matched phrases, as written in the rules
    rules: tuple[str, ...] = ()  # ids of the rules that matched
    tags: tuple[str, ...] = ()
    outcome: str | None = None
    score: int = 0
    turns: dict[int, list[str]] = field(default_factory=dict)  # turn index -> phrases found in it


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def parse_rule(raw: Any, index: int) -> Rule:
    """One rule from the API or the page; a 400 that names the field otherwise."""
    where = f"rules[{index}]"
    if not isinstance(raw, dict):
        raise BadRequest(f"'{where}' must be an object")
    v.reject_unknown(raw, {"id", "phrases", "side", "line", "tags", "outcome", "score"})
    phrases = raw.get("phrases")
    if isinstance(phrases, str):
        phrases = [p for p in phrases.split(",")]
    if not isinstance(phrases, list) or not phrases or len(phrases) > MAX_PHRASES:
        raise BadRequest(f"'{where}.phrases' must be 1 to {MAX_PHRASES} words or phrases")
    clean = tuple(" ".join(words(str(p))) for p in phrases if isinstance(p, str))
    if len(clean) != len(phrases) or not all(0 < len(p) <= 60 for p in clean):
        raise BadRequest(f"'{where}.phrases': each must be a word or phrase of 1 to 60 characters")
    side = raw.get("side", "caller")
    if side not in SIDES:
        raise BadRequest(f"'{where}.side' must be one of: {', '.join(SIDES)}")
    outcome = raw.get("outcome") or None
    if outcome is not None and outcome not in RULE_OUTCOMES:
        raise BadRequest(f"'{where}.outcome' must be one of: {', '.join(RULE_OUTCOMES)}")
    tags = raw.get("tags") or []
    if isinstance(tags, str):
        tags = [t for t in tags.split(",") if t.strip()]
    if not isinstance(tags, list) or not all(isinstance(t, str) and 0 < len(t.strip()) <= 40 for t in tags):
        raise BadRequest(f"'{where}.tags' must be tags of 1 to 40 characters")
    score = raw.get("score", 0)
    if isinstance(score, str):
        score = int(score) if re.fullmatch(r"-?\d{1,3}", score.strip()) else None
    if isinstance(score, bool) or not isinstance(score, int) or not -100 <= score <= 100:
        raise BadRequest(f"'{where}.score' must be a whole number from -100 to 100")
    line = raw.get("line") or None
    if line is not None and (not isinstance(line, str) or len(line) > 64):
        raise BadRequest(f"'{where}.line' must be a channel or pool id")
    if not (tags or outcome or score):
        raise BadRequest(f"'{where}' does nothing: give it tags, an outcome or a score")
    rid = raw.get("id") or f"r{index + 1}"
    return Rule(str(rid)[:20], clean, side, line, tuple(t.strip() for t in tags), outcome, score)


def parse_rules(raw: Any) -> list[Rule]:
    if not isinstance(raw, list) or len(raw) > MAX_RULES:
        raise BadRequest(f"'rules' must be a list of at most {MAX_RULES} rules")
    rules = [parse_rule(r, i) for i, r in enumerate(raw)]
    ids = [r.id for r in rules]
    if len(set(ids)) != len(ids):
        raise BadRequest("each rule needs its own 'id'")
    return rules


def _found(phrase: str, said: list[str]) -> bool:
    target = phrase.split()
    n = len(target)
    return any(said[i : i + n] == target for i in range(len(said) - n + 1))


def match(rules: Sequence[Rule], turns: Sequence[Turn], line: str | None) -> Verdict:
    """What the rules of this call's line (and every line's) find in its turns."""
    keywords: list[str] = []
    matched: list[str] = []
    tags: list[str] = []
    outcome: str | None = None
    score = 0
    where: dict[int, list[str]] = {}
    said = [words(t.text) for t in turns]
    for rule in rules:
        if rule.line is not None and rule.line != line:
            continue
        hit = False
        for n, turn in enumerate(turns):
            if rule.side != "both" and turn.who != rule.side:
                continue
            for phrase in rule.phrases:
                if _found(phrase, said[n]):
                    hit = True
                    where.setdefault(n, [])
                    if phrase not in where[n]:
                        where[n].append(phrase)
                    if phrase not in keywords:
                        keywords.append(phrase)
        if hit:
            matched.append(rule.id)
            tags += [t for t in rule.tags if t not in tags]
            outcome = outcome or rule.outcome
            score += rule.score
    return Verdict(tuple(keywords), tuple(matched), tuple(tags), outcome, score, where)


def parse_mode(raw: Any) -> str | int:
    """A line's mode: ``on``, ``off`` or seconds (only calls longer than that)."""
    if raw in MODES:
        return str(raw)
    if isinstance(raw, str) and raw.strip().isdigit():
        raw = int(raw.strip())
    if isinstance(raw, int) and not isinstance(raw, bool) and 0 < raw <= 36_000:
        return raw
    raise BadRequest("a line's transcription must be 'on', 'off' or a number of seconds (only longer calls)")


def wanted(mode: str | int, seconds: float) -> bool:
    """Whether a call of ``seconds`` on a line in ``mode`` is transcribed."""
    if mode == "off":
        return False
    if mode == "on":
        return True
    return seconds > int(mode)
