//! `discount bandit learn`: a policy from a logged contextual-bandit data set; and `discount
//! bench bandit`: the engine's bandit rules' speed and regret.

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;

use anyhow::Context;
use discount_policy::bench::{bandit_rules, bench_bandit_regret, bench_bandit_speed};
use discount_policy::logged_bandit::{learn, CbType, LearnOptions, LogFormat};

use crate::output::{count, print_json, Table};

/// Contextual bandits learnt from logs.
#[derive(clap::Subcommand, Debug)]
pub enum BanditCommand {
    Learn(LearnArgs),
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq)]
pub enum FormatArg {
    /// Vowpal Wabbit `--cb_explore K`: `action:cost:probability |ns name:value ...`, actions
    /// numbered from 1 (needs --actions).
    VwCb,
    /// Vowpal Wabbit `--cb_explore_adf`: a `shared |ns ...` line, one `|ns ...` line per action
    /// (`0:cost:probability` before the logged one's `|`), a blank line after each example.
    VwCbAdf,
    /// A header `action,cost,probability,NAME...`, then one row per decision; actions from 0
    /// (needs --actions).
    Csv,
    /// `{"action": A, "cost": C, "probability": P, "features": [..]}` per line; actions from 0
    /// (needs --actions).
    Jsonl,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq)]
pub enum CbTypeArg {
    /// Each action's regression learns only its own logged costs, weighted 1 / probability.
    Mtr,
    /// Every action learns cost / probability when logged and 0 otherwise.
    Ips,
    /// Every action learns its prediction, corrected by (cost - prediction) / probability when
    /// logged (doubly robust).
    Dr,
}

/// Learn a policy from a logged contextual-bandit data set, with progressive validation.
///
/// Each row (an example in the ADF format) is first predicted, then learnt from. The policy is
/// epsilon-greedy around the action of least predicted cost, each action's cost a linear
/// regression on the row's features solved exactly online (recursive least squares). The
/// progressive validation loss is the mean of pi(logged action | x) * cost / probability: the
/// inverse-propensity estimate of the cost of the policy as it was when it met the row, the
/// "average loss" Vowpal Wabbit prints for `--cb_explore`/`--cb_explore_adf` (lower is better;
/// compare it with the logged policy's mean cost, printed beside it). Costs are VW's: a reward
/// of 1 is usually written as a cost of -1.
///
/// In the ADF format each distinct action line (its features) is one action with its own
/// regression on the shared features, as VW's `-q sa` learns when each action line names its
/// action. Features are by namespace and name; at most --max-features distinct ones.
///
/// Examples:
///   # VW's `--cb_explore_adf` text (what `vw --cb_explore_adf -q sa -d log.adf.txt` reads):
///   discount bandit learn --log log.adf.txt --format vw-cb-adf
///
///   # VW's `--cb_explore 10` text, doubly robust targets, the model saved as JSON:
///   discount bandit learn --log log.cb.txt --format vw-cb --actions 10 --cb-type dr --save model.json
///
///   # Our CSV (action,cost,probability,features...), figures as JSON:
///   discount bandit learn --log log.csv --format csv --actions 6 --json
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct LearnArgs {
    /// The log file.
    #[arg(long)]
    pub log: PathBuf,
    /// Its format (default: from the extension: .csv, .jsonl, else vw-cb-adf when the first
    /// line starts with `shared`, else vw-cb).
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// Number of actions, for vw-cb (VW's `--cb_explore K`), csv and jsonl.
    #[arg(long)]
    pub actions: Option<usize>,
    /// How a logged row becomes regression targets (VW's --cb_type).
    #[arg(long, value_enum, default_value = "mtr")]
    pub cb_type: CbTypeArg,
    /// Exploration of the learnt policy (VW's --epsilon, same default).
    #[arg(long, default_value_t = 0.05)]
    pub epsilon: f64,
    /// Ridge penalty of each regression (its prior precision).
    #[arg(long, default_value_t = 1.0)]
    pub ridge: f64,
    /// Most distinct features (the regressions are dense: d^2 work per row).
    #[arg(long, default_value_t = 1024)]
    pub max_features: usize,
    /// Write the learnt coefficients (per action, per feature; predicting cost) as JSON.
    #[arg(long)]
    pub save: Option<PathBuf>,
    /// Parse and learn on one thread (by default the log is parsed on a second thread beside
    /// the learner; the results are the same either way).
    #[arg(long)]
    pub one_thread: bool,
}

pub fn run(cmd: &BanditCommand, json: bool) -> anyhow::Result<()> {
    match cmd {
        BanditCommand::Learn(args) => run_learn(args, json),
    }
}

fn detect_format(args: &LearnArgs) -> anyhow::Result<LogFormat> {
    if let Some(f) = args.format {
        return Ok(match f {
            FormatArg::VwCb => LogFormat::VwCb,
            FormatArg::VwCbAdf => LogFormat::VwCbAdf,
            FormatArg::Csv => LogFormat::Csv,
            FormatArg::Jsonl => LogFormat::Jsonl,
        });
    }
    let ext = args
        .log
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    Ok(match ext.as_str() {
        "csv" => LogFormat::Csv,
        "jsonl" | "ndjson" => LogFormat::Jsonl,
        _ => {
            use std::io::BufRead;
            let f = File::open(&args.log)
                .with_context(|| format!("opening the log {}", args.log.display()))?;
            let mut first = String::new();
            std::io::BufReader::new(f)
                .read_line(&mut first)
                .with_context(|| format!("reading the log {}", args.log.display()))?;
            if first.trim_start().starts_with("shared") {
                LogFormat::VwCbAdf
            } else {
                LogFormat::VwCb
            }
        }
    })
}

