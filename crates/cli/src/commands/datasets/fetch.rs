//! `discount datasets fetch`: download a data set from its origin (the registry), check every
//! byte against the recorded SHA-256, unpack it into the folder the tests read.
//!
//! Nothing is written until the bytes it comes from have been verified: an archive is checked
//! before it is opened, each file before it is moved into place (written beside it first, then
//! renamed), so an interrupted or corrupted download never leaves a file that looks complete.

use std::collections::HashMap;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::rdata;
use super::registry::{ArchiveFormat, DataFile, DataSource, Derive, Download, SOURCES};

/// Where and how to fetch.
pub struct FetchOptions {
    /// The data directory: each data set lands in its folder under it.
    pub into: PathBuf,
    /// Replaces every origin's scheme and host: `https://host/path` is fetched from
    /// `{source_base}/host/path` (a mirror, or a local folder served over HTTP).
    pub source_base: Option<String>,
    /// Draw progress bars (on a terminal, and not for `--json`).
    pub progress: bool,
}

/// What fetching one data set did.
#[derive(Debug, Serialize)]
pub struct FetchReport {
    pub name: &'static str,
    pub folder: PathBuf,
    /// `downloaded`, or `present` (every file already there and verified).
    pub status: &'static str,
    pub files: usize,
    pub bytes: u64,
    pub title: &'static str,
    pub licence: &'static str,
    pub citation: &'static str,
}

