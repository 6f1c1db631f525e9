//! Hand-written SVG charts: a line chart (with optional shaded interval bands and reference lines) and a bar
//! chart with error bars. Each renders to a standalone `<svg>` string that can be inlined in HTML.
//!
//! ```
//! use discount_eval::svg::{LineChart, Series};
//! let chart = LineChart::new("Clicks", "round", "click rate")
//!     .with_series(Series::line("estimate", vec![(0.0, 0.1), (1.0, 0.2)]));
//! assert!(chart.render(640, 360).starts_with("<svg"));
//! ```

use std::fmt::Write;

/// Colours used in order for series and bars (colour-blind friendly palette).
pub const PALETTE: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000",
];

/// Escapes text for SVG and HTML.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// About `target` round tick values covering `[low, high]`.
pub fn nice_ticks(low: f64, high: f64, target: usize) -> Vec<f64> {
    if !(low.is_finite() && high.is_finite()) || target == 0 {
        return Vec::new();
    }
    let (low, high) = if high > low {
        (low, high)
    } else {
        (low - 0.5, low + 0.5)
    };
    let raw_step = (high - low) / target as f64;
    let magnitude = 10f64.powf(raw_step.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw_step)
        .unwrap_or(10.0 * magnitude);
    // Integer multiples of the step, so that labels do not accumulate rounding error.
    let first = (low / step).ceil() as i64;
    let last = (high / step + 1e-9).floor() as i64;
    (first..=last).map(|k| k as f64 * step).collect()
}

/// Formats a tick label compactly.
pub fn format_number(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".into()
    } else if !(1e-3..1e6).contains(&a) {
        format!("{v:.2e}")
    } else if a >= 100.0 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.4}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        s.to_string()
    }
}

/// Plot area and scales shared by both chart kinds.
struct Frame {
    width: f64,
    height: f64,
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
    x_min: f64,
    x_max: f64,
    y_min: f64,
    y_max: f64,
}

impl Frame {
    fn x(&self, v: f64) -> f64 {
        let span = if self.x_max > self.x_min {
            self.x_max - self.x_min
        } else {
            1.0
        };
        self.left + (v - self.x_min) / span * (self.width - self.left - self.right)
    }
    fn y(&self, v: f64) -> f64 {
        let span = if self.y_max > self.y_min {
            self.y_max - self.y_min
        } else {
            1.0
        };
        self.height - self.bottom - (v - self.y_min) / span * (self.height - self.top - self.bottom)
    }
}

fn open_svg(out: &mut String, width: u32, height: u32, title: &str) {
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{t}" font-family="sans-serif" font-size="12"><title>{t}</title><rect width="100%" height="100%" fill="white"/><text x="{cx}" y="20" text-anchor="middle" font-size="15" font-weight="bold">{t}</text>"#,
        t = escape(title),
        cx = width / 2
    );
}

fn axes(out: &mut String, frame: &Frame, x_label: &str, y_label: &str, x_ticks: bool) {
    let (x0, x1) = (frame.left, frame.width - frame.right);
    let (y0, y1) = (frame.height - frame.bottom, frame.top);
    for tick in nice_ticks(frame.y_min, frame.y_max, 5) {
        let y = frame.y(tick);
        let _ = write!(
            out,
            r##"<line x1="{x0:.1}" y1="{y:.1}" x2="{x1:.1}" y2="{y:.1}" stroke="#e5e5e5"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            x0 - 6.0,
            y + 4.0,
            format_number(tick)
        );
    }
    if x_ticks {
        for tick in nice_ticks(frame.x_min, frame.x_max, 6) {
            let x = frame.x(tick);
            let _ = write!(
                out,
                r##"<line x1="{x:.1}" y1="{y0:.1}" x2="{x:.1}" y2="{:.1}" stroke="#333"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
                y0 + 5.0,
                y0 + 18.0,
                format_number(tick)
            );
        }
    }
    let _ = write!(
        out,
        r##"<line x1="{x0:.1}" y1="{y0:.1}" x2="{x1:.1}" y2="{y0:.1}" stroke="#333"/><line x1="{x0:.1}" y1="{y0:.1}" x2="{x0:.1}" y2="{y1:.1}" stroke="#333"/><text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text><text transform="translate(16 {:.1}) rotate(-90)" text-anchor="middle">{}</text>"##,
        (x0 + x1) / 2.0,
        frame.height - 8.0,
        escape(x_label),
        (y0 + y1) / 2.0,
        escape(y_label)
    );
}

