//! uplift
