//! The OpenAPI document served at `/v1/openapi.json`, generated from the request and response
//! types (`ToSchema`) and the handlers' `#[utoipa::path]` annotations. The committed
//! `openapi.json` beside this file is that document, pretty-printed; a test fails when they
//! differ, and `UPDATE_OPENAPI=1 cargo test -p discount-server --lib openapi` rewrites it.
//!
//! A new route goes into `app::route_table` and its handler into [`ApiDoc`]'s `paths(...)`; the
//! tests below fail until both agree. Types of lower crates that responses carry (offers, the
//! fraud gate's record, recommendation sources) are described here by schema types with the same
//! serde shape, checked against the real types by a test.

use std::borrow::Cow;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, HeaderBuilder, ObjectBuilder, RefOr, ResponseBuilder, Schema, Type,
};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

use crate::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "discount decision service",
        version = "1",
        description = "Offers decided in a millisecond, logged before they are answered, joined to \
            the orders that follow. See docs/api.md.\n\n\
            Every answer that is not a success is the `Error` object with a 4xx or 5xx status, \
            405 for a method a path does not take included (with `Allow`); `field` names the \
            request field, query parameter or header at fault when there is one.\n\n\
            Every time in a response is RFC 3339 in UTC with microseconds \
            (`2026-12-07T03:20:00.000000Z`).\n\n\
            List endpoints are paginated: `limit` (1 to 1000, default 100) and `cursor` (the \
            previous page's `next_cursor`, opaque) in the query; the answer is \
            `{\"items\": [...], \"next_cursor\": \"...\" | null}`.",
    ),
    paths(
        routes::health::healthz,
        routes::health::readyz,
        routes::health::metrics,
        routes::health::openapi,
        routes::decisions::create,
        routes::decisions::read,
        routes::events::ingest,
        routes::outcomes::report,
        routes::outcomes::settle,
        routes::admin::profile,
        routes::admin::erase,
        routes::admin::list_policies,
        routes::admin::register_policy,
        routes::admin::activate,
        routes::admin::roll_back,
        routes::admin::apprentice,
        routes::models::list,
        routes::models::promote,
        routes::models::roll_back,
        routes::admin::budgets,
        routes::admin::budget,
        routes::recommendations::create,
        routes::live::live,
        routes::live::recent,
        routes::live::fraud_alerts,
    ),
    components(schemas(crate::error::ErrorBody, EngineConfigSchema)),
    modifiers(&Conventions),
    tags(
        (name = "operations", description = "Health, readiness, metrics and this document"),
        (name = "decisions", description = "Offers decided and logged"),
        (name = "events", description = "Users, items and events in"),
        (name = "outcomes", description = "Outcomes of decisions"),
        (name = "customers", description = "Profiles and erasure"),
        (name = "policies", description = "The policy registry"),
        (name = "models", description = "The model registry"),
        (name = "budgets", description = "Budgets and their shadow prices"),
        (name = "recommendations", description = "Slates with offers attached"),
        (name = "dashboard", description = "What the dashboard at /ui shows: live counters, \
            recent decisions' statistics, fraud alerts"),
    )
)]
pub struct ApiDoc;

/// The security scheme, and the error answers every operation shares.
struct Conventions;

/// The name of the security scheme the operations refer to.
pub const SECURITY_SCHEME: &str = "api_key";

impl Modify for Conventions {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            SECURITY_SCHEME,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("dk_<id>_<secret>")
                    .description(Some(
                        "`Authorization: Bearer dk_<id>_<secret>`, an API key from `discount keys \
                         create`. Its role (`ingest`, `decide` or `admin`; `admin` may do \
                         everything) decides what it may call.",
                    ))
                    .build(),
            ),
        );
        for item in openapi.paths.paths.values_mut() {
            for operation in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                add_shared_errors(operation);
            }
        }
    }
}

fn error_response(description: &str, retry_after: bool) -> RefOr<utoipa::openapi::Response> {
    let mut response = ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(utoipa::openapi::Ref::from_schema_name(
                crate::error::ErrorBody::name(),
            )))
            .build(),
    );
    if retry_after {
        response = response.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(ObjectBuilder::new().schema_type(Type::Integer))
                .description(Some("Seconds after which a retry can succeed"))
                .build(),
        );
    }
    RefOr::T(response.build())
}

