//! Parquet files of the event log and the joined decision log, for Spark, DuckDB, DataFusion or
//! pandas to read without this program.
//!
//! Written with the parquet crate's column writers (no Arrow in between): rows are buffered
//! column by column until a row group is full (`RowGroupLimits`), then written and dropped, so
//! memory stays flat however large the table is. Times are `TIMESTAMP(MICROS, UTC)`, money is
//! `INT64` minor units (with the currency beside it), text is `UTF8`, and a column is nullable
//! exactly where the value can be absent. The schemas are [`EVENTS_SCHEMA`] and
//! [`DECISIONS_SCHEMA`]; docs/export.md explains each column.

use std::io::Write;
use std::sync::Arc;

use discount_core::{Event, EventKind};
use discount_store::decision_log::{DecisionRow, OutcomeRow};
use parquet::basic::{Compression, ZstdLevel};
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use parquet::schema::types::ColumnDescriptor;

use super::LoggedDecision;

/// The event log: one row per event. Columns a kind of event does not have are null; an order's
/// lines are a list of structs. Leaf order must match the `EV_*` column numbers below.
pub const EVENTS_SCHEMA: &str = "message event {
    required binary event_id (STRING);
    required binary user_id (STRING);
    required int64 at (TIMESTAMP(MICROS,true));
    required binary type (STRING);
    optional binary item_id (STRING);
    optional binary decision_id (STRING);
    optional binary order_id (STRING);
    optional binary coupon_id (STRING);
    optional binary currency (STRING);
    optional int64 amount;
    optional int64 quantity;
    optional int32 rating;
    optional binary text (STRING);
    optional binary offer (STRING);
    optional int64 position;
    optional double propensity;
    optional int64 expires_at (TIMESTAMP(MICROS,true));
    optional int64 pages;
    optional double duration_seconds;
    optional boolean purchased;
    optional binary attributes (STRING);
    optional group lines (LIST) {
        repeated group list {
            required group element {
                required binary item_id (STRING);
                required int64 quantity;
                required int64 list_price;
                required int64 paid;
                required int64 retail_discount;
                required int64 coupon_discount;
            }
        }
    }
}";

const EV_EVENT_ID: usize = 0;
const EV_USER_ID: usize = 1;
const EV_AT: usize = 2;
const EV_TYPE: usize = 3;
const EV_ITEM_ID: usize = 4;
const EV_DECISION_ID: usize = 5;
const EV_ORDER_ID: usize = 6;
const EV_COUPON_ID: usize = 7;
const EV_CURRENCY: usize = 8;
const EV_AMOUNT: usize = 9;
const EV_QUANTITY: usize = 10;
const EV_RATING: usize = 11;
const EV_TEXT: usize = 12;
const EV_OFFER: usize = 13;
const EV_POSITION: usize = 14;
const EV_PROPENSITY: usize = 15;
const EV_EXPIRES_AT: usize = 16;
const EV_PAGES: usize = 17;
const EV_DURATION: usize = 18;
const EV_PURCHASED: usize = 19;
const EV_ATTRIBUTES: usize = 20;
/// The six leaves of `lines.list.element`, in schema order.
const EV_LINE_ITEM_ID: usize = 21;
const EV_LINE_QUANTITY: usize = 22;
const EV_LINE_LIST_PRICE: usize = 23;
const EV_LINE_PAID: usize = 24;
const EV_LINE_RETAIL_DISCOUNT: usize = 25;
const EV_LINE_COUPON_DISCOUNT: usize = 26;

/// The joined decision log: one row per decision with its outcome's columns (null until the
/// outcome is known) and the feature vector it was decided on. Leaf order must match the `DE_*`
/// column numbers below.
pub const DECISIONS_SCHEMA: &str = "message decision {
    required binary decision_id (STRING);
    required int64 at (TIMESTAMP(MICROS,true));
    required binary customer_id (STRING);
    required binary policy (STRING);
    required binary policy_version (STRING);
    required binary action (STRING);
    required binary offer (STRING);
    required double propensity;
    required boolean explored;
    required binary currency (STRING);
    required int64 expected_profit;
    optional binary budget_id (STRING);
    required int64 reserved;
    required int64 attribution_deadline (TIMESTAMP(MICROS,true));
    required boolean joined;
    optional int64 outcome_at (TIMESTAMP(MICROS,true));
    optional binary outcome_source (STRING);
    optional binary outcome_event_id (STRING);
    optional boolean converted;
    optional int64 revenue;
    optional int64 discount;
    optional int64 profit;
    optional int64 charged;
    required group features (LIST) {
        repeated group list {
            required double element;
        }
    }
}";

