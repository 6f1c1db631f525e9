//! The data-set adapters on the real files in `../shared/data` (or `DISCOUNT_DATA_DIR`): every
//! count is compared with one computed here from the raw file by plain code. Without the data
//! the tests skip with a message, except under CI (`CI=true`), where they fail.
//! Hand-made broken files check that bad rows become located row errors and the rest flows.

use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use discount_core::{EventKind, Offer, Record};
use discount_ingest::datasets::{self, Dataset, DatasetError};
use discount_ingest::RowError;

fn data_root() -> PathBuf {
    match std::env::var_os("DISCOUNT_DATA_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    }
}

/// The data set's folder, or `None` (with a message) when it is absent outside CI.
fn dataset_dir(dataset: Dataset) -> Option<PathBuf> {
    let dir = data_root().join(dataset.folder());
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "CI=true but the data set {dataset} is missing at {}: run `discount datasets fetch {}`",
            dir.display(),
            dataset.name()
        );
    }
    eprintln!(
        "skipping {dataset}: no data at {} (run `discount datasets fetch {}`, or set DISCOUNT_DATA_DIR)",
        dir.display(),
        dataset.name()
    );
    None
}

/// What an adapter produced.
#[derive(Default)]
struct Tally {
    by_type: BTreeMap<String, usize>,
    errors: Vec<RowError>,
    records: Vec<Record>,
}

impl Tally {
    fn count(&self, record_type: &str) -> usize {
        self.by_type.get(record_type).copied().unwrap_or(0)
    }

    fn events(&self) -> impl Iterator<Item = &discount_core::Event> {
        self.records.iter().filter_map(|r| match r {
            Record::Event(e) => Some(e),
            _ => None,
        })
    }
}

/// Reads a whole source, checking on the way that keys are unique, events valid, and the
/// progress figures end at the total.
fn tally(dataset: Dataset, dir: &Path) -> Result<Tally> {
    let mut source = datasets::open(dataset, dir)?;
    let mut tally = Tally::default();
    let mut keys = HashSet::new();
    for row in source.by_ref() {
        match row {
            Ok((location, record)) => {
                assert!(location.line > 0, "{dataset}: a record without a line");
                if let Record::Event(e) = &record {
                    e.validate().with_context(|| format!("{location}"))?;
                }
                let (kind, id) = record.key();
                assert!(
                    keys.insert((kind, id.to_string())),
                    "{dataset}: duplicate {kind} id {id} at {location}"
                );
                *tally
                    .by_type
                    .entry(record.type_name().to_string())
                    .or_default() += 1;
                tally.records.push(record);
            }
            Err(error) => tally.errors.push(error),
        }
    }
    assert_eq!(
        source.total_bytes(),
        Some(source.bytes_read()),
        "{dataset}: progress"
    );
    Ok(tally)
}

fn csv_rows(path: &Path, delimiter: u8) -> Result<(Vec<String>, Vec<Vec<String>>)> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .quoting(delimiter == b',')
        .from_path(path)
        .with_context(|| path.display().to_string())?;
    let header = reader.headers()?.iter().map(str::to_string).collect();
    let mut rows = Vec::new();
    for record in reader.records() {
        rows.push(record?.iter().map(str::to_string).collect());
    }
    Ok((header, rows))
}

/// A raw table: its rows, with fields looked up by column name.
struct RawTable {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl RawTable {
    fn read(path: &Path, delimiter: u8) -> Result<Self> {
        let (header, rows) = csv_rows(path, delimiter)?;
        Ok(Self { header, rows })
    }

    fn len(&self) -> usize {
        self.rows.len()
    }

    /// The values of one column.
    fn column(&self, name: &str) -> impl Iterator<Item = &str> + Clone {
        let i = self.index(name);
        self.rows.iter().map(move |r| r[i].as_str())
    }

