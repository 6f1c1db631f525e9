//! Next-basket recommendation on the dunnhumby Complete Journey sample: train on every week before the last
//! `--holdout-weeks`, recommend 20 products to each household that shops in the held-out weeks, and score
//! recall@20 and NDCG@20 against what it bought then. Compared: the crate's recommender (ALS on decayed order
//! strengths), popularity, and item-kNN (cosine similarity of products over households).
//!
//! Usage: cargo run -p discount-recommend --example complete_journey -- [DATA_DIR] [HOLDOUT_WEEKS]
//! (DATA_DIR defaults to $DISCOUNT_DATA_DIR, else ../shared/data; HOLDOUT_WEEKS to 4).

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use anyhow::Context;
use discount_core::{Currency, Event, EventKind, OrderLine, Timestamp};
use discount_recommend::{EventWeights, Interactions, Learner, Recommender};

const K: usize = 20;

struct Line {
    household: String,
    basket: String,
    product: String,
    week: u32,
    time: Timestamp,
}

fn read(path: &PathBuf) -> anyhow::Result<Vec<Line>> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("opening {}", path.display()))?;
    let headers = reader.headers()?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .with_context(|| format!("{}: no column {name}", path.display()))
    };
    let (ch, cb, cp, cw, ct) = (
        col("household_id")?,
        col("basket_id")?,
        col("product_id")?,
        col("week")?,
        col("transaction_timestamp")?,
    );
    let mut out = Vec::new();
    for (k, r) in reader.records().enumerate() {
        let line = k + 2;
        let r = r.with_context(|| format!("{}:{line}", path.display()))?;
        let get = |c: usize| r.get(c).unwrap_or("");
        out.push(Line {
            household: get(ch).to_string(),
            basket: get(cb).to_string(),
            product: get(cp).to_string(),
            week: get(cw)
                .parse()
                .with_context(|| format!("{}:{line}: week {:?}", path.display(), get(cw)))?,
            time: Timestamp::parse("transaction_timestamp", get(ct))
                .with_context(|| format!("{}:{line}", path.display()))?,
        });
    }
    Ok(out)
}

/// Recall@K and NDCG@K of one ranking against a target set.
fn score(ranking: &[usize], target: &HashSet<usize>) -> (f64, f64) {
    let mut hits = 0.0;
    let mut dcg = 0.0;
    for (k, i) in ranking.iter().take(K).enumerate() {
        if target.contains(i) {
            hits += 1.0;
            dcg += 1.0 / ((k + 2) as f64).log2();
        }
    }
    let idcg: f64 = (0..target.len().min(K))
        .map(|k| 1.0 / ((k + 2) as f64).log2())
        .sum();
    (hits / target.len() as f64, dcg / idcg)
}

