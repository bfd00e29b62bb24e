"""The gateway's management API: auth, flavours, paging, rate limit and retries."""

from .client import GatewayClient
from .parse import parse_key, parse_log_row
from .ratelimit import SlidingWindowLimiter

__all__ = ["GatewayClient", "SlidingWindowLimiter", "parse_key", "parse_log_row"]
