//! Hand parsers of logged contextual-bandit rows: Vowpal Wabbit's text format for `--cb_explore`
//! and `--cb_explore_adf`, and our CSV and JSONL. They read a byte line in place and write the
//! features into reusable buffers, so a row costs no allocation once the feature names are known.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::Read;

use super::LogError;

/// The label of a logged row: which action was taken, its cost and the logging probability.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Label {
    /// Index of the action (0-based) among the row's actions.
    pub action: usize,
    pub cost: f64,
    pub probability: f64,
}

/// Keys are already hashes: the map only needs to spread them.
#[derive(Default)]
pub struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

pub type HashIndex = HashMap<u64, usize, BuildHasherDefault<IdentityHasher>>;

/// FNV-1a of a namespace and a name, the identity of a feature.
#[inline]
pub fn feature_hash(namespace: &[u8], name: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in namespace {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    h = (h ^ 0x1f).wrapping_mul(0x100_0000_01b3);
    for &b in name {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    // Mix so that the map's low bits depend on every byte.
    h ^= h >> 29;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^ (h >> 32)
}

/// Names of the features seen so far, each with its column in the dense vector (column 0 is the
/// intercept).
pub struct FeatureIndex {
    index: HashIndex,
    /// The features met at each position of the previous lines (namespace, name, column): logs
    /// write the same features in the same order, so a byte comparison usually finds the column
    /// without hashing the name.
    by_position: Vec<(Vec<u8>, Vec<u8>, usize)>,
    /// A direct-mapped cache of `index` by the hash's low bits: most look-ups end here.
    recent: Vec<(u64, usize)>,
    names: Vec<String>,
    max: usize,
}

const RECENT: usize = 4096;
/// Positions remembered by [`FeatureIndex::column_at`] (a bound on its memory for long lines).
const MAX_POSITIONS: usize = 4096;

/// Byte equality of short names, without a call to `memcmp` (names are a few bytes).
#[inline(always)]
pub(crate) fn short_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// Where a parser writes a row's features.
pub trait FeatureSink {
    /// Adds `value` to the feature in `column`.
    fn add(&mut self, column: usize, value: f64);
}

impl FeatureIndex {
    pub fn new(max: usize) -> Self {
        Self {
            index: HashIndex::default(),
            by_position: Vec::new(),
            recent: vec![(0, usize::MAX); RECENT],
            names: vec!["constant".into()],
            max,
        }
    }

    /// Columns in use, the intercept included.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        false
    }

    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// The column of the feature at `position` (0, 1, .. along a line): [`Self::column`], first
    /// trying the feature met at the same position before.
    #[inline]
    pub fn column_at(
        &mut self,
        position: usize,
        namespace: &[u8],
        name: &[u8],
        line: u64,
    ) -> Result<usize, LogError> {
        if let Some((ns, nm, c)) = self.by_position.get(position) {
            if short_eq(nm, name) && short_eq(ns, namespace) {
                return Ok(*c);
            }
        }
        let c = self.column(namespace, name, line)?;
        if let Some(slot) = self.by_position.get_mut(position) {
            slot.0.clear();
            slot.0.extend_from_slice(namespace);
            slot.1.clear();
            slot.1.extend_from_slice(name);
            slot.2 = c;
        } else if position == self.by_position.len() && position < MAX_POSITIONS {
            self.by_position
                .push((namespace.to_vec(), name.to_vec(), c));
        }
        Ok(c)
    }

    /// The column of a feature, adding it when new; `line` is for the error past `max`.
    #[inline]
    pub fn column(&mut self, namespace: &[u8], name: &[u8], line: u64) -> Result<usize, LogError> {
        let h = feature_hash(namespace, name);
        let slot = (h as usize) & (RECENT - 1);
        let (seen, c) = self.recent[slot];
        if seen == h && c != usize::MAX {
            return Ok(c);
        }
        if let Some(&c) = self.index.get(&h) {
            self.recent[slot] = (h, c);
            return Ok(c);
        }
        if self.names.len() > self.max {
            return Err(LogError::Line {
                line,
                reason: format!(
                    "feature `{}` would be number {} but at most {} distinct features are learnt \
                     (the per-action regressions are dense; raise --max-features)",
                    String::from_utf8_lossy(name),
                    self.names.len(),
                    self.max
                ),
            });
        }
        let c = self.names.len();
        let ns = String::from_utf8_lossy(namespace);
        let nm = String::from_utf8_lossy(name);
        self.names.push(if ns.is_empty() {
            nm.into_owned()
        } else {
            format!("{ns}^{nm}")
        });
        self.index.insert(h, c);
        self.recent[slot] = (h, c);
        Ok(c)
    }
}

/// A dense feature row: values by column, and which columns are set (to clear them cheaply).
pub struct Row {
    pub x: Vec<f64>,
    touched: Vec<usize>,
}

impl Default for Row {
    fn default() -> Self {
        Self::new()
    }
}

impl Row {
    pub fn new() -> Self {
        Self {
            x: vec![1.0],
            touched: Vec::new(),
        }
    }

    /// Back to the intercept alone, `dim` columns.
    pub fn clear(&mut self, dim: usize) {
        for &c in &self.touched {
            self.x[c] = 0.0;
        }
        self.touched.clear();
        if self.x.len() < dim {
            self.x.resize(dim, 0.0);
        }
        self.x[0] = 1.0;
    }
}

impl FeatureSink for Row {
    #[inline]
    fn add(&mut self, column: usize, value: f64) {
        if column >= self.x.len() {
            self.x.resize(column + 1, 0.0);
        }
        self.x[column] += value;
        self.touched.push(column);
    }
}

/// Reads `reader` line by line into `f(line_number, line)` (without the newline or a trailing
/// `\r`), through one reusable buffer.
pub fn for_each_line<R: Read>(
    mut reader: R,
    mut f: impl FnMut(u64, &[u8]) -> Result<(), LogError>,
) -> Result<u64, LogError> {
    const CHUNK: usize = 1 << 20;
    let mut buf = vec![0u8; CHUNK];
    let mut start = 0usize; // first unread byte
    let mut end = 0usize; // end of valid bytes
    let mut line_no = 0u64;
    let mut bytes = 0u64;
    loop {
        if start > 0 {
            buf.copy_within(start..end, 0);
            end -= start;
            start = 0;
        }
        if end == buf.len() {
            // A line longer than the buffer: grow it.
            buf.resize(buf.len() * 2, 0);
        }
        let n = reader.read(&mut buf[end..]).map_err(LogError::Read)?;
        bytes += n as u64;
        end += n;
        let at_eof = n == 0;
        loop {
            let rest = &buf[start..end];
            match find_newline(rest) {
                Some(i) => {
                    line_no += 1;
                    f(line_no, trim_cr(&rest[..i]))?;
                    start += i + 1;
                }
                None => {
                    if at_eof {
                        if !rest.is_empty() {
                            line_no += 1;
                            f(line_no, trim_cr(rest))?;
                        }
                        return Ok(bytes);
                    }
                    break;
                }
            }
        }
    }
}

/// The first `\n`, eight bytes at a time (a zero byte of `word ^ 0x0a0a..` marks it).
#[inline]
fn find_newline(s: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const NEWLINES: u64 = 0x0a0a_0a0a_0a0a_0a0a;
    let mut i = 0;
    while i + 8 <= s.len() {
        let mut word = [0u8; 8];
        word.copy_from_slice(&s[i..i + 8]);
        let v = u64::from_le_bytes(word) ^ NEWLINES;
        let zero = v.wrapping_sub(ONES) & !v & HIGHS;
        if zero != 0 {
            return Some(i + (zero.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    s[i..].iter().position(|&b| b == b'\n').map(|p| i + p)
}

#[inline]
fn trim_cr(line: &[u8]) -> &[u8] {
    match line.last() {
        Some(b'\r') => &line[..line.len() - 1],
        _ => line,
    }
}

/// Powers of ten exactly representable as `f64`, the divisors of the short decimal form.
const POW10: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// A decimal number: the common `-12.345` form by hand (exact: an integer of at most 15 digits
/// divided by a power of ten is correctly rounded), anything else through the standard parser.
#[inline]
pub fn parse_number(s: &[u8]) -> Option<f64> {
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    // Digits, then a `.` and digits: one pass, no branch per character beyond the loop's own.
    // The mantissa wraps past 19 digits, but only up to 15 are used.
    let mut mantissa: u64 = 0;
    let mut i = 0;
    while let Some(&b) = digits.get(i) {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(d));
        i += 1;
    }
    let whole = i;
    let mut frac = 0;
    if digits.get(i) == Some(&b'.') {
        i += 1;
        let first = i;
        while let Some(&b) = digits.get(i) {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(d));
            i += 1;
        }
        frac = i - first;
    }
    let count = whole + frac;
    if i == digits.len() && count > 0 && count <= 15 {
        let v = mantissa as f64 / POW10[frac];
        return Some(if neg { -v } else { v });
    }
    parse_number_slow(s)
}

#[cold]
fn parse_number_slow(s: &[u8]) -> Option<f64> {
    let v: f64 = std::str::from_utf8(s).ok()?.parse().ok()?;
    v.is_finite().then_some(v)
}

/// Splits on ASCII spaces and tabs, skipping empty pieces.
#[inline]
fn tokens(s: &[u8]) -> impl Iterator<Item = &[u8]> {
    s.split(|&b| b == b' ' || b == b'\t')
        .filter(|t| !t.is_empty())
}

fn shown(s: &[u8]) -> String {
    let text = String::from_utf8_lossy(s);
    if text.chars().count() > 60 {
        format!("{}…", text.chars().take(60).collect::<String>())
    } else {
        text.into_owned()
    }
}

/// `action:cost:probability` (VW's contextual-bandit label). Returns the raw action number.
pub fn parse_cb_label(token: &[u8], line: u64) -> Result<(u64, f64, f64), LogError> {
    let bad = |reason: &str| LogError::Line {
        line,
        reason: format!(
            "label `{}`: {reason} (expected action:cost:probability)",
            shown(token)
        ),
    };
    let mut parts = token.split(|&b| b == b':');
    let (a, c, p) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(a), Some(c), Some(p), None) => (a, c, p),
        _ => return Err(bad("not three fields")),
    };
    let action = std::str::from_utf8(a)
        .ok()
        .and_then(|t| t.parse::<u64>().ok())
        .ok_or_else(|| bad("the action is not a whole number"))?;
    let cost = parse_number(c)
        .filter(|v| v.is_finite())
        .ok_or_else(|| bad("the cost is not a finite number"))?;
    let probability = parse_number(p).ok_or_else(|| bad("the probability is not a number"))?;
    if !(probability > 0.0 && probability <= 1.0) {
        return Err(bad("the probability must be in (0, 1]"));
    }
    Ok((action, cost, probability))
}

/// The features after the first `|` of a VW line: `|ns[:scale] name[:value] ...` groups.
///
/// One pass over the bytes: each token's end, its last `:` and the decimal number after it are
/// found together (the number's digits are gathered after every `:`, the last one's kept), and
/// only an unusual number (an exponent, more than 15 digits) goes through [`parse_number`].
pub fn parse_vw_features(
    s: &[u8],
    line: u64,
    index: &mut FeatureIndex,
    row: &mut impl FeatureSink,
) -> Result<(), LogError> {
    let mut position = 0;
    let mut i = 0;
    let n = s.len();
    // At a `|`: a group begins.
    while i < n {
        i += 1;
        let head_start = i;
        while i < n && !matches!(s[i], b' ' | b'\t' | b'|') {
            i += 1;
        }
        let head = &s[head_start..i];
        let (namespace, scale) = match head.iter().position(|&b| b == b':') {
            Some(c) => {
                let v = parse_number(&head[c + 1..]).ok_or_else(|| LogError::Line {
                    line,
                    reason: format!("namespace `{}`: its scale is not a number", shown(head)),
                })?;
                (&head[..c], v)
            }
            None => (head, 1.0),
        };
        loop {
            while i < n && matches!(s[i], b' ' | b'\t') {
                i += 1;
            }
            if i >= n || s[i] == b'|' {
                break;
            }
            let start = i;
            let mut colon = usize::MAX;
            // The number after the last `:` so far, read as it comes.
            let mut mantissa: u64 = 0;
            let mut digits = 0usize;
            let mut frac = 0usize;
            let mut dot = false;
            let mut negative = false;
            let mut simple = true;
            while i < n {
                let b = s[i];
                let d = b.wrapping_sub(b'0');
                if d <= 9 {
                    mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(d));
                    digits += 1;
                    frac += usize::from(dot);
                } else {
                    match b {
                        b' ' | b'\t' | b'|' => break,
                        b':' => {
                            colon = i;
                            mantissa = 0;
                            digits = 0;
                            frac = 0;
                            dot = false;
                            negative = false;
                            simple = true;
                        }
                        b'.' if !dot => dot = true,
                        b'-' | b'+' if i == colon.wrapping_add(1) => negative = b == b'-',
                        // Anything else (an exponent, a second sign or dot): the full parser
                        // decides below.
                        _ => simple = false,
                    }
                }
                i += 1;
            }
            let t = &s[start..i];
            let (name, value) = if colon == usize::MAX {
                (t, 1.0)
            } else {
                let v = if simple && digits > 0 && digits <= 15 {
                    // Exact, as in `parse_number`.
                    let v = mantissa as f64 / POW10[frac];
                    Some(if negative { -v } else { v })
                } else {
                    parse_number(&s[colon + 1..i])
                };
                let v = v.ok_or_else(|| LogError::Line {
                    line,
                    reason: format!("feature `{}`: its value is not a number", shown(t)),
                })?;
                (&s[start..colon], v)
            };
            if name.is_empty() {
                return Err(LogError::Line {
                    line,
                    reason: format!("feature `{}` has no name", shown(t)),
                });
            }
            let c = index.column_at(position, namespace, name, line)?;
            position += 1;
            row.add(c, value * scale);
        }
    }
    Ok(())
}

