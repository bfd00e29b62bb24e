"""``reportgen.toml`` and the environment, read into a frozen :class:`Config`."""

from __future__ import annotations

import os
import sys
import tomllib
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..core.split import CLAIM_BASES, DEFAULT_CLAIM_BASE
from ..core.storeserver import StoreServer
from ..errors import ConfigError
from ..templating import LANGS, read_toml_text
from .alerts import parse_alerts, parse_delivery, parse_recipients
from .claims import parse_attachments, parse_claim
from .gateways import parse_gateways
from .members import parse_members
from .model import CONFIG_NAME, STORE_DIR_NAME, STORE_PASSWORD_ENV, Config
from .projects import member_notes, parse_projects
from .rates import parse_currencies, parse_rates
from .safety import dsn_has_password, plain_http_warning
from .values import positive_rate, reject_unknown, table_at, whole_days


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
            data = tomllib.loads(read_toml_text(path))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from None
        except RecursionError:
            raise ConfigError(f"{path}: nested too deeply to be a reportgen config") from None
    return parse_config(data, path, env, cwd)


def parse_config(
    data: dict[str, Any], path: Path | None, env: dict[str, str], cwd: Path | None = None
) -> Config:
    where = str(path or CONFIG_NAME)
    reject_unknown(
        data,
        {
            "gateway",
            "gateways",
            "report",
            "members",
            "store",
            "projects",
            "signing",
            "sync",
            "claim",
            "attachments",
            "alerts",
            "delivery",
            "recipients",
        },
        where,
        "",
    )
    base = (path.parent if path is not None else (cwd or Path.cwd())).resolve()
    gateways = parse_gateways(data, where, env, base)
    insecure = tuple(w for w in (plain_http_warning(g.base_url) for g in gateways if g.base_url) if w)
    gateway = gateways[0]

    report = table_at(data, "report", where)
    reject_unknown(
        report,
        {
            "timezone",
            "template",
            "lang",
            "exchange_rate",
            "exchange_rate_source",
            "exchange_rate_date",
            "claim_base",
            "currencies",
            "rates",
        },
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
        exchange_rate = positive_rate(rate, where, "report.exchange_rate", "CNY per USD", text=True)
    source_text = report.get("exchange_rate_source")
    if source_text is not None and not isinstance(source_text, str):
        raise ConfigError(
            f"{where}: report.exchange_rate_source must be a string (where the rate comes from)"
        )
    rate_date = report.get("exchange_rate_date")
    if rate_date is not None and (isinstance(rate_date, datetime) or not isinstance(rate_date, date)):
        raise ConfigError(
            f"{where}: report.exchange_rate_date must be the rate's date as a TOML date (2026-04-30)"
        )
    claim_base = report.get("claim_base", DEFAULT_CLAIM_BASE)
    if claim_base not in CLAIM_BASES:
        raise ConfigError(
            f"{where}: report.claim_base must be one of {', '.join(map(repr, CLAIM_BASES))} "
            f"(what a claim is for: wallet-paid spend, or all of it), not {claim_base!r}"
        )
    template = report.get("template")
    if template is not None and not isinstance(template, str):
        raise ConfigError(f"{where}: report.template must be a path or a template name")

    currencies = parse_currencies(report.get("currencies"), where)
    rates = parse_rates(report.get("rates"), where)
    members = parse_members(table_at(data, "members", where), where)
    projects = parse_projects(data.get("projects"), members, where)
    store = table_at(data, "store", where)
    reject_unknown(store, {"path", "dsn"}, where, "store.")
    store_server = _store_server(store, where, env)
    base_dir = (path.parent if path is not None else (cwd or Path.cwd())).resolve()
    store_path = store.get("path")
    if store_path is not None and (not isinstance(store_path, str) or not store_path.strip()):
        raise ConfigError(f'{where}: store.path must be a folder path as a string (e.g. ".reportgen")')
    store_dir = Path(env.get("REPORTGEN_STORE") or store_path or STORE_DIR_NAME)
    if not store_dir.is_absolute():
        store_dir = base_dir / store_dir  # relative to the config file, not the current folder
    signing = table_at(data, "signing", where)
    reject_unknown(signing, {"key", "x509", "tsa_url"}, where, "signing.")
    key_text = env.get("REPORTGEN_SIGNING_KEY") or signing.get("key")
    if key_text is not None and (not isinstance(key_text, str) or not key_text.strip()):
        raise ConfigError(f'{where}: signing.key must be a path, e.g. "~/.config/reportgen/signing-key.pem"')
    signing_key = (
        default_signing_key(env) if key_text is None else _user_path(key_text.strip(), env, base_dir)
    )
    if signing_key.resolve().is_relative_to(store_dir.resolve()):  # the store travels with its data
        raise ConfigError(
            f"{where}: signing.key {signing_key} lies inside the store {store_dir}: keep the private key "
            'outside every store (e.g. "~/.config/reportgen/signing-key.pem", the default)'
        )
    x509_text = env.get("REPORTGEN_SIGNING_X509") or signing.get("x509")
    if x509_text is not None and (not isinstance(x509_text, str) or not x509_text.strip()):
        raise ConfigError(
            f'{where}: signing.x509 must be a path, e.g. "~/.config/reportgen/signing-x509.pem"'
        )
    signing_x509 = (
        default_signing_x509(env) if x509_text is None else _user_path(x509_text.strip(), env, base_dir)
    )
    if signing_x509.resolve().is_relative_to(store_dir.resolve()):
        raise ConfigError(
            f"{where}: signing.x509 {signing_x509} lies inside the store {store_dir}: keep the private key "
            'outside every store (e.g. "~/.config/reportgen/signing-x509.pem", the default)'
        )
    tsa_url = signing.get("tsa_url")
    if tsa_url is not None and (
        not isinstance(tsa_url, str) or not tsa_url.startswith(("http://", "https://"))
    ):
        raise ConfigError(
            f"{where}: signing.tsa_url must be an http(s) URL of an RFC 3161 time-stamp authority"
        )
    sync = table_at(data, "sync", where)
    reject_unknown(sync, {"lookback_days", "closed_horizon_days"}, where, "sync.")
    lookback_days, horizon_days = (
        whole_days(sync.get(key, default), where, f"sync.{key}")
        for key, default in (("lookback_days", 3), ("closed_horizon_days", 35))
    )
    channels = parse_delivery(data.get("delivery"), env, where)
    project_names = tuple(p.name for p in projects)
    alerts = parse_alerts(data.get("alerts"), channels, project_names, where)
    recipients = parse_recipients(data.get("recipients"), channels, project_names, where)
    return Config(
        path=path,
        gateway=gateway,
        timezone=str(timezone),
        members=members,
        store_dir=store_dir,
        store_server=store_server,
        template=template,
        lang=lang,
        exchange_rate=exchange_rate,
        exchange_rate_source=source_text,
        exchange_rate_date=rate_date,
        claim_base=claim_base,
        projects=projects,
        currencies=currencies,
        signing_key=signing_key,
        signing_x509=signing_x509,
        tsa_url=tsa_url,
        rates=rates,
        member_notes=member_notes(data.get("members")),
        projects_table=data.get("projects"),
        warnings=insecure,
        gateways=tuple(gateways),
        lookback_days=lookback_days,
        closed_horizon_days=horizon_days,
        claim=parse_claim(data, where),
        invoices=parse_attachments(data, where, base_dir),
        alerts=alerts,
        channels=channels,
        recipients=recipients,
    )


def user_config_dir(env: Mapping[str, str]) -> Path:
    """``<user config dir>/reportgen``: the user's own keys, outside every store and project folder."""
    if sys.platform == "win32" and env.get("APPDATA"):
        base = Path(env["APPDATA"])
    elif env.get("XDG_CONFIG_HOME"):
        base = Path(env["XDG_CONFIG_HOME"])
    else:
        base = Path(env.get("HOME") or Path.home()) / ".config"
    return base / "reportgen"


def default_signing_key(env: Mapping[str, str]) -> Path:
    """``<user config dir>/reportgen/signing-key.pem``: outside every store and project folder."""
    return user_config_dir(env) / "signing-key.pem"


def default_signing_x509(env: Mapping[str, str]) -> Path:
    """``<user config dir>/reportgen/signing-x509.pem``: the certificate and key that sign PDFs (PAdES)."""
    return user_config_dir(env) / "signing-x509.pem"


def _user_path(text: str, env: Mapping[str, str], base_dir: Path) -> Path:
    if text == "~" or text.startswith("~/"):
        text = str(Path(env.get("HOME") or Path.home())) + text[1:]
    path = Path(text)
    return path if path.is_absolute() else base_dir / path


def _store_server(store: dict[str, Any], where: str, env: Mapping[str, str]) -> StoreServer | None:
    """``[store] dsn`` (a PostgreSQL store); its password only from the environment."""
    dsn = store.get("dsn")
    if dsn is None:
        return None
    if not isinstance(dsn, str) or not dsn.strip().lower().startswith(("postgresql://", "postgres://")):
        raise ConfigError(
            f'{where}: store.dsn must be a PostgreSQL URL such as "postgresql://reportgen@db/reportgen"'
        )
    if dsn_has_password(dsn):
        raise ConfigError(
            f"{where}: store.dsn contains a password; remove it from the file and set {STORE_PASSWORD_ENV}"
        )
    if "path" in store:
        raise ConfigError(f"{where}: [store] takes path (a folder) or dsn (a PostgreSQL store), not both")
    password = env.get(STORE_PASSWORD_ENV, "")
    return StoreServer(dsn.strip(), password or None)
