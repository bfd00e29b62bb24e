"""reportgen: an LLM API gateway's usage logs, collected exactly, exported for finance."""
