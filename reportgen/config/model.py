"""The frozen configuration: :class:`Config`, one :class:`GatewayConfig` per source (:class:`Secret` from .secret)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ..core.periods import Period, parse_period
from ..core.projects import Project
from ..core.rates import Conversion, DatedRate, Exchange
from ..core.records import GatewayStatus
from ..core.split import DEFAULT_CLAIM_BASE
from ..core.storeserver import StoreServer
from ..errors import ConfigError
from .alerts import AlertRule, Channel, PacketRecipients
from .claims import ClaimConfig, ConfiguredInvoice
from .secret import Secret

CONFIG_NAME = "reportgen.toml"
STORE_DIR_NAME = ".reportgen"
#: Where the password of a PostgreSQL store (``[store] dsn``) comes from: never the file.
STORE_PASSWORD_ENV = "REPORTGEN_STORE_PASSWORD"


@dataclass(frozen=True)
class GatewayConfig:
    base_url: str = ""
    user_id: int | None = None
    #: ``auto``, or the name of a registered flavour (``reportgen.flavors``, which checks it).
    flavor: str = "auto"
    #: The gateway's rate limit; None: the flavour's (``reportgen.flavors.rate_limit``).
    requests_per_window: int | None = None
    window_seconds: int | None = None
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
    #: Days the gateway's ClickHouse log table keeps rows (new-api's LOG_SQL_CLICKHOUSE_TTL_DAYS),
    #: for a server whose table definition cannot say it (18.16 has no TTL clause); None: the
    #: table definition's TTL, if any.
    log_ttl_days: int | None = None


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
    #: The date ``exchange_rate`` was quoted on (``[report] exchange_rate_date``); None: not given.
    exchange_rate_date: date | None = None
    #: What a claim is for: ``wallet`` (net wallet-paid spend) or ``all`` (``[report] claim_base``).
    claim_base: str = DEFAULT_CLAIM_BASE
    projects: tuple[Project, ...] = ()
    currencies: tuple[Conversion, ...] = ()
    #: The Ed25519 private key that signs packets (outside the store; see ``reportgen keys init``).
    signing_key: Path = Path("signing-key.pem")
    #: The X.509 certificate and key that sign PDFs as PAdES (``reportgen keys init --x509``);
    #: statements are PAdES-signed when it exists.
    signing_x509: Path = Path("signing-x509.pem")
    #: An RFC 3161 time-stamp authority (``[signing] tsa_url``): PAdES B-T instead of B-B.
    tsa_url: str | None = None
    rates: tuple[DatedRate, ...] = ()
    #: ``[store] dsn``: the store is this PostgreSQL database instead of the folder (which then
    #: keeps only what stays per machine, such as the rate-limit budget).
    store_server: StoreServer | None = None
    #: The ``justification`` of each ``[members."NAME"]`` that has one (grant documents show it).
    member_notes: dict[str, str] = field(default_factory=dict)
    #: The ``[projects]`` table as written (TOML values): a close keeps it, so that the closed
    #: period's projects read as they were configured then.
    projects_table: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    #: One-line notices for the user (e.g. the token would travel over plain http), each once.
    warnings: tuple[str, ...] = ()
    #: Every configured source: ``[gateway]`` (named ``default``) and each ``[gateways.NAME]``.
    gateways: tuple[GatewayConfig, ...] = ()
    #: The sources a command works on (``--source``); None: every configured source.
    only: tuple[str, ...] | None = None
    #: ``[sync]``: a sync without a period reads again the days before the newest synced window,
    #: and every closed period that ended within the horizon, for rows the gateway logged late.
    lookback_days: int = 3
    closed_horizon_days: int = 35
    #: ``[claim]``: who claims and how it is paid, team-wide, per member and per project.
    claim: ClaimConfig = field(default_factory=ClaimConfig)
    #: ``[[attachments.invoices]]``: the invoices (发票) the claims of a period hold.
    invoices: tuple[ConfiguredInvoice, ...] = ()
    #: ``[alerts.NAME]``: what ``reportgen watch`` checks, and whom it tells.
    alerts: tuple[AlertRule, ...] = ()
    #: ``[delivery.NAME]``: the channels alerts and ``month-end --deliver`` send through.
    channels: tuple[Channel, ...] = ()
    #: ``[recipients]``: who ``month-end --deliver`` sends each packet to.
    recipients: PacketRecipients = field(default_factory=PacketRecipients)

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
    def store(self) -> Path | StoreServer:
        """Where the store is: the PostgreSQL database of ``[store] dsn``, else the folder."""
        return self.store_server if self.store_server is not None else self.store_dir

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
            as_of: datetime | None = None  # the rate's own date, when the config gives it; never the file's
            if self.exchange_rate_date is not None:
                day = self.exchange_rate_date
                as_of = datetime(day.year, day.month, day.day, tzinfo=tz)
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
                out[name] = Exchange(gw.exchange_rate, where)  # its date is not configured: never the file's
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
