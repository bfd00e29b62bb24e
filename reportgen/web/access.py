"""Who may reach ``reportgen serve``: anyone on this machine at 127.0.0.1 (the default); on any
other address only a holder of the token from ``$REPORTGEN_SERVE_TOKEN``, and the command says so."""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Mapping

from ..errors import UsageError

__all__ = ["TOKEN_COOKIE", "TOKEN_ENV", "binding_token", "is_loopback", "token_ok"]

TOKEN_ENV = "REPORTGEN_SERVE_TOKEN"
TOKEN_COOKIE = "reportgen_token"
#: A token shorter than this is refused: it would be guessed.
MIN_TOKEN = 16


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def binding_token(host: str, env: Mapping[str, str]) -> str | None:
    """The token requests must carry when serving on ``host`` (None on a loopback address)."""
    if is_loopback(host):
        return None
    token = env.get(TOKEN_ENV, "")
    if len(token) < MIN_TOKEN:
        raise UsageError(
            f"serving on {host} (not 127.0.0.1) needs a token of at least {MIN_TOKEN} characters in "
            f"${TOKEN_ENV}: anyone who can reach the address could read every figure and row"
        )
    return token


def token_ok(expected: str | None, given: str | None) -> bool:
    """Whether a request's token matches (compared in constant time); no token needed on loopback."""
    if expected is None:
        return True
    return given is not None and hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