/// A series of a line chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub dashed: bool,
    /// Draw a dot at each point.
    pub markers: bool,
    /// Colour; `None` picks from [`PALETTE`].
    pub color: Option<String>,
}

impl Series {
    /// A solid line.
    pub fn line(name: &str, points: Vec<(f64, f64)>) -> Self {
        Series {
            name: name.to_string(),
            points,
            dashed: false,
            markers: false,
            color: None,
        }
    }
    /// A dashed line (for references such as "random targeting").
    pub fn dashed(mut self) -> Self {
        self.dashed = true;
        self
    }
    /// Dots at the points.
    pub fn with_markers(mut self) -> Self {
        self.markers = true;
        self
    }
    /// A fixed colour.
    pub fn with_color(mut self, color: &str) -> Self {
        self.color = Some(color.to_string());
        self
    }
}

/// A shaded band between `lower` and `upper` along x (e.g. a confidence interval over time).
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    pub name: String,
    /// (x, lower, upper).
    pub points: Vec<(f64, f64, f64)>,
    pub color: Option<String>,
}

/// A horizontal reference line with a label.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceLine {
    pub label: String,
    pub y: f64,
}

/// A line chart with optional bands and horizontal reference lines.
#[derive(Debug, Clone, PartialEq)]
pub struct LineChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
    pub bands: Vec<Band>,
    pub references: Vec<ReferenceLine>,
    /// Force the y range to include these values (e.g. 0).
    pub include_y: Vec<f64>,
}

impl LineChart {
    pub fn new(title: &str, x_label: &str, y_label: &str) -> Self {
        LineChart {
            title: title.to_string(),
            x_label: x_label.to_string(),
            y_label: y_label.to_string(),
            series: Vec::new(),
            bands: Vec::new(),
            references: Vec::new(),
            include_y: Vec::new(),
        }
    }
    pub fn with_series(mut self, series: Series) -> Self {
        self.series.push(series);
        self
    }
    pub fn with_band(
        mut self,
        name: &str,
        points: Vec<(f64, f64, f64)>,
        color: Option<&str>,
    ) -> Self {
        self.bands.push(Band {
            name: name.to_string(),
            points,
            color: color.map(str::to_string),
        });
        self
    }
    pub fn with_reference(mut self, label: &str, y: f64) -> Self {
        self.references.push(ReferenceLine {
            label: label.to_string(),
            y,
        });
        self
    }
    pub fn including_y(mut self, y: f64) -> Self {
        self.include_y.push(y);
        self
    }

    /// Renders the chart as an `<svg>` element of the given size in pixels.
    pub fn render(&self, width: u32, height: u32) -> String {
        let finite = |v: &f64| v.is_finite();
        let xs = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.0))
            .chain(self.bands.iter().flat_map(|b| b.points.iter().map(|p| p.0)))
            .filter(finite);
        let ys = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.1))
            .chain(
                self.bands
                    .iter()
                    .flat_map(|b| b.points.iter().flat_map(|p| [p.1, p.2])),
            )
            .chain(self.references.iter().map(|r| r.y))
            .chain(self.include_y.iter().copied())
            .filter(finite);
        let (x_min, x_max) = min_max(xs);
        let (y_min, y_max) = pad(min_max(ys));
        let legend_rows = (self.series.len() + self.bands.len()).div_ceil(3) as f64;
        let frame = Frame {
            width: width as f64,
            height: height as f64,
            left: 70.0,
            right: 20.0,
            top: 34.0 + 16.0 * legend_rows,
            bottom: 44.0,
            x_min,
            x_max,
            y_min,
            y_max,
        };
        let mut out = String::new();
        open_svg(&mut out, width, height, &self.title);
        axes(&mut out, &frame, &self.x_label, &self.y_label, true);
        let mut legend = Vec::new();
        for (i, band) in self.bands.iter().enumerate() {
            let color = band
                .color
                .clone()
                .unwrap_or_else(|| PALETTE[i % PALETTE.len()].to_string());
            let pts: Vec<_> = band
                .points
                .iter()
                .filter(|p| p.0.is_finite() && p.1.is_finite() && p.2.is_finite())
                .collect();
            if pts.len() >= 2 {
                let mut d = String::new();
                for (j, p) in pts.iter().enumerate() {
                    let _ = write!(
                        d,
                        "{}{:.1},{:.1} ",
                        if j == 0 { "M" } else { "L" },
                        frame.x(p.0),
                        frame.y(p.2)
                    );
                }
                for p in pts.iter().rev() {
                    let _ = write!(d, "L{:.1},{:.1} ", frame.x(p.0), frame.y(p.1));
                }
                let _ = write!(
                    out,
                    r#"<path d="{d}Z" fill="{color}" fill-opacity="0.18" stroke="none"/>"#
                );
            }
            legend.push((band.name.clone(), color, "band"));
        }
        for reference in &self.references {
            let y = frame.y(reference.y);
            let _ = write!(
                out,
                r##"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#555" stroke-dasharray="2 3"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#555">{}</text>"##,
                frame.left,
                frame.width - frame.right,
                frame.width - frame.right - 2.0,
                y - 4.0,
                escape(&reference.label)
            );
        }
        for (i, series) in self.series.iter().enumerate() {
            let color = series
                .color
                .clone()
                .unwrap_or_else(|| PALETTE[i % PALETTE.len()].to_string());
            let mut d = String::new();
            let mut started = false;
            for p in &series.points {
                if !(p.0.is_finite() && p.1.is_finite()) {
                    started = false;
                    continue;
                }
                let _ = write!(
                    d,
                    "{}{:.1},{:.1} ",
                    if started { "L" } else { "M" },
                    frame.x(p.0),
                    frame.y(p.1)
                );
                started = true;
            }
            let dash = if series.dashed {
                r#" stroke-dasharray="6 4""#
            } else {
                ""
            };
            let _ = write!(
                out,
                r#"<path d="{d}" fill="none" stroke="{color}" stroke-width="2"{dash}/>"#
            );
            if series.markers {
                for p in series
                    .points
                    .iter()
                    .filter(|p| p.0.is_finite() && p.1.is_finite())
                {
                    let _ = write!(
                        out,
                        r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{color}"/>"#,
                        frame.x(p.0),
                        frame.y(p.1)
                    );
                }
            }
            legend.push((
                series.name.clone(),
                color,
                if series.dashed { "dashed" } else { "line" },
            ));
        }
        draw_legend(&mut out, &legend, &frame);
        out.push_str("</svg>");
        out
    }
}

