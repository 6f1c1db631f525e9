//! cf
