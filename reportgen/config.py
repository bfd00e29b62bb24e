"""``reportgen.toml`` and the environment, read into a frozen :class:`Config`."""

from __future__ import annotations

import ipaddress
import os
import re
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .core.models import Conversion, DatedRate, Exchange, GatewayStatus, Period
from .core.periods import parse_period
from .core.projects import Project, parse_projects
from .errors import ConfigError, ReportgenError

CONFIG_NAME = "reportgen.toml"
STORE_DIR_NAME = ".reportgen"
FLAVORS = ("auto", "new-api", "crazyrouter", "one-api")
SOURCES = ("api", "database")
DB_PASSWORD_ENV = "REPORTGEN_DB_PASSWORD"
LANGS = ("zh", "en")


class Secret:
    """A string that never shows itself in ``repr``, ``str`` or an f-string."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True)
class GatewayConfig:
    base_url: str = ""
    user_id: int | None = None
    flavor: str = "auto"
    requests_per_window: int = 180
    window_seconds: int = 180
    access_token: Secret | None = field(default=None, repr=False, compare=False)
    #: ``api`` (the management API) or ``database`` (the gateway's own log database).
    source: str = "api"
    dsn: str = ""
    main_dsn: str = ""
    usernames: tuple[str, ...] = ()
    db_password: Secret | None = field(default=None, repr=False, compare=False)
    #: The source's name: ``default`` for ``[gateway]``, NAME for ``[gateways.NAME]``.
    name: str = "default"
    #: The environment variable holding this source's access token.
    token_env: str = "REPORTGEN_ACCESS_TOKEN"
    #: CNY per USD for this source's spend (``exchange_rate`` in its table), and where it comes from.
    exchange_rate: Decimal | None = None
    exchange_rate_source: str | None = None


@dataclass(frozen=True)
class Config:
    """Everything reportgen reads from ``reportgen.toml`` and the environment."""

    path: Path | None = None
    gateway: GatewayConfig = field(default_factory=GatewayConfig)
    timezone: str = "UTC"
    members: dict[str, tuple[str, ...]] = field(default_factory=dict)
    store_dir: Path = Path(STORE_DIR_NAME)
    template: str | None = None
    lang: str = "zh"
    exchange_rate: Decimal | None = None
    exchange_rate_source: str | None = None
    projects: tuple[Project, ...] = ()
    currencies: tuple[Conversion, ...] = ()
    #: The Ed25519 private key that signs packets (outside the store; see ``reportgen keys init``).
    signing_key: Path = Path("signing-key.pem")
    rates: tuple[DatedRate, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    #: One-line notices for the user (e.g. the token would travel over plain http), each once.
    warnings: tuple[str, ...] = ()
    #: Every configured source: ``[gateway]`` (named ``default``) and each ``[gateways.NAME]``.
    gateways: tuple[GatewayConfig, ...] = ()
    #: The sources a command works on (``--source``); None: every configured source.
    only: tuple[str, ...] | None = None

    def sources(self) -> tuple[GatewayConfig, ...]:
        """The sources this command reads or syncs: ``--source`` if given, else all configured."""
        every = self.gateways or (self.gateway,)
        if self.only is None:
            return every
        return tuple(g for g in every if g.name in self.only)

    def source_names(self) -> tuple[str, ...]:
        return tuple(g.name for g in self.sources())

    def with_source(self, name: str | None) -> Config:
        """This config limited to the source ``name`` (None: all); an unknown name is a usage error."""
        if name is None:
            return self
        every = self.gateways or (self.gateway,)
        known = [g.name for g in every]
        if name not in known:
            raise ConfigError(f"--source {name!r}: no such source (configured: {', '.join(known)})")
        return replace(self, only=(name,), gateway=next(g for g in every if g.name == name))

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def found(self) -> bool:
        """Whether a config file was found or the environment names a gateway."""
        return self.path is not None or bool(self.gateway.base_url)

    def exchange(self, status: GatewayStatus | None, tz: ZoneInfo, period: Period | None = None) -> Exchange:
        """The CNY rate of ``period``: its dated ``[report.rates]`` entry, else ``[report] exchange_rate``,
        else the gateway's ``usd_exchange_rate``."""
        dated = None if period is None else self.dated_rate(period)
        if dated is not None:
            day = dated.as_of
            return Exchange(
                dated.cny_per_usd,
                dated.source,
                datetime(day.year, day.month, day.day, tzinfo=tz),
                dated.period,
            )
        if self.exchange_rate is not None:
            source = self.exchange_rate_source or f"{self.path or 'reportgen.toml'} [report] exchange_rate"
            as_of: datetime | None = None
            if self.path is not None and self.path.exists():
                as_of = datetime.fromtimestamp(int(self.path.stat().st_mtime), tz)
            return Exchange(self.exchange_rate, source, as_of)
        if status is not None and status.usd_exchange_rate is not None:
            as_of = datetime.fromtimestamp(status.read_at, tz)
            return Exchange(status.usd_exchange_rate, "gateway /api/status usd_exchange_rate", as_of)
        return Exchange(None, "none: the gateway reported no rate and [report] exchange_rate is not set")

    def source_exchanges(
        self, statuses: Mapping[str, GatewayStatus | None], tz: ZoneInfo, period: Period | None = None
    ) -> dict[str, Exchange]:
        """The CNY rate of each source read (``statuses``: each one's newest ``/api/status``).

        A source's own ``exchange_rate`` wins for its spend; else the report's rate applies
        (its dated entry, ``[report] exchange_rate``), else the source's own gateway rate,
        else the first (by name) other source's gateway rate.
        """
        every = {g.name: g for g in self.gateways or (self.gateway,)}
        stated = next((st for _, st in sorted(statuses.items()) if st and st.usd_exchange_rate), None)
        out = {}
        for name, status in sorted(statuses.items()):
            gw = every.get(name)
            if gw is not None and gw.exchange_rate is not None:
                table = "gateway" if name == "default" else f"gateways.{name}"
                where = gw.exchange_rate_source or f"{self.path or 'reportgen.toml'} [{table}] exchange_rate"
                as_of = None
                if self.path is not None and self.path.exists():
                    as_of = datetime.fromtimestamp(int(self.path.stat().st_mtime), tz)
                out[name] = Exchange(gw.exchange_rate, where, as_of)
            else:
                own = status if status is not None and status.usd_exchange_rate is not None else stated
                out[name] = self.exchange(own, tz, period)
        return out

    def dated_rate(self, period: Period) -> DatedRate | None:
        """The ``[report.rates]`` entry covering all of ``period``: the shortest, when several do."""
        best: tuple[int, DatedRate] | None = None
        for rate in self.rates:
            span = parse_period(rate.period, period.tz)
            if span.start_ts <= period.start_ts and period.end_ts <= span.end_ts:
                length = span.end_ts - span.start_ts
                if best is None or length < best[0]:
                    best = (length, rate)
        return None if best is None else best[1]

    def key_to_member(self) -> dict[str, str]:
        """Each configured key name mapped to its member (unmapped keys are their own member)."""
        return {key: member for member, keys in self.members.items() for key in keys}

    def where(self, key: str) -> str:
        """Name a setting for an error message: the file and the dotted key."""
        return f"{self.path or CONFIG_NAME}: {key}"