/// The answers any operation may give besides its own: a timeout and an internal failure, and for
/// those that take a key, the refusals of authentication.
fn add_shared_errors(operation: &mut Operation) {
    let responses = &mut operation.responses.responses;
    let mut add = |status: &str, description: &str, retry_after: bool| {
        responses
            .entry(status.to_string())
            .or_insert_with(|| error_response(description, retry_after));
    };
    if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
        add(
            "401",
            "No, a malformed, an unknown or a revoked API key",
            false,
        );
        add("403", "The key's role may not call this", false);
        add("429", "The key's request rate is over its limit", true);
    }
    add(
        "408",
        "The request took longer than server.request_timeout_seconds",
        false,
    );
    add("500", "The service failed; the cause is in its log", false);
}

/// `ToSchema` of a schema written out by hand.
macro_rules! named_schema {
    ($ty:ident, $name:literal, $build:expr) => {
        impl PartialSchema for $ty {
            fn schema() -> RefOr<Schema> {
                $build
            }
        }
        impl ToSchema for $ty {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
        }
    };
}

/// The body of `POST /v1/policies`: an engine configuration (the policy crate's `EngineConfig`),
/// described at its top level; docs/policy.md describes every field.
pub struct EngineConfigSchema;

named_schema!(EngineConfigSchema, "EngineConfig", {
    let object = || ObjectBuilder::new().schema_type(Type::Object);
    let text = || ObjectBuilder::new().schema_type(Type::String);
    let rung = object()
        .property("id", text().description(Some("Stable id, e.g. `pct10`")))
        .property(
            "offer",
            utoipa::openapi::Ref::from_schema_name(OfferSchema::name()),
        )
        .property(
            "max_discount",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .description(Some("Most this rung may discount one order, minor units")),
        )
        .property("scope", object())
        .property("eligibility", object())
        .required("id")
        .required("offer");
    let budget = object()
        .property("campaign", text().default(Some("default".into())))
        .property(
            "amount",
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .description(Some("Minor units for the period")),
        )
        .property(
            "initial_lambda",
            ObjectBuilder::new().schema_type(Type::Number),
        )
        .property(
            "period_start",
            text().format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::DateTime,
            ))),
        )
        .property(
            "period_days",
            ObjectBuilder::new().schema_type(Type::Number),
        )
        .required("amount");
    object()
        .description(Some(
            "An engine configuration, the JSON form of the TOML that `discount serve --engine` \
             reads (docs/policy.md describes every field). Its `name` is the policy's version.",
        ))
        .property("name", text().default(Some("engine".into())))
        .property("ladder", utoipa::openapi::ArrayBuilder::new().items(rung))
        .property(
            "rules",
            object().description(Some("Margin floors, frequency caps, the fraud gate")),
        )
        .property(
            "budgets",
            utoipa::openapi::ArrayBuilder::new().items(budget),
        )
        .property("pacing", object())
        .property(
            "exploration",
            object().description(Some("How the policy explores, e.g. epsilon-greedy")),
        )
        .property(
            "model",
            object().description(Some("Features and the online response models")),
        )
        .required("ladder")
        .additional_properties(Some(
            utoipa::openapi::schema::AdditionalProperties::FreeForm(false),
        ))
        .into()
});

/// An offer (the core crate's `Offer`); money in minor units of the order's currency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
#[schema(as = Offer)]
pub enum OfferSchema {
    /// The control arm: nothing is given.
    NoOffer,
    /// A percentage off the eligible amount, e.g. 10 for 10% off.
    PercentOff { percent: f64 },
    /// A fixed amount off an order of at least `min_spend`.
    AmountOff { amount: i64, min_spend: i64 },
    /// Shipping is free.
    FreeShipping,
    /// A non-price treatment: an e-mail, a banner, a recommended item.
    Content { name: String },
}

/// The fraud gate's record (the policy crate's `GateRecord`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = GateRecord)]
pub struct GateRecordSchema {
    /// Risk score in [0, 1] (1 for a rule match).
    pub score: f64,
    pub reasons: Vec<String>,
    pub action: GateActionSchema,
}

