//! PostgreSQL over TLS, against a real server: a throwaway cluster started here with `ssl = on` and
//! a certificate signed by a CA made here (openssl), on a free loopback port. Checks that the
//! server itself reports the connection encrypted (`pg_stat_ssl`) for each `sslmode` that asks for
//! TLS, that `disable` stays plain, and that a wrong CA or a server that refuses TLS fail with a
//! message saying so. Needs PostgreSQL's server binaries (`initdb`, `pg_ctl`) and `openssl`:
//! without them the test skips with a message, except under `CI=true`, where it fails.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

use discount_store::pg_connect;

/// openssl settings for a CA and a server certificate valid for 127.0.0.1 and localhost.
const OPENSSL_CONFIG: &str = "
[req]
distinguished_name = dn
prompt = no
[dn]
CN = discount test
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
";

fn under_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// The folder holding `initdb` and `pg_ctl` (the newest installed PostgreSQL).
fn server_binaries() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|bin| bin.join("initdb").exists() && bin.join("pg_ctl").exists())
        .collect();
    versions.sort();
    versions.pop()
}

fn run(command: &mut Command) {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        out.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A command run as the `postgres` user when this process is root (initdb refuses root).
fn as_server_user(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// Makes `name.key`/`name.crt` in `dir`: a CA when `issuer` is `None`, else a server certificate
/// signed by the CA `issuer`.
fn certificate(dir: &Path, name: &str, issuer: Option<&str>) {
    let config = dir.join("openssl.cnf");
    std::fs::write(&config, OPENSSL_CONFIG).expect("writing the openssl settings");
    let key = dir.join(format!("{name}.key"));
    let crt = dir.join(format!("{name}.crt"));
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    match issuer {
        None => run(Command::new("openssl")
            .args(["req", "-x509", "-new", "-extensions", "ca", "-days", "2"])
            .args(ec)
            .arg("-config")
            .arg(&config)
            .args(["-subj", &format!("/CN={name}")])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&crt)),
        Some(ca) => {
            let csr = dir.join(format!("{name}.csr"));
            run(Command::new("openssl")
                .args(["req", "-new"])
                .args(ec)
                .arg("-config")
                .arg(&config)
                .args(["-subj", "/CN=127.0.0.1"])
                .arg("-keyout")
                .arg(&key)
                .arg("-out")
                .arg(&csr));
            run(Command::new("openssl")
                .args([
                    "x509",
                    "-req",
                    "-set_serial",
                    "2",
                    "-days",
                    "2",
                    "-extensions",
                    "server",
                ])
                .arg("-in")
                .arg(&csr)
                .arg("-CA")
                .arg(dir.join(format!("{ca}.crt")))
                .arg("-CAkey")
                .arg(dir.join(format!("{ca}.key")))
                .arg("-extfile")
                .arg(&config)
                .arg("-out")
                .arg(&crt));
        }
    }
}

/// A PostgreSQL cluster of its own, with TLS on; stopped and removed when dropped.
struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

impl Cluster {
    fn start() -> Option<Cluster> {
        let Some(bin) = server_binaries() else {
            assert!(
                !under_ci(),
                "no PostgreSQL server binaries under /usr/lib/postgresql"
            );
            eprintln!("skipping: no initdb/pg_ctl under /usr/lib/postgresql");
            return None;
        };
        if Command::new("openssl").arg("version").output().is_err() {
            assert!(!under_ci(), "the openssl command is missing");
            eprintln!("skipping: no openssl command to make certificates with");
            return None;
        }
        let dir = tempfile::tempdir().expect("a temp dir");
        certificate(dir.path(), "ca", None);
        certificate(dir.path(), "server", Some("ca"));
        certificate(dir.path(), "other-ca", None);
        if is_root() {
            run(Command::new("chown")
                .arg("-R")
                .arg("postgres")
                .arg(dir.path()));
        }
        let data = dir.path().join("data");
        run(as_server_user(&bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-A", "trust", "-N"]));
        for file in ["server.crt", "server.key"] {
            std::fs::copy(dir.path().join(file), data.join(file)).expect("copying the certificate");
        }
        if is_root() {
            run(Command::new("chown").arg("-R").arg("postgres").arg(&data));
        }
        run(Command::new("chmod")
            .arg("600")
            .arg(data.join("server.key")));
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c ssl=on -c fsync=off",
            dir.path().display()
        );
        let cluster = Cluster { dir, bin, port };
        run(as_server_user(&cluster.bin.join("pg_ctl"))
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(cluster.dir.path().join("server.log"))
            .args(["-w", "-t", "60", "-o", &options, "start"]));
        Some(cluster)
    }

    fn url(&self, query: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/postgres?{query}",
            self.port
        )
    }

    fn file(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = as_server_user(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "stop"])
            .output();
    }
}

/// What the server says about this connection's encryption.
fn encrypted(url: &str) -> bool {
    let mut client = pg_connect::connect(url).unwrap_or_else(|e| panic!("{url}: {e}"));
    client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .expect("reading pg_stat_ssl")
        .get(0)
}

#[test]
fn each_sslmode_does_what_libpq_means_by_it() {
    let Some(cluster) = Cluster::start() else {
        return;
    };
    let ca = cluster.file("ca.crt");
    assert!(encrypted(
        &cluster.url(&format!("sslmode=verify-full&sslrootcert={ca}"))
    ));
    assert!(encrypted(
        &cluster.url(&format!("sslmode=verify-ca&sslrootcert={ca}"))
    ));
    assert!(encrypted(&cluster.url("sslmode=require")));
    assert!(encrypted(&cluster.url("sslmode=prefer")));
    assert!(!encrypted(&cluster.url("sslmode=disable")));
    assert!(!encrypted(&cluster.url("")));

    // The store itself opens over TLS (and migrates its schema through it).
    let store =
        discount_store::open(&cluster.url(&format!("sslmode=verify-full&sslrootcert={ca}")))
            .expect("opening the store over TLS");
    assert_eq!(store.backend(), "postgres");

    // A certificate signed by another CA is refused, and the message says why.
    let other = cluster.file("other-ca.crt");
    for mode in ["verify-full", "verify-ca", "require"] {
        let err = pg_connect::connect(&cluster.url(&format!("sslmode={mode}&sslrootcert={other}")))
            .err()
            .unwrap_or_else(|| panic!("{mode} with the wrong CA connected"))
            .to_string();
        let shown = if mode == "require" { "verify-ca" } else { mode };
        assert!(err.contains(&format!("sslmode={shown}")), "{err}");
        assert!(err.contains("127.0.0.1"), "{err}");
        assert!(err.contains("certificate"), "{err}");
    }
}

#[test]
fn a_server_that_refuses_tls_fails_require_with_a_clear_error() {
    // A server that answers PostgreSQL's SSLRequest with 'N' (no TLS), as one with ssl = off does.
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let port = listener.local_addr().expect("the bound address").port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut request = [0u8; 8];
            if stream.read_exact(&mut request).is_ok() {
                let _ = stream.write_all(b"N");
            }
        }
    });
    let url = format!("postgres://postgres@127.0.0.1:{port}/test?sslmode=require");
    let err = pg_connect::connect(&url)
        .err()
        .expect("require against a server without TLS connected")
        .to_string();
    assert!(err.contains("sslmode=require"), "{err}");
    assert!(err.contains("refused TLS"), "{err}");
}
