"""`discount export events|decisions --format parquet` read by an independent reader, pyarrow: events
ingested through the binary and decisions and outcomes made through a real `discount serve` come back with
the documented Arrow types (timestamp[us, tz=UTC], int64 money, strings, a list of order-line structs, a list
of doubles) and the values that went in."""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import time
import urllib.request
from datetime import datetime, timezone

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

EVENTS = [
    {"type": "item", "id": "sku-1", "category": "shoes", "list_price": 6000, "unit_cost": 3000},
    {"type": "view", "id": "ev-1", "user_id": "cust-1", "time": "2026-11-30T18:00:00Z", "item_id": "sku-1"},
    {"type": "view", "id": "ev-2", "user_id": "cust-1", "time": "2026-11-30T18:00:05.5Z"},
    {"type": "order", "id": "ev-3", "user_id": "cust-1", "time": "2026-11-30T18:10:00Z", "order_id": "o-1",
     "currency": "EUR", "lines": [
         {"item_id": "sku-1", "quantity": 2, "list_price": 6000, "paid": 10800, "coupon_discount": 1200},
         {"item_id": "sku-2", "quantity": 1, "list_price": 990, "paid": 990}]},
    {"type": "review", "id": "ev-4", "user_id": "cust-2", "time": "2026-12-01T09:00:00Z", "item_id": "sku-1",
     "rating": 5, "text": "great"},
    {"type": "coupon_issued", "id": "ev-5", "user_id": "cust-2", "time": "2026-12-01T09:30:00Z",
     "coupon_id": "c-1", "offer": {"kind": "percent_off", "percent": 10}},
]


