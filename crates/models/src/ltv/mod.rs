//! ltv
