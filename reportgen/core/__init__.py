"""The pure core: records, periods, money, aggregation and projects (no I/O)."""
