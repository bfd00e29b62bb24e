"""Safety checks on addresses: a usable gateway URL, a token over plain http, a password in a DSN."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

_LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")
#: A query parameter holding a password, however it is spelt (``PASSWORD``, ``passwd``, ``pwd``,
#: ``sslpassword``) or separated (``&`` or ``;``): its name and ``=``, the value after it.
_SECRET_PARAM = re.compile(r"(?i)((?:^|[&;])\s*(?:(?:ssl)?pass(?:word|wd)?|pwd)\s*=)[^&;]*")


def base_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be the gateway's address (completing "gateway.base_url ..."), or None.

    Never quotes a URL that carries a password.
    """
    try:
        parts = urlsplit(url)
        host, _port = parts.hostname, parts.port
    except ValueError:
        return 'is not a valid URL: use e.g. "https://crazyrouter.com"'
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        return (
            "contains a user name or password (user:password@): remove it; the gateway is "
            "authenticated with REPORTGEN_ACCESS_TOKEN and gateway.user_id, and a URL is stored in reports"
        )
    if parts.scheme not in ("http", "https"):
        return f'{_quote(url)} must start with http:// or https:// (e.g. "https://crazyrouter.com")'
    if not host or any(not c.isprintable() or c.isspace() for c in url):
        return f'{_quote(url)} is not a valid URL: use e.g. "https://crazyrouter.com"'
    if parts.query or parts.fragment:
        return f"{_quote(url)} must not have a ?query or #fragment: use the gateway's address only"
    return None


def plain_http_warning(url: str) -> str | None:
    """A one-line warning when the access token would cross the network unencrypted."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    if parts.scheme != "http" or _is_loopback(host):
        return None
    return (
        f"gateway.base_url is plain http:// to {host}: the access token will cross the network "
        "unencrypted; use https:// unless this host is on a network you trust"
    )


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _quote(url: str) -> str:
    text = "".join(c if c.isprintable() else "?" for c in url)
    return repr(text if len(text) <= 120 else text[:119] + "…")


def dsn_has_password(dsn: str) -> bool:
    """Whether ``scheme://user:password@host`` (or a password parameter) carries a password."""
    try:
        parts = urlsplit(dsn)
        has_password = parts.password is not None
    except ValueError:
        return False  # malformed: the database source reports it, naming the problem
    return has_password or _SECRET_PARAM.search(parts.query) is not None


def redact_query(query: str) -> str:
    """A URL's query with every password parameter's value replaced by ``***``."""
    return _SECRET_PARAM.sub(r"\1***", query)
