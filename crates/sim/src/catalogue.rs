//! The catalogue: categories, items with list price, unit cost and stock that runs down.

use discount_core::{Currency, Item, Record};
use rand_distr::{Distribution, LogNormal};
use serde::Serialize;

use crate::config::CatalogueConfig;
use crate::rng::{domain, SplitMix64};

/// Expected list price and unit cost of one item drawn from a category (popularity-weighted).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct LineMeans {
    pub price: f64,
    pub cost: f64,
}

/// Items in struct-of-arrays form; the items of a category are contiguous.
#[derive(Clone, Debug)]
pub struct Catalogue {
    currency: Currency,
    pub category_names: Vec<String>,
    /// Cumulative category weights (normalised), for draws by share.
    category_cdf: Vec<f64>,
    /// `[start, end)` item indices of each category.
    category_items: Vec<(usize, usize)>,
    /// Cumulative popularity within each item's category (normalised per category).
    popularity_cdf: Vec<f64>,
    pub ids: Vec<String>,
    pub category: Vec<u16>,
    pub price: Vec<i64>,
    pub cost: Vec<i64>,
    pub stock: Vec<i64>,
    initial_stock: Vec<i64>,
    unlimited_stock: bool,
    /// Expected line price and cost per category.
    pub category_means: Vec<LineMeans>,
    /// Expected line price and cost of a category drawn by the global weights.
    pub global_means: LineMeans,
    /// The cheapest item (what order brushers buy).
    pub cheapest: usize,
}