const DE_DECISION_ID: usize = 0;
const DE_AT: usize = 1;
const DE_CUSTOMER_ID: usize = 2;
const DE_POLICY: usize = 3;
const DE_POLICY_VERSION: usize = 4;
const DE_ACTION: usize = 5;
const DE_OFFER: usize = 6;
const DE_PROPENSITY: usize = 7;
const DE_EXPLORED: usize = 8;
const DE_CURRENCY: usize = 9;
const DE_EXPECTED_PROFIT: usize = 10;
const DE_BUDGET_ID: usize = 11;
const DE_RESERVED: usize = 12;
const DE_DEADLINE: usize = 13;
const DE_JOINED: usize = 14;
const DE_OUTCOME_AT: usize = 15;
const DE_OUTCOME_SOURCE: usize = 16;
const DE_OUTCOME_EVENT_ID: usize = 17;
const DE_CONVERTED: usize = 18;
const DE_REVENUE: usize = 19;
const DE_DISCOUNT: usize = 20;
const DE_PROFIT: usize = 21;
const DE_CHARGED: usize = 22;
const DE_FEATURES: usize = 23;

/// When a row group is full: whichever bound is reached first. The bytes are those buffered
/// before encoding, so they bound the writer's memory.
#[derive(Clone, Copy, Debug)]
pub struct RowGroupLimits {
    pub rows: usize,
    pub bytes: usize,
}

impl Default for RowGroupLimits {
    fn default() -> Self {
        Self {
            rows: 131_072,
            bytes: 64 << 20,
        }
    }
}

/// The values of one leaf column, in the leaf's physical type.
enum Values {
    Utf8(Vec<ByteArray>),
    Int64(Vec<i64>),
    Int32(Vec<i32>),
    Double(Vec<f64>),
    Boolean(Vec<bool>),
}

/// One leaf column of the row group being filled: its values and, where the schema has them,
/// its definition levels (how much of an optional or repeated path is present) and repetition
/// levels (where a new list starts).
struct Leaf {
    name: String,
    max_def: i16,
    max_rep: i16,
    def: Vec<i16>,
    rep: Vec<i16>,
    values: Values,
}

impl Leaf {
    fn of(column: &ColumnDescriptor) -> Result<Self, ParquetError> {
        use parquet::basic::Type as Physical;
        let values = match column.physical_type() {
            Physical::BYTE_ARRAY => Values::Utf8(Vec::new()),
            Physical::INT64 => Values::Int64(Vec::new()),
            Physical::INT32 => Values::Int32(Vec::new()),
            Physical::DOUBLE => Values::Double(Vec::new()),
            Physical::BOOLEAN => Values::Boolean(Vec::new()),
            other => {
                return Err(ParquetError::General(format!(
                    "column {}: physical type {other} is not written by this exporter",
                    column.path()
                )))
            }
        };
        Ok(Self {
            name: column.path().string(),
            max_def: column.max_def_level(),
            max_rep: column.max_rep_level(),
            def: Vec::new(),
            rep: Vec::new(),
            values,
        })
    }

    /// The levels of a value that is present (or of a null when `present` is false) in a column
    /// outside any list.
    fn flat(&mut self, present: bool) {
        if self.max_def > 0 {
            self.def.push(if present { self.max_def } else { 0 });
        }
    }

    /// The levels of one row's list in a column inside a list: `None` is a null list (only in an
    /// optional list), `Some(0)` an empty one, `Some(n)` n elements (whose values the caller
    /// pushes).
    fn list(&mut self, len: Option<usize>) {
        match len {
            None => {
                self.def.push(0);
                self.rep.push(0);
            }
            Some(0) => {
                self.def.push(self.max_def - 1);
                self.rep.push(0);
            }
            Some(n) => {
                for i in 0..n {
                    self.def.push(self.max_def);
                    self.rep.push(if i == 0 { 0 } else { self.max_rep });
                }
            }
        }
    }

    fn clear(&mut self) {
        self.def.clear();
        self.rep.clear();
        match &mut self.values {
            Values::Utf8(v) => v.clear(),
            Values::Int64(v) => v.clear(),
            Values::Int32(v) => v.clear(),
            Values::Double(v) => v.clear(),
            Values::Boolean(v) => v.clear(),
        }
    }
}

