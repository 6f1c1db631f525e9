//! `discount bench quantize`: the MLP and GRU scorers with int8 weights against the float ones:
//! the change in AUC, the speed-up and the size of the weights.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use discount_models::propensity::folds::kfold_assignment;
use discount_models::propensity::metrics::roc_auc;
use discount_models::propensity::{shoppers, Learner, Mlp, MlpConfig};
use discount_models::quantize::{QuantizedGru, QuantizedMlp};
use discount_models::sequence::{cdnow, GruConfig};
use serde::Serialize;

use crate::output::{print_json, Table};

/// Scorers with int8 weights against their float originals on held-out real data: the MLP
/// propensity model on UCI online shoppers (a seeded 80/20 split) and the GRU sequence model on
/// CDNOW (its holdout customers, "buys again"). Weights are quantised per output row, activations
/// per vector at run time, products accumulate in i32. Each scorer runs --repeats times over the
/// held-out rows on one thread; the best time counts.
///
/// For the GRU, the float reference is the tensor library's batched forward pass; the same pass
/// written without it in f32 is shown too (it must agree, and separates the gain of leaving the
/// library from that of int8).
///
/// Examples:
///   discount bench quantize
///   discount --json bench quantize --repeats 20
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct BenchQuantizeArgs {
    #[arg(long, default_value_t = 10)]
    pub repeats: usize,
    /// Epochs of the GRU's training (its default is the trained model's).
    #[arg(long)]
    pub gru_epochs: Option<usize>,
    /// Folder of the public data sets (default: $DISCOUNT_DATA_DIR or ../shared/data).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
}

#[derive(Serialize)]
struct ScorerFigures {
    model: String,
    variant: String,
    rows: usize,
    auc: f64,
    /// Largest and mean |difference| from the float model's probability.
    max_abs_difference: f64,
    mean_abs_difference: f64,
    rows_per_second: f64,
    speed_up: f64,
    weight_bytes: usize,
}

fn best_of<T>(
    repeats: usize,
    mut f: impl FnMut() -> anyhow::Result<T>,
) -> anyhow::Result<(T, f64)> {
    let mut best = f64::INFINITY;
    let mut last = None;
    for _ in 0..repeats.max(1) {
        let start = Instant::now();
        let out = f()?;
        best = best.min(start.elapsed().as_secs_f64());
        last = Some(out);
    }
    Ok((last.context("no run")?, best.max(1e-9)))
}