fn run_learn(args: &LearnArgs, json: bool) -> anyhow::Result<()> {
    let format = detect_format(args)?;
    let options = LearnOptions {
        cb_type: match args.cb_type {
            CbTypeArg::Mtr => CbType::Mtr,
            CbTypeArg::Ips => CbType::Ips,
            CbTypeArg::Dr => CbType::Dr,
        },
        epsilon: args.epsilon,
        ridge: args.ridge,
        actions: args.actions,
        max_features: args.max_features,
        parser_thread: !args.one_thread,
    };
    let file =
        File::open(&args.log).with_context(|| format!("opening the log {}", args.log.display()))?;
    let (report, model) = learn(file, format, &options)
        .with_context(|| format!("{} ({})", args.log.display(), format.name()))?;
    if let Some(path) = &args.save {
        let out = File::create(path).with_context(|| format!("creating {}", path.display()))?;
        serde_json::to_writer_pretty(BufWriter::new(out), &model)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if json {
        return print_json(&report);
    }
    println!(
        "{}: {} rows ({} labelled), {} actions, {} features, --cb-type {}, epsilon {}",
        args.log.display(),
        count(report.rows),
        count(report.labelled),
        report.actions,
        report.features,
        report.cb_type.name(),
        report.epsilon
    );
    let mut t = Table::new(&["figure", "value"]);
    t.row(vec![
        "progressive validation loss".into(),
        format!("{:.6}", report.average_loss),
    ]);
    t.row(vec![
        "logged policy's mean cost".into(),
        format!("{:.6}", report.logged_average_cost),
    ]);
    t.row(vec!["seconds".into(), format!("{:.3}", report.seconds)]);
    t.row(vec!["rows/s".into(), count(report.rows_per_second as u64)]);
    t.row(vec![
        "MB/s".into(),
        format!(
            "{:.1}",
            report.bytes as f64 / 1e6 / report.seconds.max(1e-12)
        ),
    ]);
    print!("{}", t.render());
    if let Some(path) = &args.save {
        println!("model written to {}", path.display());
    }
    Ok(())
}

/// `discount bench bandit` arguments.
#[derive(clap::Args, Debug)]
pub struct BenchBanditArgs {
    /// Decisions timed per rule.
    #[arg(long, default_value_t = 1_000_000)]
    pub decisions: usize,
    /// Features of the model (the customer's feature vector).
    #[arg(long, default_value_t = 64)]
    pub features: usize,
    /// Rounds of the simulated linear bandit per seed, for the regret (0: skip).
    #[arg(long, default_value_t = 5_000)]
    pub rounds: usize,
    /// Seeds of the regret simulation.
    #[arg(long, value_delimiter = ',', default_value = "1,2,3,4,5")]
    pub seeds: Vec<u64>,
    /// Seed of the speed measurement.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

#[derive(serde::Serialize)]
struct BanditBenchReport {
    speed: Vec<discount_policy::bench::BanditSpeed>,
    regret: Vec<discount_policy::bench::BanditRegret>,
}

/// `discount bench bandit`.
pub fn bench(args: &BenchBanditArgs, json: bool) -> anyhow::Result<()> {
    let mut speed = Vec::new();
    let mut regret = Vec::new();
    for rule in bandit_rules() {
        eprintln!(
            "{}: {} decisions",
            rule.name(),
            count(args.decisions as u64)
        );
        speed.push(bench_bandit_speed(
            args.decisions,
            args.features,
            rule,
            args.seed,
        )?);
        if args.rounds > 0 {
            eprintln!(
                "{}: regret over {} rounds x {} seeds",
                rule.name(),
                count(args.rounds as u64),
                args.seeds.len()
            );
            regret.push(bench_bandit_regret(
                args.rounds,
                args.features,
                rule,
                &args.seeds,
            )?);
        }
    }
    if json {
        return print_json(&BanditBenchReport { speed, regret });
    }
    println!(
        "{} offers, {} features, one thread; engine = DecisionEngine::decide, rule = the rule alone",
        speed.first().map_or(0, |r| r.offers),
        args.features
    );
    let mut t = Table::new(&[
        "exploration",
        "engine decisions/s",
        "p50 µs",
        "p99 µs",
        "rule decisions/s",
        "explored %",
    ]);
    for r in &speed {
        t.row(vec![
            r.exploration.clone(),
            count(r.engine_decisions_per_second as u64),
            format!("{:.2}", r.engine_p50_us),
            format!("{:.2}", r.engine_p99_us),
            count(r.rule_decisions_per_second as u64),
            format!("{:.1}", 100.0 * r.explored_share),
        ]);
    }
    print!("{}", t.render());
    if !regret.is_empty() {
        println!();
        println!(
            "regret on a simulated linear bandit ({} rounds, seeds {:?}): expected profit lost \
             against the best offer",
            args.rounds, args.seeds
        );
        let mut t = Table::new(&["exploration", "mean", "sd", "per seed", "best offer %"]);
        for r in &regret {
            t.row(vec![
                r.exploration.clone(),
                format!("{:.1}", r.mean),
                format!("{:.1}", r.sd),
                r.regret
                    .iter()
                    .map(|v| format!("{v:.1}"))
                    .collect::<Vec<_>>()
                    .join(" "),
                format!("{:.1}", 100.0 * r.best_share),
            ]);
        }
        print!("{}", t.render());
    }
    Ok(())
}