    fn index(&self, name: &str) -> usize {
        self.header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    }
}

/// Dollars as written (`12.3`, `7`) to cents, by string surgery rather than the adapters' parser.
fn cents(text: &str) -> i64 {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let frac = format!("{frac:0<2}");
    whole.parse::<i64>().unwrap() * 100 + frac[..2].parse::<i64>().unwrap()
}

fn order_lines(tally: &Tally) -> impl Iterator<Item = &discount_core::OrderLine> {
    tally.events().flat_map(|e| match &e.kind {
        EventKind::Order { lines, .. } => lines.as_slice(),
        _ => &[],
    })
}

#[test]
fn hillstrom_matches_the_raw_file() -> Result<()> {
    let Some(dir) = dataset_dir(Dataset::Hillstrom) else {
        return Ok(());
    };
    let tally = tally(Dataset::Hillstrom, &dir)?;
    let raw = RawTable::read(
        &dir.join(
            "Kevin_Hillstrom_MineThatData_E-MailAnalytics_DataMiningChallenge_2008.03.20.csv",
        ),
        b',',
    )?;
    assert_eq!(raw.len(), 64_000);
    let mut arms: BTreeMap<String, usize> = BTreeMap::new();
    for segment in raw.column("segment") {
        *arms.entry(segment.to_string()).or_default() += 1;
    }
    let visits = raw.column("visit").filter(|v| *v == "1").count();
    let conversions = raw.column("conversion").filter(|v| *v == "1").count();
    let spend: i64 = raw
        .column("conversion")
        .zip(raw.column("spend"))
        .filter(|(c, _)| *c == "1")
        .map(|(_, s)| cents(s))
        .sum();
    assert!(tally.errors.is_empty(), "{:?}", tally.errors.first());
    assert_eq!(tally.count("user"), raw.len());
    assert_eq!(tally.count("item"), 1);
    assert_eq!(tally.count("offer_shown"), raw.len());
    assert_eq!(tally.count("view"), visits);
    assert_eq!(tally.count("order"), conversions);
    let mut shown: BTreeMap<String, usize> = BTreeMap::new();
    for e in tally.events() {
        if let EventKind::OfferShown {
            offer, propensity, ..
        } = &e.kind
        {
            let arm = match offer {
                Offer::Content { name } => name.clone(),
                Offer::NoOffer => "No E-Mail".into(),
                other => panic!("unexpected offer {other:?}"),
            };
            *shown.entry(arm).or_default() += 1;
            assert_eq!(*propensity, Some(1.0 / 3.0));
        }
    }
    assert_eq!(shown, arms);
    assert_eq!(order_lines(&tally).map(|l| l.paid).sum::<i64>(), spend);
    println!("hillstrom: {:?}, arms {arms:?}", tally.by_type);
    Ok(())
}

#[test]
fn cdnow_matches_the_raw_file() -> Result<()> {
    let Some(dir) = dataset_dir(Dataset::Cdnow) else {
        return Ok(());
    };
    let tally = tally(Dataset::Cdnow, &dir)?;
    let text = fs::read_to_string(dir.join("CDNOW_master.txt"))?;
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|f| !f.is_empty())
        .collect();
    let customers: HashSet<&str> = rows.iter().map(|r| r[0]).collect();
    let cds: u64 = rows.iter().map(|r| r[2].parse::<u64>().unwrap()).sum();
    let dollars: i64 = rows.iter().map(|r| cents(r[3])).sum();
    assert_eq!(customers.len(), 23_570);
    assert!(tally.errors.is_empty(), "{:?}", tally.errors.first());
    assert_eq!(tally.count("user"), customers.len());
    assert_eq!(tally.count("order"), rows.len());
    assert_eq!(tally.count("item"), 1);
    assert_eq!(
        order_lines(&tally)
            .map(|l| u64::from(l.quantity))
            .sum::<u64>(),
        cds
    );
    assert_eq!(order_lines(&tally).map(|l| l.paid).sum::<i64>(), dollars);
    println!("cdnow: {:?}", tally.by_type);
    Ok(())
}

