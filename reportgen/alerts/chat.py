"""Chat and webhook messages: each service's card or markdown format, signed, posted over HTTPS.

Why not through apprise (which sends the email): its DingTalk, Feishu, Lark, WeCom and Slack
plugins post to the services' fixed hosts (no proxy or private deployment, and no loopback
receiver to test against), its Feishu and Lark plugins cannot sign (apprise 2.3), and they send
plain text where the services take cards.  The payloads here follow the services' robot docs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests

from ..config import Channel
from ..errors import ConfigError
from .messages import Message
from .signing import dingtalk_sign, feishu_sign, webhook_sign

#: Seconds to wait for the service's answer (a slow receiver is a failed attempt, retried).
TIMEOUT = 10.0


class SendFailed(Exception):
    """One attempt failed: the text is safe to print (no URL, token or secret)."""


def post_chat(
    channel: Channel, message: Message, *, timeout: float = TIMEOUT, now: Callable[[], float] = time.time
) -> None:
    """Send ``message`` to ``channel``'s robot or webhook; raise :class:`SendFailed` if it did not take it."""
    if channel.url is None:
        raise ConfigError(f"[delivery.{channel.name}]: the environment variable its url_env names is not set")
    url = channel.url.reveal()
    secret = channel.secret.reveal() if channel.secret is not None else ""
    body = _payload(channel.type, message)
    headers = {"Content-Type": "application/json; charset=utf-8", "X-Reportgen-Id": message.id}
    stamp = int(now())
    if secret and channel.type == "dingtalk":
        ms = int(now() * 1000)
        url += ("&" if urlsplit(url).query else "?") + f"timestamp={ms}&sign={dingtalk_sign(secret, ms)}"
    elif secret and channel.type in ("feishu", "lark"):
        body = {"timestamp": str(stamp), "sign": feishu_sign(secret, stamp), **body}
    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    if secret and channel.type == "webhook":
        headers |= {
            "X-Reportgen-Timestamp": str(stamp),
            "X-Reportgen-Signature": webhook_sign(secret, stamp, data),
        }
    try:
        response = requests.post(url, data=data, headers=headers, timeout=timeout, allow_redirects=False)
    except requests.Timeout:
        raise SendFailed(f"no answer within {timeout:g} s") from None
    except requests.RequestException as exc:
        raise SendFailed(f"cannot reach the service ({type(exc).__name__})") from None
    if not 200 <= response.status_code < 300:
        raise SendFailed(f"HTTP {response.status_code}")
    _check_answer(channel.type, response)


def _payload(kind: str, m: Message) -> dict[str, Any]:
    if kind == "dingtalk":
        return {"msgtype": "markdown", "markdown": {"title": m.title, "text": f"### {m.title}\n\n{m.text}"}}
    if kind in ("feishu", "lark"):
        return {
            "msg_type": "interactive",
            "card": {
                "header": {"title": {"tag": "plain_text", "content": m.title}},
                "elements": [{"tag": "markdown", "content": m.text}],
            },
        }
    if kind == "wecom":
        return {"msgtype": "markdown", "markdown": {"content": f"**{m.title}**\n{m.text}"}}
    if kind == "slack":
        return {
            "text": m.title,
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": m.title}},
                {"type": "section", "text": {"type": "mrkdwn", "text": m.text}},
            ],
        }
    return {"id": m.id, "phase": m.phase, "title": m.title, "text": m.text, "facts": m.facts}


def _check_answer(kind: str, response: requests.Response) -> None:
    """The robots answer HTTP 200 with an error code in the body when they refuse a message."""
    if kind not in ("dingtalk", "feishu", "lark", "wecom"):
        return
    try:
        answer = response.json()
    except ValueError:
        raise SendFailed("the service's answer is not JSON") from None
    code = (
        answer.get("errcode", answer.get("code", answer.get("StatusCode", 0)))
        if isinstance(answer, dict)
        else 0
    )
    if code not in (0, None):
        text = str(answer.get("errmsg") or answer.get("msg") or "")[:120]
        raise SendFailed(f"the service refused it: {code} {text}".rstrip())
