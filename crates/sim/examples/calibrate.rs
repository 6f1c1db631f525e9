//! Prints the calibration figures of the default configuration under a few policies.
//!
//! `cargo run --release -p discount-sim --example calibrate -- [USERS] [DAYS]`

use discount_sim::calibration::{measure, Targets};
use discount_sim::policy::{NoOfferPolicy, UniformPolicy};
use discount_sim::SimConfig;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let users = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(100_000);
    let days = args.next().map(|a| a.parse()).transpose()?.unwrap_or(60);
    let config = SimConfig {
        users,
        days,
        ..SimConfig::default()
    };
    println!("targets: {:#?}", Targets::from_public_data());
    for m in [
        measure(&config, &mut NoOfferPolicy)?,
        measure(&config, &mut UniformPolicy { percent: 5.0 })?,
        measure(&config, &mut UniformPolicy { percent: 10.0 })?,
    ] {
        println!("{}", serde_json::to_string(&m)?);
    }
    Ok(())
}