fn max_difference(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

fn mean_difference(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f64>() / a.len().max(1) as f64
}

pub fn bench(args: &BenchQuantizeArgs, json: bool) -> anyhow::Result<()> {
    let data_dir = super::train::data_dir(args.data_dir.as_deref());
    let mut rows = Vec::new();

    // The MLP on online shoppers.
    let path = data_dir.join(shoppers::RELATIVE_PATH);
    let data = shoppers::load(&path).with_context(|| format!("reading {}", path.display()))?;
    // Fold 0 of a seeded 5-fold assignment is held out.
    let folds = kfold_assignment(data.x.rows(), 5, args.seed)?;
    let (train, test): (Vec<usize>, Vec<usize>) = (0..data.x.rows()).partition(|&i| folds[i] != 0);
    let (train_x, test_x) = (data.x.select_rows(&train), data.x.select_rows(&test));
    let train_y: Vec<f64> = train.iter().map(|&i| data.y[i]).collect();
    let test_y: Vec<f64> = test.iter().map(|&i| data.y[i]).collect();
    let mut mlp = Mlp::new(MlpConfig::default())?;
    mlp.fit(&train_x, &train_y, None)?;
    let quantised = QuantizedMlp::from_mlp(&mlp)?;
    let (exact, float_time) = best_of(args.repeats, || Ok(mlp.predict(&test_x)?))?;
    let (approx, int8_time) = best_of(args.repeats, || Ok(quantised.predict(&test_x)?))?;
    let float_bytes: usize = mlp
        .layers
        .iter()
        .map(|l| 8 * (l.weights.len() + l.biases.len()))
        .sum();
    let n = test_y.len();
    rows.push(ScorerFigures {
        model: "MLP propensity (online shoppers)".into(),
        variant: "f64".into(),
        rows: n,
        auc: roc_auc(&exact, &test_y)?,
        max_abs_difference: 0.0,
        mean_abs_difference: 0.0,
        rows_per_second: n as f64 / float_time,
        speed_up: 1.0,
        weight_bytes: float_bytes,
    });
    rows.push(ScorerFigures {
        model: "MLP propensity (online shoppers)".into(),
        variant: "int8".into(),
        rows: n,
        auc: roc_auc(&approx, &test_y)?,
        max_abs_difference: max_difference(&exact, &approx),
        mean_abs_difference: mean_difference(&exact, &approx),
        rows_per_second: n as f64 / int8_time,
        speed_up: float_time / int8_time,
        weight_bytes: quantised.weight_bytes(),
    });

    // The GRU on CDNOW.
    let path = data_dir.join("cdnow/CDNOW_sample.txt");
    let mut config = GruConfig::default();
    if let Some(e) = args.gru_epochs {
        config.epochs = e;
    }
    let fitted = cdnow::compare_keeping_model(&path, config)
        .with_context(|| format!("training the GRU on {}", path.display()))?;
    let sequences = &fitted.holdout_sequences;
    let bought: Vec<f64> = fitted
        .holdout_bought
        .iter()
        .map(|b| f64::from(u8::from(*b)))
        .collect();
    let (library, library_time) = best_of(args.repeats, || {
        Ok(fitted
            .model
            .predict(sequences)?
            .iter()
            .map(|p| p.p_buy)
            .collect::<Vec<f64>>())
    })?;
    let float_pass = QuantizedGru::from_model(&fitted.model, false)?;
    let int8_pass = QuantizedGru::from_model(&fitted.model, true)?;
    let probability = |pass: &QuantizedGru| -> Vec<f64> {
        pass.predict(sequences)
            .into_iter()
            .map(|(p, _)| p)
            .collect()
    };
    let (plain, plain_time) = best_of(args.repeats, || Ok(probability(&float_pass)))?;
    let (int8, int8_time) = best_of(args.repeats, || Ok(probability(&int8_pass)))?;
    let n = bought.len();
    for (variant, scores, time, bytes) in [
        (
            "f32, tensor library",
            &library,
            library_time,
            float_pass.projection_bytes(),
        ),
        (
            "f32, plain pass",
            &plain,
            plain_time,
            float_pass.projection_bytes(),
        ),
        ("int8", &int8, int8_time, int8_pass.projection_bytes()),
    ] {
        rows.push(ScorerFigures {
            model: "GRU sequence (CDNOW)".into(),
            variant: variant.into(),
            rows: n,
            auc: roc_auc(scores, &bought)?,
            max_abs_difference: max_difference(&library, scores),
            mean_abs_difference: mean_difference(&library, scores),
            rows_per_second: n as f64 / time,
            speed_up: library_time / time,
            weight_bytes: bytes,
        });
    }
    if json {
        return print_json(&rows);
    }
    let mut t = Table::new(&[
        "model",
        "variant",
        "rows",
        "AUC",
        "max |Δp|",
        "mean |Δp|",
        "rows/s",
        "speed-up",
        "weight bytes",
    ]);
    for r in &rows {
        t.row(vec![
            r.model.clone(),
            r.variant.clone(),
            r.rows.to_string(),
            format!("{:.4}", r.auc),
            format!("{:.5}", r.max_abs_difference),
            format!("{:.5}", r.mean_abs_difference),
            format!("{:.0}", r.rows_per_second),
            format!("{:.2}x", r.speed_up),
            r.weight_bytes.to_string(),
        ]);
    }
    print!("{}", t.render());
    println!("(GRU weight bytes: the input and recurrent projections)");
    Ok(())
}
