//! 84.51 The Complete Journey (as shipped in the `completejourney` R package): products,
//! household demographics, coupon campaigns and their redemptions, and a 75,000-line sample of
//! receipt lines with loyalty and coupon discounts.
//!
//! Read in this order: `products.csv` (items `cj:product:<id>`), `demographics.csv` (users
//! `cj:household:<id>`), `campaigns.csv` (`coupon_issued`, dated by `campaign_descriptions.csv`),
//! `coupon_redemptions.csv` (`coupon_redeemed`) and `transactions_sample.csv` (one `order` per
//! basket). A household that appears in a campaign, redemption or receipt but not in the
//! demographics gets a user without attributes, emitted just before its first event.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::Path;

use discount_core::{Currency, Event, EventKind, Item, Offer, OrderLine, Record, Timestamp, User};

use super::table::{divide_rounded, existing, file_size, HeaderStyle, RawRow, Table};
use super::{Adapter, AdapterSource, DatasetError};
use crate::source::{Location, Row, RowError};

pub(crate) const PRODUCTS: &str = "products.csv";
pub(crate) const DEMOGRAPHICS: &str = "demographics.csv";
pub(crate) const CAMPAIGN_DESCRIPTIONS: &str = "campaign_descriptions.csv";
pub(crate) const CAMPAIGNS: &str = "campaigns.csv";
pub(crate) const REDEMPTIONS: &str = "coupon_redemptions.csv";
pub(crate) const TRANSACTIONS: &str = "transactions_sample.csv";

const DEMOGRAPHIC_ATTRIBUTES: [&str; 7] = [
    "age",
    "income",
    "home_ownership",
    "marital_status",
    "household_size",
    "household_comp",
    "kids_count",
];

pub(crate) fn household(id: &str) -> String {
    format!("cj:household:{id}")
}

pub(crate) fn product(id: &str) -> String {
    format!("cj:product:{id}")
}

/// The coupon a household received in a campaign; redemptions name the same id, so issued and
/// redeemed coupons join on it.
pub(crate) fn campaign_coupon(campaign: &str, household: &str) -> String {
    format!("cj:campaign:{campaign}:{household}")
}

pub(crate) fn open(dir: &Path) -> Result<AdapterSource<CompleteJourney>, DatasetError> {
    let paths = [
        PRODUCTS,
        DEMOGRAPHICS,
        CAMPAIGN_DESCRIPTIONS,
        CAMPAIGNS,
        REDEMPTIONS,
        TRANSACTIONS,
    ]
    .map(|name| existing(dir, name));
    let [products, demographics, descriptions, campaigns, redemptions, transactions] = paths;
    let (products, demographics, descriptions, campaigns, redemptions, transactions) = (
        products?,
        demographics?,
        descriptions?,
        campaigns?,
        redemptions?,
        transactions?,
    );
    let total = [
        &products,
        &demographics,
        &descriptions,
        &campaigns,
        &redemptions,
        &transactions,
    ]
    .iter()
    .map(|p| file_size(p))
    .sum();
    let plain = HeaderStyle::Plain;
    let mut description_table = Table::open(
        &descriptions,
        b',',
        plain,
        &["campaign_id", "campaign_type", "start_date", "end_date"],
    )?;
    let (campaign_info, description_errors) = read_campaign_descriptions(&mut description_table);
    let adapter = CompleteJourney {
        products: Table::open(
            &products,
            b',',
            plain,
            &["product_id", "department", "product_category"],
        )?,
        demographics: Table::open(
            &demographics,
            b',',
            plain,
            &[["household_id"].as_slice(), &DEMOGRAPHIC_ATTRIBUTES].concat(),
        )?,
        campaigns: Table::open(&campaigns, b',', plain, &["campaign_id", "household_id"])?,
        redemptions: Table::open(
            &redemptions,
            b',',
            plain,
            &[
                "household_id",
                "coupon_upc",
                "campaign_id",
                "redemption_date",
            ],
        )?,
        transactions: Some(Table::open(
            &transactions,
            b',',
            plain,
            &[
                "household_id",
                "basket_id",
                "product_id",
                "quantity",
                "sales_value",
                "retail_disc",
                "coupon_disc",
                "coupon_match_disc",
                "transaction_timestamp",
            ],
        )?),
        descriptions_bytes: description_table.bytes_read(),
        stage: Stage::Products,
        campaign_info,
        households: HashSet::new(),
        baskets: Vec::new().into_iter(),
        transactions_bytes: 0,
    };
    Ok(AdapterSource::new(adapter, total).with_pending(description_errors))
}

