//! Profiles of every customer from one pass over events grouped by user, as
//! `Store::scan_events` delivers them: each customer's profile is emitted when the next
//! customer's events begin, so only one builder is held at a time.

use discount_core::{Event, Timestamp};

use crate::{Catalog, FeatureError, Profile, ProfileBuilder};

/// Folds a stream of events grouped by user into one profile per user, as of `as_of` (events
/// after it are ignored, as for training at a cut-off).
pub struct ProfileStream {
    as_of: Timestamp,
    current: Option<ProfileBuilder>,
}

impl ProfileStream {
    pub fn new(as_of: Timestamp) -> Self {
        Self {
            as_of,
            current: None,
        }
    }

    /// Folds `event`; returns the previous user's profile when `event` starts a new user. A user
    /// whose events are not contiguous in the stream would get two profiles: the stream must be
    /// grouped by user.
    pub fn push(
        &mut self,
        event: &Event,
        catalog: &Catalog,
    ) -> Result<Option<Profile>, FeatureError> {
        let finished = match &self.current {
            Some(b) if b.user_id() == event.user_id => None,
            _ => self.finish()?,
        };
        let builder = self
            .current
            .get_or_insert_with(|| ProfileBuilder::with_horizon(event.user_id.clone(), self.as_of));
        builder.fold(event, catalog)?;
        Ok(finished)
    }

    /// The last user's profile, at the end of the stream.
    pub fn finish(&mut self) -> Result<Option<Profile>, FeatureError> {
        self.current
            .take()
            .map(|b| b.snapshot(self.as_of))
            .transpose()
    }
}