/// Splits a VW line at its first `|` into the label part and the features part.
#[inline]
pub fn split_label(line: &[u8]) -> (&[u8], &[u8]) {
    match line.iter().position(|&b| b == b'|') {
        Some(i) => (&line[..i], &line[i..]),
        None => (line, &line[line.len()..]),
    }
}

/// The label tokens of a VW line: at most one `action:cost:probability`, and an optional
/// `'tag` (ignored). `None` for an unlabelled line.
pub fn label_token(head: &[u8], line: u64) -> Result<Option<&[u8]>, LogError> {
    let mut label = None;
    for t in tokens(head) {
        if t.first() == Some(&b'\'') {
            continue;
        }
        if label.is_some() {
            return Err(LogError::Line {
                line,
                reason: format!(
                    "second label `{}`: one logged action per row is learnt",
                    shown(t)
                ),
            });
        }
        label = Some(t);
    }
    Ok(label)
}

/// One `--cb_explore` line (`action:cost:probability |ns features`, actions numbered from 1).
/// Returns the label, or `None` for an unlabelled line; fills `row`.
pub fn parse_vw_cb_line(
    text: &[u8],
    line: u64,
    actions: usize,
    index: &mut FeatureIndex,
    row: &mut impl FeatureSink,
) -> Result<Option<Label>, LogError> {
    let (head, features) = split_label(text);
    if features.is_empty() {
        return Err(LogError::Line {
            line,
            reason: format!("no `|`: a row needs its features (`{}`)", shown(text)),
        });
    }
    let label = match label_token(head, line)? {
        Some(t) => {
            let (a, cost, probability) = parse_cb_label(t, line)?;
            if a == 0 || a > actions as u64 {
                return Err(LogError::Line {
                    line,
                    reason: format!(
                        "label `{}`: action {a} is not in 1..={actions} (--actions {actions})",
                        shown(t)
                    ),
                });
            }
            Some(Label {
                action: (a - 1) as usize,
                cost,
                probability,
            })
        }
        None => None,
    };
    parse_vw_features(features, line, index, row)?;
    Ok(label)
}

