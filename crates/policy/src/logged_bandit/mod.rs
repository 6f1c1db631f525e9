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
use parse::{FeatureIndex, HashIndex, Label};

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
    /// Parse on a thread of its own beside the learner (the results are the same either way).
    pub parser_thread: bool,
}

impl Default for LearnOptions {
    fn default() -> Self {
        Self {
            cb_type: CbType::Mtr,
            epsilon: 0.05,
            ridge: 1.0,
            actions: None,
            max_features: 1024,
            parser_thread: true,
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

/// Rows parsed and waiting to be learnt from: each row's dense features (its columns as the
/// feature index stood at the row's end), its offered actions (ADF) and its label.
pub(crate) struct Batch {
    xs: Vec<f64>,
    actions: Vec<usize>,
    rows: Vec<BatchRow>,
    /// Where the row being parsed starts in `xs`.
    open: usize,
}

#[derive(Clone, Copy)]
struct BatchRow {
    x_end: usize,
    /// `None`: all the actions (the formats with a fixed action count).
    actions_end: Option<usize>,
    label: Option<Label>,
}

/// One row of a [`Batch`].
pub(crate) struct BatchItem<'a> {
    pub x: &'a [f64],
    pub actions: Option<&'a [usize]>,
    pub label: Option<Label>,
}

/// Rows handed from the parser to the learner at a time: large enough that the hand-over costs
/// nothing per row, small enough that the two threads start working together at once.
const BATCH_ROWS: usize = 2048;

impl Batch {
    fn new() -> Self {
        Self {
            xs: Vec::new(),
            actions: Vec::new(),
            rows: Vec::with_capacity(BATCH_ROWS),
            open: 0,
        }
    }

    fn clear(&mut self) {
        self.xs.clear();
        self.actions.clear();
        self.rows.clear();
        self.open = 0;
    }

    fn len(&self) -> usize {
        self.rows.len()
    }

    /// Starts a row of `dim` columns: the intercept, zeros.
    fn begin_row(&mut self, dim: usize) {
        self.open = self.xs.len();
        self.xs.resize(self.open + dim.max(1), 0.0);
        self.xs[self.open] = 1.0;
    }

    /// Ends the open row, `dim` columns at least.
    fn end_row(&mut self, dim: usize, actions: Option<&[usize]>, label: Option<Label>) {
        if self.xs.len() < self.open + dim {
            self.xs.resize(self.open + dim, 0.0);
        }
        let actions_end = actions.map(|a| {
            self.actions.extend_from_slice(a);
            self.actions.len()
        });
        self.rows.push(BatchRow {
            x_end: self.xs.len(),
            actions_end,
            label,
        });
        self.open = self.xs.len();
    }

    pub(crate) fn rows(&self) -> impl Iterator<Item = BatchItem<'_>> {
        let mut x_start = 0;
        let mut a_start = 0;
        self.rows.iter().map(move |r| {
            let x = &self.xs[x_start..r.x_end];
            x_start = r.x_end;
            let actions = r.actions_end.map(|end| {
                let a = &self.actions[a_start..end];
                a_start = end;
                a
            });
            BatchItem {
                x,
                actions,
                label: r.label,
            }
        })
    }
}

impl parse::FeatureSink for Batch {
    #[inline]
    fn add(&mut self, column: usize, value: f64) {
        let i = self.open + column;
        if i >= self.xs.len() {
            self.xs.resize(i + 1, 0.0);
        }
        self.xs[i] += value;
    }
}

/// The parser's state between lines, by format.
enum LineParser {
    VwCb {
        k: usize,
    },
    Csv {
        k: usize,
        header: Option<parse::CsvHeader>,
    },
    Jsonl {
        k: usize,
        width: Option<usize>,
    },
    Adf(AdfExample),
}

impl LineParser {
    /// Reads one line into `batch` (a finished row, or part of an ADF example).
    #[inline]
    fn line(
        &mut self,
        line: u64,
        text: &[u8],
        index: &mut FeatureIndex,
        batch: &mut Batch,
    ) -> Result<(), LogError> {
        let blank = text.iter().all(u8::is_ascii_whitespace);
        match self {
            LineParser::VwCb { k } => {
                if blank {
                    return Ok(());
                }
                batch.begin_row(index.len());
                let label = parse::parse_vw_cb_line(text, line, *k, index, batch)?;
                batch.end_row(index.len(), None, label);
            }
            LineParser::Csv { k, header } => {
                if blank {
                    return Ok(());
                }
                let Some(h) = header else {
                    let h = parse::CsvHeader::parse(text, line)?;
                    for name in &h.features {
                        index.column(b"", name.as_bytes(), line)?;
                    }
                    *header = Some(h);
                    return Ok(());
                };
                batch.begin_row(index.len());
                let label = parse::parse_csv_line(text, line, h, *k, batch)?;
                batch.end_row(index.len(), None, Some(label));
            }
            LineParser::Jsonl { k, width } => {
                if blank {
                    return Ok(());
                }
                let first = width.is_none();
                batch.begin_row(index.len());
                let label = parse::parse_jsonl_line(text, line, *k, width, batch)?;
                if first {
                    for j in 0..width.unwrap_or(0) {
                        index.column(b"", format!("x{j}").as_bytes(), line)?;
                    }
                }
                batch.end_row(index.len(), None, Some(label));
            }
            LineParser::Adf(adf) => {
                if blank {
                    return adf.finish(line, index, batch);
                }
                if adf.first_line.is_none() {
                    adf.first_line = Some(line);
                    batch.begin_row(index.len());
                }
                adf.line(text, line, index, batch)?;
            }
        }
        Ok(())
    }