#[test]
fn complete_journey_matches_the_raw_files() -> Result<()> {
    let Some(dir) = dataset_dir(Dataset::CompleteJourney) else {
        return Ok(());
    };
    let tally = tally(Dataset::CompleteJourney, &dir)?;
    let products = RawTable::read(&dir.join("products.csv"), b',')?;
    let demographics = RawTable::read(&dir.join("demographics.csv"), b',')?;
    let campaigns = RawTable::read(&dir.join("campaigns.csv"), b',')?;
    let redemptions = RawTable::read(&dir.join("coupon_redemptions.csv"), b',')?;
    let transactions = RawTable::read(&dir.join("transactions_sample.csv"), b',')?;
    assert_eq!(
        (
            products.len(),
            demographics.len(),
            campaigns.len(),
            redemptions.len(),
            transactions.len()
        ),
        (92_331, 801, 6_589, 2_102, 75_000)
    );
    let households: HashSet<&str> = [&demographics, &campaigns, &redemptions, &transactions]
        .iter()
        .flat_map(|table| table.column("household_id"))
        .collect();
    let baskets: HashSet<&str> = transactions.column("basket_id").collect();
    assert!(tally.errors.is_empty(), "{:?}", tally.errors.first());
    assert_eq!(tally.count("item"), products.len());
    assert_eq!(tally.count("user"), households.len());
    assert_eq!(tally.count("coupon_issued"), campaigns.len());
    assert_eq!(tally.count("coupon_redeemed"), redemptions.len());
    assert_eq!(tally.count("order"), baskets.len());
    assert_eq!(order_lines(&tally).count(), transactions.len());
    // Only one value is not a plain decimal: 4.440892e-16, floating-point residue for zero.
    let sales: i64 = transactions
        .column("sales_value")
        .map(|v| if v.contains('e') { 0 } else { cents(v) })
        .sum();
    assert_eq!(order_lines(&tally).map(|l| l.paid).sum::<i64>(), sales);
    let coupon: i64 = transactions
        .column("coupon_disc")
        .chain(transactions.column("coupon_match_disc"))
        .map(cents)
        .sum();
    assert_eq!(
        order_lines(&tally).map(|l| l.coupon_discount).sum::<i64>(),
        coupon
    );
    let zero_quantity = transactions
        .column("quantity")
        .filter(|q| q.parse::<f64>().ok() == Some(0.0))
        .count();
    assert_eq!(
        order_lines(&tally).filter(|l| l.quantity == 0).count(),
        zero_quantity
    );
    // Every redemption joins the coupon issued to that household in that campaign.
    let issued: HashSet<&str> = tally
        .events()
        .filter_map(|e| match &e.kind {
            EventKind::CouponIssued { coupon_id, .. } => Some(coupon_id.as_str()),
            _ => None,
        })
        .collect();
    let joined = tally
        .events()
        .filter(|e| matches!(&e.kind, EventKind::CouponRedeemed { coupon_id, .. } if issued.contains(coupon_id.as_str())))
        .count();
    assert_eq!(joined, redemptions.len());
    println!(
        "complete-journey: {:?}, {} households without demographics, {zero_quantity} lines of quantity 0",
        tally.by_type,
        households.len() - demographics.len()
    );
    Ok(())
}

