//! Users, items and behaviour events, plus the flat wire record that JSONL and CSV files carry.
//!
//! The wire record ([`WireRecord`]) has every field optional so that one pass of the parser reads
//! any record type; [`WireRecord::into_record`] then checks what each type requires and says which
//! field is wrong. Money is integer minor units (cents); times are parsed by [`Timestamp::parse`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::ids::validate_id;
use crate::money::non_negative;
use crate::{CoreError, Currency, Offer, Timestamp};

/// A customer. `id` is pseudonymised at the edge when a key is configured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub signup: Option<Timestamp>,
    pub attributes: BTreeMap<String, String>,
}

/// A product of the catalogue. Prices are per unit, minor units of `currency`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub id: String,
    pub category: String,
    pub list_price: i64,
    pub unit_cost: Option<i64>,
    pub currency: Currency,
    pub stock: Option<i64>,
}

/// Where a discount on an order line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiscountSource {
    /// A shelf, loyalty-card or sale price cut given to everybody.
    Retail,
    /// A coupon given to this customer.
    Coupon,
}

impl DiscountSource {
    pub fn as_str(self) -> &'static str {
        match self {
            DiscountSource::Retail => "retail",
            DiscountSource::Coupon => "coupon",
        }
    }
}

/// One line of an order. `list_price` is per unit; `paid`, `retail_discount` and
/// `coupon_discount` are line totals; all in minor units of the order's currency.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderLine {
    pub item_id: String,
    pub quantity: u32,
    pub list_price: i64,
    pub paid: i64,
    #[serde(default)]
    pub retail_discount: i64,
    #[serde(default)]
    pub coupon_discount: i64,
}

impl OrderLine {
    pub fn discount(&self, source: DiscountSource) -> i64 {
        match source {
            DiscountSource::Retail => self.retail_discount,
            DiscountSource::Coupon => self.coupon_discount,
        }
    }

    fn validate(&self, index: usize) -> Result<(), CoreError> {
        let field = |name: &str| format!("lines[{index}].{name}");
        validate_id(&field("item_id"), &self.item_id)?;
        non_negative(&field("list_price"), self.list_price)?;
        non_negative(&field("paid"), self.paid)?;
        non_negative(&field("retail_discount"), self.retail_discount)?;
        non_negative(&field("coupon_discount"), self.coupon_discount)?;
        Ok(())
    }
}

/// What happened, with the fields that kind of event carries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// A page or product view; `item_id` is absent for a visit to the site.
    View {
        item_id: Option<String>,
    },
    /// A click, on an item and/or on what a decision showed.
    Click {
        item_id: Option<String>,
        decision_id: Option<String>,
    },
    AddToCart {
        item_id: String,
        quantity: u32,
    },
    Order {
        order_id: String,
        currency: Currency,
        lines: Vec<OrderLine>,
    },
    Refund {
        order_id: String,
        currency: Currency,
        amount: i64,
        item_id: Option<String>,
    },
    Review {
        item_id: String,
        rating: u8,
        text: Option<String>,
    },
    /// A treatment shown by a decision (also the control arm, as [`Offer::NoOffer`]). For ranked
    /// placements, `item_id` and `position` say what was shown where; `propensity` is the logging
    /// policy's probability of this choice.
    OfferShown {
        decision_id: String,
        offer: Offer,
        item_id: Option<String>,
        position: Option<u32>,
        propensity: Option<f64>,
        expires_at: Option<Timestamp>,
    },
    CouponIssued {
        coupon_id: String,
        decision_id: Option<String>,
        offer: Offer,
        expires_at: Option<Timestamp>,
    },
    CouponRedeemed {
        coupon_id: String,
        order_id: Option<String>,
        currency: Currency,
        amount: i64,
    },
    /// An aggregated browsing session, as some analytics exports provide instead of raw views.
    Session {
        pages: u32,
        duration_seconds: f64,
        purchased: bool,
        attributes: BTreeMap<String, String>,
    },
}

