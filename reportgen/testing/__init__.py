"""Test helpers that ship in the package: the fake gateway (``reportgen.testing.fakegateway``).

The tests, the benchmarks and ``reportgen demo`` run against it; nothing else imports it.
"""

__all__: list[str] = []
