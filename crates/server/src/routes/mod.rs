//! Handlers, one module per resource.

pub mod admin;
pub mod decisions;
pub mod events;
pub mod health;
pub mod live;
pub mod models;
pub mod outcomes;
pub mod recommendations;
