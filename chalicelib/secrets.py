"""Secrets: plain values in the local stage, SSM SecureString parameters when deployed.

Deployed stages set ``TWILIO_AUTH_TOKEN_PARAM`` / ``API_KEY_PARAM`` to parameter names;
Powertools parameters fetches and caches them (5 minutes), so a rotated secret is
picked up without a redeploy.
"""

from __future__ import annotations

from chalicelib.settings import get_settings

_CACHE_SECONDS = 300


def _read(plain: str, param: str, what: str) -> str:
    if param:
        from aws_lambda_powertools.utilities import parameters  # deployed stages only: not in the cold start

        value = parameters.get_parameter(param, decrypt=True, max_age=_CACHE_SECONDS)
        return str(value)
    if plain:
        return plain
    raise RuntimeError(f"{what} is not configured")


def twilio_auth_token() -> str:
    s = get_settings()
    return _read(s.twilio_auth_token, s.twilio_auth_token_param, "the Twilio auth token")


def api_key() -> str:
    s = get_settings()
    return _read(s.api_key, s.api_key_param, "the API key")
