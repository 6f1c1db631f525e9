//! Adapters that stream public data sets (see `../shared/data` and `docs/datasets.md`) as
//! [`Row`]s: users, items and events with deterministic ids, or a [`RowError`] naming the file,
//! line and field of every raw row that could not be mapped.
//!
//! ```no_run
//! use std::path::Path;
//! use discount_ingest::datasets::{self, Dataset};
//!
//! let dataset: Dataset = "hillstrom".parse()?;
//! let source = datasets::open(dataset, &Path::new("../shared/data").join(dataset.folder()))?;
//! for row in source {
//!     match row {
//!         Ok((location, record)) => println!("{location}: {}", record.type_name()),
//!         Err(error) => eprintln!("{error}"),
//!     }
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Every adapter reads its files row by row with bounded memory, except the Complete Journey
//! receipt lines, which are grouped into baskets in memory because the file is not sorted by basket.

mod cdnow;
mod complete_journey;
mod hillstrom;
mod movielens;
mod online_shoppers;
mod open_bandit;
mod table;

use std::collections::VecDeque;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use thiserror::Error;

use crate::source::{RecordSource, Row};

/// Why a data set could not be opened. Problems with single rows are [`crate::source::RowError`]s
/// in the stream instead.
#[derive(Debug, Error)]
pub enum DatasetError {
    #[error("unknown data set `{name}`; expected one of: {expected}")]
    UnknownDataset { name: String, expected: String },
    #[error(
        "data set file {path} does not exist (download the data sets with `discount datasets fetch all`, or set DISCOUNT_DATA_DIR to the folder that holds them)"
    )]
    MissingFile { path: PathBuf },
    #[error("opening {path}: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("reading the header of {path}: {source}")]
    Header { path: PathBuf, source: csv::Error },
    #[error("{path}: the header has no column `{column}`")]
    MissingColumn { path: PathBuf, column: String },
}

/// The public data sets that have an adapter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dataset {
    CompleteJourney,
    Cdnow,
    Hillstrom,
    OpenBandit,
    MovieLens,
    OnlineShoppers,
}

impl Dataset {
    pub fn all() -> [Dataset; 6] {
        [
            Dataset::CompleteJourney,
            Dataset::Cdnow,
            Dataset::Hillstrom,
            Dataset::OpenBandit,
            Dataset::MovieLens,
            Dataset::OnlineShoppers,
        ]
    }

    /// The name used on the command line.
    pub fn name(&self) -> &'static str {
        match self {
            Dataset::CompleteJourney => "complete-journey",
            Dataset::Cdnow => "cdnow",
            Dataset::Hillstrom => "hillstrom",
            Dataset::OpenBandit => "open-bandit",
            Dataset::MovieLens => "movielens-100k",
            Dataset::OnlineShoppers => "online-shoppers",
        }
    }

    /// The data set's folder under the data directory (`../shared/data`).
    pub fn folder(&self) -> &'static str {
        match self {
            Dataset::CompleteJourney => "dunnhumby-completejourney",
            Dataset::Cdnow => "cdnow",
            Dataset::Hillstrom => "hillstrom-minethatdata",
            Dataset::OpenBandit => "open-bandit-dataset",
            Dataset::MovieLens => "movielens-100k",
            Dataset::OnlineShoppers => "uci-online-shoppers-intention",
        }
    }

    /// One line saying what the data set is and what the adapter makes of it.
    pub fn describe(&self) -> &'static str {
        match self {
            Dataset::CompleteJourney => {
                "84.51 The Complete Journey: grocery products, household demographics, coupon \
                 campaigns and redemptions, 75k receipt lines grouped into orders with loyalty and \
                 coupon discounts"
            }
            Dataset::Cdnow => {
                "CDNOW 1997-1998: 23,570 customers' CD purchases as orders (for RFM and lifetime value)"
            }
            Dataset::Hillstrom => {
                "Hillstrom e-mail RCT: 64,000 customers, Mens/Womens/no e-mail offers, visits, \
                 orders with spend"
            }
            Dataset::OpenBandit => {
                "Open Bandit Dataset: ZOZOTOWN item recommendations of a random and a Thompson \
                 sampling policy with propensities and clicks"
            }
            Dataset::MovieLens => "MovieLens 100K: 100,000 ratings of 1,682 movies by 943 users as reviews",
            Dataset::OnlineShoppers => {
                "UCI online shoppers: 12,330 browsing sessions with a purchase label"
            }
        }
    }
}

