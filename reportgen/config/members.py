"""``[members."NAME"]``: which API keys belong to whom."""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from .values import reject_unknown


def parse_members(table: dict[str, Any], where: str) -> dict[str, tuple[str, ...]]:
    members: dict[str, tuple[str, ...]] = {}
    seen: dict[str, str] = {}
    for name, spec in table.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("keys"), list):
            raise ConfigError(f'{where}: members."{name}" needs keys = ["key-name", ...]')
        reject_unknown(spec, {"keys", "justification"}, where, f'members."{name}".')
        if not isinstance(spec.get("justification", ""), str):
            raise ConfigError(f'{where}: members."{name}".justification must be a string')
        keys = spec["keys"]
        if not all(isinstance(k, str) and k for k in keys):
            raise ConfigError(f'{where}: members."{name}".keys must be a list of key names')
        for key in keys:
            if key in seen:
                raise ConfigError(
                    f'{where}: key {key!r} is listed for both members "{seen[key]}" and "{name}"'
                )
            seen[key] = name
        members[name] = tuple(keys)
    return members