#[test]
fn open_bandit_matches_the_raw_files() -> Result<()> {
    let Some(dir) = dataset_dir(Dataset::OpenBandit) else {
        return Ok(());
    };
    let tally = tally(Dataset::OpenBandit, &dir)?;
    let items = RawTable::read(&dir.join("random/all/item_context.csv"), b',')?;
    let mut rounds = 0;
    let mut clicks = 0;
    let mut users = HashSet::new();
    let mut clicks_by_policy = BTreeMap::new();
    for policy in ["random", "bts"] {
        let log = RawTable::read(&dir.join(format!("{policy}/all/all.csv")), b',')?;
        rounds += log.len();
        let policy_clicks = log.column("click").filter(|c| *c == "1").count();
        clicks += policy_clicks;
        clicks_by_policy.insert(format!("obd:{policy}"), policy_clicks);
        let features = (0..4)
            .map(|i| log.index(&format!("user_feature_{i}")))
            .collect::<Vec<_>>();
        users.extend(
            log.rows
                .iter()
                .map(|r| features.iter().map(|i| r[*i].clone()).collect::<Vec<_>>()),
        );
    }
    assert!(tally.errors.is_empty(), "{:?}", tally.errors.first());
    assert_eq!(tally.count("item"), items.len());
    assert_eq!(tally.count("offer_shown"), rounds);
    assert_eq!(tally.count("click"), clicks);
    assert_eq!(tally.count("user"), users.len());
    let mut seen_clicks = BTreeMap::new();
    for e in tally.events() {
        if let EventKind::Click {
            decision_id: Some(d),
            ..
        } = &e.kind
        {
            let policy = d.rsplit_once(':').map_or("", |(p, _)| p).to_string();
            *seen_clicks.entry(policy).or_insert(0) += 1;
        }
    }
    assert_eq!(seen_clicks, clicks_by_policy);
    println!(
        "open-bandit: {:?}, clicks {clicks_by_policy:?}",
        tally.by_type
    );
    Ok(())
}

#[test]
fn movielens_matches_the_raw_files() -> Result<()> {
    let Some(dir) = dataset_dir(Dataset::MovieLens) else {
        return Ok(());
    };
    let tally = tally(Dataset::MovieLens, &dir)?;
    let (_, users) = csv_rows(&dir.join("ml-100k.user"), b'\t')?;
    let (_, items) = csv_rows(&dir.join("ml-100k.item"), b'\t')?;
    let (_, ratings) = csv_rows(&dir.join("ml-100k.inter"), b'\t')?;
    let mut by_rating = [0usize; 6];
    for r in &ratings {
        by_rating[r[2].parse::<usize>()?] += 1;
    }
    assert!(tally.errors.is_empty(), "{:?}", tally.errors.first());
    assert_eq!(
        (users.len(), items.len(), ratings.len()),
        (943, 1_682, 100_000)
    );
    assert_eq!(tally.count("user"), users.len());
    assert_eq!(tally.count("item"), items.len());
    assert_eq!(tally.count("review"), ratings.len());
    let mut seen = [0usize; 6];
    for e in tally.events() {
        if let EventKind::Review { rating, .. } = e.kind {
            seen[usize::from(rating)] += 1;
        }
    }
    assert_eq!(seen, by_rating);
    println!(
        "movielens-100k: {:?}, ratings 1..5 {:?}",
        tally.by_type,
        &by_rating[1..]
    );
    Ok(())
}