/// A campaign's type and dates, from `campaign_descriptions.csv`.
struct CampaignInfo {
    kind: String,
    start: Timestamp,
    end: Timestamp,
}

/// Reads the 27-row campaign table up front: its rows become part of every coupon issued.
fn read_campaign_descriptions(table: &mut Table) -> (HashMap<String, CampaignInfo>, Vec<Row>) {
    let mut info = HashMap::new();
    let mut errors = Vec::new();
    while let Some(next) = table.next_row() {
        let parsed = next.and_then(|row| {
            let id = row.id_part("campaign_id")?.to_string();
            let kind = row.non_empty("campaign_type")?.to_string();
            let start = row.date("start_date")?;
            let end = row.date("end_date")?;
            if end < start {
                return Err(row.error("end_date", "the campaign ends before it starts"));
            }
            Ok((id, CampaignInfo { kind, start, end }))
        });
        match parsed {
            Ok((id, campaign)) => {
                info.insert(id, campaign);
            }
            Err(error) => errors.push(Err(error)),
        }
    }
    (info, errors)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    Products,
    Demographics,
    Campaigns,
    Redemptions,
    Transactions,
    Done,
}

pub(crate) struct CompleteJourney {
    products: Table,
    demographics: Table,
    campaigns: Table,
    redemptions: Table,
    /// Taken when its stage starts: the lines are grouped into baskets in memory.
    transactions: Option<Table>,
    descriptions_bytes: u64,
    transactions_bytes: u64,
    stage: Stage,
    campaign_info: HashMap<String, CampaignInfo>,
    /// Households whose user record has been emitted.
    households: HashSet<String>,
    baskets: std::vec::IntoIter<Basket>,
}

impl Adapter for CompleteJourney {
    fn step(&mut self, out: &mut VecDeque<Row>) -> bool {
        loop {
            let progressed = match self.stage {
                Stage::Products => self.products.next_row().map(|next| match next {
                    Ok(row) => push_product(&row, out),
                    Err(error) => out.push_back(Err(error)),
                }),
                Stage::Demographics => self.demographics.next_row().map(|next| {
                    match next.and_then(|row| demographic_user(&row).map(|u| (row, u))) {
                        Ok((row, (raw_id, user))) => {
                            self.households.insert(raw_id);
                            row.push_user(out, user);
                        }
                        Err(error) => out.push_back(Err(error)),
                    }
                }),
                Stage::Campaigns => self.campaigns.next_row().map(|next| {
                    let info = &self.campaign_info;
                    let households = &mut self.households;
                    match next.and_then(|row| coupon_issued(&row, info).map(|e| (row, e))) {
                        Ok((row, (raw_household, event))) => {
                            ensure_household(households, &raw_household, &row.location, out);
                            row.push_event(out, event);
                        }
                        Err(error) => out.push_back(Err(error)),
                    }
                }),
                Stage::Redemptions => self.redemptions.next_row().map(|next| {
                    let households = &mut self.households;
                    match next.and_then(|row| coupon_redeemed(&row).map(|e| (row, e))) {
                        Ok((row, (raw_household, event))) => {
                            ensure_household(households, &raw_household, &row.location, out);
                            row.push_event(out, event);
                        }
                        Err(error) => out.push_back(Err(error)),
                    }
                }),
                Stage::Transactions => {
                    if let Some(mut table) = self.transactions.take() {
                        self.baskets = group_baskets(&mut table, out).into_iter();
                        self.transactions_bytes = table.bytes_read();
                        return true;
                    }
                    self.baskets.next().map(|basket| {
                        ensure_household(
                            &mut self.households,
                            &basket.household,
                            &basket.location,
                            out,
                        );
                        basket.emit(out);
                    })
                }
                Stage::Done => return false,
            };
            if progressed.is_some() {
                return true;
            }
            self.stage = match self.stage {
                Stage::Products => Stage::Demographics,
                Stage::Demographics => Stage::Campaigns,
                Stage::Campaigns => Stage::Redemptions,
                Stage::Redemptions => Stage::Transactions,
                Stage::Transactions | Stage::Done => Stage::Done,
            };
        }
    }

