//! Learning a policy from a logged contextual-bandit data set, with progressive validation.
//!
//! A log row is a context, the action the logging policy took, its cost and the probability the
//! logging policy gave it. [`learn`] reads such a log in Vowpal Wabbit's text formats
//! (`--cb_explore`: `action:cost:probability | features`, actions from 1; `--cb_explore_adf`: a
//! `shared | features` line, one line per action with `0:cost:probability` on the logged one, a
//! blank line) or in our CSV and JSONL ([`parse`]), and learns one linear cost regression per
//! action online ([`learn`]), exactly solved by recursive least squares rather than by gradient
//! steps. Each row is first predicted, then learnt from (progressive validation): the policy
//! explores epsilon-greedily around the action of least predicted cost, and the row's loss is
//! `pi(logged action | x) * cost / probability`, the inverse-propensity estimate of the cost of
//! the policy as it stood, which is the average loss Vowpal Wabbit reports for the same options.
//!
//! In the ADF format an action is known by its line's features: each distinct action line gets
//! its own regression on the shared features, which is what VW learns with `-q sa` when each
//! action line names its action.

pub mod learn;
pub mod parse;

use std::io::Read;
use std::time::Instant;

use serde::Serialize;

pub use learn::{CbLearner, CbModel, CbType};
use parse::{FeatureIndex, HashIndex, Label, Row};

/// Errors of reading and learning from a log.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("line {line}: {reason}")]
    Line { line: u64, reason: String },
    #[error("reading the log: {0}")]
    Read(std::io::Error),
    #[error("invalid option {name} = {value}: {rule}")]
    Option {
        name: &'static str,
        value: String,
        rule: &'static str,
    },
}

/// Formats of a log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogFormat {
    /// VW `--cb_explore K`: `action:cost:probability |ns name:value ...`, actions 1..=K.
    VwCb,
    /// VW `--cb_explore_adf`: `shared |ns ...`, one line per action, a blank line.
    VwCbAdf,
    /// `action,cost,probability,feature...` with a header; actions 0..K.
    Csv,
    /// `{"action": a, "cost": c, "probability": p, "features": [..]}` per line; actions 0..K.
    Jsonl,
}

impl LogFormat {
    pub fn name(&self) -> &'static str {
        match self {
            LogFormat::VwCb => "vw-cb",
            LogFormat::VwCbAdf => "vw-cb-adf",
            LogFormat::Csv => "csv",
            LogFormat::Jsonl => "jsonl",
        }
    }
}

/// How to learn.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LearnOptions {
    pub cb_type: CbType,
    /// Exploration of the learnt policy: the share spread uniformly over the actions.
    pub epsilon: f64,
    /// Ridge penalty of each regression (prior precision), > 0.
    pub ridge: f64,
    /// Actions of the non-ADF formats (VW's `--cb_explore K`).
    pub actions: Option<usize>,
    /// Most distinct features (the regressions are dense).
    pub max_features: usize,
}

impl Default for LearnOptions {
    fn default() -> Self {
        Self {
            cb_type: CbType::Mtr,
            epsilon: 0.05,
            ridge: 1.0,
            actions: None,
            max_features: 1024,
        }
    }
}

/// What learning from a log measured.
#[derive(Clone, Debug, Serialize)]
pub struct LearnReport {
    pub format: LogFormat,
    pub cb_type: CbType,
    pub epsilon: f64,
    /// Rows (ADF: examples) read.
    pub rows: u64,
    /// Rows with a label, learnt from and scored.
    pub labelled: u64,
    pub actions: usize,
    /// Feature columns, the intercept included.
    pub features: usize,
    /// Progressive validation loss: the mean over labelled rows of
    /// `pi(logged | x) * cost / probability` before learning from the row.
    pub average_loss: f64,
    /// Mean cost of the logged actions (the logging policy's own average cost).
    pub logged_average_cost: f64,
    pub bytes: u64,
    pub seconds: f64,
    pub rows_per_second: f64,
}

