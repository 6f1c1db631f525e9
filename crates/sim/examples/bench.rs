//! Simulator throughput: `cargo run --release -p discount-sim --example bench -- [USERS] [DAYS]`.

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let users = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(100_000);
    let days = args.next().map(|a| a.parse()).transpose()?.unwrap_or(30);
    let report = discount_sim::bench(users, days, 42)?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
