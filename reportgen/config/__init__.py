"""``reportgen.toml`` and the environment, read into a frozen :class:`Config`.

``model`` holds the frozen dataclasses; ``load`` finds and reads the file; ``gateways`` the
sources (``[gateway]``, ``[gateways.NAME]``); ``rates`` the dated rates and currencies;
``members`` who owns which key; ``safety`` the URL / DSN checks; ``values`` the checks on
single values every table shares; ``example`` the file ``reportgen init`` writes.
"""

from __future__ import annotations

from ..core.storeserver import StoreServer
from .alerts import ALERT_KINDS, CHANNEL_TYPES, AlertRule, Channel, PacketRecipients
from .example import EXAMPLE_CONFIG, write_example_config
from .gateways import DB_PASSWORD_ENV, DEFAULT_SOURCE, SOURCE_NAME, SOURCES
from .load import (
    LANGS,
    default_signing_key,
    default_signing_x509,
    find_config,
    load_config,
    machine_timezone,
    parse_config,
    require_config,
    user_config_dir,
)
from .model import CONFIG_NAME, STORE_DIR_NAME, STORE_PASSWORD_ENV, Config, GatewayConfig, Secret
from .projects import parse_projects
from .rates import parse_currencies, parse_rates
from .safety import base_url_problem, plain_http_warning
from .values import MAX_RATE

__all__ = [
    "ALERT_KINDS",
    "CHANNEL_TYPES",
    "AlertRule",
    "Channel",
    "PacketRecipients",
    "CONFIG_NAME",
    "DB_PASSWORD_ENV",
    "DEFAULT_SOURCE",
    "EXAMPLE_CONFIG",
    "LANGS",
    "MAX_RATE",
    "SOURCES",
    "SOURCE_NAME",
    "STORE_DIR_NAME",
    "STORE_PASSWORD_ENV",
    "Config",
    "GatewayConfig",
    "Secret",
    "StoreServer",
    "base_url_problem",
    "default_signing_key",
    "default_signing_x509",
    "find_config",
    "load_config",
    "machine_timezone",
    "parse_config",
    "parse_currencies",
    "parse_projects",
    "parse_rates",
    "plain_http_warning",
    "require_config",
    "write_example_config",
    "user_config_dir",
]