/// What the gate did: `allow`, `cap` (only rungs up to the cap) or `withhold` (no discount).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = GateAction)]
pub enum GateActionSchema {
    Allow,
    Cap,
    Withhold,
}

/// Where a recommendation's scores came from (the recommend crate's `ScoreSource`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", tag = "kind", content = "segment")]
#[schema(as = ScoreSource)]
pub enum ScoreSourceSchema {
    /// The model knows the customer.
    Personal,
    /// A new customer of a known segment: that segment's popularity.
    SegmentPopularity(String),
    /// A new customer: overall popularity.
    Popularity,
}

/// How many catalogue items each rule left out of a slate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ExclusionCounts)]
pub struct ExclusionCountsSchema {
    pub out_of_stock: usize,
    pub just_bought: usize,
    pub excluded: usize,
    pub no_margin: usize,
}

/// Where an outcome came from: `order` (an attributed order), `reported` (POST /v1/outcomes) or
/// `default` (the window closed without an order).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = OutcomeSource)]
pub enum OutcomeSourceSchema {
    Order,
    Reported,
    Default,
}

/// What became of one record: `stored`, `duplicate` (stored before) or `rejected`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = EventStatus)]
pub enum EventStatusSchema {
    Stored,
    Duplicate,
    Rejected,
}

/// The document.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The document as pretty JSON with a final newline: what `openapi.json` holds.
pub fn document_json() -> String {
    match document().to_pretty_json() {
        Ok(mut text) => {
            text.push('\n');
            text
        }
        // Serialising maps of strings cannot fail; keep serving the committed copy if it did.
        Err(_) => COMMITTED.to_string(),
    }
}

/// The committed document (checked equal to the generated one by the tests).
pub const COMMITTED: &str = include_str!("openapi.json");