/// A Parquet file being written row group by row group.
struct Table<W: Write + Send> {
    writer: SerializedFileWriter<W>,
    leaves: Vec<Leaf>,
    limits: RowGroupLimits,
    rows: usize,
    bytes: usize,
    row_groups: usize,
    rows_written: u64,
}

impl<W: Write + Send> Table<W> {
    fn new(sink: W, schema: &str, limits: RowGroupLimits) -> Result<Self, ParquetError> {
        let schema = Arc::new(parse_message_type(schema)?);
        let properties = Arc::new(
            WriterProperties::builder()
                .set_compression(Compression::ZSTD(ZstdLevel::default()))
                .set_created_by(format!("discount {}", env!("CARGO_PKG_VERSION")))
                .build(),
        );
        let writer = SerializedFileWriter::new(sink, schema, properties)?;
        let leaves = writer
            .schema_descr()
            .columns()
            .iter()
            .map(|c| Leaf::of(c))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            writer,
            leaves,
            limits: RowGroupLimits {
                rows: limits.rows.max(1),
                bytes: limits.bytes.max(1),
            },
            rows: 0,
            bytes: 0,
            row_groups: 0,
            rows_written: 0,
        })
    }

    fn values(&mut self, leaf: usize) -> &mut Values {
        &mut self.leaves[leaf].values
    }

    fn utf8(&mut self, leaf: usize, value: Option<&str>) {
        self.leaves[leaf].flat(value.is_some());
        if let Some(v) = value {
            self.bytes += v.len() + 4;
            self.push_utf8(leaf, v);
        }
    }

    fn push_utf8(&mut self, leaf: usize, v: &str) {
        if let Values::Utf8(values) = self.values(leaf) {
            values.push(ByteArray::from(v));
        }
    }

    fn int64(&mut self, leaf: usize, value: Option<i64>) {
        self.leaves[leaf].flat(value.is_some());
        if let Some(v) = value {
            self.bytes += 8;
            self.push_int64(leaf, v);
        }
    }

    fn push_int64(&mut self, leaf: usize, v: i64) {
        if let Values::Int64(values) = self.values(leaf) {
            values.push(v);
        }
    }

    fn int32(&mut self, leaf: usize, value: Option<i32>) {
        self.leaves[leaf].flat(value.is_some());
        if let (Some(v), Values::Int32(values)) = (value, self.values(leaf)) {
            values.push(v);
            self.bytes += 4;
        }
    }

    fn double(&mut self, leaf: usize, value: Option<f64>) {
        self.leaves[leaf].flat(value.is_some());
        if let (Some(v), Values::Double(values)) = (value, self.values(leaf)) {
            values.push(v);
            self.bytes += 8;
        }
    }

    fn boolean(&mut self, leaf: usize, value: Option<bool>) {
        self.leaves[leaf].flat(value.is_some());
        if let (Some(v), Values::Boolean(values)) = (value, self.values(leaf)) {
            values.push(v);
            self.bytes += 1;
        }
    }

    /// Ends a row: writes the row group when it is full.
    fn end_row(&mut self) -> Result<(), ParquetError> {
        self.rows += 1;
        if self.rows >= self.limits.rows || self.bytes >= self.limits.bytes {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ParquetError> {
        if self.rows == 0 {
            return Ok(());
        }
        let mut group = self.writer.next_row_group()?;
        for leaf in &self.leaves {
            let mut column = group.next_column()?.ok_or_else(|| {
                ParquetError::General(format!("the schema has no column for {}", leaf.name))
            })?;
            let def = (leaf.max_def > 0).then_some(leaf.def.as_slice());
            let rep = (leaf.max_rep > 0).then_some(leaf.rep.as_slice());
            match &leaf.values {
                Values::Utf8(v) => column.typed::<ByteArrayType>().write_batch(v, def, rep)?,
                Values::Int64(v) => column.typed::<Int64Type>().write_batch(v, def, rep)?,
                Values::Int32(v) => column.typed::<Int32Type>().write_batch(v, def, rep)?,
                Values::Double(v) => column.typed::<DoubleType>().write_batch(v, def, rep)?,
                Values::Boolean(v) => column.typed::<BoolType>().write_batch(v, def, rep)?,
            };
            column.close()?;
        }
        group.close()?;
        self.leaves.iter_mut().for_each(Leaf::clear);
        self.row_groups += 1;
        self.rows_written += self.rows as u64;
        self.rows = 0;
        self.bytes = 0;
        Ok(())
    }

    /// Writes what is buffered and the footer; the sink is flushed.
    fn finish(mut self) -> Result<Written, ParquetError> {
        self.flush()?;
        let rows = self.rows_written;
        let row_groups = self.row_groups;
        let mut sink = self.writer.into_inner()?;
        sink.flush()?;
        Ok(Written { rows, row_groups })
    }
}

/// What a finished file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Written {
    pub rows: u64,
    pub row_groups: usize,
}

