"""A typed client of the decision service (``discount serve``), standard library only.

Requests and responses are dataclasses named after the OpenAPI schemas (``/v1/openapi.json``); fields a newer
server adds land in each response's ``extra`` mapping, so the client keeps working. Money is in integer minor
units; times are RFC 3339 text in UTC (``2026-12-07T03:20:00.000000Z``). List calls walk every page of the
service's paginated lists (``limit`` and ``cursor``) and return all items. A non-2xx answer raises
:class:`ServiceError` with the service's ``code``, ``message`` and ``field``.

>>> from discount.client import Client, DecisionRequest
>>> service = Client("http://127.0.0.1:8080", api_key="dk_...")          # doctest: +SKIP
>>> decision = service.decide(DecisionRequest(customer_id="cust-42"))   # doctest: +SKIP
>>> decision.offer_id, decision.propensity                              # doctest: +SKIP
('no_offer', 0.9)
"""

from __future__ import annotations

import dataclasses
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Type, TypeVar

T = TypeVar("T")
Timestamp = str
"""RFC 3339 text in UTC with microseconds, e.g. ``2026-12-07T03:20:00.000000Z``."""

MAX_PAGE_SIZE = 1000
"""The most items the service puts in one page of a list."""


class ServiceError(Exception):
    """A non-2xx answer: HTTP ``status``, the service's error ``code``, ``message``, the ``field`` at fault
    (when the service names one) and ``retry_after`` seconds (on 429)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: Optional[str] = None,
        retry_after: Optional[float] = None,
    ) -> None:
        where = f" (field `{field}`)" if field else ""
        super().__init__(f"HTTP {status} {code}: {message}{where}")
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.retry_after = retry_after


def _from_json(cls: Type[T], data: Mapping[str, Any]) -> T:
    """Builds the dataclass from a JSON object; unknown keys go to ``extra``."""
    if not isinstance(data, Mapping):
        raise ServiceError(0, "bad_response", f"expected a JSON object for {cls.__name__}, got {data!r}")
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    known = {k: v for k, v in data.items() if k in names and k != "extra"}
    missing = [
        f.name
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        if f.name not in known
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING  # type: ignore[misc]
    ]
    if missing:
        raise ServiceError(0, "bad_response", f"{cls.__name__} lacks {', '.join(missing)} in {dict(data)!r}")
    instance = cls(**known)
    if "extra" in names:
        instance.extra = {k: v for k, v in data.items() if k not in names}  # type: ignore[attr-defined]
    return instance


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


# ---- requests -------------------------------------------------------------------------------------------


@dataclass
class BasketLine:
    """One basket line of a decision's context; ``unit_price`` and ``unit_cost`` in minor units."""

    item_id: str
    quantity: int
    unit_price: int
    category: Optional[str] = None
    unit_cost: Optional[int] = None


@dataclass
class DecisionContext:
    placement: Optional[str] = None
    device: Optional[str] = None
    basket: List[BasketLine] = dataclasses.field(default_factory=list)


@dataclass
class DecisionRequest:
    """``POST /v1/decisions``: one offer for ``customer_id``. ``candidate_offers`` restricts the choice;
    ``explain`` asks for the explanation; a retry with the same ``idempotency_key`` gets the same decision."""

    customer_id: str
    context: Optional[DecisionContext] = None
    candidate_offers: Optional[List[str]] = None
    campaign: Optional[str] = None
    explain: bool = False
    idempotency_key: Optional[str] = None

    def to_json(self) -> Dict[str, Any]:
        return _drop_none(dataclasses.asdict(self))


@dataclass
class OutcomeReport:
    """``POST /v1/outcomes``: a decision's outcome, money in minor units."""

    decision_id: str
    converted: bool
    revenue: int = 0
    discount: int = 0
    profit: int = 0

    def to_json(self) -> Dict[str, Any]:
        return dataclasses.asdict(self)


# ---- responses ------------------------------------------------------------------------------------------


@dataclass
class Health:
    status: str
    extra: Dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass
class Decision:
    """The service's answer: the offer, the probability with which it was chosen, its expected incremental
    profit (minor units), the budget held, and when its attribution window ends."""

    decision_id: str
    customer_id: str
    offer_id: str
    offer: Dict[str, Any]
    propensity: float
    explored: bool
    expected_profit: int
    policy_version: str
    campaign: str
    reserved: int
    decided_at: Timestamp
    attribution_ends_at: Timestamp
    basket_discount: Optional[int] = None
    apprentice_choice: Optional[str] = None
    explanation: Optional[Dict[str, Any]] = None
    gate: Optional[Dict[str, Any]] = None
    model_id: Optional[str] = None
    extra: Dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass
class Outcome:
    """A decision's outcome as recorded (``source``: order, reported or default)."""

    decision_id: Optional[str] = None
    converted: Optional[bool] = None
    revenue: Optional[int] = None
    discount: Optional[int] = None
    profit: Optional[int] = None
    charged: Optional[int] = None
    source: Optional[str] = None
    event_id: Optional[str] = None
    at: Optional[Timestamp] = None
    recorded_at: Optional[Timestamp] = None
    extra: Dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass
