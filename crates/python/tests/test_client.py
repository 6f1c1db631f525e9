"""The typed client against a real `discount serve` (SQLite store in a temporary folder, port picked by the
system), with keys of the three roles created through the binary."""

from __future__ import annotations

import json
import re
import selectors
import subprocess
import time

import pytest

from discount.client import (
    BasketLine,
    Budget,
    Client,
    Decision,
    DecisionContext,
    DecisionRequest,
    EventsReport,
    ModelList,
    Outcome,
    OutcomeReport,
    Policy,
    ServiceError,
)

API_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
"""Every time in a response: RFC 3339 in UTC with microseconds."""


@pytest.fixture(scope="module")
def service(discount_bin, tmp_path_factory):
    folder = tmp_path_factory.mktemp("serve")
    store = f"sqlite://{folder / 'discount.sqlite'}"

    def run(*args: str) -> str:
        done = subprocess.run([str(discount_bin), "--store", store, *args], cwd=folder, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    tokens = {}
    for name, role in (("admin", "admin"), ("checkout", "decide"), ("etl", "ingest")):
        tokens[role] = json.loads(run("--json", "keys", "create", "--name", name, "--role", role))["token"]
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
    try:
        yield url, tokens
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_health_and_readiness(service):
    url, _ = service
    assert Client(url).health().status == "ok"
    assert Client(url).ready().status == "ready"


def test_events_decision_outcome_round_trip(service):
    url, tokens = service
    etl = Client(url, tokens["ingest"])
    report = etl.send_events([
        {"type": "item", "id": "sku-1", "category": "shoes", "list_price": 6000, "unit_cost": 3000},
        {"type": "user", "id": "cust-42", "signup": "2026-11-02"},
        {"type": "view", "id": "ev-1", "user_id": "cust-42", "time": "2026-11-30T18:00:00Z", "item_id": "sku-1"},
        {"type": "view", "id": "ev-2", "user_id": "cust-42", "time": "tomorrow"},
    ])
    assert isinstance(report, EventsReport)
    assert (report.received, report.stored, report.rejected) == (4, 3, 1)
    rejected = [r for r in report.results if r.status == "rejected"]
    assert rejected[0].index == 3 and rejected[0].field.endswith("time")

    checkout = Client(url, tokens["decide"])
    request = DecisionRequest(
        customer_id="cust-42",
        context=DecisionContext(placement="checkout", device="mobile",
                                basket=[BasketLine(item_id="sku-1", quantity=1, unit_price=6000, category="shoes")]),
        explain=True,
        idempotency_key="order-7-offer",
    )
    decision = checkout.decide(request)
    assert isinstance(decision, Decision)
    assert decision.customer_id == "cust-42" and 0 < decision.propensity <= 1
    assert decision.explanation is not None
    assert checkout.decide(request).decision_id == decision.decision_id  # a retry gets the same decision

    record = checkout.decision(decision.decision_id)
    assert record.decision.decision_id == decision.decision_id
    assert record.status == "open" and record.outcome is None

    outcome = checkout.report_outcome(OutcomeReport(decision.decision_id, converted=True, revenue=6000, profit=3000))
    assert isinstance(outcome, Outcome) and outcome.converted is True and outcome.revenue == 6000
    for time in (decision.decided_at, decision.attribution_ends_at, outcome.at, outcome.recorded_at):
        assert API_TIME.fullmatch(time), time
    with pytest.raises(ServiceError) as conflict:
        checkout.report_outcome(OutcomeReport(decision.decision_id, converted=False))
    assert conflict.value.status == 409
    assert checkout.decision(decision.decision_id).status == "joined"

    budgets = checkout.budgets()
    assert budgets and all(isinstance(b, Budget) for b in budgets)


def test_models_registry(service):
    url, tokens = service
    admin = Client(url, tokens["admin"])
    listing = admin.models()
    assert isinstance(listing, ModelList) and listing.models == []
    with pytest.raises(ServiceError) as nothing_to_roll_back:
        admin.rollback_model("uplift")
    assert nothing_to_roll_back.value.status == 409
    with pytest.raises(ServiceError) as missing:
        admin.promote_model("no-such-model")
    assert missing.value.status == 404


def test_lists_walk_every_page(service):
    url, tokens = service
    admin = Client(url, tokens["admin"])
    before = admin.policies()
    for i in range(3):
        engine = {"name": f"paged-{i}", "ladder": [{"id": "none", "offer": {"kind": "no_offer"}}],
                  "budgets": [{"campaign": f"paged-{i}", "amount": 1000}]}
        registered = admin.register_policy(engine)
        assert isinstance(registered, Policy) and registered.version == f"paged-{i}" and not registered.active
    policies = admin.policies(page_size=1)
    assert [p.version for p in policies] == [p.version for p in admin.policies()]
    assert len(policies) == len(before) + 3 == len({p.version for p in policies})
    assert all(API_TIME.fullmatch(p.created_at) for p in policies)
    budgets = admin.budgets(page_size=2)
    assert {f"paged-{i}" for i in range(3)} <= {b.id for b in budgets}
    assert len({b.id for b in budgets}) == len(budgets)
    with pytest.raises(ValueError, match="page_size"):
        admin.budgets(page_size=0)
    with pytest.raises(ServiceError) as bad_limit:
        admin._request("GET", "/v1/budgets?limit=5000")
    assert bad_limit.value.status == 400 and bad_limit.value.field == "limit"
    with pytest.raises(ServiceError) as bad_cursor:
        admin._request("GET", "/v1/policies?cursor=not-ours")
    assert bad_cursor.value.status == 400 and bad_cursor.value.field == "cursor"


def test_errors_carry_status_code_and_field(service):
    url, tokens = service
    with pytest.raises(ServiceError) as unknown:
        Client(url, "dk_000000000000_wrong").decide(DecisionRequest(customer_id="cust-1"))
    assert unknown.value.status == 401
    with pytest.raises(ServiceError) as wrong_role:
        Client(url, tokens["ingest"]).decide(DecisionRequest(customer_id="cust-1"))
    assert wrong_role.value.status == 403
    with pytest.raises(ServiceError) as invalid:
        Client(url, tokens["decide"]).decide(DecisionRequest(customer_id=" "))
    assert invalid.value.status == 422 and invalid.value.field == "customer_id"
    with pytest.raises(ValueError, match="base_url"):
        Client("localhost:8080")