fn top_k(scores: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|a, b| scores[*b].total_cmp(&scores[*a]).then(a.cmp(b)));
    order.truncate(K);
    order
}

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let data = args
        .next()
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("DISCOUNT_DATA_DIR").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("../shared/data"));
    let holdout: u32 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(4);
    let lines = read(&data.join("dunnhumby-completejourney/transactions_sample.csv"))?;
    let last_week = lines
        .iter()
        .map(|l| l.week)
        .max()
        .context("no transactions")?;
    let cut = last_week - holdout; // weeks <= cut train, later test
    let as_of = lines
        .iter()
        .filter(|l| l.week <= cut)
        .map(|l| l.time)
        .max()
        .context("no training weeks")?;
    // Training events: one order per basket.
    let mut baskets: HashMap<(String, String), (Timestamp, Vec<String>)> = HashMap::new();
    for l in lines.iter().filter(|l| l.week <= cut) {
        let b = baskets
            .entry((l.household.clone(), l.basket.clone()))
            .or_insert((l.time, Vec::new()));
        b.1.push(l.product.clone());
    }
    let mut keys: Vec<_> = baskets.keys().cloned().collect();
    keys.sort();
    let mut x = Interactions::new(EventWeights::default(), as_of)?;
    for key in keys {
        let (time, products) = &baskets[&key];
        x.push(&Event {
            id: key.1.clone(),
            user_id: key.0.clone(),
            time: *time,
            kind: EventKind::Order {
                order_id: key.1.clone(),
                currency: Currency::USD,
                lines: products
                    .iter()
                    .map(|p| OrderLine {
                        item_id: p.clone(),
                        quantity: 1,
                        list_price: 0,
                        paid: 0,
                        retail_discount: 0,
                        coupon_discount: 0,
                    })
                    .collect(),
            },
        });
    }
    let n_items = x.item_ids().len();
    // Targets: products (known from training) bought in the held-out weeks, per household known in training.
    let mut targets: HashMap<u32, HashSet<usize>> = HashMap::new();
    for l in lines.iter().filter(|l| l.week > cut) {
        if let (Some(u), Some(i)) = (x.user_index(&l.household), x.item_index(&l.product)) {
            targets.entry(u).or_default().insert(i as usize);
        }
    }
    let mut users: Vec<u32> = targets.keys().copied().collect();
    users.sort_unstable();

    let start = std::time::Instant::now();
    let model = Recommender::fit(&x, &Learner::default(), &|_| None)?;
    let fit_seconds = start.elapsed().as_secs_f64();
    let popularity = x.item_totals(|_| true);
    // Item-kNN: cosine similarity of binary household-product vectors.
    let mut bought: Vec<Vec<usize>> = vec![Vec::new(); x.user_ids().len()];
    let mut item_count = vec![0.0f64; n_items];
    for (u, items) in bought.iter_mut().enumerate() {
        for (i, _) in x.items_of(u as u32) {
            items.push(i as usize);
            item_count[i as usize] += 1.0;
        }
    }
    let mut co: HashMap<(usize, usize), f64> = HashMap::new();
    for items in &bought {
        for &a in items {
            for &b in items {
                if a != b {
                    *co.entry((a, b)).or_insert(0.0) += 1.0;
                }
            }
        }
    }
    let mut neighbours: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n_items];
    for (&(a, b), &c) in &co {
        neighbours[a].push((b, c / (item_count[a] * item_count[b]).sqrt()));
    }

    let (mut als, mut pop, mut knn) = ((0.0, 0.0), (0.0, 0.0), (0.0, 0.0));
    let mut buffer = Vec::new();
    for &u in &users {
        let target = &targets[&u];
        let user_id = &x.user_ids()[u as usize];
        model.model_item_scores(user_id, None, &mut buffer);
        let add = |acc: &mut (f64, f64), s: (f64, f64)| {
            acc.0 += s.0;
            acc.1 += s.1;
        };
        add(&mut als, score(&top_k(&buffer), target));
        add(&mut pop, score(&top_k(&popularity), target));
        let mut knn_scores = vec![0.0; n_items];
        for &i in &bought[u as usize] {
            knn_scores[i] += 1.0; // repeat purchases: what a household bought is its own best neighbour
            for &(j, s) in &neighbours[i] {
                knn_scores[j] += s;
            }
        }
        add(&mut knn, score(&top_k(&knn_scores), target));
    }
    let n = users.len() as f64;
    println!(
        "Complete Journey sample: {} lines, train weeks <= {cut}, test weeks {}..={last_week}; {} households \
         scored, {} products; ALS fitted in {fit_seconds:.2} s",
        lines.len(),
        cut + 1,
        users.len(),
        n_items
    );
    println!("{:<24} {:>10} {:>10}", "model", "recall@20", "NDCG@20");
    for (name, (r, g)) in [
        ("recommender (ALS)", als),
        ("popularity", pop),
        ("item-kNN", knn),
    ] {
        println!("{name:<24} {:>10.4} {:>10.4}", r / n, g / n);
    }
    Ok(())
}
