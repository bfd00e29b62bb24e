"""The credit rows' texts kept beside their rows (schema 11): the wallet bridge reads them, never a raw blob."""

from __future__ import annotations

import sqlite3
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from reportgen.core.rawjson import raw_content
from reportgen.gateway.parse import parse_log_row, parse_log_rows
from reportgen.store import DB_NAME, Store
from tests.test_database_rows import NEWAPI

TEXTS = ("通过兑换码充值 $200.00 额度", "管理员将用户额度从 ＄150.000000 额度修改为 ＄175.500000 额度", "")
_content = st.one_of(st.sampled_from(TEXTS), st.text(max_size=12), st.none(), st.integers(), st.booleans(),
                     st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([float("nan"), 2**70]))  # fmt: skip


def _row(i: int, kind: int, content: Any) -> tuple[Any, ...]:
    item = dict.fromkeys(NEWAPI, 0)
    item.update(id=i, created_at=1000 + i, type=kind, token_name="", model_name="", content=content, other="")
    return tuple(item.values())


def _texts(store: Store) -> list[tuple[int, str]]:
    return [(r.type, r.content) for r in store.credit_rows("default", 0, 10**10)]


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from([1, 2, 3, 4, 5, 6]), _content), min_size=1, max_size=8), st.booleans()
)
def test_a_credit_rows_text_is_what_its_raw_json_says(tmp_path_factory, rows, prepared):
    """Database pages (prepared as the reading process does, or not) and API records keep the same
    text for each credit row as the raw JSON's ``content`` reads back."""
    batch = parse_log_rows(NEWAPI, [_row(i, kind, content) for i, (kind, content) in enumerate(rows)])
    raws = batch.raws
    expected = [(k, raw_content(raw)) for (k, _), raw in zip(rows, raws, strict=True) if k in (1, 3, 4)]
    if prepared:
        Store.prepare(batch)
    with Store.open(tmp_path_factory.mktemp("db")) as store:
        store.stream_window(1000, 1999, [batch], 5000)
        assert _texts(store) == expected
    records = [parse_log_row(dict(zip(NEWAPI, _row(i, k, c), strict=True))) for i, (k, c) in enumerate(rows)]
    with Store.open(tmp_path_factory.mktemp("api")) as store:
        store.replace_window(1000, 1999, records, 1, 5000)
        assert _texts(store) == expected


def test_the_bridge_reads_no_raw_blob_and_a_window_replaced_drops_its_texts(tmp_path):
    records = [
        parse_log_row(dict(zip(NEWAPI, _row(i, 1 + i % 4, TEXTS[i % 2]), strict=True))) for i in range(8)
    ]
    with Store.open(tmp_path) as store:
        store.replace_window(1000, 1999, records, 1, 5000)
        before = _texts(store)
        store._conn.execute("DELETE FROM raw_blobs")
        assert _texts(store) == before and len(before) == 6
        store.replace_window(1000, 1003, [], 1, 6000)
        assert _texts(store) == before[3:]
        left = store._conn.execute("SELECT COUNT(*) FROM credit_texts").fetchone()[0]
        assert left == len(before[3:])


def test_a_store_of_schema_10_gets_its_credit_texts_from_the_raw_blobs(tmp_path):
    records = [
        parse_log_row(dict(zip(NEWAPI, _row(i, 1 + i % 4, TEXTS[i % 2]), strict=True))) for i in range(8)
    ]
    with Store.open(tmp_path) as store:
        store.replace_window(1000, 1999, records, 1, 5000)
        before = _texts(store)
    with sqlite3.connect(tmp_path / DB_NAME) as conn:
        conn.execute("DROP TABLE credit_texts")
        conn.execute("UPDATE meta SET value = '10' WHERE key = 'schema_version'")
    conn.close()
    with Store.open(tmp_path) as store:
        assert _texts(store) == before