class DecisionRecord:
    """``GET /v1/decisions/{id}``: the decision as answered, ``open`` or ``joined``, and its outcome."""

    decision: Decision
    status: str
    outcome: Optional[Outcome] = None
    extra: Dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass
class EventResult:
    index: int
    status: str
    field: Optional[str] = None
    reason: Optional[str] = None
    attributed_to: Optional[str] = None
    extra: Dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass
class EventsReport:
    """``POST /v1/events``: counts and one result per record (``stored``, ``duplicate`` or ``rejected`` with the
    field and reason)."""

    received: int
    stored: int
    duplicates: int
    rejected: int
    results: List[EventResult] = dataclasses.field(default_factory=list)
    extra: Dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass
class Model:
    """A registered model (without its artifact)."""

    id: str
    kind: str
    status: str
    training_rows: int
    metrics: Dict[str, float]
    created_at: Timestamp
    content_hash: str
    feature_spec: Optional[str] = None
    training_window_from: Optional[Timestamp] = None
    training_window_to: Optional[Timestamp] = None
    parent: Optional[str] = None
    extra: Dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass
class ModelRefusal:
    model_id: str
    reason: str
    extra: Dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass
class ModelList:
    """``GET /v1/models``: the registry (every page), the response model serving in this process, the last
    refusal."""

    models: List[Model]
    serving: Optional[str] = None
    refused: Optional[ModelRefusal] = None
    lifetime_value: Optional[Dict[str, Any]] = None
    extra: Dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass
class ModelServing:
    """Answer to promote and rollback: the active model, the one serving, a refusal if any."""

    serving: Optional[str] = None
    active: Optional[str] = None
    refused: Optional[ModelRefusal] = None
    extra: Dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass
class Budget:
    """A budget in minor units; ``shadow_price`` is what a unit of spend costs a decision under the active
    policy (absent when it does not spend from this budget)."""

    id: str
    currency: Optional[str] = None
    total: Optional[int] = None
    spent: Optional[int] = None
    reserved: Optional[int] = None
    remaining: Optional[int] = None
    shadow_price: Optional[float] = None
    extra: Dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclass
class Policy:
    """A registered policy: its version (the engine configuration's name), whether it is active or in
    apprentice mode, and when it was registered."""

    version: str
    active: bool
    apprentice: bool
    created_at: Timestamp
    engine_version: Optional[str] = None
    extra: Dict[str, Any] = dataclasses.field(default_factory=dict)


def _page_items(data: Any) -> List[Any]:
    """The items of one page (``{"items": [...], "next_cursor": ...}``)."""
    if isinstance(data, Mapping) and isinstance(data.get("items"), list):
        return data["items"]
    raise ServiceError(0, "bad_response", f"expected a page of items, got {data!r}")