fn draw_legend(out: &mut String, entries: &[(String, String, &str)], frame: &Frame) {
    let column_width = (frame.width - frame.left - frame.right) / 3.0;
    for (i, (name, color, kind)) in entries.iter().enumerate() {
        let x = frame.left + column_width * (i % 3) as f64;
        let y = 32.0 + 16.0 * (i / 3) as f64;
        match *kind {
            "band" => {
                let _ = write!(
                    out,
                    r#"<rect x="{x:.1}" y="{:.1}" width="18" height="10" fill="{color}" fill-opacity="0.25"/>"#,
                    y - 9.0
                );
            }
            _ => {
                let dash = if *kind == "dashed" {
                    r#" stroke-dasharray="6 4""#
                } else {
                    ""
                };
                let _ = write!(
                    out,
                    r#"<line x1="{x:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{color}" stroke-width="2"{dash}/>"#,
                    y - 4.0,
                    x + 18.0,
                    y - 4.0
                );
            }
        }
        let _ = write!(
            out,
            r#"<text x="{:.1}" y="{y:.1}">{}</text>"#,
            x + 24.0,
            escape(name)
        );
    }
}

fn min_max(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut low, mut high) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values {
        low = low.min(v);
        high = high.max(v);
    }
    if low > high {
        (0.0, 1.0)
    } else if low == high {
        (low - 0.5, high + 0.5)
    } else {
        (low, high)
    }
}

fn pad((low, high): (f64, f64)) -> (f64, f64) {
    let margin = (high - low) * 0.05;
    (low - margin, high + margin)
}

/// One bar with an optional interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
}

/// A vertical bar chart with error bars and optional horizontal reference lines.
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    pub title: String,
    pub y_label: String,
    pub bars: Vec<Bar>,
    pub references: Vec<ReferenceLine>,
    /// Draw points with interval whiskers instead of filled bars (better when values are far from 0).
    pub dot_style: bool,
}

impl BarChart {
    pub fn new(title: &str, y_label: &str) -> Self {
        BarChart {
            title: title.to_string(),
            y_label: y_label.to_string(),
            bars: Vec::new(),
            references: Vec::new(),
            dot_style: false,
        }
    }
    pub fn with_bar(mut self, label: &str, value: f64, interval: Option<(f64, f64)>) -> Self {
        self.bars.push(Bar {
            label: label.to_string(),
            value,
            lower: interval.map(|i| i.0),
            upper: interval.map(|i| i.1),
        });
        self
    }
    pub fn with_reference(mut self, label: &str, y: f64) -> Self {
        self.references.push(ReferenceLine {
            label: label.to_string(),
            y,
        });
        self
    }
    pub fn dots(mut self) -> Self {
        self.dot_style = true;
        self
    }

