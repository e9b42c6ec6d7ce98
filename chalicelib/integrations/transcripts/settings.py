"""The transcripts' settings, declared once (field, variable, default, parser, README line)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import NamedTuple

from chalicelib.core import settings as core
from chalicelib.core.settings import Refused, Section, parse_bool, parse_optional, parse_stripped

SECTION = Section("transcripts", "transcripts of recorded calls and the keyword rules that act on them")
ENGINES = ("off", "local", "transcribe")


def parse_engine(raw: str) -> str:
    engine = raw.strip().lower()
    if engine not in ENGINES:
        raise Refused(f"must be one of {', '.join(ENGINES)}, not {engine!r}")
    return engine


def parse_price(raw: str) -> Decimal:
    return Decimal(raw.strip() or "0")


class TranscriptSettings(NamedTuple):
    transcripts_engine: str = SECTION(
        "TRANSCRIPTS_ENGINE",
        "off",
        parse_engine,
        "`transcribe` (Amazon Transcribe in the stage's account, reading the recording where it is), `local` "
        "(`make run` and the tests: pocketsphinx on this machine) or `off`",
        when="blank",
    )
    transcripts_language: str = SECTION(
        "TRANSCRIPTS_LANGUAGE",
        "en-US",
        parse_stripped,
        "the language of calls whose line names none (a line's is its `flow.disclosure_language`), as "
        "Transcribe names it (`en-US`, `ru-RU`)",
        when="blank",
    )
    transcripts_redact_pii: bool = SECTION(
        "TRANSCRIPTS_REDACT_PII",
        "false",
        parse_bool,
        "ask Transcribe to redact personal data (names, card and account numbers) in the transcript itself "
        "(English and Spanish only; Transcribe's redaction price per minute applies)",
        when="blank",
    )
    transcripts_daily_minutes: int = SECTION(
        "TRANSCRIPTS_DAILY_MINUTES",
        "600",
        int,
        "at most this many minutes of audio sent to transcription per UTC day; calls past it are not transcribed "
        "(`transcript.status` `capped`)",
        when="blank",
    )
    transcripts_price_per_minute: Decimal = SECTION(
        "TRANSCRIPTS_PRICE_PER_MINUTE",
        "0.024",
        parse_price,
        "what one minute of audio costs you in the stage's region (take it from the AWS price list; with "
        "redaction add its price): a day's cost is the minutes transcribed times this",
        when="blank",
    )
    transcripts_job_hours: int = SECTION(
        "TRANSCRIPTS_JOB_HOURS",
        "3",
        int,
        "a job still running after this many hours is stopped and started again (at most 3 attempts in all)",
        when="blank",
    )
    transcribe_endpoint: str | None = SECTION(
        "TRANSCRIBE_ENDPOINT",
        "",
        parse_optional,
        "another Transcribe endpoint (the tests' stand-in); empty: the region's",
        shown="— (the region's)",
    )


SETTINGS = TranscriptSettings


def get() -> TranscriptSettings:
    """This process's settings (read again when ``core.get_settings`` is)."""
    return core.section(TranscriptSettings)


def load(env: Mapping[str, str]) -> TranscriptSettings:
    """The settings an environment gives (a stage's, for ``status`` and the tests)."""
    return core.load_section(TranscriptSettings, env, core.load(env)._asdict())


def problems(s: core.Settings, t: TranscriptSettings) -> list[str]:
    """What is wrong in the transcripts' settings, in words an operator can act on."""
    found: list[str] = []
    if t.transcripts_engine == "local" and not s.local:
        found.append("TRANSCRIPTS_ENGINE local runs only in the local stack; use transcribe in a deployed stage")
    if not 0 <= t.transcripts_daily_minutes <= 100_000:
        found.append(f"TRANSCRIPTS_DAILY_MINUTES {t.transcripts_daily_minutes} must be from 0 to 100000")
    if not 1 <= t.transcripts_job_hours <= 24:
        found.append(f"TRANSCRIPTS_JOB_HOURS {t.transcripts_job_hours} must be from 1 to 24")
    return found
