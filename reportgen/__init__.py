"""reportgen: an LLM API gateway's usage logs, collected exactly, exported for finance."""

__version__ = "0.1.0"
