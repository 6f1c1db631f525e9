//! Prints the OPE benchmark: `cargo run --release -p discount-eval --example bench_ope -- [n_rounds] [n_bootstrap]`.

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let n_rounds = args
        .get(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(10_000_000);
    let n_bootstrap = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(10);
    let report = discount_eval::bench::bench_ope(n_rounds, n_bootstrap, 7)?;
    println!("{report}");
    Ok(())
}
