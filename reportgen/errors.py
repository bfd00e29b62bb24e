"""Every error reportgen raises on purpose; the CLI turns them into one-line messages."""

from __future__ import annotations


class ReportgenError(Exception):
    """Base class: a problem the user can fix, reported as one line without a traceback."""

    exit_code = 1


class ConfigError(ReportgenError):
    """The configuration file or environment is missing, malformed or inconsistent."""

    exit_code = 2


class UsageError(ReportgenError):
    """A command-line argument is invalid (a bad period, an unknown format, ...)."""

    exit_code = 2


class GatewayError(ReportgenError):
    """The gateway refused a request or kept failing after bounded retries."""

    exit_code = 3


class AuthError(GatewayError):
    """The gateway rejected the credentials (access token or user id)."""


class GatewayUnreachableError(GatewayError):
    """The gateway cannot be reached in a way retrying will not heal (DNS, TLS)."""


class GatewayProtocolError(GatewayError):
    """The gateway broke the API contract: a foreign redirect, endless paging, an oversized
    or non-gateway body.  Nothing from the request is stored; its window stays incomplete."""


class GatewayDataError(GatewayProtocolError):
    """A row carries a value that cannot be true (quota out of range, fractional, negative)."""


class StoreError(ReportgenError):
    """The local store is unusable, locked by another sync, or has no data for a request."""

    exit_code = 4


class SyncLockedError(StoreError):
    """Another sync holds the store's lock."""


class PluginError(ReportgenError):
    """A plugin is broken: it failed to import, misspelt a hook, or clashes with another."""

    exit_code = 5


class ExportError(ReportgenError):
    """An exporter could not write its document."""

    exit_code = 6


class ReconcileError(ReportgenError):
    """``reconcile`` found a difference from the gateway that no known cause explains."""

    exit_code = 9


class QualityError(ReportgenError):
    """``--strict`` and the data-quality check found something: nothing was written."""

    exit_code = 7


class PacketError(ReportgenError):
    """A reimbursement packet cannot be read (not a zip, no manifest) or differs on verify."""

    exit_code = 8


class BridgeError(ReportgenError):
    """``bridge --strict``: the wallet bridge does not close (an end or the residual not known,
    or a residual nothing recorded explains)."""

    exit_code = 12


class CoverageError(ReportgenError):
    """A document was asked of a period the store does not wholly hold."""

    exit_code = 10


class DatabaseSourceError(GatewayError):
    """The gateway's log database could not be read: connection, rights, or schema."""


class DeliveryError(ReportgenError):
    """An alert or packet could not be delivered after its retries (it is not marked delivered)."""

    exit_code = 13
