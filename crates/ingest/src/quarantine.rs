//! Rejected rows, each written with its reason, so that nothing read is lost from sight.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::source::RowError;
use crate::IngestError;

/// A JSONL file of rejected rows: `{"file","line","field","reason","raw"}` per line. Created on the
/// first rejection only.
pub struct Quarantine {
    path: PathBuf,
    writer: Option<BufWriter<File>>,
    written: u64,
}

impl Quarantine {
    /// A quarantine file named after `input` (with a time stamp) inside `dir`.
    pub fn for_input(dir: &Path, input: &str) -> Self {
        let stem: String = Path::new(input)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "input".into())
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        Self {
            path: dir.join(format!("{stem}.{stamp}.rejected.jsonl")),
            writer: None,
            written: 0,
        }
    }

    pub fn path(&self) -> Option<&Path> {
        (self.written > 0).then_some(self.path.as_path())
    }

    pub fn write(&mut self, error: &RowError) -> Result<(), IngestError> {
        if self.writer.is_none() {
            if let Some(dir) = self.path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| IngestError::io(dir, e))?;
            }
            let file = File::create(&self.path).map_err(|e| IngestError::io(&self.path, e))?;
            self.writer = Some(BufWriter::new(file));
        }
        let line = serde_json::json!({
            "file": error.location.file,
            "line": error.location.line,
            "field": error.field,
            "reason": error.reason,
            "raw": error.raw,
        });
        if let Some(w) = &mut self.writer {
            writeln!(w, "{line}").map_err(|e| IngestError::io(&self.path, e))?;
        }
        self.written += 1;
        Ok(())
    }

    pub fn flush(&mut self) -> Result<(), IngestError> {
        if let Some(w) = &mut self.writer {
            w.flush().map_err(|e| IngestError::io(&self.path, e))?;
        }
        Ok(())
    }
}