/// The columns of our CSV: `action,cost,probability,` then the features by name.
pub struct CsvHeader {
    pub features: Vec<String>,
}

impl CsvHeader {
    pub fn parse(text: &[u8], line: u64) -> Result<Self, LogError> {
        let cols: Vec<&[u8]> = text.split(|&b| b == b',').map(trim).collect();
        if cols.len() < 3 || cols[0] != b"action" || cols[1] != b"cost" || cols[2] != b"probability"
        {
            return Err(LogError::Line {
                line,
                reason: format!(
                    "header `{}`: must start with action,cost,probability and name the features",
                    shown(text)
                ),
            });
        }
        Ok(Self {
            features: cols[3..]
                .iter()
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect(),
        })
    }
}

#[inline]
fn trim(s: &[u8]) -> &[u8] {
    let a = s
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(s.len());
    let b = s
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(a, |i| i + 1);
    &s[a..b]
}

/// One CSV data row (`action` 0-based); the feature columns are columns `1..` of `row`.
pub fn parse_csv_line(
    text: &[u8],
    line: u64,
    header: &CsvHeader,
    actions: usize,
    row: &mut impl FeatureSink,
) -> Result<Label, LogError> {
    let mut fields = text.split(|&b| b == b',');
    let mut next = |what: &str| {
        fields.next().map(trim).ok_or_else(|| LogError::Line {
            line,
            reason: format!("missing field `{what}`"),
        })
    };
    let a = next("action")?;
    let action = std::str::from_utf8(a)
        .ok()
        .and_then(|t| t.parse::<usize>().ok())
        .filter(|&v| v < actions)
        .ok_or_else(|| LogError::Line {
            line,
            reason: format!(
                "field `action` = `{}`: must be a whole number in 0..{actions}",
                shown(a)
            ),
        })?;
    let c = next("cost")?;
    let cost = parse_number(c).ok_or_else(|| LogError::Line {
        line,
        reason: format!("field `cost` = `{}`: not a finite number", shown(c)),
    })?;
    let p = next("probability")?;
    let probability = parse_number(p)
        .filter(|v| *v > 0.0 && *v <= 1.0)
        .ok_or_else(|| LogError::Line {
            line,
            reason: format!("field `probability` = `{}`: must be in (0, 1]", shown(p)),
        })?;
    for (j, name) in header.features.iter().enumerate() {
        let f = next(name)?;
        let v = parse_number(f).ok_or_else(|| LogError::Line {
            line,
            reason: format!("field `{name}` = `{}`: not a finite number", shown(f)),
        })?;
        row.add(j + 1, v);
    }
    if fields.next().is_some() {
        return Err(LogError::Line {
            line,
            reason: format!(
                "more fields than the header's {}",
                3 + header.features.len()
            ),
        });
    }
    Ok(Label {
        action,
        cost,
        probability,
    })
}

