"""The pure core (no I/O): records, periods, the report and its figures, money, rates, aggregation,
projects and budgets, reconciliation, corrections, the wallet bridge.  Import each name from its module."""
