"""One contract for every ``Store``: SQLite on a temporary file and DynamoDB under moto.

Both run on the test's fake clock, so TTL expiry is driven, never waited for.
"""

from __future__ import annotations

import math
import sqlite3
import threading

import pytest
from moto import mock_aws

import bot.store.sqlite as sqlite_module
from bot.core.store import Store, StoreError
from bot.store.dynamodb import DynamoDBStore, create_table
from bot.store.sqlite import SQLiteStore
from ml.sagemaker.clients import aws_session
from tests.bot.conftest import TABLE, Backend, FakeClock


def test_implements_protocol(store: Store) -> None:
    assert isinstance(store, Store)


def test_get_put_delete_round_trip(store: Store) -> None:
    assert store.get("decision", "v00000001") is None
    value = {"version": 1, "by": "UBOB", "nested": {"list": [1, 2.5, None, True]}, "note": ""}
    store.put("decision", "v00000001", value)
    assert store.get("decision", "v00000001") == value
    store.put("decision", "v00000001", {"version": 1, "by": "UDAVE"})
    assert store.get("decision", "v00000001") == {"version": 1, "by": "UDAVE"}
    # the same key in another namespace is another record
    assert store.get("audit", "v00000001") is None
    store.delete("decision", "v00000001")
    assert store.get("decision", "v00000001") is None
    store.delete("decision", "v00000001")  # deleting what is gone is fine


def test_put_if_absent_only_first_wins(store: Store) -> None:
    assert store.put_if_absent("inflight", "production", {"by": "a"}) is True
    assert store.put_if_absent("inflight", "production", {"by": "b"}) is False
    assert store.get("inflight", "production") == {"by": "a"}
    store.delete("inflight", "production")
    assert store.put_if_absent("inflight", "production", {"by": "c"}) is True
    assert store.get("inflight", "production") == {"by": "c"}


def test_put_if_absent_is_atomic_across_threads(store: Store) -> None:
    n, rounds = 20, 5
    barrier = threading.Barrier(n)
    wins: dict[str, list[int]] = {f"v{r:08d}": [] for r in range(rounds)}
    errors: list[BaseException] = []
    lock = threading.Lock()

    def contend(i: int) -> None:
        try:
            for key, winners in wins.items():
                barrier.wait()
                if store.put_if_absent("decision", key, {"winner": i}):
                    with lock:
                        winners.append(i)
        except BaseException as exc:
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    for key, winners in wins.items():
        assert len(winners) == 1, (key, winners)  # exactly one winner per key
        assert store.get("decision", key) == {"winner": winners[0]}


def test_ttl_expiry_makes_key_absent(store: Store, clock: FakeClock) -> None:
    store.put("dedupe", "evt-1", {"seen": True}, ttl_seconds=10)
    assert store.put_if_absent("inflight", "staging", {"by": "a"}, ttl_seconds=10) is True
    store.put("dedupe", "forever", {"seen": True})
    clock.advance(8)
    assert store.get("dedupe", "evt-1") == {"seen": True}
    assert store.put_if_absent("inflight", "staging", {"by": "b"}, ttl_seconds=10) is False
    assert [k for k, _ in store.query("dedupe")] == ["evt-1", "forever"]
    clock.advance(4)
    assert store.get("dedupe", "evt-1") is None
    assert [k for k, _ in store.query("dedupe")] == ["forever"]
    assert store.get("dedupe", "forever") == {"seen": True}
    # an expired lock counts as absent: the next claim wins and carries a fresh TTL
    assert store.put_if_absent("inflight", "staging", {"by": "b"}, ttl_seconds=10) is True
    assert store.get("inflight", "staging") == {"by": "b"}
    clock.advance(8)
    assert store.get("inflight", "staging") == {"by": "b"}
    assert store.put_if_absent("inflight", "staging", {"by": "c"}, ttl_seconds=10) is False


def test_query_limit_applies_after_expiry(store: Store, clock: FakeClock) -> None:
    for i in range(30):
        store.put("audit", f"k{i:03d}", {"i": i}, ttl_seconds=5 if i % 2 == 0 else None)
    clock.advance(10)
    rows = store.query("audit", limit=5)
    assert [v["i"] for _, v in rows] == [1, 3, 5, 7, 9]
    rows = store.query("audit", limit=3, newest_first=True)
    assert [v["i"] for _, v in rows] == [29, 27, 25]


