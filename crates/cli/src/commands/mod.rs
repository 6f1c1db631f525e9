pub mod bench;
pub mod datasets;
pub mod demo;
pub mod experiment;
pub mod ingest;
pub mod ope;
pub mod report;
pub mod simulate;
pub mod stats;

/// An error that asks for a specific process exit code (e.g. 2 when rows were rejected).
#[derive(Debug)]
pub struct ExitCode(pub i32);

impl std::fmt::Display for ExitCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit code {}", self.0)
    }
}

impl std::error::Error for ExitCode {}