class Client:
    """The decision service at ``base_url`` (e.g. ``http://127.0.0.1:8080``), authenticated with an API key
    from ``discount keys create``. Each call is one HTTP request with ``timeout`` seconds."""

    def __init__(self, base_url: str, api_key: Optional[str] = None, timeout: float = 10.0) -> None:
        parsed = urllib.parse.urlparse(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"argument `base_url`: must be http(s)://host[:port], got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout

    def _request(
        self,
        method: str,
        path: str,
        body: Optional[Any] = None,
        headers: Optional[Mapping[str, str]] = None,
    ) -> Any:
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.api_key:
            request.add_header("Authorization", f"Bearer {self.api_key}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                text = response.read().decode("utf-8")
        except urllib.error.HTTPError as error:
            raise self._error(error) from None
        return json.loads(text) if text else None

    def _pages(self, method: str, path: str, page_size: int) -> Iterator[Mapping[str, Any]]:
        """Every page of a paginated list, following ``next_cursor`` until it is null."""
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"argument `page_size`: must be 1 to {MAX_PAGE_SIZE}, got {page_size}")
        cursor: Optional[str] = None
        while True:
            query = {"limit": str(page_size)}
            if cursor is not None:
                query["cursor"] = cursor
            page = self._request(method, f"{path}?{urllib.parse.urlencode(query)}")
            _page_items(page)
            yield page
            cursor = page.get("next_cursor")
            if cursor is None:
                return

    @staticmethod
    def _error(error: urllib.error.HTTPError) -> ServiceError:
        text = error.read().decode("utf-8", "replace")
        retry = error.headers.get("Retry-After") if error.headers else None
        retry_after = float(retry) if retry and retry.replace(".", "", 1).isdigit() else None
        try:
            body = json.loads(text)["error"]
            return ServiceError(
                error.code, str(body.get("code", "error")), str(body.get("message", "")), body.get("field"),
                retry_after,
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return ServiceError(error.code, "http_error", text.strip() or str(error.reason), None, retry_after)

    # -- health

    def health(self) -> Health:
        """``GET /healthz``: the process is alive."""
        return _from_json(Health, self._request("GET", "/healthz"))

    def ready(self) -> Health:
        """``GET /readyz``: the store answers and a policy is active (else ``ServiceError`` 503)."""
        return _from_json(Health, self._request("GET", "/readyz"))

    # -- decisions and outcomes

    def decide(self, request: DecisionRequest) -> Decision:
        """``POST /v1/decisions`` (role decide)."""
        headers = {"Idempotency-Key": request.idempotency_key} if request.idempotency_key else None
        return _from_json(Decision, self._request("POST", "/v1/decisions", request.to_json(), headers))

    def decision(self, decision_id: str) -> DecisionRecord:
        """``GET /v1/decisions/{id}`` (role decide)."""
        data = self._request("GET", "/v1/decisions/" + urllib.parse.quote(decision_id, safe=""))
        record = _from_json(DecisionRecord, data)
        record.decision = _from_json(Decision, data["decision"])
        record.outcome = None if data.get("outcome") is None else _from_json(Outcome, data["outcome"])
        return record

    def report_outcome(self, report: OutcomeReport) -> Outcome:
        """``POST /v1/outcomes`` (role decide); ``ServiceError`` 409 if the decision already has one."""
        return _from_json(Outcome, self._request("POST", "/v1/outcomes", report.to_json()))

    # -- events

    def send_events(self, events: Sequence[Mapping[str, Any]]) -> EventsReport:
        """``POST /v1/events`` (role ingest): up to 10,000 records with the fields of ``discount ingest``."""
        data = self._request("POST", "/v1/events", {"events": [dict(e) for e in events]})
        report = _from_json(EventsReport, data)
        report.results = [_from_json(EventResult, r) for r in data.get("results", [])]
        return report

    # -- models and budgets

    def models(self, page_size: int = MAX_PAGE_SIZE) -> ModelList:
        """``GET /v1/models`` (role admin), every page, oldest model first."""
        pages = list(self._pages("GET", "/v1/models", page_size))
        last = pages[-1]
        models = [_from_json(Model, m) for page in pages for m in _page_items(page)]
        listing = _from_json(ModelList, {k: v for k, v in last.items() if k not in ("items", "next_cursor")}
                             | {"models": models})
        listing.refused = None if last.get("refused") is None else _from_json(ModelRefusal, last["refused"])
        return listing

    def promote_model(self, model_id: str) -> ModelServing:
        """``POST /v1/models/{id}/promote`` (role admin)."""
        path = f"/v1/models/{urllib.parse.quote(model_id, safe='')}/promote"
        return self._serving(self._request("POST", path))

    def rollback_model(self, kind: str = "uplift") -> ModelServing:
        """``POST /v1/models/rollback?kind=`` (role admin): back to the model active before."""
        return self._serving(self._request("POST", "/v1/models/rollback?" + urllib.parse.urlencode({"kind": kind})))

    @staticmethod
    def _serving(data: Mapping[str, Any]) -> ModelServing:
        serving = _from_json(ModelServing, data)
        serving.refused = None if data.get("refused") is None else _from_json(ModelRefusal, data["refused"])
        return serving

    def budgets(self, page_size: int = MAX_PAGE_SIZE) -> List[Budget]:
        """``GET /v1/budgets`` (role decide), every page, by id."""
        return [_from_json(Budget, b) for page in self._pages("GET", "/v1/budgets", page_size)
                for b in _page_items(page)]

    # -- policies

    def policies(self, page_size: int = MAX_PAGE_SIZE) -> List[Policy]:
        """``GET /v1/policies`` (role admin), every page, oldest first."""
        return [_from_json(Policy, p) for page in self._pages("GET", "/v1/policies", page_size)
                for p in _page_items(page)]

    def register_policy(self, engine: Mapping[str, Any]) -> Policy:
        """``POST /v1/policies`` (role admin): an engine configuration (docs/policy.md) as a new policy version
        named by its ``name``; not active until :meth:`activate_policy`."""
        data = self._request("POST", "/v1/policies", dict(engine))
        return next(p for p in self.policies() if p.version == data["version"])

    def activate_policy(self, version: str) -> str:
        """``POST /v1/policies/{version}/activate`` (role admin); the version now active."""
        path = f"/v1/policies/{urllib.parse.quote(version, safe='')}/activate"
        return str(self._request("POST", path)["active"])


__all__ = [
    "Client",
    "ServiceError",
    "BasketLine",
    "DecisionContext",
    "DecisionRequest",
    "OutcomeReport",
    "Health",
    "Decision",
    "Outcome",
    "DecisionRecord",
    "EventResult",
    "EventsReport",
    "Model",
    "ModelRefusal",
    "ModelList",
    "ModelServing",
    "Budget",
    "Policy",
    "MAX_PAGE_SIZE",
]
