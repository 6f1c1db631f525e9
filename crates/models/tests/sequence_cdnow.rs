//! The GRU sequence model trains on the CDNOW sample and forecasts the holdout weeks 40-78,
//! next to BG/NBD and the RFM logistic model.

mod common;

use common::data_file;
use discount_models::sequence::cdnow::compare;
use discount_models::sequence::{steps_of_events, CategoryVocab, GruConfig, SequenceModel, Step};

#[test]
fn the_gru_learns_who_buys_again_on_cdnow() -> anyhow::Result<()> {
    let Some(path) = data_file("cdnow/CDNOW_sample.txt") else {
        return Ok(());
    };
    let comparison = compare(&path, GruConfig::default())?;
    for r in &comparison.rows {
        println!(
            "{:<36} corr {:.3}  MAE {:.3}  AUC {:.3}  predicted {:.0} / actual {:.0}",
            r.model, r.correlation, r.mae, r.auc_buys_again, r.predicted_total, r.actual_total
        );
    }
    println!("GRU loss: {:?}", comparison.gru_loss_history);
    assert_eq!(comparison.customers, 2357);
    let losses = &comparison.gru_loss_history;
    let (first, last) = (losses[0], losses[losses.len() - 1]);
    // The heads start at the base rates, so this is what the sequence adds to them.
    assert!(last < 0.95 * first, "training loss {first} -> {last}");
    let gru = comparison
        .rows
        .iter()
        .find(|r| r.model.starts_with("GRU"))
        .ok_or_else(|| anyhow::anyhow!("no GRU row"))?;
    assert!(gru.auc_buys_again >= 0.75, "GRU AUC {}", gru.auc_buys_again);
    assert!(gru.correlation > 0.4, "GRU correlation {}", gru.correlation);
    Ok(())
}

#[test]
fn training_is_seeded_and_validated() -> anyhow::Result<()> {
    // Two customers: one who buys often (and again), one who bought once long ago.
    let frequent: Vec<Step> = (0..6)
        .map(|i| Step {
            kind: 3,
            category: 1,
            amount: 20.0,
            gap_days: if i == 0 { 0.0 } else { 7.0 },
            age_days: 7.0 * (6 - i) as f32,
        })
        .collect();
    let lapsed = vec![
        Step {
            kind: 3,
            category: 1,
            amount: 15.0,
            gap_days: 0.0,
            age_days: 200.0,
        },
        Step {
            kind: discount_models::sequence::END_KIND,
            category: 0,
            amount: 0.0,
            gap_days: 200.0,
            age_days: 0.0,
        },
    ];
    let sequences: Vec<Vec<Step>> = (0..40)
        .map(|i| {
            if i % 2 == 0 {
                frequent.clone()
            } else {
                lapsed.clone()
            }
        })
        .collect();
    let targets: Vec<f64> = (0..40)
        .map(|i| if i % 2 == 0 { 3.0 } else { 0.0 })
        .collect();
    let config = GruConfig {
        epochs: 30,
        batch_size: 8,
        ..GruConfig::default()
    };
    let a = SequenceModel::fit(&sequences, &targets, 13.0, 2, config.clone())?;
    let b = SequenceModel::fit(&sequences, &targets, 13.0, 2, config.clone())?;
    assert_eq!(a.loss_history, b.loss_history, "same seed, same training");
    let p = a.predict(&[frequent.clone(), lapsed.clone()])?;
    assert!(p[0].p_buy > 0.8 && p[1].p_buy < 0.2, "{p:?}");
    assert!((p[0].weekly_rate * 13.0 - 3.0).abs() < 1.0, "{p:?}");
    assert_eq!(p[0].embedding.len(), config.hidden_dim);

    let bad = GruConfig {
        learning_rate: -1.0,
        ..GruConfig::default()
    };
    let e = SequenceModel::fit(&sequences, &targets, 13.0, 2, bad)
        .err()
        .ok_or_else(|| anyhow::anyhow!("a negative learning rate was accepted"))?;
    assert!(e.to_string().contains("learning_rate"), "{e}");
    assert!(SequenceModel::fit(&sequences, &targets[..3], 13.0, 2, config).is_err());
    Ok(())
}

#[test]
fn events_become_steps_closed_by_the_silence_before_the_cut_off() -> anyhow::Result<()> {
    use discount_core::event::WireRecord;
    use discount_core::{Record, Timestamp};
    let event = |json: &str| -> anyhow::Result<discount_core::Event> {
        match serde_json::from_str::<WireRecord>(json)?.into_record()? {
            Record::Event(e) => Ok(e),
            other => anyhow::bail!("not an event: {other:?}"),
        }
    };
    let events = vec![
        event(
            r#"{"type":"order","id":"o","user_id":"u","time":"2024-01-03","order_id":"o1","item_id":"shoe","quantity":1,"list_price":2500,"paid":2500}"#,
        )?,
        event(r#"{"type":"view","id":"v","user_id":"u","time":"2024-01-01","item_id":"hat"}"#)?,
        event(r#"{"type":"view","id":"late","user_id":"u","time":"2024-02-01","item_id":"hat"}"#)?,
    ];
    let as_of = Timestamp::parse("as_of", "2024-01-10")?;
    let mut vocab = CategoryVocab::new();
    let category = |item: &str| Some(if item == "shoe" { "shoes" } else { "hats" }.to_string());
    let steps = steps_of_events(&events, as_of, &mut vocab, &category);
    assert_eq!(steps.len(), 3, "the event after the cut-off is left out");
    assert_eq!(
        (steps[0].kind, steps[0].category, steps[0].gap_days),
        (0, 1, 0.0)
    );
    assert_eq!((steps[1].kind, steps[1].category), (3, 2));
    assert_eq!((steps[1].amount, steps[1].gap_days), (25.0, 2.0));
    assert_eq!(steps[2].kind, discount_models::sequence::END_KIND);
    assert!((steps[2].gap_days - 7.0).abs() < 1e-5);
    assert!((steps[1].age_days - 7.0).abs() < 1e-5);
    vocab.freeze();
    assert_eq!(vocab.index(Some("toys")), 0);
    assert_eq!(vocab.size(), 3);
    Ok(())
}
