"""``[alerts.NAME]`` rules and ``[delivery.NAME]`` channels, read into frozen :class:`AlertRule` s
and :class:`Channel` s.  Secrets (SMTP passwords, webhook URLs holding a token, signing secrets)
come only from the environment variables a channel names, and are held as :class:`Secret`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..errors import ConfigError
from .secret import Secret
from .values import positive_int, positive_rate, reject_unknown

#: What a rule watches, and the settings each kind takes beside ``kind`` and ``to``.
ALERT_KINDS: dict[str, set[str]] = {
    "budget": {"thresholds", "projects"},  # a project's budget share crossing each threshold (percent)
    "runout": {"projects"},  # the forecast run-out date falls before the project's end
    "spike": {"by", "factor", "window_days", "min_usd"},  # a day's spend > factor x trailing median
    "key_first_use": set(),  # a key used for the first time
    "key_idle": {"days"},  # a key that was used, then not for N days
    "wallet": {"below_usd", "days_left"},  # balance below an amount, or fewer than N days of spend left
    "sync": {"hours"},  # the last sync failed, or none succeeded for N hours
}
SPIKE_BY = ("member", "key", "model")
#: Channel types: email through apprise, chat and webhook messages signed as each service documents.
CHANNEL_TYPES = ("email", "dingtalk", "feishu", "lark", "wecom", "slack", "webhook")
SECURITY = ("starttls", "ssl", "none")
_EMAIL_KEYS = {
    "type",
    "host",
    "port",
    "security",
    "user",
    "password_env",
    "from",
    "max_attachment_mb",
    "link_base",
}
_CHAT_KEYS = {"type", "url_env", "secret_env", "lang"}


@dataclass(frozen=True)
class AlertRule:
    """One ``[alerts.NAME]``: what to watch and whom to tell (``to``: channel names, ``CHANNEL:address``)."""

    name: str
    kind: str
    to: tuple[str, ...]
    thresholds: tuple[Decimal, ...] = (Decimal(50), Decimal(80), Decimal(100))
    projects: tuple[str, ...] = ()  # empty: every configured project
    by: str = "member"
    factor: Decimal = Decimal(3)
    window_days: int = 14
    min_usd: Decimal = Decimal(1)
    days: int = 7
    below_usd: Decimal | None = None
    days_left: int | None = None
    hours: int = 6


@dataclass(frozen=True)
class Channel:
    """One ``[delivery.NAME]``: an SMTP account or a chat/webhook endpoint.  Secrets from the environment."""

    name: str
    type: str
    host: str = ""
    port: int = 0
    security: str = "starttls"
    user: str = ""
    sender: str = ""
    password: Secret | None = field(default=None, repr=False, compare=False)
    url: Secret | None = field(default=None, repr=False, compare=False)
    secret: Secret | None = field(default=None, repr=False, compare=False)
    max_attachment_bytes: int = 10 * 1024 * 1024
    link_base: str = ""
    lang: str | None = None


@dataclass(frozen=True)
class PacketRecipients:
    """``[recipients]``: who receives month-end's packets (``month-end --deliver``), as alerts' ``to``."""

    team: tuple[str, ...] = ()
    members: dict[str, tuple[str, ...]] = field(default_factory=dict)
    projects: dict[str, tuple[str, ...]] = field(default_factory=dict)


def parse_recipients(
    data: Any, channels: tuple[Channel, ...], projects: tuple[str, ...], where: str
) -> PacketRecipients:
    if data is None:
        return PacketRecipients()
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: [recipients] must be a table (team, members, projects)")
    reject_unknown(data, {"team", "members", "projects"}, where, "recipients.")
    team = check_recipients(data["team"], channels, where, "recipients.team") if "team" in data else ()
    out: dict[str, dict[str, tuple[str, ...]]] = {}
    for part in ("members", "projects"):
        table = data.get(part, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: [recipients.{part}] must map each name to its recipients")
        for name in table:
            if part == "projects" and name not in projects:
                raise ConfigError(f"{where}: recipients.projects.{name}: no such project in [projects]")
        out[part] = {
            name: check_recipients(to, channels, where, f"recipients.{part}.{name}")
            for name, to in table.items()
        }
    return PacketRecipients(team, out["members"], out["projects"])


def parse_delivery(data: Any, env: Mapping[str, str], where: str) -> tuple[Channel, ...]:
    if data is None:
        return ()
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: [delivery] must hold one table per channel ([delivery.NAME])")
    return tuple(_channel(name, table, env, where) for name, table in data.items())


def parse_alerts(
    data: Any, channels: tuple[Channel, ...], projects: tuple[str, ...], where: str
) -> tuple[AlertRule, ...]:
    if data is None:
        return ()
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: [alerts] must hold one table per rule ([alerts.NAME])")
    return tuple(_rule(name, table, channels, projects, where) for name, table in data.items())


def check_recipients(to: Any, channels: tuple[Channel, ...], where: str, key: str) -> tuple[str, ...]:
    """``to``: a list of channel names (chat, webhook) and ``CHANNEL:address`` (email), each known."""
    if not isinstance(to, list) or not to or not all(isinstance(t, str) and t.strip() for t in to):
        raise ConfigError(f'{where}: {key} must list recipients, e.g. ["team-chat", "mail:lead@example.com"]')
    kinds = {c.name: c.type for c in channels}
    for entry in to:
        name, _, address = entry.partition(":")
        if name not in kinds:
            known = ", ".join(sorted(kinds)) or "none configured"
            raise ConfigError(f"{where}: {key}: no [delivery.{name}] (channels: {known})")
        if kinds[name] == "email" and "@" not in address:
            raise ConfigError(
                f'{where}: {key}: email channel {name} needs an address: "{name}:who@example.com"'
            )
        if kinds[name] != "email" and address:
            raise ConfigError(f"{where}: {key}: {name} is a {kinds[name]} channel and takes no address")
    return tuple(t.strip() for t in to)


def _rule(
    name: str, table: Any, channels: tuple[Channel, ...], projects: tuple[str, ...], where: str
) -> AlertRule:
    at = f"alerts.{name}"
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [{at}] must be a table")
    kind = table.get("kind")
    if kind not in ALERT_KINDS:
        raise ConfigError(f"{where}: {at}.kind must be one of {', '.join(ALERT_KINDS)}, not {kind!r}")
    reject_unknown(table, {"kind", "to", *ALERT_KINDS[kind]}, where, f"{at}.")
    to = check_recipients(table.get("to"), channels, where, f"{at}.to")
    out: dict[str, Any] = {}
    if "thresholds" in table:
        values = table["thresholds"]
        if not isinstance(values, list) or not values:
            raise ConfigError(f"{where}: {at}.thresholds must list percents, e.g. [50, 80, 100]")
        out["thresholds"] = tuple(
            sorted({positive_rate(v, where, f"{at}.thresholds", "percent") for v in values})
        )
    if "projects" in table:
        names = table["projects"]
        if not isinstance(names, list) or any(n not in projects for n in names):
            raise ConfigError(f"{where}: {at}.projects must name configured projects ({', '.join(projects)})")
        out["projects"] = tuple(names)
    if "by" in table:
        if table["by"] not in SPIKE_BY:
            raise ConfigError(f"{where}: {at}.by must be one of {', '.join(SPIKE_BY)}")
        out["by"] = table["by"]
    if "factor" in table:
        out["factor"] = positive_rate(table["factor"], where, f"{at}.factor", "times the trailing median")
    for key in ("min_usd", "below_usd"):
        if key in table:
            out[key] = positive_rate(table[key], where, f"{at}.{key}", "USD", text=True)
    for key in ("window_days", "days", "days_left", "hours"):
        if key in table:
            out[key] = positive_int(table[key], where, f"{at}.{key}")
    if kind == "wallet" and "below_usd" not in out and "days_left" not in out:
        raise ConfigError(f"{where}: {at} needs below_usd (an amount) or days_left (days of spend)")
    return AlertRule(name=name, kind=kind, to=to, **out)


def _channel(name: str, table: Any, env: Mapping[str, str], where: str) -> Channel:
    at = f"delivery.{name}"
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [{at}] must be a table")
    kind = table.get("type")
    if kind not in CHANNEL_TYPES:
        raise ConfigError(f"{where}: {at}.type must be one of {', '.join(CHANNEL_TYPES)}, not {kind!r}")
    if kind == "email":
        reject_unknown(table, _EMAIL_KEYS, where, f"{at}.")
        host, sender = table.get("host"), table.get("from")
        if not isinstance(host, str) or not host or not isinstance(sender, str) or "@" not in sender:
            raise ConfigError(f"{where}: {at} needs host (the SMTP server) and from (the sender's address)")
        security = table.get("security", "starttls")
        if security not in SECURITY:
            raise ConfigError(f"{where}: {at}.security must be one of {', '.join(SECURITY)}")
        port = table.get("port", 465 if security == "ssl" else 587)
        size = positive_rate(table.get("max_attachment_mb", 10), where, f"{at}.max_attachment_mb", "MB")
        return Channel(
            name=name,
            type=kind,
            host=host,
            port=positive_int(port, where, f"{at}.port"),
            security=security,
            user=str(table.get("user", "")),
            sender=sender,
            password=_secret(table, "password_env", env, where, at, required=bool(table.get("user"))),
            max_attachment_bytes=int(size * 1024 * 1024),
            link_base=str(table.get("link_base", "")),
        )
    reject_unknown(table, _CHAT_KEYS, where, f"{at}.")
    url = _secret(table, "url_env", env, where, at, required=True)
    if url is not None and not url.reveal().startswith(("https://", "http://")):
        raise ConfigError(f"{where}: {at}: the URL in ${table['url_env']} must start with https://")
    lang = table.get("lang")
    if lang is not None and lang not in ("zh", "en"):
        raise ConfigError(f"{where}: {at}.lang must be zh or en")
    return Channel(
        name=name,
        type=kind,
        url=url,
        secret=_secret(table, "secret_env", env, where, at, required=False),
        lang=lang,
    )


def _secret(
    table: dict[str, Any], key: str, env: Mapping[str, str], where: str, at: str, *, required: bool
) -> Secret | None:
    """The value of the environment variable ``table[key]`` names: never the value written in the file."""
    var = table.get(key)
    if var is None:
        if required:
            raise ConfigError(f"{where}: {at}.{key} must name the environment variable that holds it")
        return None
    if not isinstance(var, str) or not var.replace("_", "").isalnum():
        raise ConfigError(
            f"{where}: {at}.{key} must be an environment variable's name, not the secret itself"
        )
    value = env.get(var, "")
    return Secret(value) if value else None