/// Writes events as rows of [`EVENTS_SCHEMA`].
pub struct EventsParquet<W: Write + Send> {
    table: Table<W>,
}

impl<W: Write + Send> EventsParquet<W> {
    pub fn new(sink: W, limits: RowGroupLimits) -> Result<Self, ParquetError> {
        Ok(Self {
            table: Table::new(sink, EVENTS_SCHEMA, limits)?,
        })
    }

    pub fn push(&mut self, event: &Event) -> Result<(), ParquetError> {
        let t = &mut self.table;
        t.utf8(EV_EVENT_ID, Some(&event.id));
        t.utf8(EV_USER_ID, Some(&event.user_id));
        t.int64(EV_AT, Some(event.time.0));
        t.utf8(EV_TYPE, Some(event.kind.name()));
        t.utf8(EV_ITEM_ID, event.kind.item_id());

        let mut decision_id = None;
        let mut order_id = None;
        let mut coupon_id = None;
        let mut currency = None;
        let mut amount = None;
        let mut quantity = None;
        let mut rating = None;
        let mut text = None;
        let mut offer = None;
        let mut position = None;
        let mut propensity = None;
        let mut expires_at = None;
        let mut session = None;
        let mut lines = None;
        match &event.kind {
            EventKind::View { .. } => {}
            EventKind::Click { decision_id: d, .. } => decision_id = d.as_deref(),
            EventKind::AddToCart { quantity: q, .. } => quantity = Some(i64::from(*q)),
            EventKind::Order {
                order_id: o,
                currency: c,
                lines: l,
            } => {
                order_id = Some(o.as_str());
                currency = Some(c.to_string());
                amount = Some(l.iter().map(|line| line.paid).sum());
                quantity = Some(l.iter().map(|line| i64::from(line.quantity)).sum());
                lines = Some(l);
            }
            EventKind::Refund {
                order_id: o,
                currency: c,
                amount: a,
                ..
            } => {
                order_id = Some(o.as_str());
                currency = Some(c.to_string());
                amount = Some(*a);
            }
            EventKind::Review {
                rating: r, text: x, ..
            } => {
                rating = Some(i32::from(*r));
                text = x.as_deref();
            }
            EventKind::OfferShown {
                decision_id: d,
                offer: o,
                position: p,
                propensity: q,
                expires_at: e,
                ..
            } => {
                decision_id = Some(d.as_str());
                offer = Some(offer_json(o)?);
                position = p.map(i64::from);
                propensity = *q;
                expires_at = e.map(|e| e.0);
            }
            EventKind::CouponIssued {
                coupon_id: c,
                decision_id: d,
                offer: o,
                expires_at: e,
            } => {
                coupon_id = Some(c.as_str());
                decision_id = d.as_deref();
                offer = Some(offer_json(o)?);
                expires_at = e.map(|e| e.0);
            }
            EventKind::CouponRedeemed {
                coupon_id: c,
                order_id: o,
                currency: cur,
                amount: a,
            } => {
                coupon_id = Some(c.as_str());
                order_id = o.as_deref();
                currency = Some(cur.to_string());
                amount = Some(*a);
            }
            EventKind::Session {
                pages,
                duration_seconds,
                purchased,
                attributes,
            } => {
                let attributes = serde_json::to_string(attributes)
                    .map_err(|e| ParquetError::General(format!("session attributes: {e}")))?;
                session = Some((i64::from(*pages), *duration_seconds, *purchased, attributes));
            }
        }
        t.utf8(EV_DECISION_ID, decision_id);
        t.utf8(EV_ORDER_ID, order_id);
        t.utf8(EV_COUPON_ID, coupon_id);
        t.utf8(EV_CURRENCY, currency.as_deref());
        t.int64(EV_AMOUNT, amount);
        t.int64(EV_QUANTITY, quantity);
        t.int32(EV_RATING, rating);
        t.utf8(EV_TEXT, text);
        t.utf8(EV_OFFER, offer.as_deref());
        t.int64(EV_POSITION, position);
        t.double(EV_PROPENSITY, propensity);
        t.int64(EV_EXPIRES_AT, expires_at);
        t.int64(EV_PAGES, session.as_ref().map(|s| s.0));
        t.double(EV_DURATION, session.as_ref().map(|s| s.1));
        t.boolean(EV_PURCHASED, session.as_ref().map(|s| s.2));
        t.utf8(EV_ATTRIBUTES, session.as_ref().map(|s| s.3.as_str()));

        for leaf in EV_LINE_ITEM_ID..=EV_LINE_COUPON_DISCOUNT {
            t.leaves[leaf].list(lines.map(Vec::len));
        }
        for line in lines.into_iter().flatten() {
            t.bytes += line.item_id.len() + 4 + 5 * 8;
            t.push_utf8(EV_LINE_ITEM_ID, &line.item_id);
            t.push_int64(EV_LINE_QUANTITY, i64::from(line.quantity));
            t.push_int64(EV_LINE_LIST_PRICE, line.list_price);
            t.push_int64(EV_LINE_PAID, line.paid);
            t.push_int64(EV_LINE_RETAIL_DISCOUNT, line.retail_discount);
            t.push_int64(EV_LINE_COUPON_DISCOUNT, line.coupon_discount);
        }
        t.end_row()
    }