impl EventKind {
    /// All event type names, in the order reports list them.
    pub const NAMES: [&'static str; 10] = [
        "view",
        "click",
        "add_to_cart",
        "order",
        "refund",
        "review",
        "offer_shown",
        "coupon_issued",
        "coupon_redeemed",
        "session",
    ];

    pub fn name(&self) -> &'static str {
        match self {
            EventKind::View { .. } => "view",
            EventKind::Click { .. } => "click",
            EventKind::AddToCart { .. } => "add_to_cart",
            EventKind::Order { .. } => "order",
            EventKind::Refund { .. } => "refund",
            EventKind::Review { .. } => "review",
            EventKind::OfferShown { .. } => "offer_shown",
            EventKind::CouponIssued { .. } => "coupon_issued",
            EventKind::CouponRedeemed { .. } => "coupon_redeemed",
            EventKind::Session { .. } => "session",
        }
    }

    /// The item this event is about, where there is one (orders have one per line).
    pub fn item_id(&self) -> Option<&str> {
        match self {
            EventKind::View { item_id }
            | EventKind::Click { item_id, .. }
            | EventKind::Refund { item_id, .. }
            | EventKind::OfferShown { item_id, .. } => item_id.as_deref(),
            EventKind::AddToCart { item_id, .. } | EventKind::Review { item_id, .. } => {
                Some(item_id)
            }
            _ => None,
        }
    }
}

/// A behaviour event: a fact, stored once by its `id`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub id: String,
    pub user_id: String,
    pub time: Timestamp,
    #[serde(flatten)]
    pub kind: EventKind,
}

impl Event {
    /// Checks every field's domain rules; the error names the field and value.
    pub fn validate(&self) -> Result<(), CoreError> {
        validate_id("id", &self.id)?;
        validate_id("user_id", &self.user_id)?;
        let opt_id = |field: &str, v: &Option<String>| match v {
            Some(v) => validate_id(field, v),
            None => Ok(()),
        };
        match &self.kind {
            EventKind::View { item_id } => opt_id("item_id", item_id),
            EventKind::Click {
                item_id,
                decision_id,
            } => {
                opt_id("item_id", item_id)?;
                opt_id("decision_id", decision_id)
            }
            EventKind::AddToCart { item_id, quantity } => {
                validate_id("item_id", item_id)?;
                if *quantity == 0 {
                    return Err(CoreError::invalid(
                        "quantity",
                        quantity,
                        "must be at least 1",
                    ));
                }
                Ok(())
            }
            EventKind::Order {
                order_id, lines, ..
            } => {
                validate_id("order_id", order_id)?;
                if lines.is_empty() {
                    return Err(CoreError::invalid(
                        "lines",
                        "[]",
                        "an order needs at least one line",
                    ));
                }
                lines
                    .iter()
                    .enumerate()
                    .try_for_each(|(i, l)| l.validate(i))?;
                // Every sum a report or a join takes of this order must fit in minor units.
                let mut totals = [0i64; 4];
                for (i, l) in lines.iter().enumerate() {
                    // `list_price` is per unit; the other amounts are line totals.
                    let amounts = [
                        l.list_price.checked_mul(i64::from(l.quantity)),
                        Some(l.paid),
                        Some(l.retail_discount),
                        Some(l.coupon_discount),
                    ];
                    for (total, amount) in totals.iter_mut().zip(amounts) {
                        *total = match amount.and_then(|a| total.checked_add(a)) {
                            Some(t) => t,
                            None => {
                                return Err(CoreError::invalid(
                                    &format!("lines[{i}]"),
                                    l.list_price,
                                    "the order's total does not fit in 64-bit minor units",
                                ))
                            }
                        };
                    }
                }
                Ok(())
            }
            EventKind::Refund {
                order_id,
                amount,
                item_id,
                ..
            } => {
                validate_id("order_id", order_id)?;
                opt_id("item_id", item_id)?;
                non_negative("amount", *amount).map(|_| ())
            }
            EventKind::Review {
                item_id, rating, ..
            } => {
                validate_id("item_id", item_id)?;
                if !(1..=5).contains(rating) {
                    return Err(CoreError::invalid("rating", rating, "must be 1 to 5"));
                }
                Ok(())
            }
            EventKind::OfferShown {
                decision_id,
                offer,
                item_id,
                propensity,
                ..
            } => {
                validate_id("decision_id", decision_id)?;
                opt_id("item_id", item_id)?;
                offer.validate()?;
                match propensity {
                    Some(p) if !(*p > 0.0 && *p <= 1.0) => {
                        Err(CoreError::invalid("propensity", p, "must be in (0, 1]"))
                    }
                    _ => Ok(()),
                }
            }
            EventKind::CouponIssued {
                coupon_id,
                decision_id,
                offer,
                ..
            } => {
                validate_id("coupon_id", coupon_id)?;
                opt_id("decision_id", decision_id)?;
                offer.validate()
            }
            EventKind::CouponRedeemed {
                coupon_id,
                order_id,
                amount,
                ..
            } => {
                validate_id("coupon_id", coupon_id)?;
                opt_id("order_id", order_id)?;
                non_negative("amount", *amount).map(|_| ())
            }
            EventKind::Session {
                duration_seconds, ..
            } => {
                if !(duration_seconds.is_finite() && *duration_seconds >= 0.0) {
                    return Err(CoreError::invalid(
                        "duration_seconds",
                        duration_seconds,
                        "must be a non-negative number",
                    ));
                }
                Ok(())
            }
        }
    }

