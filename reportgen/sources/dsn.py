"""Database URLs (``postgresql://``, ``mysql://``, ``sqlite:///``, ``clickhouse://``, ``http(s)://``) parsed,
and shown without a password."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit, urlunsplit

from ..config.safety import redact_query
from ..errors import ConfigError

_DIALECTS = {
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "mysql": "mysql",
    "mariadb": "mysql",
    "sqlite": "sqlite",
    # new-api's LOG_SQL_DSN for ClickHouse: native protocol (clickhouse://, tcp://) or HTTP(S)
    "clickhouse": "clickhouse",
    "tcp": "clickhouse",
    "http": "clickhouse",
    "https": "clickhouse",
}
#: The optional extra that installs each dialect's driver (stdlib sqlite3 needs none).
EXTRAS = {"postgresql": "postgres", "mysql": "mysql", "clickhouse": "clickhouse"}
#: The extra's packages as pip installs them (reportgen is not on PyPI: its extra cannot be named
#: there, the driver can).
DRIVER_PACKAGES = {
    "postgresql": "'psycopg[binary]>=3.1'",
    "mysql": "'mysql-connector-python>=9.0,<26' 'PyMySQL>=1.1'",
    "clickhouse": "'clickhouse-driver>=0.2.9'",
}
_EXAMPLES = (
    "postgresql://user@host:5432/newapi, mysql://user@host:3306/newapi, sqlite:////path/one-api.db "
    "or clickhouse://user@host:9000/logs"
)


@dataclass(frozen=True)
class Dsn:
    """One database location; ``shown`` is what messages and reports print (never a password)."""

    dialect: str
    shown: str
    host: str = ""
    port: int | None = None
    user: str = ""
    database: str = ""
    path: Path | None = None  # sqlite only
    params: dict[str, str] = field(default_factory=dict)
    #: The driver named after a ``+`` in the scheme, as SQLAlchemy spells it (``mysql+pymysql``), or "".
    driver: str = ""
    #: The URL as given, for libpq (which understands every postgresql:// parameter itself).
    url: str = field(default="", repr=False)


def parse_dsn(text: str, base_dir: Path | None = None, setting: str = "gateway.dsn") -> Dsn:
    """Parse a database URL; a relative ``sqlite:///file`` is resolved against ``base_dir``."""
    text = text.strip()
    if "://" not in text:
        # Never echo it: a Go-style DSN (user:pass@tcp(host:3306)/db) may hold a password.
        raise ConfigError(f"{setting} must be a URL such as {_EXAMPLES} (a Go-style SQL_DSN is not accepted)")
    try:
        parts = urlsplit(text)
        port = parts.port
        password = parts.password
    except ValueError as exc:
        raise ConfigError(f"{setting} {redact(text)!r} is not a valid URL ({exc})") from None
    scheme, _, driver = parts.scheme.lower().partition("+")
    dialect = _DIALECTS.get(scheme)
    shown = redact(text)
    if dialect is None:
        raise ConfigError(f"{setting} {shown!r}: unknown database type {scheme!r} (use {_EXAMPLES})")
    params = dict(parse_qsl(parts.query))
    if dialect == "sqlite":
        raw = unquote(parts.path)
        # sqlite:///relative.db and sqlite:////absolute.db, as SQLAlchemy spells them.
        relative = raw[1:] if raw.startswith("/") else raw
        if parts.netloc or not relative:
            raise ConfigError(
                f"{setting} {shown!r}: write sqlite:///relative/file.db or sqlite:////absolute/file.db"
            )
        path = Path(relative)
        if not path.is_absolute():
            path = (base_dir or Path.cwd()) / path
        return Dsn("sqlite", shown, path=path, params=params, url=text)
    if password is not None and not parts.username:
        raise ConfigError(f"{setting} {shown!r} is not a valid URL")
    if dialect == "clickhouse" and scheme in ("http", "https"):
        driver = scheme  # ClickHouse's HTTP interface (clickhouse:// and tcp:// are its native protocol)
    return Dsn(
        dialect,
        shown,
        host=parts.hostname or "",
        port=port,
        user=unquote(parts.username or ""),
        database=unquote(parts.path.lstrip("/")),
        params=params,
        driver=driver,
        url=text,
    )


def redact(text: str) -> str:
    """The URL with any password (in the user part or a password parameter) replaced by ``***``."""
    try:
        parts = urlsplit(text)
        query = redact_query(parts.query)
        if parts.password is None and query == parts.query:
            return text
        netloc = parts.netloc
        if parts.password is not None:
            userinfo, _, hostport = netloc.rpartition("@")
            netloc = f"{userinfo.split(':', 1)[0]}:***@{hostport}"
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:
        return "<the configured DSN>"