    pub fn finish(self) -> Result<Written, ParquetError> {
        self.table.finish()
    }
}

fn offer_json(offer: &discount_core::Offer) -> Result<String, ParquetError> {
    serde_json::to_string(offer).map_err(|e| ParquetError::General(format!("offer: {e}")))
}

/// Writes joined decisions as rows of [`DECISIONS_SCHEMA`].
pub struct DecisionsParquet<W: Write + Send> {
    table: Table<W>,
}

impl<W: Write + Send> DecisionsParquet<W> {
    pub fn new(sink: W, limits: RowGroupLimits) -> Result<Self, ParquetError> {
        Ok(Self {
            table: Table::new(sink, DECISIONS_SCHEMA, limits)?,
        })
    }

    pub fn push(
        &mut self,
        decision: &DecisionRow,
        outcome: Option<&OutcomeRow>,
    ) -> Result<(), ParquetError> {
        // The policy, rung and features come from the logged request exactly as the JSON Lines
        // and CSV exports read them.
        let logged = LoggedDecision::of(decision, outcome);
        let t = &mut self.table;
        t.utf8(DE_DECISION_ID, Some(&decision.id));
        t.int64(DE_AT, Some(decision.at));
        t.utf8(DE_CUSTOMER_ID, Some(&decision.customer_id));
        t.utf8(DE_POLICY, Some(&logged.policy));
        t.utf8(DE_POLICY_VERSION, Some(&decision.policy_version));
        t.utf8(DE_ACTION, Some(&logged.action));
        t.utf8(DE_OFFER, Some(&decision.offer));
        t.double(DE_PROPENSITY, Some(decision.propensity));
        t.boolean(DE_EXPLORED, Some(decision.explored));
        t.utf8(DE_CURRENCY, Some(&decision.currency));
        t.int64(DE_EXPECTED_PROFIT, Some(decision.expected_profit));
        t.utf8(DE_BUDGET_ID, decision.budget_id.as_deref());
        t.int64(DE_RESERVED, Some(decision.reserved));
        t.int64(DE_DEADLINE, Some(decision.attribution_deadline));
        t.boolean(DE_JOINED, Some(outcome.is_some()));
        t.int64(DE_OUTCOME_AT, outcome.map(|o| o.at));
        t.utf8(DE_OUTCOME_SOURCE, outcome.map(|o| o.source.as_str()));
        t.utf8(
            DE_OUTCOME_EVENT_ID,
            outcome.and_then(|o| o.event_id.as_deref()),
        );
        t.boolean(DE_CONVERTED, outcome.map(|o| o.converted));
        t.int64(DE_REVENUE, outcome.map(|o| o.revenue));
        t.int64(DE_DISCOUNT, outcome.map(|o| o.discount));
        t.int64(DE_PROFIT, outcome.map(|o| o.profit));
        t.int64(DE_CHARGED, outcome.map(|o| o.charged));
        t.leaves[DE_FEATURES].list(Some(logged.features.len()));
        t.bytes += 8 * logged.features.len();
        if let Values::Double(values) = t.values(DE_FEATURES) {
            values.extend_from_slice(&logged.features);
        }
        t.end_row()
    }