    fn bytes_read(&self) -> u64 {
        let transactions = match &self.transactions {
            Some(table) => table.bytes_read(),
            None => self.transactions_bytes,
        };
        self.descriptions_bytes
            + self.products.bytes_read()
            + self.demographics.bytes_read()
            + self.campaigns.bytes_read()
            + self.redemptions.bytes_read()
            + transactions
    }
}

/// Emits a user without attributes for a household not described in the demographics, the first
/// time it is seen, so that every event's user exists.
fn ensure_household(
    households: &mut HashSet<String>,
    raw_id: &str,
    location: &Location,
    out: &mut VecDeque<Row>,
) {
    if households.insert(raw_id.to_string()) {
        out.push_back(Ok((
            location.clone(),
            Record::User(User {
                id: household(raw_id),
                signup: None,
                attributes: BTreeMap::new(),
            }),
        )));
    }
}

fn push_product(row: &RawRow<'_>, out: &mut VecDeque<Row>) {
    let parsed = (|| {
        let id = row.id_part("product_id")?;
        let department = row.non_empty("department")?;
        let category = match row.text("product_category")? {
            "" => department.to_string(),
            sub => format!("{department}/{sub}"),
        };
        Ok::<_, RowError>(Item {
            id: product(id),
            category,
            // The product table has no prices; receipt lines carry them.
            list_price: 0,
            unit_cost: None,
            currency: Currency::USD,
            stock: None,
        })
    })();
    match parsed {
        Ok(item) => row.push_item(out, item),
        Err(error) => out.push_back(Err(error)),
    }
}

fn demographic_user(row: &RawRow<'_>) -> Result<(String, User), RowError> {
    let raw_id = row.id_part("household_id")?.to_string();
    let mut attributes = BTreeMap::new();
    for column in DEMOGRAPHIC_ATTRIBUTES {
        // An empty value is an R `NA`: the attribute is unknown, so it is left out.
        let value = row.text(column)?;
        if !value.is_empty() {
            attributes.insert(column.to_string(), value.to_string());
        }
    }
    let user = User {
        id: household(&raw_id),
        signup: None,
        attributes,
    };
    Ok((raw_id, user))
}

fn coupon_issued(
    row: &RawRow<'_>,
    info: &HashMap<String, CampaignInfo>,
) -> Result<(String, Event), RowError> {
    let campaign = row.id_part("campaign_id")?;
    let raw_household = row.id_part("household_id")?;
    let Some(description) = info.get(campaign) else {
        return Err(row.error(
            "campaign_id",
            format!("campaign `{campaign}` is not described in {CAMPAIGN_DESCRIPTIONS}"),
        ));
    };
    let coupon_id = campaign_coupon(campaign, raw_household);
    let event = Event {
        id: format!("cj:issued:{campaign}:{raw_household}"),
        user_id: household(raw_household),
        time: description.start,
        kind: EventKind::CouponIssued {
            coupon_id,
            decision_id: None,
            // The coupons' face values are not in the data: the offer names the campaign.
            offer: Offer::Content {
                name: format!("campaign {campaign} {}", description.kind),
            },
            // The end date is the last day of the campaign.
            expires_at: Some(description.end.plus_days(1.0)),
        },
    };
    Ok((raw_household.to_string(), event))
}

