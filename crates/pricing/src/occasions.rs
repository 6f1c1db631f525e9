//! Choice occasions in long format: the input of the household choice models.
//!
//! A CSV with the columns `occasion,household,alternative,chosen,price` and optionally `feature,display`;
//! every other column is a numeric covariate. One row per alternative per occasion, exactly one row of an
//! occasion with `chosen = 1`. Occasions keep the order of their first row in the file, which is taken as
//! the order in time within each household.
//!
//! An occasion with a bad row (price <= 0, an alternative listed twice, no chosen or two chosen
//! alternatives, a household that changes within the occasion, an unreadable number) is left out whole,
//! with the line and reason; the rest still fits. Counts balance for rows and for occasions.

use std::collections::{BTreeSet, HashMap};
use std::io::Read;
use std::path::Path;

use serde::Serialize;

use crate::csv_input::{self, next_record, number, text, Header, Rejection};
use crate::error::Result;

/// One alternative on offer at an occasion.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alternative {
    /// Index into [`ChoiceData::alternatives`].
    pub alternative: usize,
    pub price: f64,
    pub feature: f64,
    pub display: f64,
    pub covariates: Vec<f64>,
}

/// One purchase occasion: the alternatives on offer and the one chosen.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Occasion {
    pub id: String,
    /// Index into [`ChoiceData::households`].
    pub household: usize,
    /// Line of the occasion's first row.
    pub line: u64,
    pub offered: Vec<Alternative>,
    /// Position in `offered` of the chosen alternative.
    pub chosen: usize,
}

/// Rows and occasions read, kept and rejected.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ChoiceSummary {
    pub rows_read: usize,
    pub rows_kept: usize,
    pub rows_rejected: usize,
    pub occasions_read: usize,
    pub occasions_kept: usize,
    pub occasions_rejected: usize,
    pub rejections: Vec<Rejection>,
}

/// Choice occasions of many households.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChoiceData {
    /// Alternative names, sorted.
    pub alternatives: Vec<String>,
    /// Household ids in order of first appearance.
    pub households: Vec<String>,
    pub covariate_names: Vec<String>,
    /// Kept occasions in file order.
    pub occasions: Vec<Occasion>,
    pub summary: ChoiceSummary,
}

const KNOWN: [&str; 7] = [
    "occasion",
    "household",
    "alternative",
    "chosen",
    "price",
    "feature",
    "display",
];

struct RawRow {
    line: u64,
    household: String,
    alternative: String,
    chosen: bool,
    price: f64,
    feature: f64,
    display: f64,
    covariates: Vec<f64>,
}

#[derive(Default)]
struct RawOccasion {
    id: String,
    rows: Vec<RawRow>,
    rows_read: usize,
    problem: Option<Rejection>,
}

impl ChoiceData {
    /// Reads a long-format choice CSV file.
    pub fn read(path: &Path) -> Result<Self> {
        let mut reader = csv_input::open(path)?;
        Self::read_from(path, &mut reader)
    }

    /// Reads choice occasions from memory (`name` stands for the file in messages).
    pub fn parse(name: &str, text: &str) -> Result<Self> {
        let mut reader = csv_input::from_text(text);
        Self::read_from(Path::new(name), &mut reader)
    }