/// The data sets `name` stands for: one by its name or folder, or every one for `all`.
pub fn select(name: &str) -> anyhow::Result<Vec<&'static DataSource>> {
    if name == "all" {
        return Ok(SOURCES.iter().collect());
    }
    match SOURCES.iter().find(|s| s.name == name || s.folder == name) {
        Some(source) => Ok(vec![source]),
        None => bail!(
            "unknown data set `{name}`; expected all or one of: {}",
            SOURCES
                .iter()
                .map(|s| s.name)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Fetches one data set (see the module documentation). A data set whose files are all present
/// and verified is left alone.
pub fn fetch(source: &DataSource, options: &FetchOptions) -> anyhow::Result<FetchReport> {
    let folder = options.into.join(source.folder);
    let missing: Vec<&DataFile> = source
        .files
        .iter()
        .filter(|file| !verified_on_disk(&folder.join(file.path), file.sha256))
        .collect();
    let report = |status| FetchReport {
        name: source.name,
        folder: folder.clone(),
        status,
        files: source.files.len(),
        bytes: source
            .files
            .iter()
            .filter_map(|f| fs::metadata(folder.join(f.path)).ok())
            .map(|m| m.len())
            .sum(),
        title: source.title,
        licence: source.licence,
        citation: source.citation,
    };
    if missing.is_empty() {
        return Ok(report("present"));
    }
    let agent = agent();
    match &source.download {
        Download::Files => {
            // Several files may come from one origin (the data frames of one R data file): each
            // URL is downloaded once.
            let mut downloaded: HashMap<String, Vec<u8>> = HashMap::new();
            for file in missing {
                let url = rebase(file.origin, options.source_base.as_deref())?;
                let bytes = match downloaded.get(&url) {
                    Some(bytes) => bytes.clone(),
                    None => {
                        let bytes = download(&agent, &url, file.path, options.progress)?;
                        downloaded.insert(url.clone(), bytes.clone());
                        bytes
                    }
                };
                let bytes = derive(file.derive, bytes, &url)?;
                check(&bytes, file.sha256, file.path, &url)?;
                write_verified(&folder.join(file.path), &bytes)?;
            }
        }
        Download::Archive {
            url,
            sha256,
            format,
        } => {
            let url = rebase(url, options.source_base.as_deref())?;
            let archive = download(&agent, &url, source.name, options.progress)?;
            check(&archive, sha256, "the archive", &url)?;
            let members: Vec<&str> = missing.iter().map(|f| f.origin).collect();
            let mut contents = unpack(&archive, *format, &members, &url)?;
            for file in missing {
                let bytes = contents.remove(file.origin).with_context(|| {
                    format!("{url} has no member {} (for {})", file.origin, file.path)
                })?;
                let bytes = derive(file.derive, bytes, &format!("{url} member {}", file.origin))?;
                check(
                    &bytes,
                    file.sha256,
                    file.path,
                    &format!("{url} member {}", file.origin),
                )?;
                write_verified(&folder.join(file.path), &bytes)?;
            }
        }
    }
    Ok(report("downloaded"))
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_global(Some(Duration::from_secs(600)))
        .build()
        .into()
}

/// `url` with its scheme and host replaced by `base/host` when a base is given.
fn rebase(url: &str, base: Option<&str>) -> anyhow::Result<String> {
    let Some(base) = base else {
        return Ok(url.to_string());
    };
    let Some((_, host_and_path)) = url.split_once("://") else {
        bail!("the registry's URL {url} has no scheme");
    };
    Ok(format!("{}/{host_and_path}", base.trim_end_matches('/')))
}

/// The body of a GET of `url`, read in full; `what` names it on the progress bar.
fn download(agent: &ureq::Agent, url: &str, what: &str, progress: bool) -> anyhow::Result<Vec<u8>> {
    let mut response = match agent.get(url).call() {
        Ok(response) => response,
        Err(ureq::Error::StatusCode(status)) => bail!("downloading {url}: HTTP status {status}"),
        Err(e) => bail!("downloading {url}: {e}"),
    };
    let length = response
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let bar = if progress {
        let bar = ProgressBar::new(length.unwrap_or(0));
        if let Ok(style) = ProgressStyle::with_template(
            "{msg:24!} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(what.to_string());
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut reader = response.body_mut().as_reader();
    let mut body = Vec::with_capacity(length.unwrap_or(0).min(1 << 28) as usize);
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = reader
            .read(&mut chunk)
            .with_context(|| format!("downloading {url}: reading the body"))?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
        bar.inc(n as u64);
    }
    bar.finish_and_clear();
    if let Some(length) = length {
        if body.len() as u64 != length {
            bail!(
                "downloading {url}: the connection closed after {} of {length} bytes",
                body.len()
            );
        }
    }
    Ok(body)
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Fails unless `bytes` hash to `expected`, saying what, from where, and both checksums.
fn check(bytes: &[u8], expected: &str, what: &str, url: &str) -> anyhow::Result<()> {
    let got = sha256_hex(bytes);
    if got != expected {
        bail!(
            "checksum mismatch for {what} from {url}: expected sha256 {expected}, got {got} \
             ({} bytes); the download is corrupt or the origin changed, so it was not written",
            bytes.len()
        );
    }
    Ok(())
}

fn verified_on_disk(path: &Path, expected: &str) -> bool {
    fs::read(path).is_ok_and(|bytes| sha256_hex(&bytes) == expected)
}

/// Writes `bytes` beside `path` and renames them into place.
fn write_verified(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    let mut partial = path.as_os_str().to_owned();
    partial.push(".part");
    let partial = PathBuf::from(partial);
    let mut out =
        fs::File::create(&partial).with_context(|| format!("creating {}", partial.display()))?;
    out.write_all(bytes)
        .and_then(|()| out.sync_all())
        .with_context(|| format!("writing {}", partial.display()))?;
    fs::rename(&partial, path).with_context(|| format!("moving into place {}", path.display()))
}

/// The named members of an archive, by member path.
fn unpack(
    archive: &[u8],
    format: ArchiveFormat,
    members: &[&str],
    url: &str,
) -> anyhow::Result<HashMap<String, Vec<u8>>> {
    let mut found = HashMap::new();
    match format {
        ArchiveFormat::Zip => {
            let mut zip = zip::ZipArchive::new(std::io::Cursor::new(archive))
                .with_context(|| format!("{url} is not a readable zip file"))?;
            for member in members {
                let mut entry = zip
                    .by_name(member)
                    .with_context(|| format!("{url} has no member {member}"))?;
                let mut bytes = Vec::new();
                entry
                    .read_to_end(&mut bytes)
                    .with_context(|| format!("unpacking {member} from {url}"))?;
                found.insert(member.to_string(), bytes);
            }
        }
        ArchiveFormat::TarGz => {
            let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(archive));
            let entries = tar
                .entries()
                .with_context(|| format!("{url} is not a readable tar.gz file"))?;
            for entry in entries {
                let mut entry = entry.with_context(|| format!("reading {url} as tar.gz"))?;
                let path = entry
                    .path()
                    .with_context(|| format!("reading {url} as tar.gz"))?
                    .to_string_lossy()
                    .into_owned();
                if members.contains(&path.as_str()) {
                    let mut bytes = Vec::new();
                    entry
                        .read_to_end(&mut bytes)
                        .with_context(|| format!("unpacking {path} from {url}"))?;
                    found.insert(path, bytes);
                }
            }
        }
    }
    Ok(found)
}

/// The file the tests read, from the origin's bytes (`from` names them in errors).
fn derive(how: Derive, bytes: Vec<u8>, from: &str) -> anyhow::Result<Vec<u8>> {
    match how {
        Derive::AsIs => Ok(bytes),
        Derive::SemicolonsToCommas => Ok(bytes
            .into_iter()
            .map(|b| if b == b';' { b',' } else { b })
            .collect()),
        Derive::BtsPriorCsv { campaign } => {
            let text =
                std::str::from_utf8(&bytes).with_context(|| format!("{from} is not UTF-8 text"))?;
            bts_prior_csv(text, campaign).with_context(|| format!("converting {from}"))
        }
        Derive::RdataFrame {
            rda_sha256,
            object,
            element,
        } => {
            check(&bytes, rda_sha256, "the R data file", from)?;
            rdata::data_frame_csv(&bytes, object, element)
                .with_context(|| format!("converting the R data file {from}"))
        }
    }
}

/// `item_id,alpha,beta` rows (CRLF, as the folder's copy was written) from the `campaign:` block of
/// obp's `prior_bts.yaml`, whose shape is `campaign:` / `  alpha:` / `    - 47.0` ... / `  beta:` /
/// `    - 12198.0` ...
fn bts_prior_csv(yaml: &str, campaign: &str) -> anyhow::Result<Vec<u8>> {
    let mut in_campaign = false;
    let mut list: Option<&str> = None;
    let (mut alpha, mut beta) = (Vec::new(), Vec::new());
    for (number, line) in yaml.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            in_campaign = line.strip_suffix(':') == Some(campaign);
            list = None;
            continue;
        }
        if !in_campaign {
            continue;
        }
        let item = line.trim_start();
        if let Some(value) = item.strip_prefix("- ") {
            let value = value.trim();
            if value.parse::<f64>().is_err() {
                bail!("line {}: `{value}` is not a number", number + 1);
            }
            match list {
                Some("alpha") => alpha.push(value),
                Some("beta") => beta.push(value),
                _ => bail!("line {}: a list item outside alpha and beta", number + 1),
            }
        } else {
            list = item.strip_suffix(':');
        }
    }
    if alpha.is_empty() || alpha.len() != beta.len() {
        bail!(
            "campaign `{campaign}`: {} alpha and {} beta values (need as many, at least one)",
            alpha.len(),
            beta.len()
        );
    }
    let mut csv = String::from("item_id,alpha,beta\r\n");
    for (item, (a, b)) in alpha.iter().zip(&beta).enumerate() {
        csv.push_str(&format!("{item},{a},{b}\r\n"));
    }
    Ok(csv.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebase_keeps_the_host_as_the_first_folder() {
        assert_eq!(
            rebase("https://example.org/a/b.csv", Some("http://127.0.0.1:9/")).unwrap(),
            "http://127.0.0.1:9/example.org/a/b.csv"
        );
        assert_eq!(
            rebase("https://example.org/a", None).unwrap(),
            "https://example.org/a"
        );
        assert!(rebase("no-scheme", Some("http://127.0.0.1:9")).is_err());
    }

    #[test]
    fn bts_prior_takes_one_campaign_as_written() {
        let yaml = "all:\n  alpha:\n    - 47.0\n    - 8.0\n  beta:\n    - 12198.0\n    - 3566.0\nmen:\n  alpha:\n    - 1.0\n  beta:\n    - 2.0\n";
        let csv = bts_prior_csv(yaml, "all").unwrap();
        assert_eq!(
            String::from_utf8(csv).unwrap(),
            "item_id,alpha,beta\r\n0,47.0,12198.0\r\n1,8.0,3566.0\r\n"
        );
        let men = bts_prior_csv(yaml, "men").unwrap();
        assert_eq!(
            String::from_utf8(men).unwrap(),
            "item_id,alpha,beta\r\n0,1.0,2.0\r\n"
        );
        assert!(bts_prior_csv(yaml, "women").is_err());
        assert!(bts_prior_csv("all:\n  alpha:\n    - 1.0\n  beta:\n", "all").is_err());
        assert!(bts_prior_csv("all:\n  alpha:\n    - x\n  beta:\n    - 1\n", "all").is_err());
    }

    #[test]
    fn semicolons_become_commas() {
        let out = derive(Derive::SemicolonsToCommas, b"a;b\r\n1;2".to_vec(), "t").unwrap();
        assert_eq!(out, b"a,b\r\n1,2");
    }

    #[test]
    fn zip_and_tar_gz_members_unpack() {
        let mut zipped = std::io::Cursor::new(Vec::new());
        {
            let mut writer = zip::ZipWriter::new(&mut zipped);
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            writer.start_file("pkg/data/x.csv", options).unwrap();
            writer.write_all(b"id\n1\n").unwrap();
            writer.start_file("pkg/other.txt", options).unwrap();
            writer.write_all(b"ignored").unwrap();
            writer.finish().unwrap();
        }
        let found = unpack(
            zipped.get_ref(),
            ArchiveFormat::Zip,
            &["pkg/data/x.csv"],
            "z",
        )
        .unwrap();
        assert_eq!(found["pkg/data/x.csv"], b"id\n1\n");
        assert!(unpack(zipped.get_ref(), ArchiveFormat::Zip, &["missing"], "z").is_err());

        let mut tarred = Vec::new();
        {
            let gz = flate2::write::GzEncoder::new(&mut tarred, flate2::Compression::fast());
            let mut builder = tar::Builder::new(gz);
            let mut header = tar::Header::new_gnu();
            header.set_size(4);
            header.set_mode(0o644);
            header.set_cksum();
            builder
                .append_data(&mut header, "p-1.0/d/all.csv", &b"a,b\n"[..])
                .unwrap();
            builder.into_inner().unwrap().finish().unwrap();
        }
        let found = unpack(&tarred, ArchiveFormat::TarGz, &["p-1.0/d/all.csv"], "t").unwrap();
        assert_eq!(found["p-1.0/d/all.csv"], b"a,b\n");
    }

    #[test]
    fn a_wrong_checksum_names_both_and_the_url() {
        let err = check(b"abc", &"0".repeat(64), "x.csv", "http://h/x.csv")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("checksum mismatch for x.csv from http://h/x.csv"),
            "{err}"
        );
        assert!(err.contains(&"0".repeat(64)), "{err}");
        assert!(err.contains(&sha256_hex(b"abc")), "{err}");
        check(b"abc", &sha256_hex(b"abc"), "x.csv", "u").unwrap();
    }

    /// Every R data file of the registry converted and checked against its CSV's registered
    /// checksum. Put the `.rda` files (named as in their origin URLs) in a folder and run
    /// `DISCOUNT_RDA_DIR=folder cargo test -p discount-cli --bin discount -- --ignored
    /// every_r_data_file`; with `DISCOUNT_RDA_OUT=folder2` the CSVs are written there too.
    #[test]
    #[ignore = "needs the data sets' .rda files in $DISCOUNT_RDA_DIR"]
    fn every_r_data_file_converts_to_its_registered_csv() {
        let dir = PathBuf::from(std::env::var_os("DISCOUNT_RDA_DIR").expect("DISCOUNT_RDA_DIR"));
        let out = std::env::var_os("DISCOUNT_RDA_OUT").map(PathBuf::from);
        let (mut matched, mut failed) = (Vec::new(), Vec::new());
        for source in SOURCES {
            for file in source.files {
                let Derive::RdataFrame { .. } = file.derive else {
                    continue;
                };
                let name = file.origin.rsplit('/').next().unwrap_or(file.origin);
                let rda = fs::read(dir.join(name))
                    .unwrap_or_else(|e| panic!("reading {}: {e}", dir.join(name).display()));
                match derive(file.derive, rda, name) {
                    Ok(csv) => {
                        if let Some(out) = &out {
                            fs::create_dir_all(out.join(source.folder)).unwrap();
                            fs::write(out.join(source.folder).join(file.path), &csv).unwrap();
                        }
                        let got = sha256_hex(&csv);
                        if got == file.sha256 {
                            matched.push(format!("{}/{}", source.folder, file.path));
                        } else {
                            failed.push(format!(
                                "{}: {} bytes, sha256 {got}",
                                file.path,
                                csv.len()
                            ));
                        }
                    }
                    Err(e) => failed.push(format!("{}: {e:#}", file.path)),
                }
            }
        }
        eprintln!("byte for byte: {matched:#?}");
        assert!(failed.is_empty(), "{failed:#?}");
        assert_eq!(matched.len(), 14);
    }

    #[test]
    fn the_registry_is_well_formed() {
        let mut names = std::collections::HashSet::new();
        for source in SOURCES {
            assert!(names.insert(source.name), "{} twice", source.name);
            assert!(!source.licence.is_empty() && !source.citation.is_empty());
            for file in source.files {
                assert_eq!(file.sha256.len(), 64, "{}", file.path);
                assert!(file.sha256.bytes().all(|b| b.is_ascii_hexdigit()));
                if let Derive::RdataFrame { rda_sha256, .. } = file.derive {
                    assert_eq!(rda_sha256.len(), 64, "{}", file.path);
                    assert!(rda_sha256.bytes().all(|b| b.is_ascii_hexdigit()));
                }
                if matches!(source.download, Download::Files) {
                    assert!(file.origin.starts_with("http"), "{}", file.origin);
                }
            }
            assert_eq!(select(source.name).unwrap().len(), 1);
            assert_eq!(select(source.folder).unwrap()[0].name, source.name);
        }
        assert_eq!(select("all").unwrap().len(), SOURCES.len());
        assert!(select("nope").is_err());
    }
}
