"""The options commands share, and what they resolve to: the configuration (``--config``,
``--source``), a period (``--period`` or ``--from``/``--to``), the document options."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypedDict

import click

from ..config import CONFIG_NAME, Config, load_config, require_config
from ..core.periods import resolve_period
from ..errors import UsageError
from .group import notify

#: What each line of ``summary --by`` can be.
BY_CHOICES = ("member", "model", "day", "key")
CONFIG_HELP = f"Config file (default: $REPORTGEN_CONFIG, or {CONFIG_NAME} here or in a folder above)."


class DocumentOptions(TypedDict):
    """What ``document_options`` hands a command: keywords ``write_report`` and ``write_packet`` both take."""

    out_dir: Path
    member: str | None
    lang: str | None
    template: str | None
    strict: bool
    allow_partial: bool
    notify: Callable[[str], None]


def config_of(ctx: click.Context) -> Config:
    """The configuration the command runs with: loaded once, narrowed to ``--source``."""
    obj = ctx.ensure_object(dict)
    if "config" not in obj:
        obj["config"] = require_config(load_config(obj.get("config_path"))).with_source(obj.get("source"))
    config: Config = obj["config"]
    return config


def network_config(ctx: click.Context) -> Config:
    """:func:`config_of` for a command that sends the token: what the config warns of (plain http)
    is said first, before any request, however the command ends."""
    config = config_of(ctx)
    for line in config.warnings:
        notify(f"Warning: {line}")
    return config


def _name_values(ctx: click.Context, param: click.Parameter, options: tuple[str, ...]) -> dict[str, str]:
    """``--option NAME=VALUE`` given any number of times, as a mapping."""
    parsed = {}
    for item in options:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--option {item!r}: use NAME=VALUE, e.g. bom=false")
        parsed[name.strip()] = value.strip()
    return parsed


def store_if_any(ctx: click.Context) -> Path | None:
    """The store of the config found here, or None: verify works on a machine with neither."""
    config = load_config(ctx.ensure_object(dict).get("config_path"))
    return config.store_dir if config.found else None


def own_signing_key(ctx: click.Context) -> Path:
    """Where this user's signing key is (the config's, $REPORTGEN_SIGNING_KEY, or the default)."""
    return load_config(ctx.ensure_object(dict).get("config_path")).signing_key


def _remember(key: str) -> Callable[[click.Context, click.Parameter, str | None], str | None]:
    """An option callback that keeps the value for later commands' helpers (``ctx.obj[key]``)."""

    def callback(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
        if value is not None:
            ctx.ensure_object(dict)[key] = value
        return value

    return callback


def config_option(f: Any) -> Any:
    """``--config`` after the command name too (``reportgen summary --config X``)."""
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False),
        expose_value=False,
        is_eager=True,
        callback=_remember("config_path"),
        help=CONFIG_HELP,
    )(f)


def source_option(f: Any) -> Any:
    """``--source NAME``: only this ``[gateways.NAME]`` (``default``: ``[gateway]``); default all."""
    return click.option(
        "--source",
        "source",
        metavar="NAME",
        expose_value=False,
        is_eager=True,
        callback=_remember("source"),
        help="Only this source ([gateways.NAME]; default is [gateway]); default: every source.",
    )(f)


def period_options(*, required: bool = False) -> Callable[[Any], Any]:
    """``--period`` or ``--from``/``--to``, handed to the command as one ``period``: a Period in
    the report timezone (None when neither is given, unless ``required``)."""

    def decorate(f: Any) -> Any:
        @functools.wraps(f)
        def command(*args: Any, period: str | None, start: str | None, end: str | None, **kwargs: Any) -> Any:
            resolved = resolve_period(config_of(click.get_current_context()).tz, period, start, end)
            if resolved is None and required:
                raise UsageError("give --period (e.g. 2026-04, 2026-Q2, 2026) or --from/--to")
            return f(*args, period=resolved, **kwargs)

        command = click.option(
            "--to", "end", metavar="YYYY-MM-DD", help="Last day, inclusive (report timezone)."
        )(command)
        command = click.option("--from", "start", metavar="YYYY-MM-DD", help="First day (report timezone).")(
            command
        )
        return click.option(
            "--period", metavar="PERIOD", help="A month 2026-04, a quarter 2026-Q2 or a year 2026."
        )(command)

    return decorate


def document_options(f: Any) -> Any:
    """The options every document-writing command shares, handed to it as ``documents``: the
    keywords ``write_report`` and ``write_packet`` both take."""

    @functools.wraps(f)
    def command(*args: Any, out_dir: str, **kwargs: Any) -> Any:
        documents = DocumentOptions(
            out_dir=Path(out_dir),
            member=kwargs.pop("member"),
            lang=kwargs.pop("lang"),
            template=kwargs.pop("template"),
            strict=kwargs.pop("strict"),
            allow_partial=kwargs.pop("allow_partial"),
            notify=notify,
        )
        return f(*args, documents=documents, **kwargs)

    for option in reversed(
        [
            click.option(
                "--out",
                "out_dir",
                type=click.Path(file_okay=False),
                default="reports",
                show_default=True,
                help="Folder to write the documents into.",
            ),
            click.option("--member", help="Only this member."),
            click.option(
                "--lang", type=click.Choice(["zh", "en"]), help="Wording of the documents (default: config)."
            ),
            click.option("--template", help="A shipped template name or a path to a template .toml."),
            click.option(
                "--strict", is_flag=True, help="Any data-quality finding is an error; nothing is written."
            ),
            click.option(
                "--allow-partial",
                is_flag=True,
                help="Write documents of a period not fully synced (they are marked INCOMPLETE).",
            ),
        ]
    ):
        command = option(command)
    return command


def exporter_options(f: Any) -> Any:
    """``--option NAME=VALUE`` any number of times, handed to the command as a mapping."""
    return click.option(
        "--option",
        "options",
        multiple=True,
        metavar="NAME=VALUE",
        callback=_name_values,
        help="Exporter option, e.g. bom=false.",
    )(f)
