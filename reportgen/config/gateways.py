"""The sources: ``[gateway]`` (named ``default``) and each ``[gateways.NAME]``, with their environment."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .model import GatewayConfig, Secret
from .safety import base_url_problem, dsn_has_password
from .values import positive_int, positive_rate, reject_unknown, table_at

SOURCES = ("api", "database")
DB_PASSWORD_ENV = "REPORTGEN_DB_PASSWORD"

#: The name of the source ``[gateway]`` configures.
DEFAULT_SOURCE = "default"
SOURCE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")


def parse_gateways(data: dict[str, Any], where: str, env: dict[str, str], base: Path) -> list[GatewayConfig]:
    """Every configured source, ``[gateway]`` first when it is given (or nothing else is)."""
    gateway = parse_gateway(table_at(data, "gateway", where), where, env, base, DEFAULT_SOURCE, "gateway.")
    gateways = [gateway] if ("gateway" in data or "gateways" not in data) else []
    named = table_at(data, "gateways", where)
    for name, table in named.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: [gateways.{name}] must be a table")
        if not SOURCE_NAME.fullmatch(name) or name == DEFAULT_SOURCE:
            raise ConfigError(
                f"{where}: [gateways.{name}]: a source name is 1-32 lowercase letters, digits, - or _, "
                f'and not "{DEFAULT_SOURCE}" (that is the [gateway] table)'
            )
        gateways.append(parse_gateway(table, where, env, base, name, f"gateways.{name}."))
    if not gateways:  # pragma: no cover - an empty [gateways] table
        gateways = [gateway]
    return gateways


def parse_gateway(
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
        "exchange_rate_source", "log_ttl_days",
    }  # fmt: skip
    reject_unknown(gw, known, where, prefix)
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
    if not isinstance(flavor, str) or not flavor.strip():
        raise ConfigError(f'{where}: {prefix}flavor must be "auto" or a flavour\'s name')
    rpw, ws = (
        None if gw.get(key) is None else positive_int(gw[key], where, f"{prefix}{key}")
        for key in ("requests_per_window", "window_seconds")
    )
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
        else positive_rate(rate, where, f"{prefix}exchange_rate", "CNY per USD", text=True),
        exchange_rate_source=rate_source,
    )


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
        if dsn_has_password(dsns[key]):
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
    ttl = gw.get("log_ttl_days")
    if ttl is not None and (type(ttl) is not int or ttl < 1):
        raise ConfigError(
            f"{where}: {prefix}log_ttl_days must be a whole number of days (new-api's LOG_SQL_CLICKHOUSE_TTL_DAYS)"
        )
    password = env.get(DB_PASSWORD_ENV, "")
    return {
        "log_ttl_days": ttl,
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
