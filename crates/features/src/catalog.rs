//! Item to category lookup, for category affinity.

use std::collections::HashMap;

/// Which category each item belongs to. Items it does not know count as category `unknown`.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    categories: HashMap<String, String>,
}

/// The category of items the catalogue does not know (also the store's placeholder category).
pub const UNKNOWN_CATEGORY: &str = "unknown";

impl Catalog {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, item_id: impl Into<String>, category: impl Into<String>) {
        self.categories.insert(item_id.into(), category.into());
    }

    pub fn category(&self, item_id: &str) -> &str {
        self.categories
            .get(item_id)
            .map_or(UNKNOWN_CATEGORY, String::as_str)
    }

    pub fn len(&self) -> usize {
        self.categories.len()
    }

    pub fn is_empty(&self) -> bool {
        self.categories.is_empty()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Catalog {
    fn from_iter<T: IntoIterator<Item = (K, V)>>(iter: T) -> Self {
        Self {
            categories: iter
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
}