/// Reads a log and learns from it. Returns the report and the learnt model.
pub fn learn<R: Read>(
    reader: R,
    format: LogFormat,
    options: &LearnOptions,
) -> Result<(LearnReport, CbModel), LogError> {
    if !(options.epsilon.is_finite() && (0.0..=1.0).contains(&options.epsilon)) {
        return Err(LogError::Option {
            name: "epsilon",
            value: options.epsilon.to_string(),
            rule: "must be in [0, 1]",
        });
    }
    if !(options.ridge.is_finite() && options.ridge > 0.0) {
        return Err(LogError::Option {
            name: "ridge",
            value: options.ridge.to_string(),
            rule: "must be a finite number > 0",
        });
    }
    let fixed_actions = match (format, options.actions) {
        (LogFormat::VwCbAdf, _) => None,
        (_, Some(k)) if k >= 1 => Some(k),
        (_, a) => {
            return Err(LogError::Option {
                name: "actions",
                value: a.map_or("none".into(), |k| k.to_string()),
                rule: "the vw-cb, csv and jsonl formats need the number of actions (>= 1)",
            })
        }
    };
    let start = Instant::now();
    let mut learner = CbLearner::new(options.cb_type, options.epsilon, options.ridge);
    let mut index = FeatureIndex::new(options.max_features);
    let mut row = Row::new();
    let mut cost_sum = 0.0;
    let mut rows = 0u64;
    let mut labelled = 0u64;
    let mut note = |label: Option<Label>| {
        rows += 1;
        if let Some(l) = label {
            labelled += 1;
            cost_sum += l.cost;
        }
    };
    let bytes = match format {
        LogFormat::VwCb => {
            let k = fixed_actions.unwrap_or(1);
            let all: Vec<usize> = (0..k).collect();
            learner.ensure_actions(k);
            parse::for_each_line(reader, |line, text| {
                if text.iter().all(u8::is_ascii_whitespace) {
                    return Ok(());
                }
                row.clear(index.len());
                let label = parse::parse_vw_cb_line(text, line, k, &mut index, &mut row)?;
                learner.step(&row.x[..index.len()], &all, label);
                note(label);
                Ok(())
            })?
        }
        LogFormat::Csv => {
            let k = fixed_actions.unwrap_or(1);
            let all: Vec<usize> = (0..k).collect();
            learner.ensure_actions(k);
            let mut header: Option<parse::CsvHeader> = None;
            parse::for_each_line(reader, |line, text| {
                if text.iter().all(u8::is_ascii_whitespace) {
                    return Ok(());
                }
                let Some(h) = &header else {
                    let h = parse::CsvHeader::parse(text, line)?;
                    for name in &h.features {
                        index.column(b"", name.as_bytes(), line)?;
                    }
                    header = Some(h);
                    return Ok(());
                };
                row.clear(index.len());
                let label = parse::parse_csv_line(text, line, h, k, &mut row)?;
                learner.step(&row.x[..index.len()], &all, Some(label));
                note(Some(label));
                Ok(())
            })?
        }
        LogFormat::Jsonl => {
            let k = fixed_actions.unwrap_or(1);
            let all: Vec<usize> = (0..k).collect();
            learner.ensure_actions(k);
            let mut width = None;
            parse::for_each_line(reader, |line, text| {
                if text.iter().all(u8::is_ascii_whitespace) {
                    return Ok(());
                }
                let first = width.is_none();
                row.clear(index.len());
                let label = parse::parse_jsonl_line(text, line, k, &mut width, &mut row)?;
                if first {
                    for j in 0..width.unwrap_or(0) {
                        index.column(b"", format!("x{j}").as_bytes(), line)?;
                    }
                }
                learner.step(&row.x[..index.len()], &all, Some(label));
                note(Some(label));
                Ok(())
            })?
        }
        LogFormat::VwCbAdf => {
            let mut adf = AdfExample::default();
            let mut actions = HashIndex::default();
            let mut action_names: Vec<String> = Vec::new();
            let bytes = parse::for_each_line(reader, |line, text| {
                if text.iter().all(u8::is_ascii_whitespace) {
                    if let Some(label) = adf.finish(line, &row, &index, &mut learner)? {
                        note(label);
                    }
                    return Ok(());
                }
                if adf.first_line.is_none() {
                    adf.first_line = Some(line);
                    row.clear(index.len());
                }
                adf.line(
                    text,
                    line,
                    &mut index,
                    &mut row,
                    &mut actions,
                    &mut action_names,
                )
            })?;
            if let Some(label) = adf.finish(u64::MAX, &row, &index, &mut learner)? {
                note(label);
            }
            learner.name_actions(action_names);
            bytes
        }
    };
    let seconds = start.elapsed().as_secs_f64();
    let model = learner.model(index.names().to_vec());
    let report = LearnReport {
        format,
        cb_type: options.cb_type,
        epsilon: options.epsilon,
        rows,
        labelled,
        actions: model.actions.len(),
        features: index.len(),
        average_loss: learner.average_loss(),
        logged_average_cost: if labelled > 0 {
            cost_sum / labelled as f64
        } else {
            0.0
        },
        bytes,
        seconds,
        rows_per_second: rows as f64 / seconds.max(1e-12),
    };
    Ok((report, model))
}

