//! propensity
