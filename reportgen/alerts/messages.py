"""An alert or its resolution as a message: title and lines in zh or en (``labels.toml``), each
name from the gateway escaped for the channel that shows it, so a key called ``*x*](http://evil)``
prints as those characters and not as markup or a link."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from ..store.alerts import RaisedAlert
from ..templating import wording

#: Facts that hold Unix seconds: printed as local time in the report's zone.
_TIMES = ("first", "last", "read_at", "last_ok")
#: Facts that hold names the gateway or a user chose (escaped per channel).
_NAMES = ("project", "name", "key", "source", "state")
#: How each channel type shows text: plain (email, webhook), markdown, or Slack's mrkdwn.
STYLE = {
    "email": "plain",
    "webhook": "plain",
    "dingtalk": "markdown",
    "feishu": "markdown",
    "lark": "markdown",
    "wecom": "markdown",
    "slack": "slack",
}
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")


@dataclass(frozen=True)
class Message:
    """What one delivery says; ``id`` stays the same when the delivery is tried again."""

    id: str
    title: str
    text: str
    facts: dict[str, str]
    phase: str  # raised | resolved | packet


def escape(text: str, style: str) -> str:
    """``text`` shown literally by a channel of ``style`` (no markup, links or mentions)."""
    text = "".join(c if c.isprintable() else " " for c in text)
    if style == "markdown":
        return _MARKDOWN.sub(r"\\\1", text)
    if style == "slack":  # Slack's documented escapes, and no formatting characters
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return re.sub(r"([*_~`])", "\u200b\\1\u200b", text)
    return text


def alert_message(alert: RaisedAlert, phase: str, lang: str, tz: ZoneInfo, style: str) -> Message:
    """The message of ``alert`` (``phase`` raised or resolved) for a channel of ``style``."""
    t = wording(lang)
    facts = json.loads(alert.facts)
    shown = dict(facts)
    for key in _TIMES:
        if key in shown:
            shown[key] = datetime.fromtimestamp(int(shown[key]), tz).strftime("%Y-%m-%d %H:%M")
    if shown.get("last_ok") and facts.get("last_ok") == "0":
        shown["last_ok"] = t("alert_never")
    for key in _NAMES:
        if key in shown:
            shown[key] = escape(str(shown[key]), style)
    label = f"alert_{alert.kind}" + ("_days" if alert.kind == "wallet" and "days_left" in facts else "")
    if alert.kind == "spike":
        shown["by"] = t(f"alert_by_{facts['by']}")
    text = t(label).format(**shown)  # a fact may be called "key", as Wording's own parameter is
    rule = escape(alert.rule, style)
    if phase == "resolved":
        title = t("alert_resolved_title", rule=rule)
        text = t("alert_resolved", text=text)
    else:
        title = t("alert_title", rule=rule)
    return Message(f"{alert.key}/{phase}", title, text, facts, phase)