    /// Renders the chart as an `<svg>` element.
    pub fn render(&self, width: u32, height: u32) -> String {
        let ys = self
            .bars
            .iter()
            .flat_map(|b| [Some(b.value), b.lower, b.upper])
            .flatten()
            .chain(self.references.iter().map(|r| r.y))
            .chain(if self.dot_style { None } else { Some(0.0) })
            .filter(|v| v.is_finite());
        let (y_min, y_max) = pad(min_max(ys));
        let frame = Frame {
            width: width as f64,
            height: height as f64,
            left: 70.0,
            right: 20.0,
            top: 34.0,
            bottom: 60.0,
            x_min: 0.0,
            x_max: self.bars.len().max(1) as f64,
            y_min,
            y_max,
        };
        let mut out = String::new();
        open_svg(&mut out, width, height, &self.title);
        axes(&mut out, &frame, "", &self.y_label, false);
        let slot = (frame.width - frame.left - frame.right) / self.bars.len().max(1) as f64;
        for (i, bar) in self.bars.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            let centre = frame.left + slot * (i as f64 + 0.5);
            if bar.value.is_finite() {
                if self.dot_style {
                    let _ = write!(
                        out,
                        r#"<circle cx="{centre:.1}" cy="{:.1}" r="5" fill="{color}"/>"#,
                        frame.y(bar.value)
                    );
                } else {
                    let top = frame.y(bar.value.max(0.0));
                    let bottom = frame.y(bar.value.min(0.0));
                    let _ = write!(
                        out,
                        r#"<rect x="{:.1}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="{color}" fill-opacity="0.8"/>"#,
                        centre - slot * 0.3,
                        slot * 0.6,
                        (bottom - top).max(0.5)
                    );
                }
            }
            if let (Some(lower), Some(upper)) = (bar.lower, bar.upper) {
                if lower.is_finite() && upper.is_finite() {
                    let (yl, yu) = (frame.y(lower), frame.y(upper));
                    let _ = write!(
                        out,
                        r##"<line x1="{centre:.1}" y1="{yl:.1}" x2="{centre:.1}" y2="{yu:.1}" stroke="#222" stroke-width="1.5"/><line x1="{:.1}" y1="{yl:.1}" x2="{:.1}" y2="{yl:.1}" stroke="#222" stroke-width="1.5"/><line x1="{:.1}" y1="{yu:.1}" x2="{:.1}" y2="{yu:.1}" stroke="#222" stroke-width="1.5"/>"##,
                        centre - 6.0,
                        centre + 6.0,
                        centre - 6.0,
                        centre + 6.0
                    );
                }
            }
            let _ = write!(
                out,
                r#"<text x="{centre:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                frame.height - frame.bottom + 16.0 + 14.0 * (i % 2) as f64,
                escape(&bar.label)
            );
        }
        for reference in &self.references {
            let y = frame.y(reference.y);
            let _ = write!(
                out,
                r##"<line x1="{:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#C00" stroke-dasharray="5 4" stroke-width="1.5"/><text x="{:.1}" y="{:.1}" text-anchor="end" fill="#C00">{}</text>"##,
                frame.left,
                frame.width - frame.right,
                frame.width - frame.right - 2.0,
                y - 5.0,
                escape(&reference.label)
            );
        }
        out.push_str("</svg>");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        let ticks = nice_ticks(0.0, 1.0, 5);
        let expected = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0];
        assert_eq!(ticks.len(), expected.len());
        assert!(ticks
            .iter()
            .zip(expected)
            .all(|(a, b)| (a - b).abs() < 1e-12));
        let t = nice_ticks(0.0031, 0.0048, 5);
        assert!(
            t.first().copied().unwrap_or(0.0) >= 0.0031
                && t.last().copied().unwrap_or(1.0) <= 0.0048
        );
        assert!(t.len() >= 3);
    }

    #[test]
    fn charts_escape_text_and_close() {
        let svg = BarChart::new("a < b", "y")
            .with_bar("ips", 1.0, Some((0.5, 1.5)))
            .with_reference("truth", 1.2)
            .render(400, 300);
        assert!(svg.contains("a &lt; b"));
        assert!(svg.ends_with("</svg>"));
        let svg = LineChart::new("t", "x", "y")
            .with_series(Series::line(
                "s",
                vec![(0.0, 0.0), (1.0, f64::NAN), (2.0, 1.0)],
            ))
            .render(400, 300);
        assert!(!svg.contains("NaN"));
    }
}
