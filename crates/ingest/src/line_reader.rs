//! Reading lines with a hard cap on their length, so that one huge line cannot take the memory.

use std::io::{self, BufRead};

/// What one call to [`read_bounded_line`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum LineRead {
    /// End of input, nothing read.
    Eof,
    /// A line (without its `\n`); `terminated` is false when the input ended mid-line.
    Line { terminated: bool, bytes: u64 },
    /// A line longer than the cap: its bytes were skipped, not kept.
    TooLong { length: u64, terminated: bool },
}

/// Reads the next line into `buf` (cleared first), keeping at most `max` bytes.
pub fn read_bounded_line(
    reader: &mut impl BufRead,
    buf: &mut Vec<u8>,
    max: usize,
) -> io::Result<LineRead> {
    buf.clear();
    let mut length: u64 = 0;
    let mut too_long = false;
    loop {
        let available = match reader.fill_buf() {
            Ok(a) => a,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            if length == 0 {
                return Ok(LineRead::Eof);
            }
            return Ok(finish(too_long, length, false));
        }
        let newline = available.iter().position(|&b| b == b'\n');
        let take = newline.unwrap_or(available.len());
        length += take as u64;
        if !too_long {
            if buf.len() + take > max {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(&available[..take]);
            }
        }
        let consumed = newline.map_or(take, |n| n + 1);
        reader.consume(consumed);
        if newline.is_some() {
            return Ok(finish(too_long, length + 1, true));
        }
    }
}

fn finish(too_long: bool, length: u64, terminated: bool) -> LineRead {
    if too_long {
        LineRead::TooLong { length, terminated }
    } else {
        LineRead::Line {
            terminated,
            bytes: length,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_capped_and_the_rest_continues() {
        let data = format!("short\n{}\nnext\nend", "x".repeat(100));
        let mut r = io::BufReader::with_capacity(16, data.as_bytes());
        let mut buf = Vec::new();
        assert_eq!(
            read_bounded_line(&mut r, &mut buf, 10).unwrap(),
            LineRead::Line {
                terminated: true,
                bytes: 6
            }
        );
        assert_eq!(buf, b"short");
        assert_eq!(
            read_bounded_line(&mut r, &mut buf, 10).unwrap(),
            LineRead::TooLong {
                length: 101,
                terminated: true
            }
        );
        assert!(buf.is_empty());
        assert_eq!(
            read_bounded_line(&mut r, &mut buf, 10).unwrap(),
            LineRead::Line {
                terminated: true,
                bytes: 5
            }
        );
        assert_eq!(buf, b"next");
        assert_eq!(
            read_bounded_line(&mut r, &mut buf, 10).unwrap(),
            LineRead::Line {
                terminated: false,
                bytes: 3
            }
        );
        assert_eq!(buf, b"end");
        assert_eq!(
            read_bounded_line(&mut r, &mut buf, 10).unwrap(),
            LineRead::Eof
        );
    }
}
