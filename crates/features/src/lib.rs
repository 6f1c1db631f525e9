//! Customer profiles and feature vectors, derived from events only, by one code path that serves
//! both training and live decisions.
//!
//! - [`ProfileState`] is what is kept of one customer's events, updated one event at a time
//!   (the server keeps one per live customer, shared or persisted as compact JSON) and equal to
//!   the state rebuilt from their history, whatever the order the events arrived in.
//! - [`ProfileBuilder`] folds one customer's events into a state, ignoring those after a horizon
//!   (training folds the history up to a cut-off), and snapshots a [`Profile`] as of a time.
//! - [`FeatureSpec`] names, explains and versions the feature vector; a model stores the spec it
//!   was trained with and refuses vectors of another spec.
//! - [`ProfileStream`] builds every customer's profile in one pass over events grouped by
//!   user (the order of the store's streaming scan), one builder at a time.
//! - [`Catalog`] maps items to categories, for category affinity.
//!
//! ```
//! use discount_features::{Catalog, FeatureSpec, ProfileBuilder};
//! use discount_core::Timestamp;
//! let spec = FeatureSpec::base();
//! let mut builder = ProfileBuilder::new("u1");
//! # let events: Vec<discount_core::Event> = Vec::new();
//! for event in &events {
//!     builder.fold(event, &Catalog::default())?;
//! }
//! let as_of = Timestamp::from_date(2024, 3, 1).unwrap();
//! let profile = builder.snapshot(as_of)?;
//! let vector = spec.vector(&profile, &[])?;
//! assert_eq!(vector.len(), spec.len());
//! # Ok::<(), discount_features::FeatureError>(())
//! ```

mod catalog;
pub mod embedding;
mod error;
mod profile;
mod profile_state;
mod spec;
mod stream;

pub use catalog::Catalog;
pub use embedding::{CustomerEmbeddings, CF_SLOT};
pub use error::FeatureError;
pub use profile::{
    items_named, point_in_time, profile_as_of, CategoryShare, Profile, ProfileBuilder,
    WindowCounts, WINDOWS_DAYS,
};
pub use profile_state::ProfileState;
pub use spec::{EmbeddingSlot, FeatureDef, FeatureSpec, SPEC_VERSION};
pub use stream::ProfileStream;