    /// At the end of the file: ends an ADF example without its blank line.
    fn end(&mut self, index: &FeatureIndex, batch: &mut Batch) -> Result<(), LogError> {
        match self {
            LineParser::Adf(adf) => adf.finish(u64::MAX, index, batch),
            _ => Ok(()),
        }
    }
}

/// What the parser hands back at the end of the file.
struct Parsed {
    bytes: u64,
    index: FeatureIndex,
    action_names: Vec<String>,
}

/// Parses the whole log, handing each full batch to `deliver`, which gives back an empty batch
/// to fill (or `None` when learning has stopped). The last, partial batch is returned.
fn parse_log<R: Read>(
    reader: R,
    mut parser: LineParser,
    max_features: usize,
    mut deliver: impl FnMut(Batch) -> Option<Batch>,
) -> Result<(Parsed, Batch), LogError> {
    let mut index = FeatureIndex::new(max_features);
    let mut batch = Batch::new();
    let mut stopped = false;
    let bytes = parse::for_each_line(reader, |line, text| {
        parser.line(line, text, &mut index, &mut batch)?;
        if batch.len() >= BATCH_ROWS {
            match deliver(std::mem::replace(&mut batch, Batch::new())) {
                Some(b) => batch = b,
                None => {
                    stopped = true;
                    return Err(LogError::Read(std::io::Error::other("learning stopped")));
                }
            }
        }
        Ok(())
    });
    let bytes = match bytes {
        Err(_) if stopped => 0,
        other => other?,
    };
    parser.end(&index, &mut batch)?;
    let action_names = match parser {
        LineParser::Adf(adf) => adf.action_names,
        _ => Vec::new(),
    };
    Ok((
        Parsed {
            bytes,
            index,
            action_names,
        },
        batch,
    ))
}

/// The learner and the sums of the report.
struct Learning {
    learner: CbLearner,
    all: Vec<usize>,
    rows: u64,
    labelled: u64,
    cost_sum: f64,
}

impl Learning {
    fn batch(&mut self, batch: &Batch) {
        self.learner.learn_batch(batch, &self.all);
        for r in &batch.rows {
            self.rows += 1;
            if let Some(l) = r.label {
                self.labelled += 1;
                self.cost_sum += l.cost;
            }
        }
    }
}

/// Reads a log and learns from it. Returns the report and the learnt model.
///
/// With `options.parser_thread` the log is parsed on a thread of its own beside the learner,
/// batches of rows handed over in order; the rows, their order and so every figure and
/// coefficient are the same as on one thread.
pub fn learn<R: Read + Send>(
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
    let k = fixed_actions.unwrap_or(0);
    let parser = match format {
        LogFormat::VwCb => LineParser::VwCb { k },
        LogFormat::Csv => LineParser::Csv { k, header: None },
        LogFormat::Jsonl => LineParser::Jsonl { k, width: None },
        LogFormat::VwCbAdf => LineParser::Adf(AdfExample::default()),
    };
    let mut learning = Learning {
        learner: CbLearner::new(options.cb_type, options.epsilon, options.ridge),
        all: (0..k).collect(),
        rows: 0,
        labelled: 0,
        cost_sum: 0.0,
    };
    learning.learner.ensure_actions(k);
    let (parsed, last) = if options.parser_thread {
        learn_threaded(reader, parser, options.max_features, &mut learning)?
    } else {
        parse_log(reader, parser, options.max_features, |mut b| {
            learning.batch(&b);
            b.clear();
            Some(b)
        })?
    };
    learning.batch(&last);
    let Learning {
        mut learner,
        rows,
        labelled,
        cost_sum,
        ..
    } = learning;
    if format == LogFormat::VwCbAdf {
        learner.name_actions(parsed.action_names);
    }
    let seconds = start.elapsed().as_secs_f64();
    let index = parsed.index;
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
        bytes: parsed.bytes,
        seconds,
        rows_per_second: rows as f64 / seconds.max(1e-12),
    };
    Ok((report, model))
}