def machine_timezone() -> str:
    """The machine's IANA zone name, or UTC when it cannot be told."""
    env = os.environ.get("TZ", "").lstrip(":")
    if env:
        try:
            ZoneInfo(env)
            return env
        except (ZoneInfoNotFoundError, ValueError):
            pass
    try:
        target = os.path.realpath("/etc/localtime")
        marker = "zoneinfo/"
        if marker in target:
            name = target.split(marker, 1)[1]
            ZoneInfo(name)
            return name
    except (OSError, ZoneInfoNotFoundError, ValueError):
        pass
    tzname = datetime.now().astimezone().tzname()
    return "UTC" if tzname in (None, "UTC", "GMT") else "UTC"


def find_config(
    explicit: str | os.PathLike[str] | None = None,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> Path | None:
    """``--config``, else ``$REPORTGEN_CONFIG``, else ``reportgen.toml`` in the current folder or
    the nearest parent folder that has one (like git finds its repository)."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"{path}: no such config file (check --config)")
        return path
    named = (os.environ if env is None else env).get("REPORTGEN_CONFIG")
    if named:
        path = Path(named)
        if not path.is_file():
            raise ConfigError(f"{path}: no such config file (check REPORTGEN_CONFIG)")
        return path
    here = (cwd or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        path = folder / CONFIG_NAME
        if path.is_file():
            return path
    return None


def write_example_config(where: Path, *, force: bool = False) -> Path:
    """Write :data:`EXAMPLE_CONFIG` as ``where`` (a ``.toml`` path) or into the folder ``where``."""
    target = where if where.suffix == ".toml" and not where.is_dir() else where / CONFIG_NAME
    if target.exists() and not force:
        raise ConfigError(f"{target} already exists; use --force to overwrite it")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(EXAMPLE_CONFIG, encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{target}: cannot write the config ({exc.strerror or exc})") from None
    return target


def require_config(config: Config, cwd: Path | None = None) -> Config:
    """``config`` when it came from a file or the environment names a gateway; else say how to make one."""
    if config.found:
        return config
    here = (cwd or Path.cwd()).resolve()
    raise ConfigError(
        f"no {CONFIG_NAME} in {here} or any folder above it; run `reportgen init` to write one here, "
        f"or pass --config PATH (or set REPORTGEN_CONFIG)"
    )


def load_config(
    explicit: str | os.PathLike[str] | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> Config:
    """Read the config file (if any) and apply environment overrides."""
    env = dict(os.environ if env is None else env)
    path = find_config(explicit, cwd, env)
    data: dict[str, Any] = {}
    if path is not None:
        try:
            # utf-8-sig: Notepad starts UTF-8 files with a byte-order mark TOML does not allow
            data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from None
        except RecursionError:
            raise ConfigError(f"{path}: nested too deeply to be a reportgen config") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot be read ({exc})") from None
    return parse_config(data, path, env, cwd)


def parse_config(
    data: dict[str, Any], path: Path | None, env: dict[str, str], cwd: Path | None = None
) -> Config:
    where = str(path or CONFIG_NAME)
    _reject_unknown(
        data, {"gateway", "gateways", "report", "members", "store", "projects", "signing"}, where, ""
    )
    base = (path.parent if path is not None else (cwd or Path.cwd())).resolve()
    gateway = _gateway(_table(data, "gateway", where), where, env, base, DEFAULT_SOURCE, "gateway.")
    gateways = [gateway] if ("gateway" in data or "gateways" not in data) else []
    named = _table(data, "gateways", where)
    for name, table in named.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: [gateways.{name}] must be a table")
        if not SOURCE_NAME.fullmatch(name) or name == DEFAULT_SOURCE:
            raise ConfigError(
                f"{where}: [gateways.{name}]: a source name is 1-32 lowercase letters, digits, - or _, "
                f'and not "{DEFAULT_SOURCE}" (that is the [gateway] table)'
            )
        gateways.append(_gateway(table, where, env, base, name, f"gateways.{name}."))
    if not gateways:  # pragma: no cover - an empty [gateways] table
        gateways = [gateway]
    insecure = tuple(w for w in (plain_http_warning(g.base_url) for g in gateways if g.base_url) if w)
    gateway = gateways[0]

    report = _table(data, "report", where)
    _reject_unknown(
        report,
        {"timezone", "template", "lang", "exchange_rate", "exchange_rate_source", "currencies", "rates"},
        where,
        "report.",
    )
    timezone = report.get("timezone") or machine_timezone()
    try:
        ZoneInfo(str(timezone))
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f'{where}: report.timezone {timezone!r} is not an IANA zone name (e.g. "Asia/Shanghai")'
        ) from None
    lang = report.get("lang", "zh")
    if lang not in LANGS:
        raise ConfigError(f"{where}: report.lang must be one of {', '.join(LANGS)}, not {lang!r}")
    rate = report.get("exchange_rate")
    exchange_rate = None
    if rate is not None:
        exchange_rate = _positive_rate(rate, where, "report.exchange_rate", "CNY per USD", text=True)
    source_text = report.get("exchange_rate_source")
    if source_text is not None and not isinstance(source_text, str):
        raise ConfigError(
            f"{where}: report.exchange_rate_source must be a string (where the rate comes from)"
        )
    template = report.get("template")
    if template is not None and not isinstance(template, str):
        raise ConfigError(f"{where}: report.template must be a path or a template name")

    currencies = parse_currencies(report.get("currencies"), where)
    rates = parse_rates(report.get("rates"), where)
    members = _members(_table(data, "members", where), where)
    projects = parse_projects(data.get("projects"), members, where)
    store = _table(data, "store", where)
    _reject_unknown(store, {"path"}, where, "store.")
    base_dir = (path.parent if path is not None else (cwd or Path.cwd())).resolve()
    store_path = store.get("path")
    if store_path is not None and (not isinstance(store_path, str) or not store_path.strip()):
        raise ConfigError(f'{where}: store.path must be a folder path as a string (e.g. ".reportgen")')
    store_dir = Path(env.get("REPORTGEN_STORE") or store_path or STORE_DIR_NAME)
    if not store_dir.is_absolute():
        store_dir = base_dir / store_dir  # relative to the config file, not the current folder
    signing = _table(data, "signing", where)
    _reject_unknown(signing, {"key"}, where, "signing.")
    key_text = env.get("REPORTGEN_SIGNING_KEY") or signing.get("key")
    if key_text is not None and (not isinstance(key_text, str) or not key_text.strip()):
        raise ConfigError(f'{where}: signing.key must be a path, e.g. "~/.config/reportgen/signing-key.pem"')
    signing_key = (
        default_signing_key(env) if key_text is None else _user_path(key_text.strip(), env, base_dir)
    )
    return Config(
        path=path,
        gateway=gateway,
        timezone=str(timezone),
        members=members,
        store_dir=store_dir,
        template=template,
        lang=lang,
        exchange_rate=exchange_rate,
        exchange_rate_source=source_text,
        projects=projects,
        currencies=currencies,
        signing_key=signing_key,
        rates=rates,
        raw=data,
        warnings=insecure,
        gateways=tuple(gateways),
    )


#: The name of the source ``[gateway]`` configures.
DEFAULT_SOURCE = "default"
SOURCE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")


def _gateway(
    gw: dict[str, Any], where: str, env: dict[str, str], base_dir: Path, name: str, prefix: str
) -> GatewayConfig:
    """One source's table (``[gateway]`` or ``[gateways.NAME]``) with its environment overrides.

    The ``REPORTGEN_BASE_URL`` / ``REPORTGEN_USER_ID`` overrides apply to ``[gateway]`` only;
    a named source's token comes from its ``token_env`` (default ``REPORTGEN_ACCESS_TOKEN_NAME``).
    """
    default = name == DEFAULT_SOURCE
    known = {
        "base_url", "user_id", "flavor", "requests_per_window", "window_seconds", "access_token",
        "source", "dsn", "main_dsn", "usernames", "password", "token_env", "exchange_rate",
        "exchange_rate_source",
    }  # fmt: skip
    _reject_unknown(gw, known, where, prefix)
    if "access_token" in gw:
        raise ConfigError(
            f"{where}: {prefix}access_token must not be stored in a file; "
            "remove it and set the environment variable REPORTGEN_ACCESS_TOKEN instead"
        )
    token_env = gw.get("token_env") or (
        "REPORTGEN_ACCESS_TOKEN" if default else "REPORTGEN_ACCESS_TOKEN_" + re.sub(r"\W", "_", name.upper())
    )
    if not isinstance(token_env, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", token_env):
        raise ConfigError(f"{where}: {prefix}token_env must name an environment variable, e.g. WORK_TOKEN")
    url_env = env.get("REPORTGEN_BASE_URL") if default else None
    base_url = url_env or gw.get("base_url") or ""
    if not isinstance(base_url, str):
        raise ConfigError(f'{where}: {prefix}base_url must be a URL string, e.g. "https://crazyrouter.com"')
    base_url = base_url.strip().rstrip("/")
    if base_url.endswith("/api"):
        base_url = base_url[: -len("/api")]
    problem = base_url_problem(base_url) if base_url else None
    if problem is not None:
        source = "REPORTGEN_BASE_URL" if url_env else f"{where}: {prefix}base_url"
        raise ConfigError(f"{source} {problem}")
    uid_from_env = default and "REPORTGEN_USER_ID" in env
    user_id = _user_id(
        env["REPORTGEN_USER_ID"] if uid_from_env else gw.get("user_id"), where, uid_from_env, prefix
    )
    flavor = gw.get("flavor", "auto")
    if flavor not in FLAVORS:
        raise ConfigError(f"{where}: {prefix}flavor must be one of {', '.join(FLAVORS)}, not {flavor!r}")
    rpw = _positive_int(gw.get("requests_per_window", 180), where, f"{prefix}requests_per_window")
    ws = _positive_int(gw.get("window_seconds", 180), where, f"{prefix}window_seconds")
    token_text = env.get(token_env, "").strip()
    if token_text[:7].lower() == "bearer ":  # pasted with its header scheme: the token is what follows
        token_text = token_text[7:].strip()
    if token_text.startswith("sk-"):
        raise ConfigError(
            f"{token_env} holds an sk- model key; set it to the system access token "
            "from the gateway's Settings > Security > Access token page instead"
        )
    rate = gw.get("exchange_rate")
    rate_source = gw.get("exchange_rate_source")
    if rate_source is not None and not isinstance(rate_source, str):
        raise ConfigError(
            f"{where}: {prefix}exchange_rate_source must be a string (where the rate comes from)"
        )
    return GatewayConfig(
        base_url,
        user_id,
        flavor,
        rpw,
        ws,
        Secret(token_text) if token_text else None,
        **_database(gw, where, env, base_dir, prefix),
        name=name,
        token_env=token_env,
        exchange_rate=None
        if rate is None
        else _positive_rate(rate, where, f"{prefix}exchange_rate", "CNY per USD", text=True),
        exchange_rate_source=rate_source,
    )


_LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")


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


def default_signing_key(env: Mapping[str, str]) -> Path:
    """``<user config dir>/reportgen/signing-key.pem``: outside every store and project folder."""
    if sys.platform == "win32" and env.get("APPDATA"):
        base = Path(env["APPDATA"])
    elif env.get("XDG_CONFIG_HOME"):
        base = Path(env["XDG_CONFIG_HOME"])
    else:
        base = Path(env.get("HOME") or Path.home()) / ".config"
    return base / "reportgen" / "signing-key.pem"


def _user_path(text: str, env: Mapping[str, str], base_dir: Path) -> Path:
    if text == "~" or text.startswith("~/"):
        text = str(Path(env.get("HOME") or Path.home())) + text[1:]
    path = Path(text)
    return path if path.is_absolute() else base_dir / path


def parse_currencies(table: Any, where: str) -> tuple[Conversion, ...]:
    """``[report.currencies.CODE]`` tables (rate per 1 USD, source, date) in config order."""
    if table is None:
        return ()
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: report.currencies must be tables like [report.currencies.EUR]")
    out: list[Conversion] = []
    for code, spec in table.items():
        key = f"report.currencies.{code}"
        if not (len(code) == 3 and code.isascii() and code.isalpha() and code.isupper()):
            raise ConfigError(f"{where}: {key}: the currency code must be 3 uppercase letters (e.g. EUR)")
        if code in ("USD", "CNY"):
            raise ConfigError(
                f"{where}: {key}: {code} is built in (CNY's rate is report.exchange_rate); remove this table"
            )
        if not isinstance(spec, dict):
            raise ConfigError(f"{where}: {key} must be a table with rate, source and date")
        _reject_unknown(spec, {"rate", "source", "date"}, where, f"{key}.")
        rate = _positive_rate(spec.get("rate"), where, f"{key}.rate", f"{code} per USD")
        source = spec.get("source")
        if not isinstance(source, str) or not source.strip():
            raise ConfigError(f'{where}: {key}.source is required: where the rate comes from (e.g. "ECB")')
        as_of = spec.get("date")
        if isinstance(as_of, datetime) or not isinstance(as_of, date):
            raise ConfigError(f"{where}: {key}.date is required: the rate's date as a TOML date (2026-04-30)")
        out.append(Conversion(code, rate, source.strip(), as_of))
    return tuple(out)


#: Rates above this are typos or hostile input, not currencies (the largest real ones are ~10^5).
MAX_RATE = Decimal(10) ** 9


def parse_rates(table: Any, where: str) -> tuple[DatedRate, ...]:
    """``[report.rates."2026-04"]`` tables (cny_per_usd, source, date): official rates per period."""
    if table is None:
        return ()
    if not isinstance(table, dict):
        raise ConfigError(f'{where}: report.rates must be tables like [report.rates."2026-04"]')
    out: list[DatedRate] = []
    for label, spec in table.items():
        key = f'report.rates."{label}"'
        try:
            canonical = parse_period(label, ZoneInfo("UTC")).label
        except ReportgenError:
            canonical = None
        if canonical != label:
            raise ConfigError(f"{where}: {key}: name a month (2026-04), a quarter (2026-Q2) or a year (2026)")
        if not isinstance(spec, dict):
            raise ConfigError(f"{where}: {key} must be a table with cny_per_usd, source and date")
        _reject_unknown(spec, {"cny_per_usd", "source", "date"}, where, f"{key}.")
        rate = _positive_rate(spec.get("cny_per_usd"), where, f"{key}.cny_per_usd", "CNY per USD")
        source = spec.get("source")
        if not isinstance(source, str) or not source.strip():
            raise ConfigError(
                f'{where}: {key}.source is required: where the rate comes from (e.g. "PBoC central parity")'
            )
        as_of = spec.get("date")
        if isinstance(as_of, datetime) or not isinstance(as_of, date):
            raise ConfigError(f"{where}: {key}.date is required: the rate's date as a TOML date (2026-04-30)")
        out.append(DatedRate(label, rate, source.strip(), as_of))
    return tuple(out)


def _positive_rate(value: Any, where: str, key: str, unit: str, *, text: bool = False) -> Decimal:
    """A finite rate in ``(0, MAX_RATE]``; ``text`` also accepts a numeric string."""
    if value is None:
        raise ConfigError(f"{where}: {key} is required: a positive number ({unit})")
    rate = None
    if not isinstance(value, bool) and (isinstance(value, int | float) or (text and isinstance(value, str))):
        try:
            rate = Decimal(str(value).strip())
        except InvalidOperation:
            rate = None
    if rate is None or not rate.is_finite() or rate <= 0 or rate > MAX_RATE:
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:39] + "…"
        raise ConfigError(
            f"{where}: {key} must be a positive number ({unit}; finite, at most 10^9), not {shown}"
        )
    return rate


def _table(data: dict[str, Any], name: str, where: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: [{name}] must be a table")
    return value


def _reject_unknown(table: dict[str, Any], known: set[str], where: str, prefix: str) -> None:
    for key in table:
        if key not in known:
            hint = ", ".join(sorted(known))
            raise ConfigError(f"{where}: unknown setting {prefix}{key} (known: {hint})")


def _user_id(value: Any, where: str, from_env: bool, prefix: str = "gateway.") -> int | None:
    source = "REPORTGEN_USER_ID" if from_env else f"{where}: {prefix}user_id"
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ConfigError(f"{source} must be your numeric user id")
    if isinstance(value, int):
        user_id = value
    elif isinstance(value, str) and value.strip().isdigit():
        user_id = int(value.strip())
    else:
        raise ConfigError(
            f"{source} is {value!r}, which looks like a username; it must be your numeric user id "
            "(shown as ID on the gateway's personal settings page)"
        )
    if user_id <= 0:
        raise ConfigError(f"{source} must be a positive numeric user id")
    return user_id


def _database(
    gw: dict[str, Any], where: str, env: dict[str, str], base_dir: Path, prefix: str = "gateway."
) -> dict[str, Any]:
    """``[gateway] source``, ``dsn``, ``main_dsn``, ``usernames``; the password only from the environment."""
    source = gw.get("source", "api")
    if source not in SOURCES:
        raise ConfigError(f"{where}: {prefix}source must be one of {', '.join(SOURCES)}, not {source!r}")
    if "password" in gw:
        raise ConfigError(
            f"{where}: {prefix}password must not be stored in a file; remove it and set {DB_PASSWORD_ENV}"
        )
    dsns = {}
    for key in ("dsn", "main_dsn"):
        value = gw.get(key, "")
        if not isinstance(value, str):
            raise ConfigError(f'{where}: {prefix}{key} must be a string like "postgresql://user@host/db"')
        dsns[key] = _sqlite_absolute(value.strip(), base_dir)
        if _dsn_has_password(dsns[key]):
            raise ConfigError(
                f"{where}: {prefix}{key} contains a password; remove it from the file and set {DB_PASSWORD_ENV}"
            )
    usernames = gw.get("usernames", [])
    if not isinstance(usernames, list) or not all(isinstance(u, str) and u for u in usernames):
        raise ConfigError(f'{where}: {prefix}usernames must be a list of usernames, e.g. ["acme"]')
    if source == "database" and not dsns["dsn"]:
        raise ConfigError(
            f'{where}: {prefix}source is "database" but {prefix}dsn is not set '
            '(e.g. dsn = "postgresql://reportgen@db-replica/newapi")'
        )
    password = env.get(DB_PASSWORD_ENV, "")
    return {
        "source": source,
        "dsn": dsns["dsn"],
        "main_dsn": dsns["main_dsn"],
        "usernames": tuple(usernames),
        "db_password": Secret(password) if password else None,
    }


def _sqlite_absolute(dsn: str, base_dir: Path) -> str:
    """``sqlite:///relative.db`` made absolute against the config file's folder, like the store path."""
    prefix = "sqlite:///"
    if not dsn.startswith(prefix) or dsn.startswith(prefix + "/"):
        return dsn
    return prefix + (base_dir / dsn[len(prefix) :]).as_posix()


def _dsn_has_password(dsn: str) -> bool:
    """Whether ``scheme://user:password@host`` (or ``?password=``) carries a password."""
    try:
        parts = urlsplit(dsn)
        has_password = parts.password is not None
    except ValueError:
        return False  # malformed: the database source reports it, naming the problem
    return has_password or "password" in parse_qs(parts.query)


def _positive_int(value: Any, where: str, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{where}: {key} must be a positive whole number")
    return value


def _members(table: dict[str, Any], where: str) -> dict[str, tuple[str, ...]]:
    members: dict[str, tuple[str, ...]] = {}
    seen: dict[str, str] = {}
    for name, spec in table.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("keys"), list):
            raise ConfigError(f'{where}: members."{name}" needs keys = ["key-name", ...]')
        _reject_unknown(spec, {"keys", "justification"}, where, f'members."{name}".')
        if not isinstance(spec.get("justification", ""), str):
            raise ConfigError(f'{where}: members."{name}".justification must be a string')
        keys = spec["keys"]
        if not all(isinstance(k, str) and k for k in keys):
            raise ConfigError(f'{where}: members."{name}".keys must be a list of key names')
        for key in keys:
            if key in seen:
                raise ConfigError(
                    f'{where}: key {key!r} is listed for both members "{seen[key]}" and "{name}"'
                )
            seen[key] = name
        members[name] = tuple(keys)
    return members


EXAMPLE_CONFIG = """\
# reportgen configuration. The access token is never stored here:
#   export REPORTGEN_ACCESS_TOKEN=...   (gateway: Settings > Security > system access token,
#                                        not an sk- model key)

[gateway]
base_url = "https://crazyrouter.com"   # env REPORTGEN_BASE_URL overrides
user_id = 485                          # your numeric user id; env REPORTGEN_USER_ID overrides
# flavor = "auto"                      # auto | new-api | crazyrouter | one-api
# requests_per_window = 180            # the gateway's rate limit (one-api: 480)
# window_seconds = 180

[report]
timezone = "Asia/Shanghai"             # IANA name; default: the machine's zone
# lang = "zh"                          # zh | en: wording of the documents
# template = "invoice"                  # a shipped template name or a path to a .toml
# exchange_rate = 7.20                 # CNY per USD; default: the gateway's usd_exchange_rate
# exchange_rate_source = "Bank of China mid rate 2026-04-30"

# Official rates per period (a month, quarter or year): a statement of April uses April's
# rate, not the gateway's rate on the day of the sync, and says which rate applied.
# [report.rates."2026-04"]
# cny_per_usd = 7.1053
# source = "PBoC central parity of the month's last business day"
# date = 2026-04-30

# Further currencies: units per 1 USD, where the rate comes from and its date.
# [report.currencies.EUR]
# rate = 0.92
# source = "ECB reference rate"
# date = 2026-04-30

# [store]
# path = ".reportgen"                  # where synced logs are kept (next to this file)

# [signing]
# key = "~/.config/reportgen/signing-key.pem"   # packets are signed with it (`reportgen keys init`);
#                                                # env REPORTGEN_SIGNING_KEY overrides

# Members: which API keys belong to whom. Keys not listed are members named after the key.
[members."张三"]
keys = ["key-zhangsan", "key-zhangsan-batch"]

[members."Alice Smith"]
keys = ["key-alice"]
"""