#[test]
fn online_shoppers_matches_the_raw_file() -> Result<()> {
    let Some(dir) = dataset_dir(Dataset::OnlineShoppers) else {
        return Ok(());
    };
    let tally = tally(Dataset::OnlineShoppers, &dir)?;
    let raw = RawTable::read(&dir.join("online_shoppers_intention.csv"), b',')?;
    assert_eq!(raw.len(), 12_330);
    // Rows with empty page counts (missing values) are refused; the others become sessions.
    let administrative = raw.index("Administrative");
    let (missing, complete): (Vec<_>, Vec<_>) =
        raw.rows.iter().partition(|r| r[administrative].is_empty());
    assert_eq!(missing.len(), 14);
    let revenue = raw.index("Revenue");
    let purchases = complete.iter().filter(|r| r[revenue] == "TRUE").count();
    let page_columns = ["Administrative", "Informational", "ProductRelated"].map(|c| raw.index(c));
    let pages: u64 = complete
        .iter()
        .flat_map(|r| page_columns.iter().map(|i| r[*i].parse::<u64>().unwrap()))
        .sum();
    assert_eq!(tally.errors.len(), missing.len());
    assert!(tally
        .errors
        .iter()
        .all(|e| e.field.as_deref() == Some("Administrative")));
    assert_eq!(tally.count("user"), complete.len());
    assert_eq!(tally.count("session"), complete.len());
    let mut seen_purchases = 0;
    let mut seen_pages = 0;
    for e in tally.events() {
        if let EventKind::Session {
            pages,
            purchased,
            duration_seconds,
            ..
        } = &e.kind
        {
            seen_purchases += usize::from(*purchased);
            seen_pages += u64::from(*pages);
            assert!(*duration_seconds >= 0.0);
        }
    }
    assert_eq!((seen_purchases, seen_pages), (purchases, pages));
    let lines: Vec<u64> = tally.errors.iter().map(|e| e.location.line).collect();
    println!(
        "online-shoppers: {:?}, refused lines {lines:?}",
        tally.by_type
    );
    Ok(())
}

// ---- Hand-made broken files ----------------------------------------------------------------

fn write(dir: &Path, name: &str, text: &str) -> Result<()> {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::write(path, text)?;
    Ok(())
}

/// Asserts exactly one error per expected (file name, line, field) and returns the tally.
fn expect_errors(
    dataset: Dataset,
    dir: &Path,
    expected: &[(&str, u64, Option<&str>)],
) -> Result<Tally> {
    let tally = tally(dataset, dir)?;
    let found: Vec<(String, u64, Option<String>)> = tally
        .errors
        .iter()
        .map(|e| {
            let file = Path::new(&e.location.file)
                .strip_prefix(dir)
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| e.location.file.clone());
            (file, e.location.line, e.field.clone())
        })
        .collect();
    let wanted: Vec<(String, u64, Option<String>)> = expected
        .iter()
        .map(|(f, l, field)| (f.to_string(), *l, field.map(str::to_string)))
        .collect();
    assert_eq!(found, wanted, "{dataset}: {:#?}", tally.errors);
    for error in &tally.errors {
        let shown = error.to_string();
        assert!(
            shown.contains(&format!("{}:{}", error.location.file, error.location.line)),
            "{shown}"
        );
    }
    Ok(tally)
}

#[test]
fn hillstrom_bad_rows_are_located_and_the_rest_flows() -> Result<()> {
    let dir = tempfile::tempdir()?;
    write(
        dir.path(),
        "Kevin_Hillstrom_MineThatData_E-MailAnalytics_DataMiningChallenge_2008.03.20.csv",
        "recency,history_segment,history,mens,womens,zip_code,newbie,channel,segment,visit,conversion,spend\r\n\
         10,2) $100 - $200,142.44,1,0,Surburban,0,Phone,Womens E-Mail,1,1,29.99\r\n\
         6,3) $200 - $350,329.08,1,1,Rural,1,Web,No E-Mail,0,0,lots\r\n\
         7,\"1) $0 - $100\",80.00,1,1,Urban,1,Web,Mens E-Mail,0\r\n\
         7,\"5) $750 - $1,000\",800.00,1,1,Urban,1,Web,Sms,0,0,0\r\n\
         2,1) $0 - $100,45.00,0,1,Urban,0,Web,Mens E-Mail,0,0,0\r\n",
    )?;
    let tally = expect_errors(
        Dataset::Hillstrom,
        dir.path(),
        &[
            (
                "Kevin_Hillstrom_MineThatData_E-MailAnalytics_DataMiningChallenge_2008.03.20.csv",
                3,
                Some("spend"),
            ),
            (
                "Kevin_Hillstrom_MineThatData_E-MailAnalytics_DataMiningChallenge_2008.03.20.csv",
                4,
                None,
            ),
            (
                "Kevin_Hillstrom_MineThatData_E-MailAnalytics_DataMiningChallenge_2008.03.20.csv",
                5,
                Some("segment"),
            ),
        ],
    )?;
    assert!(tally.errors[0].raw.contains("lots"));
    assert!(
        tally.errors[2].raw.contains("\"5) $750 - $1,000\""),
        "{}",
        tally.errors[2].raw
    );
    assert!(
        tally.errors[1].reason.contains("expected 12 fields"),
        "{}",
        tally.errors[1]
    );
    assert_eq!(tally.count("user"), 2);
    assert_eq!(tally.count("order"), 1);
    let users: Vec<&str> = tally
        .records
        .iter()
        .filter_map(|r| match r {
            Record::User(u) => Some(u.id.as_str()),
            _ => None,
        })
        .collect();
    // Ids follow the data record number, refused records included.
    assert_eq!(users, ["hillstrom:1", "hillstrom:5"]);
    Ok(())
}