/// Batches in flight between the parser and the learner: enough to ride out either side's
/// hiccups (a page fault, a descheduled thread), few enough to stay in the cache.
const BATCHES_IN_FLIGHT: usize = 4;

/// [`parse_log`] on a thread of its own, the batches learnt from here as they come, in order.
/// The emptied batches go back to the parser to be filled again.
fn learn_threaded<R: Read + Send>(
    reader: R,
    parser: LineParser,
    max_features: usize,
    learning: &mut Learning,
) -> Result<(Parsed, Batch), LogError> {
    use std::sync::mpsc;
    let (full_tx, full_rx) = mpsc::sync_channel::<Batch>(BATCHES_IN_FLIGHT);
    let (empty_tx, empty_rx) = mpsc::channel::<Batch>();
    std::thread::scope(|scope| {
        let parsing = scope.spawn(move || {
            parse_log(reader, parser, max_features, |b| {
                full_tx.send(b).ok()?;
                Some(empty_rx.try_recv().unwrap_or_else(|_| Batch::new()))
            })
            // `full_tx` drops here: the learner's loop ends after the last batch.
        });
        for mut b in full_rx.iter() {
            learning.batch(&b);
            b.clear();
            // The parser may have finished and dropped its end: the batch is then not needed.
            let _ = empty_tx.send(b);
        }
        match parsing.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
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
    /// Actions by the hash of their line's features.
    ids: HashIndex,
    action_names: Vec<String>,
}

impl AdfExample {
    fn line(
        &mut self,
        text: &[u8],
        line: u64,
        index: &mut FeatureIndex,
        batch: &mut Batch,
    ) -> Result<(), LogError> {
        // Most lines of an example are unlabelled action lines, the same bytes as the previous
        // example's line at this position: the action at once, without splitting the line.
        let position = self.actions.len();
        if text.first() == Some(&b'|') {
            if let Some((bytes, id)) = self.known.get(position) {
                if parse::short_eq(bytes, text) {
                    self.actions.push(*id);
                    return Ok(());
                }
            }
        }
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
            return parse::parse_vw_features(features, line, index, batch);
        }
        let key = features.trim_ascii();
        let id = match self.known.get(position) {
            Some((bytes, id)) if parse::short_eq(bytes, key) => *id,
            _ => {
                let h = parse::feature_hash(b"\x00action", key);
                let next = self.action_names.len();
                let names = &mut self.action_names;
                let id = *self.ids.entry(h).or_insert_with(|| {
                    names.push(String::from_utf8_lossy(&key[1..]).trim().to_owned());
                    next
                });
                if let Some(slot) = self.known.get_mut(position) {
                    slot.0.clear();
                    slot.0.extend_from_slice(key);
                    slot.1 = id;
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

    /// Ends the example at a blank line (`line`; `u64::MAX` at the end of the file): hands it
    /// to `batch` as a row, when there was one.
    fn finish(
        &mut self,
        line: u64,
        index: &FeatureIndex,
        batch: &mut Batch,
    ) -> Result<(), LogError> {
        let Some(first) = self.first_line.take() else {
            return Ok(());
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
        batch.end_row(index.len(), Some(&self.actions), self.label.take());
        self.actions.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests;