def test_replace_if(store: Store) -> None:
    assert store.replace_if("message", "run:1", {"ts": "1"}, {"ts": "2"}) is False  # absent
    assert store.get("message", "run:1") is None
    store.put("message", "run:1", {"ts": "1", "channel": "C1"})
    assert store.replace_if("message", "run:1", {"ts": "9", "channel": "C1"}, {"ts": "2"}) is False
    assert store.get("message", "run:1") == {"ts": "1", "channel": "C1"}
    # key order in the expected value does not matter: values compare as records
    assert store.replace_if("message", "run:1", {"channel": "C1", "ts": "1"}, {"ts": "2"}) is True
    assert store.get("message", "run:1") == {"ts": "2"}
    assert store.replace_if("message", "run:1", {"channel": "C1", "ts": "1"}, {"ts": "3"}) is False


def test_replace_if_is_atomic_across_threads(store: Store) -> None:
    store.put("counter", "c", {"n": 0})
    n = 10

    def bump() -> None:
        for _ in range(200):
            cur = store.get("counter", "c")
            assert cur is not None
            if store.replace_if("counter", "c", cur, {"n": cur["n"] + 1}):
                return
        raise AssertionError("never won a replace_if")

    threads = [threading.Thread(target=bump) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert store.get("counter", "c") == {"n": n}


def test_query_prefix_order_limit(store: Store) -> None:
    keys = [
        "production#2026-01-02T00:00:00.000000Z#aa",
        "production#2026-01-01T00:00:00.000000Z#bb",
        "staging#2026-01-01T00:00:00.000000Z#cc",
        "production#2026-01-03T00:00:00.000000Z#dd",
        "productionx#2026-01-01T00:00:00.000000Z#ee",
    ]
    for i, k in enumerate(keys):
        store.put("deployment", k, {"i": i})
    store.put("other", "production#2026-01-09T00:00:00.000000Z#ff", {"i": 99})

    rows = store.query("deployment", "production#")
    assert [v["i"] for _, v in rows] == [1, 0, 3]
    assert [k for k, _ in rows] == sorted(k for k in keys if k.startswith("production#"))
    assert [v["i"] for _, v in store.query("deployment", "production#", newest_first=True)] == [3, 0, 1]
    assert [v["i"] for _, v in store.query("deployment", "production#", limit=2)] == [1, 0]
    assert [v["i"] for _, v in store.query("deployment", "production#", limit=1, newest_first=True)] == [3]
    assert [v["i"] for _, v in store.query("deployment")] == [1, 0, 3, 4, 2]
    assert store.query("deployment", "nothing#") == []
    assert store.query("empty-namespace") == []


def test_query_after_resumes_a_paged_read_in_either_order(store: Store) -> None:
    for i in range(7):
        store.put("audit", f"t{i}#x", {"i": i})
    store.put("audit", "u0#x", {"i": 99})
    newest: list[int] = []
    after = None
    while page := store.query("audit", "t", limit=3, newest_first=True, after=after):
        newest += [v["i"] for _, v in page]
        after = page[-1][0]
    assert newest == [6, 5, 4, 3, 2, 1, 0]
    oldest = store.query("audit", "t", limit=2, after="t4#x")
    assert [v["i"] for _, v in oldest] == [5, 6]
    # a key that no longer exists still marks the place; one outside the prefix is before or after it all
    store.delete("audit", "t3#x")
    assert [v["i"] for _, v in store.query("audit", "t", newest_first=True, after="t3#x")] == [2, 1, 0]
    assert [v["i"] for _, v in store.query("audit", "t", newest_first=True, after="u")] == [6, 5, 4, 2, 1, 0]
    assert store.query("audit", "t", newest_first=True, after="s") == []
    assert [v["i"] for _, v in store.query("audit", "t", after="s", limit=1)] == [0]
    assert store.query("audit", "t", after="u") == []


def test_query_paginates_large_namespaces(store: Store) -> None:
    big = "x" * 20_000  # ~60 items exceed DynamoDB's 1 MB page
    for i in range(120):
        store.put("outbox", f"{i:06d}", {"i": i, "pad": big})
    rows = store.query("outbox")
    assert [v["i"] for _, v in rows] == list(range(120))
    assert [v["i"] for _, v in store.query("outbox", limit=70, newest_first=True)] == list(range(119, 49, -1))


def test_unicode_keys_and_values(store: Store) -> None:
    value = {"text": "Déploiement ✅ 模型 v3 — 🚀", "emoji": "👩‍🔬", "quote": "\"'\\\n\t"}
    store.put("message", "card:模型-v3-✅", value)
    store.put("message", "card:ä", {"n": 1})
    store.put("message", "card:z", {"n": 2})
    assert store.get("message", "card:模型-v3-✅") == value
    # keys sort by code point (= UTF-8 byte order) in every backend
    assert [k for k, _ in store.query("message", "card:")] == ["card:z", "card:ä", "card:模型-v3-✅"]
    assert store.put_if_absent("message", "card:模型-v3-✅", {"n": 3}) is False
    assert store.replace_if("message", "card:模型-v3-✅", value, {"n": 4}) is True
    assert store.get("message", "card:模型-v3-✅") == {"n": 4}


def test_restart_sees_everything(backend: Backend) -> None:
    first = backend.new()
    first.put("decision", "v00000001", {"by": "bob"})
    first.put("audit", "2026-01-01#a", {"what": "x"})
    assert first.put_if_absent("inflight", "production", {"by": "carol"}, ttl_seconds=3600)
    first.close()

    second = backend.new()
    assert second.get("decision", "v00000001") == {"by": "bob"}
    assert second.query("audit") == [("2026-01-01#a", {"what": "x"})]
    assert second.put_if_absent("inflight", "production", {"by": "dave"}) is False
    assert second.get("inflight", "production") == {"by": "carol"}


def test_dynamodb_errors_are_store_errors() -> None:
    with mock_aws():
        store = DynamoDBStore("no-such-table", region="us-east-1")
        with pytest.raises(StoreError, match=r"no-such-table.*does not exist"):
            store.get("decision", "v1")
        with pytest.raises(StoreError, match="does not exist"):
            store.put("decision", "v1", {"a": 1})
        with pytest.raises(StoreError, match="does not exist"):
            store.query("decision")
        client = aws_session().client("dynamodb", region_name="us-east-1")
        create_table(client, TABLE)
        create_table(client, TABLE)  # idempotent
        ttl = client.describe_time_to_live(TableName=TABLE)["TimeToLiveDescription"]
        assert ttl["AttributeName"] == "expires_at"
        assert ttl["TimeToLiveStatus"] in ("ENABLED", "ENABLING")
        store = DynamoDBStore(TABLE, client=client)
        with pytest.raises(StoreError, match="non-empty"):
            store.put("decision", "", {"a": 1})
        with pytest.raises(StoreError, match="longer than 1024 bytes"):
            store.get("decision", "k" * 1025)
        with pytest.raises(StoreError, match="not JSON-serialisable"):
            store.put("decision", "v1", {"a": object()})
        with pytest.raises(StoreError, match="ttl_seconds must be positive"):
            store.put("decision", "v1", {"a": 1}, ttl_seconds=0)
        with pytest.raises(StoreError, match=r"decision/v1 failed: ValidationException"):
            store.put("decision", "v1", {"a": "y" * 500_000})  # over the 400 KB item limit


def test_expired_records_are_deleted_not_only_hidden(
    backend: Backend, store: Store, clock: FakeClock
) -> None:
    """Dedupe keys of a flood of events do not pile up: SQLite deletes them, DynamoDB's TTL sweeper does."""
    if backend.name == "sqlite":
        assert isinstance(store, SQLiteStore)
        for i in range(10_000):
            store.put_if_absent("slack-event", f"evt-{i:05d}", {"type": "unknown"}, ttl_seconds=100)
            clock.advance(1)
        with sqlite3.connect(store.path) as db:
            (rows,) = db.execute("SELECT count(*) FROM records WHERE ns='slack-event'").fetchone()
        assert rows <= 100 + sqlite_module.PURGE_INTERVAL_SECONDS + 1
        assert len(store.query("slack-event")) == 99  # written in the last 100 s
        return
    # DynamoDB deletes expired items itself (within days), when they carry the table's TTL attribute
    store.put_if_absent("slack-event", "evt-1", {"type": "unknown"}, ttl_seconds=100)
    client = aws_session().client("dynamodb", region_name="us-east-1")
    item = client.get_item(TableName=TABLE, Key={"pk": {"S": "slack-event"}, "sk": {"S": "evt-1"}})["Item"]
    assert int(item["expires_at"]["N"]) == math.ceil(clock.wall() + 100)
    ttl = client.describe_time_to_live(TableName=TABLE)["TimeToLiveDescription"]
    assert (ttl["AttributeName"], ttl["TimeToLiveStatus"]) == ("expires_at", "ENABLED")