    /// Paid total of an order (sum of line totals), zero for other events.
    pub fn order_total(&self) -> i64 {
        match &self.kind {
            EventKind::Order { lines, .. } => lines.iter().map(|l| l.paid).sum(),
            _ => 0,
        }
    }
}

/// Anything a data file can carry: a user, an item, or an event.
#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    User(User),
    Item(Item),
    Event(Event),
}

impl Record {
    /// The key that makes re-ingestion idempotent: records with the same key are duplicates.
    pub fn key(&self) -> (&'static str, &str) {
        match self {
            Record::User(u) => ("user", &u.id),
            Record::Item(i) => ("item", &i.id),
            Record::Event(e) => ("event", &e.id),
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Record::User(_) => "user",
            Record::Item(_) => "item",
            Record::Event(e) => e.kind.name(),
        }
    }

    /// Serialises into the JSONL ingest format (one object, no newline).
    pub fn to_json(&self) -> String {
        let value = match self {
            Record::User(u) => {
                let mut v =
                    serde_json::json!({"type": "user", "id": u.id, "attributes": u.attributes});
                if let Some(s) = u.signup {
                    v["signup"] = serde_json::Value::String(s.to_rfc3339());
                }
                v
            }
            Record::Item(i) => serde_json::json!({
                "type": "item", "id": i.id, "category": i.category, "list_price": i.list_price,
                "unit_cost": i.unit_cost, "currency": i.currency, "stock": i.stock,
            }),
            Record::Event(e) => {
                let mut v = serde_json::to_value(e).unwrap_or_default();
                v["time"] = serde_json::Value::String(e.time.to_rfc3339());
                if let Some(obj) = v.as_object_mut() {
                    obj.retain(|_, x| !x.is_null());
                }
                v
            }
        };
        value.to_string()
    }
}

/// A timestamp as it appears on the wire: text in any accepted format, or an epoch number.
#[derive(Clone, Debug, PartialEq)]
pub enum WireTime {
    Text(String),
    Number(f64),
}