    fn read_from(path: &Path, reader: &mut csv::Reader<Box<dyn Read>>) -> Result<Self> {
        let header = Header::read(path, reader)?;
        let occasion_col = header.required("occasion")?;
        let household_col = header.required("household")?;
        let alternative_col = header.required("alternative")?;
        let chosen_col = header.required("chosen")?;
        let price_col = header.required("price")?;
        let feature_col = header.optional("feature");
        let display_col = header.optional("display");
        let covariate_cols: Vec<usize> = (0..header.names.len())
            .filter(|&i| {
                !KNOWN
                    .iter()
                    .any(|k| header.names[i].eq_ignore_ascii_case(k))
            })
            .collect();
        let covariate_names: Vec<String> = covariate_cols
            .iter()
            .map(|&i| header.names[i].clone())
            .collect();

        let mut raw: Vec<RawOccasion> = Vec::new();
        let mut index_of: HashMap<String, usize> = HashMap::new();
        let mut rows_read = 0;
        let mut unreadable_rows: Vec<Rejection> = Vec::new();
        let mut record = csv::StringRecord::new();
        while let Some(line) = next_record(path, reader, &mut record)? {
            rows_read += 1;
            let id = match text(&record, line, occasion_col, "occasion") {
                Ok(id) => id,
                Err(rejection) => {
                    // Without an occasion id the row belongs to no occasion: it is rejected alone.
                    unreadable_rows.push(rejection);
                    continue;
                }
            };
            let slot = *index_of.entry(id.clone()).or_insert_with(|| {
                raw.push(RawOccasion {
                    id: id.clone(),
                    ..RawOccasion::default()
                });
                raw.len() - 1
            });
            let occasion = &mut raw[slot];
            occasion.rows_read += 1;
            let parsed = (|| -> std::result::Result<RawRow, Rejection> {
                let household = text(&record, line, household_col, "household")?;
                let alternative = text(&record, line, alternative_col, "alternative")?;
                let chosen_value = number(&record, line, chosen_col, "chosen")?;
                if chosen_value != 0.0 && chosen_value != 1.0 {
                    return Err(Rejection {
                        line,
                        field: "chosen".into(),
                        value: chosen_value.to_string(),
                        reason: "chosen must be 0 or 1".into(),
                    });
                }
                let price = number(&record, line, price_col, "price")?;
                if price <= 0.0 {
                    return Err(Rejection {
                        line,
                        field: "price".into(),
                        value: price.to_string(),
                        reason: "price must be above zero".into(),
                    });
                }
                let optional = |col: Option<usize>, field: &str| match col {
                    Some(c) if !record.get(c).unwrap_or("").is_empty() => {
                        number(&record, line, c, field)
                    }
                    _ => Ok(0.0),
                };
                let feature = optional(feature_col, "feature")?;
                let display = optional(display_col, "display")?;
                let covariates = covariate_cols
                    .iter()
                    .map(|&c| number(&record, line, c, &header.names[c]))
                    .collect::<std::result::Result<Vec<f64>, Rejection>>()?;
                Ok(RawRow {
                    line,
                    household,
                    alternative,
                    chosen: chosen_value == 1.0,
                    price,
                    feature,
                    display,
                    covariates,
                })
            })();
            if occasion.problem.is_some() {
                continue;
            }
            match parsed {
                Err(rejection) => occasion.problem = Some(rejection),
                Ok(row) => {
                    if let Some(first) = occasion.rows.first() {
                        if first.household != row.household {
                            occasion.problem = Some(Rejection {
                                line,
                                field: "household".into(),
                                value: row.household.clone(),
                                reason: format!(
                                    "occasion {} already belongs to household {}",
                                    occasion.id, first.household
                                ),
                            });
                            continue;
                        }
                    }
                    if occasion
                        .rows
                        .iter()
                        .any(|r| r.alternative == row.alternative)
                    {
                        occasion.problem = Some(Rejection {
                            line,
                            field: "alternative".into(),
                            value: row.alternative.clone(),
                            reason: format!("alternative listed twice in occasion {}", occasion.id),
                        });
                        continue;
                    }
                    occasion.rows.push(row);
                }
            }
        }

        let mut summary = ChoiceSummary {
            rows_read,
            occasions_read: raw.len(),
            ..ChoiceSummary::default()
        };
        summary.rows_rejected += unreadable_rows.len();
        summary.rejections.extend(unreadable_rows);
        let mut kept: Vec<RawOccasion> = Vec::new();
        for mut occasion in raw {
            if occasion.problem.is_none() {
                let chosen = occasion.rows.iter().filter(|r| r.chosen).count();
                if chosen != 1 {
                    let line = occasion.rows.first().map_or(0, |r| r.line);
                    occasion.problem = Some(Rejection {
                        line,
                        field: "chosen".into(),
                        value: chosen.to_string(),
                        reason: if chosen == 0 {
                            format!("occasion {} has no chosen alternative", occasion.id)
                        } else {
                            format!("occasion {} has {chosen} chosen alternatives", occasion.id)
                        },
                    });
                } else if occasion.rows.len() < 2 {
                    let line = occasion.rows.first().map_or(0, |r| r.line);
                    occasion.problem = Some(Rejection {
                        line,
                        field: "alternative".into(),
                        value: "1".into(),
                        reason: format!("occasion {} offers a single alternative", occasion.id),
                    });
                }
            }
            match occasion.problem.take() {
                Some(rejection) => {
                    summary.rows_rejected += occasion.rows_read;
                    summary.occasions_rejected += 1;
                    summary.rejections.push(rejection);
                }
                None => kept.push(occasion),
            }
        }
        summary.rejections.sort_by_key(|r| r.line);

        let alternatives: Vec<String> = kept
            .iter()
            .flat_map(|o| o.rows.iter().map(|r| r.alternative.clone()))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let alternative_index: HashMap<&str, usize> = alternatives
            .iter()
            .enumerate()
            .map(|(i, a)| (a.as_str(), i))
            .collect();
        let mut households: Vec<String> = Vec::new();
        let mut household_index: HashMap<String, usize> = HashMap::new();
        let mut occasions = Vec::with_capacity(kept.len());
        for occasion in kept {
            summary.rows_kept += occasion.rows.len();
            let household_name = occasion.rows[0].household.clone();
            let household = *household_index
                .entry(household_name.clone())
                .or_insert_with(|| {
                    households.push(household_name);
                    households.len() - 1
                });
            let chosen = occasion.rows.iter().position(|r| r.chosen).unwrap_or(0);
            let offered = occasion
                .rows
                .iter()
                .map(|r| Alternative {
                    alternative: alternative_index
                        .get(r.alternative.as_str())
                        .copied()
                        .unwrap_or(0),
                    price: r.price,
                    feature: r.feature,
                    display: r.display,
                    covariates: r.covariates.clone(),
                })
                .collect();
            occasions.push(Occasion {
                id: occasion.id,
                household,
                line: occasion.rows[0].line,
                offered,
                chosen,
            });
        }
        summary.occasions_kept = occasions.len();
        Ok(ChoiceData {
            alternatives,
            households,
            covariate_names,
            occasions,
            summary,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_occasions_are_dropped_whole_and_counted() {
        let text = "occasion,household,alternative,chosen,price,income\n\
                    1,h1,A,1,1.0,30\n\
                    1,h1,B,0,2.0,30\n\
                    2,h1,A,0,1.0,30\n\
                    2,h1,B,0,2.0,30\n\
                    3,h2,A,1,0,20\n\
                    3,h2,B,0,2.0,20\n\
                    4,h2,A,1,1.0,20\n\
                    4,h2,A,0,1.5,20\n\
                    5,h2,A,0,1.0,20\n\
                    5,h2,B,1,2.5,20\n\
                    6,h2,A,1,1.0,20\n\
                    6,h2,B,1,2.5,20\n";
        let data = ChoiceData::parse("mem.csv", text).unwrap();
        let s = &data.summary;
        assert_eq!((s.rows_read, s.rows_kept, s.rows_rejected), (12, 4, 8));
        assert_eq!(
            (s.occasions_read, s.occasions_kept, s.occasions_rejected),
            (6, 2, 4)
        );
        let lines: Vec<u64> = s.rejections.iter().map(|r| r.line).collect();
        assert_eq!(lines, [4, 6, 9, 12]);
        assert!(s.rejections[0].reason.contains("no chosen"));
        assert_eq!(s.rejections[1].field, "price");
        assert!(s.rejections[2].reason.contains("twice"));
        assert!(s.rejections[3].reason.contains("2 chosen"));
        assert_eq!(data.alternatives, ["A", "B"]);
        assert_eq!(data.households, ["h1", "h2"]);
        assert_eq!(data.occasions[1].chosen, 1);
        assert_eq!(data.occasions[1].offered[1].price, 2.5);
    }
}
