//! Ratings and interactions with dense user and item indices.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::ModelError;

/// One rating (or interaction) of a user for an item, with dense indices.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rating {
    pub user: u32,
    pub item: u32,
    pub value: f32,
}

/// A set of ratings and the external ids behind the dense indices.
#[derive(Debug, Clone, PartialEq)]
pub struct Ratings {
    pub entries: Vec<Rating>,
    /// External user id of each dense user index.
    pub user_ids: Vec<String>,
    /// External item id of each dense item index.
    pub item_ids: Vec<String>,
}

impl Ratings {
    pub fn users(&self) -> usize {
        self.user_ids.len()
    }

    pub fn items(&self) -> usize {
        self.item_ids.len()
    }

    /// Index external ids densely, in order of first appearance.
    pub fn from_triples(
        triples: impl IntoIterator<Item = (String, String, f32)>,
    ) -> Result<Self, ModelError> {
        let mut users: HashMap<String, u32> = HashMap::new();
        let mut items: HashMap<String, u32> = HashMap::new();
        let mut out = Ratings {
            entries: Vec::new(),
            user_ids: Vec::new(),
            item_ids: Vec::new(),
        };
        for (user, item, value) in triples {
            if !value.is_finite() {
                return Err(ModelError::Data(format!(
                    "rating of user {user} for item {item} is not finite: {value}"
                )));
            }
            let u = *users.entry(user.clone()).or_insert_with(|| {
                out.user_ids.push(user);
                (out.user_ids.len() - 1) as u32
            });
            let i = *items.entry(item.clone()).or_insert_with(|| {
                out.item_ids.push(item);
                (out.item_ids.len() - 1) as u32
            });
            out.entries.push(Rating {
                user: u,
                item: i,
                value,
            });
        }
        Ok(out)
    }

    /// The ratings at `indices`, with the same dense indices (so models trained on a subset
    /// can score the rest).
    pub fn subset(&self, indices: &[usize]) -> Vec<Rating> {
        indices.iter().map(|&k| self.entries[k]).collect()
    }
}

/// Read a RecBole atomic `.inter` file (tab-separated, typed header with `user_id:token`,
/// `item_id:token`, `rating:float`), as MovieLens 100K's `ml-100k.inter`.
pub fn read_recbole_inter(path: &Path) -> Result<Ratings, ModelError> {
    let text = std::fs::read_to_string(path).map_err(|source| ModelError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let fail = |line: u64, message: String| ModelError::Input {
        path: path.display().to_string(),
        line,
        message,
    };
    let mut lines = text.lines();
    let header: Vec<&str> = lines
        .next()
        .ok_or_else(|| fail(1, "the file is empty".into()))?
        .split('\t')
        .map(|h| h.split(':').next().unwrap_or(""))
        .collect();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .ok_or_else(|| fail(1, format!("no column {name} in the header {header:?}")))
    };
    let (cu, ci, cr) = (column("user_id")?, column("item_id")?, column("rating")?);
    let mut triples = Vec::new();
    for (k, line) in lines.enumerate() {
        let line_no = k as u64 + 2;
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let get = |c: usize| {
            fields.get(c).copied().ok_or_else(|| {
                fail(
                    line_no,
                    format!("expected {} fields, found {}", header.len(), fields.len()),
                )
            })
        };
        let rating_text = get(cr)?;
        let rating: f32 = rating_text
            .trim()
            .parse()
            .map_err(|_| fail(line_no, format!("rating {rating_text:?} is not a number")))?;
        if !rating.is_finite() {
            return Err(fail(
                line_no,
                format!("rating {rating_text:?} is not finite"),
            ));
        }
        triples.push((get(cu)?.to_string(), get(ci)?.to_string(), rating));
    }
    Ratings::from_triples(triples)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_recbole_files_and_names_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.inter");
        std::fs::write(
            &path,
            "user_id:token\titem_id:token\trating:float\ttimestamp:float\n7\t3\t4\t1\n8\t3\t5\t2\n7\t9\t1\t3\n",
        )
        .unwrap();
        let r = read_recbole_inter(&path).unwrap();
        assert_eq!((r.users(), r.items()), (2, 2));
        assert_eq!(
            r.entries[2],
            Rating {
                user: 0,
                item: 1,
                value: 1.0
            }
        );
        std::fs::write(
            &path,
            "user_id:token\titem_id:token\trating:float\n7\t3\tfour\n",
        )
        .unwrap();
        let e = read_recbole_inter(&path).unwrap_err().to_string();
        assert!(e.contains(":2:") && e.contains("four"), "{e}");
    }
}