/// One JSONL row: `{"action": 0-based, "cost": c, "probability": p, "features": [..]}`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonRow {
    action: usize,
    cost: f64,
    probability: f64,
    features: Vec<f64>,
}

/// One JSONL row into `row` (columns `1..`); `width` is the feature count of the first row,
/// which every row must have.
pub fn parse_jsonl_line(
    text: &[u8],
    line: u64,
    actions: usize,
    width: &mut Option<usize>,
    row: &mut impl FeatureSink,
) -> Result<Label, LogError> {
    let r: JsonRow = serde_json::from_slice(text).map_err(|e| LogError::Line {
        line,
        reason: format!("not a row object: {e}"),
    })?;
    if r.action >= actions {
        return Err(LogError::Line {
            line,
            reason: format!(
                "field `action` = {}: must be in 0..{actions} (--actions {actions})",
                r.action
            ),
        });
    }
    if !r.cost.is_finite() {
        return Err(LogError::Line {
            line,
            reason: format!("field `cost` = {}: not finite", r.cost),
        });
    }
    if !(r.probability > 0.0 && r.probability <= 1.0) {
        return Err(LogError::Line {
            line,
            reason: format!("field `probability` = {}: must be in (0, 1]", r.probability),
        });
    }
    let w = *width.get_or_insert(r.features.len());
    if r.features.len() != w {
        return Err(LogError::Line {
            line,
            reason: format!(
                "field `features` has {} values, the first row had {w}",
                r.features.len()
            ),
        });
    }
    for (j, &v) in r.features.iter().enumerate() {
        if !v.is_finite() {
            return Err(LogError::Line {
                line,
                reason: format!("field `features[{j}]` = {v}: not finite"),
            });
        }
        row.add(j + 1, v);
    }
    Ok(Label {
        action: r.action,
        cost: r.cost,
        probability: r.probability,
    })
}