impl WireTime {
    pub fn parse(&self, field: &str) -> Result<Timestamp, CoreError> {
        match self {
            WireTime::Text(t) => Timestamp::parse(field, t),
            WireTime::Number(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => {
                Timestamp::from_epoch_number(field, *n as i64)
            }
            WireTime::Number(n) => Timestamp::parse(field, &n.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for WireTime {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = WireTime;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a timestamp string or a Unix epoch number")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<WireTime, E> {
                Ok(WireTime::Text(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<WireTime, E> {
                Ok(WireTime::Number(v as f64))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<WireTime, E> {
                Ok(WireTime::Number(v as f64))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<WireTime, E> {
                Ok(WireTime::Number(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// The flat record of the JSONL and CSV ingest formats; `type` says which fields matter.
/// CSV rows carry at most one order line in the `item_id`, `quantity`, `list_price`, `paid`,
/// `retail_discount`, `coupon_discount` columns; consecutive rows with the same order event id
/// are one order.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct WireRecord {
    #[serde(rename = "type")]
    pub record_type: Option<String>,
    pub id: Option<String>,
    pub user_id: Option<String>,
    pub time: Option<WireTime>,
    pub item_id: Option<String>,
    pub decision_id: Option<String>,
    pub order_id: Option<String>,
    pub coupon_id: Option<String>,
    pub currency: Option<String>,
    pub quantity: Option<i64>,
    pub amount: Option<i64>,
    pub list_price: Option<i64>,
    pub paid: Option<i64>,
    pub retail_discount: Option<i64>,
    pub coupon_discount: Option<i64>,
    pub lines: Option<Vec<WireLine>>,
    pub rating: Option<i64>,
    pub text: Option<String>,
    pub offer: Option<Offer>,
    /// CSV form of `offer`: `no_offer`, `percent_off:10`, `amount_off:500:3000`, `free_shipping`,
    /// `content:NAME`.
    pub offer_spec: Option<String>,
    pub position: Option<i64>,
    pub propensity: Option<f64>,
    pub expires_at: Option<WireTime>,
    pub signup: Option<WireTime>,
    pub attributes: Option<BTreeMap<String, String>>,
    pub category: Option<String>,
    pub unit_cost: Option<i64>,
    pub stock: Option<i64>,
    pub pages: Option<i64>,
    pub duration_seconds: Option<f64>,
    pub purchased: Option<bool>,
}

/// One order line on the wire.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct WireLine {
    pub item_id: Option<String>,
    pub quantity: Option<i64>,
    pub list_price: Option<i64>,
    pub paid: Option<i64>,
    pub retail_discount: Option<i64>,
    pub coupon_discount: Option<i64>,
}

fn required<T>(v: Option<T>, field: &str, record_type: &str) -> Result<T, CoreError> {
    v.ok_or_else(|| CoreError::missing(field, record_type))
}

fn count(field: &str, v: i64) -> Result<u32, CoreError> {
    u32::try_from(v).map_err(|_| CoreError::invalid(field, v, "must be a whole number >= 0"))
}

impl WireLine {
    fn into_line(self, prefix: &str) -> Result<OrderLine, CoreError> {
        let f = |name: &str| format!("{prefix}{name}");
        let quantity = required(self.quantity, &f("quantity"), "order")?;
        let list_price = required(self.list_price, &f("list_price"), "order")?;
        Ok(OrderLine {
            item_id: required(self.item_id, &f("item_id"), "order")?,
            quantity: count(&f("quantity"), quantity)?,
            list_price,
            paid: self.paid.unwrap_or(list_price.saturating_mul(quantity)),
            retail_discount: self.retail_discount.unwrap_or(0),
            coupon_discount: self.coupon_discount.unwrap_or(0),
        })
    }
}

/// Parses the CSV `offer_spec` form of an offer.
pub fn parse_offer_spec(spec: &str) -> Result<Offer, CoreError> {
    let bad = || {
        CoreError::invalid(
            "offer_spec",
            spec,
            "expected no_offer, percent_off:P, amount_off:AMOUNT:MIN_SPEND, free_shipping or content:NAME",
        )
    };
    let mut parts = spec.splitn(3, ':');
    let offer = match parts.next().unwrap_or_default() {
        "no_offer" => Offer::NoOffer,
        "free_shipping" => Offer::FreeShipping,
        "percent_off" => Offer::PercentOff {
            percent: parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?,
        },
        "amount_off" => Offer::AmountOff {
            amount: parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?,
            min_spend: parts
                .next()
                .map_or(Some(0), |p| p.parse().ok())
                .ok_or_else(bad)?,
        },
        "content" => Offer::Content {
            name: parts.next().map(str::to_string).ok_or_else(bad)?,
        },
        _ => return Err(bad()),
    };
    Ok(offer)
}

impl WireRecord {
    /// Builds the domain record this wire record describes, checking every rule.
    pub fn into_record(self) -> Result<Record, CoreError> {
        let record_type = required(self.record_type.clone(), "type", "any")?;
        let t = record_type.as_str();
        match t {
            "user" => {
                let user = User {
                    id: required(self.id, "id", t)?,
                    signup: self.signup.map(|s| s.parse("signup")).transpose()?,
                    attributes: self.attributes.unwrap_or_default(),
                };
                validate_id("id", &user.id)?;
                Ok(Record::User(user))
            }
            "item" => {
                let item = Item {
                    id: required(self.id, "id", t)?,
                    category: self.category.unwrap_or_else(|| "unknown".into()),
                    list_price: non_negative(
                        "list_price",
                        required(self.list_price, "list_price", t)?,
                    )?,
                    unit_cost: self
                        .unit_cost
                        .map(|c| non_negative("unit_cost", c))
                        .transpose()?,
                    currency: Currency::parse(
                        "currency",
                        self.currency.as_deref().unwrap_or("USD"),
                    )?,
                    stock: self.stock,
                };
                validate_id("id", &item.id)?;
                Ok(Record::Item(item))
            }
            _ => self.into_event(t).map(Record::Event),
        }
    }

    fn currency(&self) -> Result<Currency, CoreError> {
        Currency::parse("currency", self.currency.as_deref().unwrap_or("USD"))
    }

    fn offer(&mut self, t: &str) -> Result<Offer, CoreError> {
        match (self.offer.take(), self.offer_spec.take()) {
            (Some(o), _) => Ok(o),
            (None, Some(spec)) => parse_offer_spec(&spec),
            (None, None) => Err(CoreError::missing("offer", t)),
        }
    }

    fn into_event(mut self, t: &str) -> Result<Event, CoreError> {
        let id = required(self.id.take(), "id", t)?;
        let user_id = required(self.user_id.take(), "user_id", t)?;
        let time = required(self.time.take(), "time", t)?.parse("time")?;
        let kind = match t {
            "view" => EventKind::View {
                item_id: self.item_id,
            },
            "click" => EventKind::Click {
                item_id: self.item_id,
                decision_id: self.decision_id,
            },
            "add_to_cart" => EventKind::AddToCart {
                quantity: count("quantity", self.quantity.unwrap_or(1))?,
                item_id: required(self.item_id, "item_id", t)?,
            },
            "order" => {
                let currency = self.currency()?;
                let lines = match self.lines.take() {
                    Some(lines) => lines
                        .into_iter()
                        .enumerate()
                        .map(|(i, l)| l.into_line(&format!("lines[{i}].")))
                        .collect::<Result<Vec<_>, _>>()?,
                    None => vec![WireLine {
                        item_id: self.item_id,
                        quantity: self.quantity,
                        list_price: self.list_price,
                        paid: self.paid,
                        retail_discount: self.retail_discount,
                        coupon_discount: self.coupon_discount,
                    }
                    .into_line("")?],
                };
                EventKind::Order {
                    order_id: required(self.order_id, "order_id", t)?,
                    currency,
                    lines,
                }
            }
            "refund" => EventKind::Refund {
                currency: self.currency()?,
                order_id: required(self.order_id, "order_id", t)?,
                amount: required(self.amount, "amount", t)?,
                item_id: self.item_id,
            },
            "review" => {
                let rating = required(self.rating, "rating", t)?;
                EventKind::Review {
                    item_id: required(self.item_id, "item_id", t)?,
                    rating: u8::try_from(rating)
                        .map_err(|_| CoreError::invalid("rating", rating, "must be 1 to 5"))?,
                    text: self.text,
                }
            }
            "offer_shown" => EventKind::OfferShown {
                offer: self.offer(t)?,
                decision_id: required(self.decision_id, "decision_id", t)?,
                item_id: self.item_id,
                position: self.position.map(|p| count("position", p)).transpose()?,
                propensity: self.propensity,
                expires_at: self.expires_at.map(|e| e.parse("expires_at")).transpose()?,
            },
            "coupon_issued" => EventKind::CouponIssued {
                offer: self.offer(t)?,
                coupon_id: required(self.coupon_id, "coupon_id", t)?,
                decision_id: self.decision_id,
                expires_at: self.expires_at.map(|e| e.parse("expires_at")).transpose()?,
            },
            "coupon_redeemed" => EventKind::CouponRedeemed {
                currency: self.currency()?,
                coupon_id: required(self.coupon_id, "coupon_id", t)?,
                order_id: self.order_id,
                amount: self.amount.unwrap_or(0),
            },
            "session" => EventKind::Session {
                pages: count("pages", required(self.pages, "pages", t)?)?,
                duration_seconds: required(self.duration_seconds, "duration_seconds", t)?,
                purchased: self.purchased.unwrap_or(false),
                attributes: self.attributes.unwrap_or_default(),
            },
            other => {
                return Err(CoreError::invalid(
                    "type",
                    other,
                    format!(
                        "unknown record type; expected user, item or one of: {}",
                        EventKind::NAMES.join(", ")
                    ),
                ))
            }
        };
        let event = Event {
            id,
            user_id,
            time,
            kind,
        };
        event.validate()?;
        Ok(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Record, CoreError> {
        let wire: WireRecord = serde_json::from_str(json).unwrap();
        wire.into_record()
    }

    #[test]
    fn an_order_round_trips_through_json() {
        let r = parse(
            r#"{"type":"order","id":"e1","user_id":"u1","time":"2024-03-01T12:00:00+02:00",
                "order_id":"o1","currency":"eur","lines":[{"item_id":"i1","quantity":2,
                "list_price":500,"paid":900,"coupon_discount":100}]}"#,
        )
        .unwrap();
        let Record::Event(e) = &r else { panic!() };
        assert_eq!(e.order_total(), 900);
        assert_eq!(e.time.to_rfc3339(), "2024-03-01T10:00:00Z");
        let again: WireRecord = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(again.into_record().unwrap(), r);
    }

    #[test]
    fn errors_name_the_field() {
        let e = parse(r#"{"type":"view","user_id":"u","time":"2024-01-01"}"#).unwrap_err();
        assert_eq!(e.to_string(), "field `id` is required for a `view` record");
        let e = parse(r#"{"type":"teleport","id":"1","user_id":"u","time":"2024-01-01"}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`type`") && e.contains("teleport"), "{e}");
        let e = parse(
            r#"{"type":"order","id":"1","user_id":"u","time":"2024-01-01","order_id":"o",
                "lines":[{"item_id":"i","quantity":1,"list_price":-5}]}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("lines[0].list_price") && e.contains("-5"), "{e}");
        let e =
            parse(r#"{"type":"review","id":"1","user_id":"u","time":0,"item_id":"i","rating":9}"#)
                .unwrap_err()
                .to_string();
        assert!(e.contains("rating"), "{e}");
    }

    #[test]
    fn order_totals_that_overflow_are_refused() {
        let big = 1i64 << 62;
        let e = parse(&format!(
            r#"{{"type":"order","id":"1","user_id":"u","time":0,"order_id":"o","lines":[
                {{"item_id":"a","quantity":1,"list_price":{big},"paid":{big}}},
                {{"item_id":"b","quantity":1,"list_price":{big},"paid":{big}}}]}}"#
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("lines[1]") && e.contains("64-bit"), "{e}");
        let e = parse(&format!(
            r#"{{"type":"order","id":"1","user_id":"u","time":0,"order_id":"o","lines":[
                {{"item_id":"a","quantity":4,"list_price":{big},"paid":1}}]}}"#
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("lines[0]"), "{e}");
    }

    #[test]
    fn offer_specs_parse() {
        assert_eq!(
            parse_offer_spec("percent_off:10").unwrap(),
            Offer::PercentOff { percent: 10.0 }
        );
        assert_eq!(
            parse_offer_spec("amount_off:500:3000").unwrap(),
            Offer::AmountOff {
                amount: 500,
                min_spend: 3000
            }
        );
        assert!(parse_offer_spec("percent_off:x").is_err());
        assert!(parse_offer_spec("bogus").is_err());
    }
}