impl Catalogue {
    /// Builds the catalogue from its configuration (validated) and the run's seed.
    pub fn build(config: &CatalogueConfig, seed: u64, currency: Currency) -> Self {
        let total_weight: f64 = config.categories.iter().map(|c| c.weight).sum();
        let mut acc = 0.0;
        let mut c = Catalogue {
            currency,
            category_names: Vec::new(),
            category_cdf: Vec::new(),
            category_items: Vec::new(),
            popularity_cdf: Vec::new(),
            ids: Vec::new(),
            category: Vec::new(),
            price: Vec::new(),
            cost: Vec::new(),
            stock: Vec::new(),
            initial_stock: Vec::new(),
            unlimited_stock: config.stock_mean == 0,
            category_means: Vec::new(),
            global_means: LineMeans {
                price: 0.0,
                cost: 0.0,
            },
            cheapest: 0,
        };
        for (ci, cat) in config.categories.iter().enumerate() {
            acc += cat.weight / total_weight;
            c.category_cdf.push(acc);
            c.category_names.push(cat.name.clone());
            let mut rng = SplitMix64::stream(seed, &[domain::CATALOGUE, ci as u64]);
            let start = c.ids.len();
            let n = cat.items as usize;
            // Popularity ranks in a random order, so that popularity is unrelated to price.
            let mut ranks: Vec<usize> = (1..=n).collect();
            for i in (1..n).rev() {
                ranks.swap(i, rng.below(i + 1));
            }
            let weights: Vec<f64> = ranks
                .iter()
                .map(|&r| (r as f64).powf(-config.popularity_exponent))
                .collect();
            let wsum: f64 = weights.iter().sum();
            let lognormal = LogNormal::new((cat.price_median as f64).ln(), cat.price_sigma)
                .unwrap_or_else(|_| LogNormal::new(0.0, 0.0).expect("unit log-normal"));
            let mut cum = 0.0;
            let (mut mp, mut mc) = (0.0, 0.0);
            for (k, w) in weights.iter().enumerate() {
                let price = (lognormal.sample(&mut rng).round() as i64).max(1);
                let margin = cat.margin_min + (cat.margin_max - cat.margin_min) * rng.uniform();
                let cost = ((price as f64) * (1.0 - margin)).round() as i64;
                let stock = if c.unlimited_stock {
                    i64::MAX
                } else {
                    // Stock roughly proportional to popularity, at least 1.
                    ((config.stock_mean as f64) * w / wsum * n as f64 * (0.5 + rng.uniform()))
                        .round()
                        .max(1.0) as i64
                };
                cum += w / wsum;
                c.popularity_cdf.push(cum);
                c.ids.push(format!("i{ci:02}-{k:04}"));
                c.category.push(ci as u16);
                c.price.push(price);
                c.cost.push(cost);
                c.stock.push(stock);
                c.initial_stock.push(stock);
                mp += w / wsum * price as f64;
                mc += w / wsum * cost as f64;
            }
            if let Some(last) = c.popularity_cdf.last_mut() {
                *last = 1.0;
            }
            c.category_items.push((start, start + n));
            c.category_means.push(LineMeans {
                price: mp,
                cost: mc,
            });
        }
        if let Some(last) = c.category_cdf.last_mut() {
            *last = 1.0;
        }
        let mut g = LineMeans {
            price: 0.0,
            cost: 0.0,
        };
        for (ci, cat) in config.categories.iter().enumerate() {
            g.price += cat.weight / total_weight * c.category_means[ci].price;
            g.cost += cat.weight / total_weight * c.category_means[ci].cost;
        }
        c.global_means = g;
        c.cheapest = (0..c.price.len())
            .min_by_key(|&i| (c.price[i], i))
            .unwrap_or(0);
        c
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn categories(&self) -> usize {
        self.category_names.len()
    }

    /// A category by the global shares.
    pub fn draw_category(&self, u: f64) -> usize {
        self.category_cdf
            .partition_point(|&c| c < u)
            .min(self.categories() - 1)
    }

    /// A category for a customer: the favourite with probability `loyalty`, else by the global shares.
    pub fn draw_category_for(&self, rng: &mut SplitMix64, favourite: usize, loyalty: f64) -> usize {
        if rng.uniform() < loyalty {
            favourite
        } else {
            self.draw_category(rng.uniform())
        }
    }

    /// An item of a category by popularity.
    pub fn draw_item(&self, rng: &mut SplitMix64, category: usize) -> usize {
        let (start, end) = self.category_items[category];
        let u = rng.uniform();
        start
            + self.popularity_cdf[start..end]
                .partition_point(|&c| c < u)
                .min(end - start - 1)
    }

    /// Expected list price and cost of a line for a customer with this favourite and loyalty.
    pub fn line_means(&self, favourite: usize, loyalty: f64) -> LineMeans {
        let f = self.category_means[favourite];
        LineMeans {
            price: loyalty * f.price + (1.0 - loyalty) * self.global_means.price,
            cost: loyalty * f.cost + (1.0 - loyalty) * self.global_means.cost,
        }
    }

    /// Takes up to `quantity` units from stock; returns how many were available.
    pub fn take(&mut self, item: usize, quantity: u32) -> u32 {
        if self.unlimited_stock {
            return quantity;
        }
        let available = self.stock[item].clamp(0, quantity as i64);
        self.stock[item] -= available;
        available as u32
    }

    /// Restores every item's stock to its initial level.
    pub fn restock(&mut self) {
        self.stock.copy_from_slice(&self.initial_stock);
    }

    /// The catalogue as `item` records (stock as at the start).
    pub fn records(&self) -> impl Iterator<Item = Record> + '_ {
        (0..self.len()).map(move |i| {
            Record::Item(Item {
                id: self.ids[i].clone(),
                category: self.category_names[self.category[i] as usize].clone(),
                list_price: self.price[i],
                unit_cost: Some(self.cost[i]),
                currency: self.currency,
                stock: (!self.unlimited_stock).then_some(self.initial_stock[i]),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_have_margins_in_range_and_draws_follow_popularity() {
        let config = CatalogueConfig::default();
        let c = Catalogue::build(&config, 3, Currency::USD);
        assert_eq!(c.len(), 400);
        for i in 0..c.len() {
            let cat = &config.categories[c.category[i] as usize];
            let margin = 1.0 - c.cost[i] as f64 / c.price[i] as f64;
            assert!(
                margin >= cat.margin_min - 0.02 && margin <= cat.margin_max + 0.02,
                "{margin}"
            );
        }
        let mut rng = SplitMix64::new(9);
        let n = 50_000;
        let mean: f64 = (0..n)
            .map(|_| c.price[c.draw_item(&mut rng, 3)] as f64)
            .sum::<f64>()
            / n as f64;
        let expected = c.category_means[3].price;
        assert!((mean / expected - 1.0).abs() < 0.03, "{mean} vs {expected}");
        assert!(c.price[c.cheapest] <= *c.price.iter().min().unwrap());
    }

    #[test]
    fn stock_runs_down_and_restocks() {
        let config = CatalogueConfig {
            stock_mean: 3,
            ..CatalogueConfig::default()
        };
        let mut c = Catalogue::build(&config, 1, Currency::USD);
        let before = c.stock[0];
        assert_eq!(c.take(0, (before + 5) as u32), before as u32);
        assert_eq!(c.take(0, 1), 0);
        c.restock();
        assert_eq!(c.stock[0], before);
    }
}
