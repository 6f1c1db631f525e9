//! Cross-validate the rating models on MovieLens 100K over a small grid of hyper-parameters.
//!
//!   cargo run --release -p discount-models --example cf_tune -- ../shared/data/movielens-100k/ml-100k.inter svd
//!
//! Arguments: the .inter file, the model (svd | svdpp), then optional `factors,epochs,lr,reg_bias,reg_factors`
//! grid points (e.g. `100,20,0.005,0.02,0.02`).

use discount_models::cf::{cross_validate, read_recbole_inter, RatingModel, SgdParams};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args.first().map(String::as_str).unwrap_or("ml-100k.inter");
    let model = match args.get(1).map(String::as_str) {
        Some("svdpp") => RatingModel::SvdPlusPlus,
        _ => RatingModel::BiasedMf,
    };
    let ratings = read_recbole_inter(path.as_ref())?;
    let grid: Vec<SgdParams> = if args.len() > 2 {
        args[2..]
            .iter()
            .map(|g| -> anyhow::Result<SgdParams> {
                let v: Vec<f64> = g.split(',').map(str::parse).collect::<Result<_, _>>()?;
                anyhow::ensure!(v.len() == 5, "grid point {g} needs 5 values");
                Ok(SgdParams {
                    factors: v[0] as usize,
                    epochs: v[1] as usize,
                    learning_rate: v[2],
                    reg_bias: v[3],
                    reg_factors: v[4],
                    ..SgdParams::default()
                })
            })
            .collect::<anyhow::Result<_>>()?
    } else {
        vec![SgdParams::default()]
    };
    for params in grid {
        let start = std::time::Instant::now();
        let folds = cross_validate(&ratings, 5, 42, model, &params, |_| {})?;
        let mean = folds.iter().map(|f| f.rmse).sum::<f64>() / folds.len() as f64;
        println!(
            "{model:?} factors {} epochs {} lr {} reg_bias {} reg_factors {}: RMSE {mean:.4} ({:.2} s)",
            params.factors,
            params.epochs,
            params.learning_rate,
            params.reg_bias,
            params.reg_factors,
            start.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
