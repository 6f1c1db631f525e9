//! Prices and stock: the demand models behind shelf prices, stock plans and markdowns, and the households'
//! price sensitivity that the offer engine can use.
//!
//! Two inputs anyone can produce:
//! - [`weekly::WeeklySales`]: weekly sales per series (`series,date,units,price` plus promotion, cost, stock
//!   and covariates);
//! - [`occasions::ChoiceData`]: purchase occasions in long format (`occasion,household,alternative,chosen,price`).
//!
//! [`datasets`] converts the public bayesm scanner panels (Dominick's orange juice and tuna, margarine
//! households) into them; [`order_sales`] aggregates a shop's own order events into weekly sales. On top:
//! - [`elasticity`]: own- and cross-price elasticities and promotion lift, log-log with series and week
//!   fixed effects and robust errors; [`dml`]: double machine learning with cross-fitted nuisances and
//!   heterogeneity in a covariate;
//! - [`choice`]: conditional logit with brand constants, price, promotion and loyalty, and latent classes;
//! - [`forecast`]: per-series demand forecasts with price/promotion covariates and seasonality, rolling-origin
//!   backtests, WAPE, MASE and interval coverage;
//! - [`optimize`]: profit-maximising prices under a merchant's rules, robust to elasticity uncertainty;
//! - [`markdown`]: optimal markdown schedules by dynamic programming against fixed rules;
//! - [`bandit`]: Thompson sampling over a price grid with the demand model as prior, in simulation.
//!
//! ```no_run
//! use discount_pricing::{elasticity, weekly::WeeklySales};
//! let sales = WeeklySales::read(std::path::Path::new("oj.csv"))?;
//! let result = elasticity::estimate(&sales, &elasticity::ElasticityConfig::default())?;
//! println!("pooled own-price elasticity {:.2}", result.pooled.own_price.estimate);
//! # Ok::<(), discount_pricing::PricingError>(())
//! ```

pub mod bandit;
pub mod choice;
pub mod csv_input;
pub mod datasets;
pub mod dml;
pub mod elasticity;
pub mod error;
pub mod fixed_effects;
pub mod forecast;
pub mod linalg;
pub mod markdown;
pub mod occasions;
pub mod optimize;
pub mod order_sales;
pub mod panel;
pub mod weekly;

pub use error::{PricingError, Result};