impl fmt::Display for Dataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Dataset {
    type Err = DatasetError;

    /// Accepts the [`Dataset::name`], the [`Dataset::folder`] and a few short aliases, in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        let alias = match wanted.as_str() {
            "completejourney" | "cj" | "dunnhumby" => Some(Dataset::CompleteJourney),
            "obd" | "open-bandit-dataset" => Some(Dataset::OpenBandit),
            "movielens" | "ml-100k" | "ml100k" => Some(Dataset::MovieLens),
            "shoppers" | "uci-online-shoppers" => Some(Dataset::OnlineShoppers),
            _ => None,
        };
        alias
            .or_else(|| {
                Dataset::all()
                    .into_iter()
                    .find(|d| d.name() == wanted || d.folder() == wanted)
            })
            .ok_or_else(|| DatasetError::UnknownDataset {
                name: s.to_string(),
                expected: Dataset::all().map(|d| d.name()).join(", "),
            })
    }
}

/// Opens a data set's adapter on `dir`, the data set's own folder (e.g.
/// `../shared/data/hillstrom-minethatdata`). Every file it needs is checked up front, so a
/// missing file or column fails here rather than half-way through the stream.
pub fn open(dataset: Dataset, dir: &Path) -> Result<Box<dyn RecordSource>, DatasetError> {
    Ok(match dataset {
        Dataset::CompleteJourney => Box::new(complete_journey::open(dir)?),
        Dataset::Cdnow => Box::new(cdnow::open(dir)?),
        Dataset::Hillstrom => Box::new(hillstrom::open(dir)?),
        Dataset::OpenBandit => Box::new(open_bandit::open(dir)?),
        Dataset::MovieLens => Box::new(movielens::open(dir)?),
        Dataset::OnlineShoppers => Box::new(online_shoppers::open(dir)?),
    })
}

/// What each data set's reader implements: it turns the next raw row (or group of rows) into
/// rows of output.
pub(crate) trait Adapter: Send {
    /// Appends the rows made from the next piece of input; returns false once the input is
    /// exhausted (having appended nothing more).
    fn step(&mut self, out: &mut VecDeque<Row>) -> bool;
    /// Bytes of input consumed so far.
    fn bytes_read(&self) -> u64;
}

/// Drives an [`Adapter`] as a [`RecordSource`].
pub(crate) struct AdapterSource<A: Adapter> {
    adapter: A,
    pending: VecDeque<Row>,
    total_bytes: u64,
    exhausted: bool,
}

impl<A: Adapter> AdapterSource<A> {
    pub(crate) fn new(adapter: A, total_bytes: u64) -> Self {
        Self {
            adapter,
            pending: VecDeque::new(),
            total_bytes,
            exhausted: false,
        }
    }

    /// Rows known before reading starts (e.g. errors in a small lookup file read at open time).
    pub(crate) fn with_pending(mut self, rows: Vec<Row>) -> Self {
        self.pending.extend(rows);
        self
    }
}

impl<A: Adapter> Iterator for AdapterSource<A> {
    type Item = Row;

    fn next(&mut self) -> Option<Row> {
        loop {
            if let Some(row) = self.pending.pop_front() {
                return Some(row);
            }
            if self.exhausted {
                return None;
            }
            if !self.adapter.step(&mut self.pending) {
                self.exhausted = true;
            }
        }
    }
}

impl<A: Adapter> RecordSource for AdapterSource<A> {
    fn bytes_read(&self) -> u64 {
        self.adapter.bytes_read()
    }

    fn total_bytes(&self) -> Option<u64> {
        Some(self.total_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_folders_parse_back() {
        for d in Dataset::all() {
            assert_eq!(d.name().parse::<Dataset>().unwrap(), d);
            assert_eq!(d.folder().parse::<Dataset>().unwrap(), d);
            assert_eq!(d.to_string(), d.name());
            assert!(!d.describe().is_empty());
        }
        assert_eq!("OBD".parse::<Dataset>().unwrap(), Dataset::OpenBandit);
        let err = "nope".parse::<Dataset>().unwrap_err().to_string();
        assert!(err.contains("nope") && err.contains("hillstrom"), "{err}");
    }

    #[test]
    fn a_missing_folder_names_the_file() {
        let dir = Path::new("/nonexistent/data");
        for d in Dataset::all() {
            let err = open(d, dir)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains("/nonexistent/data/"), "{d}: {err}");
        }
    }
}
