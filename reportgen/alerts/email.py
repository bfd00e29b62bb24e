"""Email through apprise's SMTP plugin: STARTTLS, SSL or (loopback only) plain, with auth and
attachments; the password comes from the environment and never reaches a log line."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from ..config import Channel
from ..errors import ConfigError
from .chat import SendFailed
from .messages import Message

_MODES = {"starttls": "starttls", "ssl": "ssl", "none": "insecure"}


def send_email(
    channel: Channel,
    to: Sequence[str],
    message: Message,
    attachments: Sequence[Path] = (),
    *,
    timeout: float = 10.0,
) -> None:
    """Mail ``message`` (and ``attachments``) to ``to``; raise :class:`SendFailed` when the server refuses."""
    try:  # the optional extra reportgen[notify]: only a delivery by email needs it
        import apprise
        from apprise.plugins.email import NotifyEmail
    except ImportError:
        raise ConfigError(
            f"[delivery.{channel.name}]: email needs apprise: pip install 'llm-gateway-reportgen[notify]'"
        ) from None

    if channel.security == "none" and channel.host not in ("127.0.0.1", "localhost", "::1"):
        raise ConfigError(
            f'[delivery.{channel.name}]: security = "none" is for a mail server on this machine only'
        )
    if channel.user and channel.password is None:
        raise ConfigError(
            f"[delivery.{channel.name}]: the environment variable its password_env names is not set"
        )
    notify = NotifyEmail(
        host=channel.host,
        port=channel.port,
        user=channel.user or None,
        password=channel.password.reveal() if channel.password is not None else None,
        secure=channel.security != "none",
        secure_mode=_MODES[channel.security],
        from_addr=channel.sender,
        targets=list(to),
        headers={"X-Reportgen-Id": message.id},
        cto=timeout,
        rto=timeout,
    )
    attach = apprise.AppriseAttachment([str(p) for p in attachments]) if attachments else None
    with apprise.LogCapture(level=logging.WARNING) as logs:
        ok = notify.notify(title=message.title, body=message.text, body_format="text", attach=attach)
    if not ok:
        said = [line.split(" - ", 2)[-1].strip() for line in logs.getvalue().splitlines() if line.strip()]
        raise SendFailed(said[0] if said else "the mail server did not take the message")