#[test]
fn cdnow_bad_rows_are_located_and_the_rest_flows() -> Result<()> {
    let dir = tempfile::tempdir()?;
    write(
        dir.path(),
        "CDNOW_master.txt",
        " customer_id  date number_of_cds  dollar_value\r\n\
         \x2000001 19970101  1   11.77\r\n\
         \x2000001 19971301  1   11.77\r\n\
         \x2000002 19970112  2\r\n\
         \x2000002 19970113  2   -4.00\r\n\
         \x2000002 19970114  3   10.00\r\n",
    )?;
    let tally = expect_errors(
        Dataset::Cdnow,
        dir.path(),
        &[
            ("CDNOW_master.txt", 3, Some("date")),
            ("CDNOW_master.txt", 4, None),
            ("CDNOW_master.txt", 5, Some("dollar_value")),
        ],
    )?;
    assert_eq!((tally.count("user"), tally.count("order")), (2, 2));
    let prices: Vec<i64> = order_lines(&tally).map(|l| l.list_price).collect();
    assert_eq!(prices, [1177, 333]);
    Ok(())
}

#[test]
fn complete_journey_bad_rows_are_located_and_the_rest_flows() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    write(d, "products.csv", "product_id,manufacturer_id,department,brand,product_category,product_type,package_size\n1,2,GROCERY,National,FRZN ICE,ICE,22 LB\n2,2,MISC,National,,,\n")?;
    write(d, "demographics.csv", "household_id,age,income,home_ownership,marital_status,household_size,household_comp,kids_count\n7,65+,35-49K,Homeowner,Married,2,2 Adults No Kids,0\n")?;
    write(d, "campaign_descriptions.csv", "campaign_id,campaign_type,start_date,end_date\n1,Type B,2017-03-03,2017-04-09\n2,Type A,2017-13-01,2017-04-09\n")?;
    write(
        d,
        "campaigns.csv",
        "campaign_id,household_id\n1,7\n1,8\n9,7\n",
    )?;
    write(d, "coupon_redemptions.csv", "household_id,coupon_upc,campaign_id,redemption_date\n8,51380041013,1,2017-03-05\n8,51380041013,1,2017-03-06\n")?;
    write(
        d,
        "transactions_sample.csv",
        "household_id,store_id,basket_id,product_id,quantity,sales_value,retail_disc,coupon_disc,coupon_match_disc,week,transaction_timestamp\n\
         7,309,100,1,2.0,3.00,1.00,0.0,0.0,5,2017-01-28T19:06:53Z\n\
         9,309,200,2,1.0,1.00,0.0,0.0,0.0,5,2017-01-29T10:00:00Z\n\
         7,309,100,2,x,1.00,0.0,0.0,0.0,5,2017-01-28T19:06:53Z\n\
         7,309,100,2,0.0,0.0,0.0,1.4,0.0,5,2017-01-28T19:06:53Z\n\
         8,309,100,2,1.0,1.00,0.0,0.0,0.0,5,2017-01-28T19:06:53Z\n",
    )?;
    let tally = expect_errors(
        Dataset::CompleteJourney,
        d,
        &[
            ("campaign_descriptions.csv", 3, Some("start_date")),
            ("campaigns.csv", 4, Some("campaign_id")),
            ("transactions_sample.csv", 4, Some("quantity")),
            ("transactions_sample.csv", 6, Some("household_id")),
        ],
    )?;
    // Items 1 and 2; household 7 from demographics, 8 and 9 first seen in events.
    assert_eq!((tally.count("item"), tally.count("user")), (2, 3));
    assert_eq!(
        (
            tally.count("coupon_issued"),
            tally.count("coupon_redeemed"),
            tally.count("order")
        ),
        (2, 2, 2)
    );
    let basket = tally
        .events()
        .find(|e| e.id == "cj:basket:100")
        .context("basket 100")?;
    let EventKind::Order { lines, .. } = &basket.kind else {
        panic!("not an order")
    };
    assert_eq!(lines.len(), 2);
    assert_eq!(
        (lines[0].list_price, lines[0].paid, lines[0].retail_discount),
        (200, 300, 100)
    );
    assert_eq!(
        (
            lines[1].quantity,
            lines[1].list_price,
            lines[1].coupon_discount
        ),
        (0, 140, 140)
    );
    let categories: Vec<&str> = tally
        .records
        .iter()
        .filter_map(|r| match r {
            Record::Item(i) => Some(i.category.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(categories, ["GROCERY/FRZN ICE", "MISC"]);
    Ok(())
}

#[test]
fn open_bandit_bad_rows_are_located_and_the_rest_flows() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    write(d, "random/all/item_context.csv", ",item_id,item_feature_0,item_feature_1,item_feature_2,item_feature_3\n0,0,-0.49,aa,bb,cc\n1,1,zero,aa,bb,cc\n")?;
    let header = ",timestamp,item_id,position,click,propensity_score,user_feature_0,user_feature_1,user_feature_2,user_feature_3,user-item_affinity_0\n";
    write(
        d,
        "random/all/all.csv",
        &format!(
            "{header}0,2019-11-24 00:00:34.762830+00:00,0,3,1,0.0125,u0,u1,u2,u3,0.0\n\
             1,2019-11-24 00:00:35.000000+00:00,0,1,0,0,u0,u1,u2,u3,0.0\n"
        ),
    )?;
    write(
        d,
        "bts/all/all.csv",
        &format!("{header}0,2019-11-24 00:01:00+00:00,0,2,0,0.5,u0,u1,u2,u3,0.0\n1,yesterday,0,2,0,0.5,v0,u1,u2,u3,0.0\n"),
    )?;
    let tally = expect_errors(
        Dataset::OpenBandit,
        d,
        &[
            ("random/all/item_context.csv", 3, Some("item_feature_0")),
            ("random/all/all.csv", 3, Some("propensity_score")),
            ("bts/all/all.csv", 3, Some("timestamp")),
        ],
    )?;
    assert_eq!(
        (
            tally.count("item"),
            tally.count("user"),
            tally.count("offer_shown"),
            tally.count("click")
        ),
        (1, 1, 2, 1)
    );
    let ids: Vec<&str> = tally.events().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["obd:random:0", "obd:random:0:click", "obd:bts:0"]);
    Ok(())
}