def micros(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


@pytest.fixture(scope="module")
def shop(discount_bin, tmp_path_factory):
    """A store with the events above and eight decisions (five with outcomes) made by a real server."""
    folder = tmp_path_factory.mktemp("parquet")
    store = f"sqlite://{folder / 'discount.sqlite'}"

    def run(*args: str) -> str:
        done = subprocess.run([str(discount_bin), "--store", store, *args], cwd=folder, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    (folder / "events.jsonl").write_text("\n".join(json.dumps(e) for e in EVENTS) + "\n")
    run("ingest", "events.jsonl")
    probe = subprocess.run([str(discount_bin), "--store", store, "export", "events", "--out", "probe.parquet"],
                           cwd=folder, capture_output=True, text=True, timeout=120)
    if probe.returncode != 0 and "without Parquet" in probe.stderr:
        # CI builds the binary with the feature; elsewhere a build without it skips these tests.
        if os.environ.get("CI") == "true":
            pytest.fail(f"{discount_bin} has no Parquet export (cargo build -p discount-cli --features parquet)")
        pytest.skip(f"{discount_bin} was built without the parquet feature")
    assert probe.returncode == 0, probe.stderr
    token = json.loads(run("--json", "keys", "create", "--name", "t", "--role", "admin"))["token"]
    (folder / "engine.toml").write_text(run("serve", "--example-engine"))
    process = subprocess.Popen(
        [str(discount_bin), "--store", store, "serve", "--engine", "engine.toml", "--bind", "127.0.0.1:0"],
        cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    url = None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + 60
    while url is None and time.monotonic() < deadline and process.poll() is None:
        if selector.select(timeout=1):
            line = process.stdout.readline()
            if line.startswith("listening on "):
                url = line.split()[2]
    if url is None:
        process.kill()
        pytest.fail(f"discount serve did not start: {process.stderr.read()}")

    def post(path: str, body: dict) -> dict:
        request = urllib.request.Request(url.rstrip("/") + path, data=json.dumps(body).encode(), method="POST",
                                         headers={"authorization": f"Bearer {token}",
                                                  "content-type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    decisions, outcomes = [], {}
    try:
        for i in range(8):
            decision = post("/v1/decisions", {"customer_id": f"cust-{i % 3}"})
            decisions.append(decision)
            if i % 2 == 0 or i == 7:
                outcome = {"decision_id": decision["decision_id"], "converted": i % 4 == 0,
                           "revenue": 5000 + i, "discount": 0, "profit": 2000 + i}
                post("/v1/outcomes", outcome)
                outcomes[decision["decision_id"]] = outcome
    finally:
        process.terminate()
        process.wait(timeout=20)
    run("export", "events", "--out", "events.parquet")
    run("export", "decisions", "--out", "decisions.parquet", "--row-group-rows", "3")
    run("export", "decisions", "--out", "decisions.jsonl")
    return folder, decisions, outcomes


def test_events_read_back_with_pyarrow(shop):
    folder, _, _ = shop
    table = pq.read_table(folder / "events.parquet")
    schema = table.schema
    assert schema.field("at").type == pa.timestamp("us", tz="UTC")
    assert not schema.field("at").nullable
    assert schema.field("event_id").type == pa.string()
    assert schema.field("amount").type == pa.int64() and schema.field("amount").nullable
    assert schema.field("expires_at").type == pa.timestamp("us", tz="UTC")
    line = schema.field("lines").type.value_type
    assert pa.types.is_struct(line)
    assert line.field("paid").type == pa.int64() and line.field("item_id").type == pa.string()

    rows = {r["event_id"]: r for r in table.to_pylist()}
    stored = [e for e in EVENTS if e["type"] != "item"]
    assert table.num_rows == len(stored) and set(rows) == {e["id"] for e in stored}
    for event in stored:
        row = rows[event["id"]]
        assert row["type"] == event["type"] and row["user_id"] == event["user_id"]
        assert row["at"] == micros(event["time"])
        assert row["item_id"] == event.get("item_id")
    order = rows["ev-3"]
    assert (order["currency"], order["amount"], order["quantity"]) == ("EUR", 11790, 3)
    assert [(l["item_id"], l["quantity"], l["list_price"], l["paid"], l["retail_discount"], l["coupon_discount"])
            for l in order["lines"]] == [("sku-1", 2, 6000, 10800, 0, 1200), ("sku-2", 1, 990, 990, 0, 0)]
    assert rows["ev-1"]["lines"] is None and rows["ev-1"]["amount"] is None
    assert (rows["ev-4"]["rating"], rows["ev-4"]["text"]) == (5, "great")
    assert json.loads(rows["ev-5"]["offer"]) == {"kind": "percent_off", "percent": 10.0}
    assert rows["ev-5"]["coupon_id"] == "c-1"


def test_decisions_read_back_with_pyarrow(shop):
    folder, decisions, outcomes = shop
    file = pq.ParquetFile(folder / "decisions.parquet")
    assert file.metadata.num_row_groups == 3  # 8 rows in groups of at most 3
    table = file.read()
    schema = table.schema
    assert schema.field("at").type == pa.timestamp("us", tz="UTC")
    assert schema.field("attribution_deadline").type == pa.timestamp("us", tz="UTC")
    assert schema.field("outcome_at").type == pa.timestamp("us", tz="UTC") and schema.field("outcome_at").nullable
    assert schema.field("reserved").type == pa.int64() and not schema.field("reserved").nullable
    assert schema.field("revenue").type == pa.int64() and schema.field("revenue").nullable
    assert schema.field("explored").type == pa.bool_()
    assert schema.field("propensity").type == pa.float64()
    assert schema.field("features").type.value_type == pa.float64()

    rows = {r["decision_id"]: r for r in table.to_pylist()}
    assert table.num_rows == len(decisions) == len(rows)
    assert sum(r["joined"] for r in rows.values()) == len(outcomes) == 5
    for decision in decisions:
        row = rows[decision["decision_id"]]
        assert row["customer_id"] == decision["customer_id"]
        assert row["propensity"] == pytest.approx(decision["propensity"], rel=1e-12)
        assert row["explored"] == decision["explored"]
        assert row["reserved"] == decision["reserved"]
        assert row["action"] == decision["offer_id"] and row["policy_version"] == decision["policy_version"]
        assert row["expected_profit"] == decision["expected_profit"]
        assert row["at"] == micros(decision["decided_at"])
        assert row["attribution_deadline"] == micros(decision["attribution_ends_at"])
        outcome = outcomes.get(decision["decision_id"])
        if outcome is None:
            assert (row["joined"], row["converted"], row["revenue"], row["outcome_at"]) == (False, None, None, None)
        else:
            assert row["joined"] and row["outcome_source"] == "reported"
            assert (row["converted"], row["revenue"], row["profit"]) == (
                outcome["converted"], outcome["revenue"], outcome["profit"])
    # The JSON Lines export of the same store agrees row by row, features included.
    exported = [json.loads(line) for line in (folder / "decisions.jsonl").read_text().splitlines()]
    assert [e["decision_id"] for e in exported] == table.column("decision_id").to_pylist()
    for e in exported:
        row = rows[e["decision_id"]]
        assert (row["policy"], row["action"], row["features"]) == (e["policy"], e["action"], e["features"])
        assert row["at"] == micros(e["at"])
