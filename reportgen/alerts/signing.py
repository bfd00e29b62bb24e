"""Webhook signatures as each service documents them (the secret never leaves this module).

- DingTalk custom robot (open.dingtalk.com, "自定义机器人安全设置 / 加签"): ``timestamp`` in ms;
  ``sign = urlencode(base64(HmacSHA256(key=secret, msg=f"{timestamp}\\n{secret}")))``, both
  added to the webhook URL's query.
- Feishu / Lark custom bot (open.feishu.cn, "自定义机器人使用指南 / 签名校验"): ``timestamp`` in
  seconds; ``sign = base64(HmacSHA256(key=f"{timestamp}\\n{secret}", msg=b""))``, both in the
  JSON body.
- A plain webhook: ``X-Reportgen-Signature: sha256=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>``
  with ``X-Reportgen-Timestamp`` (seconds), as GitHub and Stripe sign theirs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's ``sign`` query value (already URL-encoded)."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote(base64.b64encode(digest).decode(), safe="")


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu's (and Lark's) ``sign`` body field."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def webhook_sign(secret: str, timestamp_s: int, body: bytes) -> str:
    """The ``X-Reportgen-Signature`` value of a plain webhook's ``body``."""
    mac = hmac.new(secret.encode(), str(timestamp_s).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()
