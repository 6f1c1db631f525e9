//! A real `discount serve` process for the tests, and an admin key to talk to it.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_discount")
}

/// A running `discount serve` and the address it listens on; killed when dropped.
pub struct Served {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `discount --store URL serve --bind 127.0.0.1:0 --engine ENGINE EXTRA...` and waits for
/// the first line it prints, which names the address it bound.
#[allow(dead_code)] // not every test binary that includes this module starts a server this way
pub fn serve(url: &str, engine: &Path, extra: &[&str]) -> Served {
    serve_with(url, engine, extra, &[], Stdio::inherit())
}

/// As [`serve`], with environment variables set and standard error sent to `stderr`.
pub fn serve_with(
    url: &str,
    engine: &Path,
    extra: &[&str],
    env: &[(&str, &str)],
    stderr: Stdio,
) -> Served {
    let mut child = Command::new(bin())
        .args(["--store", url, "serve", "--bind", "127.0.0.1:0", "--engine"])
        .arg(engine)
        .args(extra)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .parse()
        .unwrap();
    Served { child, addr }
}

/// Creates an admin key in the store and returns its token.
pub fn admin_key(url: &str) -> String {
    let out = Command::new(bin())
        .args([
            "--json", "--store", url, "keys", "create", "--name", "t", "--role", "admin",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["token"].as_str().unwrap().to_string()
}

/// An engine of two rungs (no offer, 5.00 off) with 90% exploration, so that offers are given
/// without training; `features` is the TOML list of model features, e.g. `["bias"]`.
#[allow(dead_code)] // not every test binary that includes this module starts this engine
pub fn two_rung_engine(name: &str, budget: i64, features: &str) -> String {
    format!(
        r#"
name = "{name}"
[[ladder]]
id = "none"
offer = {{ kind = "no_offer" }}
[[ladder]]
id = "amt500"
offer = {{ kind = "amount_off", amount = 500, min_spend = 0 }}
[[budgets]]
campaign = "default"
amount = {budget}
[exploration]
kind = "epsilon_greedy"
epsilon = 0.9
[model]
features = {features}
"#
    )
}

/// Runs `discount --store URL ARGS...` in `dir` and checks that it succeeded.
#[allow(dead_code)] // not every test binary that includes this module runs commands this way
pub fn run_in(dir: &Path, url: &str, args: &[&str]) -> std::process::Output {
    let out = Command::new(bin())
        .current_dir(dir)
        .args(["--store", url])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
