//! Runs the Open Bandit Dataset experiment and prints the result as JSON.
//!
//! `cargo run --release -p discount-eval --example obd_experiment -- [n_sim] [n_bootstrap] [model]`
//! where model is `mean` (default) or `logistic`.

use discount_eval::obd::{
    default_data_dir, run_obd_experiment, ObdExperimentConfig, RewardModelChoice,
};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let mut config = ObdExperimentConfig::new(default_data_dir());
    if let Some(n_sim) = args.get(1) {
        config.n_sim = n_sim.parse()?;
    }
    if let Some(n_bootstrap) = args.get(2) {
        config.bootstrap.n_resamples = n_bootstrap.parse()?;
    }
    if args.get(3).map(String::as_str) == Some("logistic") {
        config.reward_model = RewardModelChoice::Logistic {
            prior_strength: 10.0,
            l2: 1.0,
        };
    }
    let result = run_obd_experiment(&config)?;
    println!("{}", serde_json::to_string_pretty(&result)?);
    Ok(())
}