/// What `GET /v1/openapi.json` answers, generated once per process.
pub fn served() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(document_json)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn committed_document_is_the_generated_one() {
        let generated = document_json();
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/openapi.json");
        if std::env::var_os("UPDATE_OPENAPI").is_some() {
            std::fs::write(path, &generated).unwrap();
            return;
        }
        assert!(
            generated == COMMITTED,
            "crates/server/src/openapi.json differs from the document the types generate; \
             regenerate it with `UPDATE_OPENAPI=1 cargo test -p discount-server --lib openapi` \
             and commit it"
        );
    }

    #[test]
    fn document_lists_exactly_the_routes_with_their_methods() {
        let doc: serde_json::Value = serde_json::from_str(&document_json()).unwrap();
        let mut documented = BTreeSet::new();
        for (path, ops) in doc["paths"].as_object().unwrap() {
            for method in ops.as_object().unwrap().keys() {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
        let routed: BTreeSet<(String, String)> = crate::app::route_table()
            .into_iter()
            .map(|r| (r.method.to_string(), r.path.to_string()))
            .collect();
        let missing: Vec<_> = routed.difference(&documented).collect();
        let stale: Vec<_> = documented.difference(&routed).collect();
        assert!(
            missing.is_empty(),
            "routes missing from the OpenAPI document (add the handler to ApiDoc's paths): {missing:?}"
        );
        assert!(
            stale.is_empty(),
            "the OpenAPI document describes routes the router lacks: {stale:?}"
        );
    }

    /// Every operation answers JSON described by a named schema, its errors included, and every
    /// `$ref` resolves.
    #[test]
    fn every_operation_is_typed_and_every_reference_resolves() {
        let doc: serde_json::Value = serde_json::from_str(&document_json()).unwrap();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        assert!(schemas.contains_key("Error"));
        let mut refs = Vec::new();
        collect_refs(&doc, &mut refs);
        for r in &refs {
            let name = r.strip_prefix("#/components/schemas/").unwrap_or(r);
            assert!(schemas.contains_key(name), "unresolved $ref {r}");
        }
        for (path, ops) in doc["paths"].as_object().unwrap() {
            for (method, op) in ops.as_object().unwrap() {
                let responses = op["responses"].as_object().unwrap();
                for (status, response) in responses {
                    let content = &response["content"];
                    assert!(
                        content.is_object(),
                        "{method} {path} {status} has no typed content"
                    );
                    if status.starts_with('4') || status.starts_with('5') {
                        assert_eq!(
                            content["application/json"]["schema"]["$ref"],
                            "#/components/schemas/Error",
                            "{method} {path} {status}"
                        );
                    }
                }
                assert!(responses.contains_key("200"), "{method} {path}");
                let secured = op.get("security").is_some();
                assert_eq!(
                    secured,
                    !matches!(
                        path.as_str(),
                        "/healthz" | "/readyz" | "/metrics" | "/v1/openapi.json"
                    ),
                    "{method} {path}: security"
                );
                if secured {
                    assert!(responses.contains_key("401"), "{method} {path}");
                }
            }
        }
        let scheme = &doc["components"]["securitySchemes"][SECURITY_SCHEME];
        assert_eq!(scheme["type"], "http");
        assert_eq!(scheme["scheme"], "bearer");
    }

    fn collect_refs(value: &serde_json::Value, out: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    match (k.as_str(), v.as_str()) {
                        ("$ref", Some(r)) => out.push(r.to_string()),
                        _ => collect_refs(v, out),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
            _ => {}
        }
    }

    /// Serialises `value`, reads it as the schema type, and writes it back: the schema type has
    /// exactly the real type's shape.
    fn same_shape<Real: Serialize, Mirror: Serialize + serde::de::DeserializeOwned>(real: &Real) {
        let json = serde_json::to_value(real).unwrap();
        let mirror: Mirror = serde_json::from_value(json.clone())
            .unwrap_or_else(|e| panic!("the schema type does not read {json}: {e}"));
        assert_eq!(serde_json::to_value(&mirror).unwrap(), json);
    }

    #[test]
    fn schema_types_have_the_shapes_of_the_types_they_describe() {
        use discount_core::Offer;
        for offer in [
            Offer::NoOffer,
            Offer::PercentOff { percent: 10.0 },
            Offer::AmountOff {
                amount: 500,
                min_spend: 2000,
            },
            Offer::FreeShipping,
            Offer::Content {
                name: "banner".into(),
            },
        ] {
            same_shape::<_, OfferSchema>(&offer);
        }
        for action in [
            discount_policy::GateAction::Allow,
            discount_policy::GateAction::Cap,
            discount_policy::GateAction::Withhold,
        ] {
            same_shape::<_, GateRecordSchema>(&discount_policy::GateRecord {
                score: 0.5,
                reasons: vec!["ring".into()],
                action,
            });
        }
        for source in [
            discount_recommend::ScoreSource::Personal,
            discount_recommend::ScoreSource::SegmentPopularity("new".into()),
            discount_recommend::ScoreSource::Popularity,
        ] {
            same_shape::<_, ScoreSourceSchema>(&source);
        }
        same_shape::<_, ExclusionCountsSchema>(&discount_recommend::rank::ExclusionCounts {
            out_of_stock: 1,
            just_bought: 2,
            excluded: 3,
            no_margin: 4,
        });
        use discount_store::decision_log::OutcomeSource;
        for source in [
            OutcomeSource::Order,
            OutcomeSource::Reported,
            OutcomeSource::Default,
        ] {
            same_shape::<_, OutcomeSourceSchema>(&source);
        }
    }

    /// The request schemas accept what the service accepts: the example engine registers.
    #[test]
    fn engine_schema_names_the_configuration_fields() {
        let doc: serde_json::Value = serde_json::from_str(&document_json()).unwrap();
        let properties = doc["components"]["schemas"]["EngineConfig"]["properties"]
            .as_object()
            .unwrap();
        let config = serde_json::to_value(
            discount_policy::EngineConfig::from_toml_str(
                "[[ladder]]\nid = \"none\"\noffer = { kind = \"no_offer\" }\n",
                "test",
            )
            .unwrap(),
        )
        .unwrap();
        for key in config.as_object().unwrap().keys() {
            assert!(properties.contains_key(key), "EngineConfig lacks `{key}`");
        }
    }
}
