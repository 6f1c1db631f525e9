//! The discount engine from Python. The package `discount` (built with maturin from `pyproject.toml`) offers:
//!
//! * off-policy estimators on NumPy arrays with Open Bandit Pipeline's argument names ([`off_policy`]);
//! * uplift metrics with scikit-uplift's names ([`uplift_metrics`]);
//! * BG/NBD and Gamma-Gamma with a lifetimes-like API ([`lifetime_value`]);
//! * the market simulator ([`simulation`]);
//! * and, in pure Python, a typed client of the decision service (`python/discount/client.py`).
//!
//! The modules here are plain Rust (checked by `cargo test`); the extension module that exposes them lives
//! behind the `python` feature so that workspace builds need no Python.

pub mod error;
pub mod lifetime_value;
pub mod off_policy;
pub mod simulation;
pub mod uplift_metrics;

#[cfg(feature = "python")]
mod bindings;

pub use error::{BindingError, Result};
