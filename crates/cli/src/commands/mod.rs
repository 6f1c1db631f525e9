pub mod audit;
pub mod bandit;
pub mod bench;
pub mod customers;
pub mod datasets;
pub mod decide;
pub mod demo;
pub mod evaluate_policy;
pub mod experiment;
pub mod export;
pub mod fraud;
pub mod ingest;
pub mod keys;
pub mod models;
pub mod monitor;
pub mod nats;
pub mod ope;
pub mod plan;
pub mod price;
pub mod privacy;
pub mod profile;
pub mod profile_states;
pub mod quantize;
pub mod recommend;
pub mod report;
pub mod retrain;
pub mod serve;
pub mod serve_bench;
pub mod simulate;
pub mod stats;
pub mod synthetic_shop;
pub mod train;

/// An error that asks for a specific process exit code (e.g. 2 when rows were rejected).
#[derive(Debug)]
pub struct ExitCode(pub i32);

impl std::fmt::Display for ExitCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit code {}", self.0)
    }
}

impl std::error::Error for ExitCode {}