    pub fn finish(self) -> Result<Written, ParquetError> {
        self.table.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf_names(schema: &str) -> Vec<String> {
        let schema = parquet::schema::types::SchemaDescriptor::new(Arc::new(
            parse_message_type(schema).unwrap(),
        ));
        schema.columns().iter().map(|c| c.path().string()).collect()
    }

    /// Every column number the writers use names the schema's leaf it means.
    #[test]
    fn column_numbers_match_the_schemas() {
        let events = leaf_names(EVENTS_SCHEMA);
        let named = [
            (EV_EVENT_ID, "event_id"),
            (EV_USER_ID, "user_id"),
            (EV_AT, "at"),
            (EV_TYPE, "type"),
            (EV_ITEM_ID, "item_id"),
            (EV_DECISION_ID, "decision_id"),
            (EV_ORDER_ID, "order_id"),
            (EV_COUPON_ID, "coupon_id"),
            (EV_CURRENCY, "currency"),
            (EV_AMOUNT, "amount"),
            (EV_QUANTITY, "quantity"),
            (EV_RATING, "rating"),
            (EV_TEXT, "text"),
            (EV_OFFER, "offer"),
            (EV_POSITION, "position"),
            (EV_PROPENSITY, "propensity"),
            (EV_EXPIRES_AT, "expires_at"),
            (EV_PAGES, "pages"),
            (EV_DURATION, "duration_seconds"),
            (EV_PURCHASED, "purchased"),
            (EV_ATTRIBUTES, "attributes"),
            (EV_LINE_ITEM_ID, "lines.list.element.item_id"),
            (EV_LINE_QUANTITY, "lines.list.element.quantity"),
            (EV_LINE_LIST_PRICE, "lines.list.element.list_price"),
            (EV_LINE_PAID, "lines.list.element.paid"),
            (
                EV_LINE_RETAIL_DISCOUNT,
                "lines.list.element.retail_discount",
            ),
            (
                EV_LINE_COUPON_DISCOUNT,
                "lines.list.element.coupon_discount",
            ),
        ];
        assert_eq!(events.len(), named.len());
        for (i, name) in named {
            assert_eq!(events[i], name);
        }
        let decisions = leaf_names(DECISIONS_SCHEMA);
        let named = [
            (DE_DECISION_ID, "decision_id"),
            (DE_AT, "at"),
            (DE_CUSTOMER_ID, "customer_id"),
            (DE_POLICY, "policy"),
            (DE_POLICY_VERSION, "policy_version"),
            (DE_ACTION, "action"),
            (DE_OFFER, "offer"),
            (DE_PROPENSITY, "propensity"),
            (DE_EXPLORED, "explored"),
            (DE_CURRENCY, "currency"),
            (DE_EXPECTED_PROFIT, "expected_profit"),
            (DE_BUDGET_ID, "budget_id"),
            (DE_RESERVED, "reserved"),
            (DE_DEADLINE, "attribution_deadline"),
            (DE_JOINED, "joined"),
            (DE_OUTCOME_AT, "outcome_at"),
            (DE_OUTCOME_SOURCE, "outcome_source"),
            (DE_OUTCOME_EVENT_ID, "outcome_event_id"),
            (DE_CONVERTED, "converted"),
            (DE_REVENUE, "revenue"),
            (DE_DISCOUNT, "discount"),
            (DE_PROFIT, "profit"),
            (DE_CHARGED, "charged"),
            (DE_FEATURES, "features.list.element"),
        ];
        assert_eq!(decisions.len(), named.len());
        for (i, name) in named {
            assert_eq!(decisions[i], name);
        }
    }

    #[test]
    fn list_levels_mark_null_empty_and_repeated_lists() {
        let schema = parse_message_type(EVENTS_SCHEMA).unwrap();
        let schema = parquet::schema::types::SchemaDescriptor::new(Arc::new(schema));
        let mut leaf = Leaf::of(&schema.column(EV_LINE_PAID)).unwrap();
        assert_eq!((leaf.max_def, leaf.max_rep), (2, 1));
        leaf.list(None);
        leaf.list(Some(0));
        leaf.list(Some(3));
        assert_eq!(leaf.def, [0, 1, 2, 2, 2]);
        assert_eq!(leaf.rep, [0, 0, 0, 1, 1]);
    }
}