/// The ADF example being read: its actions and label so far.
#[derive(Default)]
struct AdfExample {
    first_line: Option<u64>,
    actions: Vec<usize>,
    label: Option<Label>,
    label_line: u64,
    /// The previous examples' action lines by position, with their action: logs list the same
    /// actions in the same order, so a byte comparison usually finds the action.
    known: Vec<(Vec<u8>, usize)>,
}

impl AdfExample {
    fn line(
        &mut self,
        text: &[u8],
        line: u64,
        index: &mut FeatureIndex,
        row: &mut Row,
        actions: &mut HashIndex,
        action_names: &mut Vec<String>,
    ) -> Result<(), LogError> {
        let (head, features) = parse::split_label(text);
        if features.is_empty() {
            return Err(LogError::Line {
                line,
                reason: format!(
                    "no `|`: a line of an example needs its features (`{}`)",
                    String::from_utf8_lossy(&text[..text.len().min(60)])
                ),
            });
        }
        let label = parse::label_token(head, line)?;
        if label == Some(b"shared".as_slice()) {
            if !self.actions.is_empty() {
                return Err(LogError::Line {
                    line,
                    reason: "a `shared` line after the example's action lines".into(),
                });
            }
            return parse::parse_vw_features(features, line, index, row);
        }
        let key = features.trim_ascii();
        let position = self.actions.len();
        let id = match self.known.get(position) {
            Some((bytes, id)) if bytes.as_slice() == key => *id,
            _ => {
                let h = parse::feature_hash(b"\x00action", key);
                let next = action_names.len();
                let id = *actions.entry(h).or_insert_with(|| {
                    action_names.push(String::from_utf8_lossy(&key[1..]).trim().to_owned());
                    next
                });
                if position < self.known.len() {
                    self.known[position] = (key.to_vec(), id);
                } else {
                    self.known.push((key.to_vec(), id));
                }
                id
            }
        };
        if let Some(t) = label {
            if self.label.is_some() {
                return Err(LogError::Line {
                    line,
                    reason: format!(
                        "a second labelled action in the example (the first is on line {})",
                        self.label_line
                    ),
                });
            }
            let (_, cost, probability) = parse::parse_cb_label(t, line)?;
            self.label = Some(Label {
                action: self.actions.len(),
                cost,
                probability,
            });
            self.label_line = line;
        }
        self.actions.push(id);
        Ok(())
    }

    /// Ends the example at a blank line (or the end of the file): predicts and learns it.
    /// Returns `Some(label)` when there was an example.
    fn finish(
        &mut self,
        line: u64,
        row: &Row,
        index: &FeatureIndex,
        learner: &mut CbLearner,
    ) -> Result<Option<Option<Label>>, LogError> {
        let Some(first) = self.first_line.take() else {
            return Ok(None);
        };
        if self.actions.is_empty() {
            return Err(LogError::Line {
                line: first,
                reason: if line == u64::MAX {
                    "the example at the end of the file has no action lines".into()
                } else {
                    format!("the example ending at line {line} has no action lines")
                },
            });
        }
        let label = self.label.take();
        if let Some(max) = self.actions.iter().max() {
            learner.ensure_actions(max + 1);
        }
        learner.step(&row.x[..index.len()], &self.actions, label);
        self.actions.clear();
        Ok(Some(label))
    }
}

#[cfg(test)]
mod tests;