#[test]
fn movielens_bad_rows_are_located_and_the_rest_flows() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    write(d, "ml-100k.user", "user_id:token\tage:token\tgender:token\toccupation:token\tzip_code:token\n1\t24\tM\ttechnician\t85711\n2\t53\tF\n")?;
    write(d, "ml-100k.item", "item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n1\t\"Toy\" Story\t1995\tAnimation Children's Comedy\n2\tNothing\t1995\t\n")?;
    write(
        d,
        "ml-100k.inter",
        "user_id:token\titem_id:token\trating:float\ttimestamp:float\n1\t1\t3\t881250949\n1\t2\t7\t881250949\n1\t2\t4\tlater\n",
    )?;
    let tally = expect_errors(
        Dataset::MovieLens,
        d,
        &[
            ("ml-100k.user", 3, None),
            ("ml-100k.inter", 3, Some("rating")),
            ("ml-100k.inter", 4, Some("timestamp")),
        ],
    )?;
    assert_eq!(
        (
            tally.count("user"),
            tally.count("item"),
            tally.count("review")
        ),
        (1, 2, 1)
    );
    let categories: Vec<&str> = tally
        .records
        .iter()
        .filter_map(|r| match r {
            Record::Item(i) => Some(i.category.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(categories, ["Animation", "unknown"]);
    Ok(())
}

#[test]
fn online_shoppers_bad_rows_are_located_and_the_rest_flows() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let header = "Administrative,Administrative_Duration,Informational,Informational_Duration,ProductRelated,ProductRelated_Duration,BounceRates,ExitRates,PageValues,SpecialDay,Month,OperatingSystems,Browser,Region,TrafficType,VisitorType,Weekend,Revenue";
    write(
        dir.path(),
        "online_shoppers_intention.csv",
        &format!(
            "{header}\r\n0,-1,0,-1,1,-1,0.2,0.2,0,0,Feb,1,1,1,1,Returning_Visitor,FALSE,FALSE\r\n\
             0,0,0,0,2,64,0,0.1,0,0,Foo,2,2,1,2,Returning_Visitor,FALSE,FALSE\r\n\
             ,,,,,,,,0,0,Mar,2,2,2,1,Returning_Visitor,FALSE,FALSE\r\n\
             2,10.5,1,0,3,-5,0,0.1,0,0,June,2,2,1,2,New_Visitor,TRUE,TRUE\r\n\
             2,10.5,1,0,3,20,0,0.1,0,0,June,2,2,1,2,New_Visitor,TRUE,TRUE"
        ),
    )?;
    let file = "online_shoppers_intention.csv";
    let tally = expect_errors(
        Dataset::OnlineShoppers,
        dir.path(),
        &[
            (file, 3, Some("Month")),
            (file, 4, Some("Administrative")),
            (file, 5, Some("ProductRelated_Duration")),
        ],
    )?;
    let sessions: Vec<(String, String, u32, f64, bool)> = tally
        .events()
        .filter_map(|e| match &e.kind {
            EventKind::Session {
                pages,
                duration_seconds,
                purchased,
                ..
            } => Some((
                e.id.clone(),
                e.time.to_rfc3339(),
                *pages,
                *duration_seconds,
                *purchased,
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        sessions,
        [
            (
                "shoppers:session:1".to_string(),
                "2018-02-01T00:00:01Z".to_string(),
                1,
                0.0,
                false
            ),
            (
                "shoppers:session:5".to_string(),
                "2018-06-01T00:00:05Z".to_string(),
                6,
                30.5,
                true
            ),
        ]
    );
    Ok(())
}

#[test]
fn missing_files_and_columns_are_named() -> Result<()> {
    let dir = tempfile::tempdir()?;
    for dataset in Dataset::all() {
        match datasets::open(dataset, dir.path()) {
            Err(DatasetError::MissingFile { path }) => assert!(path.starts_with(dir.path())),
            Err(other) => panic!("{dataset}: unexpected error {other}"),
            Ok(_) => panic!("{dataset}: opened an empty folder"),
        }
    }
    write(
        dir.path(),
        "online_shoppers_intention.csv",
        "Administrative,Month\n1,Feb\n",
    )?;
    let err = datasets::open(Dataset::OnlineShoppers, dir.path())
        .err()
        .context("should fail")?;
    assert!(matches!(err, DatasetError::MissingColumn { .. }), "{err}");
    assert!(
        err.to_string().contains("online_shoppers_intention.csv"),
        "{err}"
    );
    Ok(())
}
