"""The example ``reportgen.toml`` that ``reportgen init`` writes."""

from __future__ import annotations

from pathlib import Path

from ..errors import ConfigError
from .model import CONFIG_NAME


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


EXAMPLE_CONFIG = """\
# reportgen configuration. The access token is never stored here:
#   export REPORTGEN_ACCESS_TOKEN=...   (gateway: Settings > Security > system access token,
#                                        not an sk- model key)

[gateway]
base_url = "https://crazyrouter.com"   # env REPORTGEN_BASE_URL overrides
user_id = 485                          # your numeric user id; env REPORTGEN_USER_ID overrides
# flavor = "auto"                      # auto | new-api | crazyrouter | one-api (or a plugin's)
# requests_per_window = 180            # the gateway's rate limit (default: the flavour's; one-api: 480)
# window_seconds = 180

[report]
timezone = "Asia/Shanghai"             # IANA name; default: the machine's zone
# lang = "zh"                          # zh | en: wording of the documents
# template = "invoice"                  # a shipped template name or a path to a .toml
# exchange_rate = 7.20                 # CNY per USD; default: the gateway's usd_exchange_rate
# exchange_rate_source = "Bank of China mid rate 2026-04-30"
# exchange_rate_date = 2026-04-30      # the rate's own date, printed with it
# claim_base = "wallet"                # a claim is for the wallet-paid spend ("all": every net amount)

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
# dsn = "postgresql://reportgen_sync@db.internal/reportgen"  # or: one PostgreSQL store for the team
#                                      # (its password only from REPORTGEN_STORE_PASSWORD)

# [sync]
# lookback_days = 3                    # `sync` without a period reads these last days again (late rows)
# closed_horizon_days = 35             # ...and every closed period that ended this recently

# [signing]
# key = "~/.config/reportgen/signing-key.pem"   # packets are signed with it (`reportgen keys init`);
#                                                # env REPORTGEN_SIGNING_KEY overrides
# x509 = "~/.config/reportgen/signing-x509.pem" # PDFs are signed as PAdES with it (`keys init --x509`);
#                                                # env REPORTGEN_SIGNING_X509 overrides
# tsa_url = "http://timestamp.example.com/tsr"  # an RFC 3161 time-stamp authority: PAdES B-T

# Members: which API keys belong to whom. Keys not listed are members named after the key.
[members."张三"]
keys = ["key-zhangsan", "key-zhangsan-batch"]

[members."Alice Smith"]
keys = ["key-alice"]
"""