fn coupon_redeemed(row: &RawRow<'_>) -> Result<(String, Event), RowError> {
    let raw_household = row.id_part("household_id")?;
    let upc = row.id_part("coupon_upc")?;
    let campaign = row.id_part("campaign_id")?;
    let date = row.date("redemption_date")?;
    let date_text = row.text("redemption_date")?;
    let event = Event {
        // A household can redeem the same coupon UPC on several days, and several UPCs per
        // campaign: the id names all four.
        id: format!("cj:redeemed:{campaign}:{raw_household}:{upc}:{date_text}"),
        user_id: household(raw_household),
        time: date,
        kind: EventKind::CouponRedeemed {
            coupon_id: campaign_coupon(campaign, raw_household),
            // Redemptions are not linked to baskets in the data.
            order_id: None,
            currency: Currency::USD,
            // The discount given is not in the redemption table.
            amount: 0,
        },
    };
    Ok((raw_household.to_string(), event))
}

/// The receipt lines of one basket.
struct Basket {
    id: String,
    household: String,
    time: Timestamp,
    /// Where the basket's first line is; the order is reported there.
    location: Location,
    raw: String,
    lines: Vec<OrderLine>,
}

impl Basket {
    fn emit(self, out: &mut VecDeque<Row>) {
        let order_id = format!("cj:basket:{}", self.id);
        let event = Event {
            id: order_id.clone(),
            user_id: household(&self.household),
            time: self.time,
            kind: EventKind::Order {
                order_id,
                currency: Currency::USD,
                lines: self.lines,
            },
        };
        out.push_back(match event.validate() {
            Ok(()) => Ok((self.location, Record::Event(event))),
            Err(e) => Err(RowError::from_core(self.location, e, &self.raw)),
        });
    }
}

/// One receipt line, parsed.
struct ReceiptLine {
    household: String,
    basket: String,
    time: Timestamp,
    line: OrderLine,
}

fn receipt_line(row: &RawRow<'_>) -> Result<ReceiptLine, RowError> {
    let quantity = row.count("quantity")?;
    let paid = row.dollars_or_residue("sales_value")?;
    let retail = row.dollars_or_residue("retail_disc")?;
    let coupon = row.dollars_or_residue("coupon_disc")?;
    let coupon_match = row.dollars_or_residue("coupon_match_disc")?;
    let gross = paid + retail + coupon + coupon_match;
    Ok(ReceiptLine {
        household: row.id_part("household_id")?.to_string(),
        basket: row.id_part("basket_id")?.to_string(),
        time: row.timestamp("transaction_timestamp")?,
        line: OrderLine {
            item_id: product(row.id_part("product_id")?),
            quantity,
            // The shelf price before any discount, per unit, rounded to the cent. A line with
            // quantity 0 (returns and adjustments) keeps its whole gross amount as the price.
            list_price: divide_rounded(gross, quantity),
            paid,
            retail_discount: retail,
            coupon_discount: coupon + coupon_match,
        },
    })
}

/// Reads all receipt lines and groups them by basket, in order of each basket's first line. The
/// file is not sorted by basket, so this holds the file's lines in memory (75,000 here).
fn group_baskets(table: &mut Table, out: &mut VecDeque<Row>) -> Vec<Basket> {
    let mut baskets: Vec<Basket> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    while let Some(next) = table.next_row() {
        let row = match next {
            Ok(row) => row,
            Err(error) => {
                out.push_back(Err(error));
                continue;
            }
        };
        let parsed = match receipt_line(&row) {
            Ok(parsed) => parsed,
            Err(error) => {
                out.push_back(Err(error));
                continue;
            }
        };
        match index.get(&parsed.basket).and_then(|i| baskets.get_mut(*i)) {
            Some(basket) if basket.household != parsed.household => out.push_back(Err(row.error(
                "household_id",
                format!(
                    "basket {} belongs to household {} (line {})",
                    basket.id, basket.household, basket.location.line
                ),
            ))),
            Some(basket) if basket.time != parsed.time => out.push_back(Err(row.error(
                "transaction_timestamp",
                format!(
                    "basket {} was checked out at {} (line {})",
                    basket.id, basket.time, basket.location.line
                ),
            ))),
            Some(basket) => basket.lines.push(parsed.line),
            None => {
                index.insert(parsed.basket.clone(), baskets.len());
                baskets.push(Basket {
                    id: parsed.basket,
                    household: parsed.household,
                    time: parsed.time,
                    location: row.location.clone(),
                    raw: row.raw(),
                    lines: vec![parsed.line],
                });
            }
        }
    }
    baskets
}
