"""One delivery to one recipient (``CHANNEL`` or ``CHANNEL:address``), retried with backoff,
its failure reported in one line that holds no secret."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..config import Channel, Config
from ..errors import ConfigError
from .chat import SendFailed, post_chat
from .email import send_email
from .messages import STYLE, Message


@dataclass(frozen=True)
class Sending:
    """How hard to try: attempts, the first pause (doubled after each failure), the timeout."""

    attempts: int = 3
    backoff: float = 2.0
    timeout: float = 10.0
    sleep: Callable[[float], None] = time.sleep


def channel_of(config: Config, recipient: str) -> tuple[Channel, str]:
    """The channel a recipient names, and its address (email) or ``""``."""
    name, _, address = recipient.partition(":")
    channel = next((c for c in config.channels if c.name == name), None)
    if channel is None:
        raise ConfigError(f"{config.where('delivery')}: no [delivery.{name}] for recipient {recipient!r}")
    return channel, address


def style_of(channel: Channel) -> str:
    return STYLE[channel.type]


def deliver(
    channel: Channel,
    address: str,
    message: Message,
    attachments: Sequence[Path] = (),
    how: Sending | None = None,
) -> tuple[int, str]:
    """Send, retrying failures: ``(attempts made, "")`` once sent, ``(attempts, one-line reason)`` if not."""
    how = how or Sending()
    error = ""
    for attempt in range(1, how.attempts + 1):
        try:
            if channel.type == "email":
                send_email(channel, [address], message, attachments, timeout=how.timeout)
            else:
                post_chat(channel, message, timeout=how.timeout)
            return attempt, ""
        except SendFailed as exc:
            error = _scrub(str(exc), channel)
        if attempt < how.attempts:
            how.sleep(how.backoff * 2 ** (attempt - 1))
    return how.attempts, f"{channel.name}: {error} ({how.attempts} attempts)"


def _scrub(text: str, channel: Channel) -> str:
    """``text`` without the channel's URL, secret or password, should a library have quoted one."""
    for secret in (channel.url, channel.secret, channel.password):
        if secret is not None and secret.reveal():
            text = text.replace(secret.reveal(), "***")
    return " ".join(text.split())[:200]
