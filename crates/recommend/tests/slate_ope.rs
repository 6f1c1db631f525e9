//! Slates logged by the recommender's Plackett-Luce exploration are evaluated off-policy: a policy at another
//! temperature is estimated by SIPS, IIPS and RIPS from the log and compared with its exact value under a
//! known position-based click model.

use discount_core::{Event, EventKind, Timestamp};
use discount_eval::ope::slate::{slate_round_rewards, PlackettLuce, SlateEstimator, SlateRows};
use discount_recommend::{
    examination, Catalogue, CatalogueItem, EventWeights, Interactions, Learner, Recommender,
    Scratch, SlateBuilder, SlateRequest, SlateSettings,
};
use rand::{Rng, SeedableRng};

#[test]
fn off_policy_estimates_of_another_temperature_match_its_exact_value() -> anyhow::Result<()> {
    let now = Timestamp::from_date(2024, 6, 1).unwrap();
    let mut x = Interactions::new(EventWeights::default(), now)?;
    // Six items with 6, 5, ..., 1 viewers: popularity gives a new customer distinct scores.
    let mut k = 0;
    for i in 0..6 {
        for u in 0..(6 - i) {
            x.push(&Event {
                id: format!("e{k}"),
                user_id: format!("u{u}"),
                time: now,
                kind: EventKind::View {
                    item_id: Some(format!("i{i}")),
                },
            });
            k += 1;
        }
    }
    let model = Recommender::fit(&x, &Learner::default(), &|_| None)?;
    let items: Vec<CatalogueItem> = (0..6)
        .map(|i| CatalogueItem {
            id: format!("i{i}"),
            category: format!("c{i}"),
            price: 1000,
            unit_cost: Some(500),
            stock: None,
        })
        .collect();
    let catalogue = Catalogue::new(items)?;
    let settings = SlateSettings {
        category_cap: 10,
        pool: 6,
        ..SlateSettings::default()
    };
    let builder = SlateBuilder {
        recommender: &model,
        catalogue: &catalogue,
        history: None,
        settings: &settings,
        offers: None,
        catalogue_map: None,
    };
    let (behaviour_t, evaluation_t, slots) = (1.0, 0.4, 3);
    // The logits the builder uses: value / (temperature × best value); every item has the same margin.
    let mut buffer = Vec::new();
    let (scores, _) = model.catalogue_scores("newcomer", None, &catalogue, &mut buffer);
    let values: Vec<f64> = scores.iter().map(|s| s.clamp(0.0, 1.0)).collect();
    let top = values.iter().copied().fold(0.0, f64::max);
    let logits = |t: f64| values.iter().map(|v| v / (top * t)).collect::<Vec<_>>();
    let evaluation = PlackettLuce::new(&logits(evaluation_t))?;
    let behaviour = PlackettLuce::new(&logits(behaviour_t))?;
    // Position-based clicks: P(click at slot k) = examination(k) × attractiveness(item).
    let attractiveness = [0.5, 0.4, 0.3, 0.3, 0.2, 0.1];
    let mut truth = 0.0;
    for slot in 0..slots {
        for (item, a) in attractiveness.iter().enumerate() {
            truth += evaluation.item_position_probability(item, slot)? * examination(slot) * a;
        }
    }

    let request = SlateRequest {
        user_id: "newcomer".into(),
        k: slots,
        temperature: Some(behaviour_t),
        ..Default::default()
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let mut scratch = Scratch::default();
    let (mut slate_id, mut position, mut reward) = (Vec::new(), Vec::new(), Vec::new());
    let mut b = [Vec::new(), Vec::new(), Vec::new()];
    let mut e = [Vec::new(), Vec::new(), Vec::new()];
    let n = 20_000;
    for s in 0..n {
        let slate = builder.build(&request, &mut scratch, &mut rng)?;
        let ranking: Vec<usize> = slate
            .slots
            .iter()
            .map(|slot| slot.item_id[1..].parse::<usize>())
            .collect::<Result<_, _>>()?;
        // The logged probability is the behaviour policy's probability of the ranking.
        assert!((slate.propensity - behaviour.ranking_probability(&ranking)?).abs() < 1e-12);
        let (pb, pe) = (
            behaviour.propensities(&ranking)?,
            evaluation.propensities(&ranking)?,
        );
        for (slot, &item) in ranking.iter().enumerate() {
            slate_id.push(s);
            position.push(slot);
            let click = rng.gen_bool(examination(slot) * attractiveness[item]);
            reward.push(f64::from(u8::from(click)));
        }
        for (kind, estimator) in SlateEstimator::ALL.iter().enumerate() {
            b[kind].extend_from_slice(estimator.pick(&pb));
            e[kind].extend_from_slice(estimator.pick(&pe));
        }
    }
    let rows = SlateRows::new(slate_id, position, reward)?;
    for (kind, estimator) in SlateEstimator::ALL.iter().enumerate() {
        let per_slate = slate_round_rewards(*estimator, &rows, &b[kind], &e[kind])?;
        let mean = per_slate.iter().sum::<f64>() / n as f64;
        let var = per_slate.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let se = (var / n as f64).sqrt();
        // Unbiased under this click model: within 4 standard errors (fails by chance about once in 16,000).
        assert!(
            (mean - truth).abs() < 4.0 * se,
            "{}: {mean} vs exact {truth} (se {se})",
            estimator.label()
        );
    }
    Ok(())
}
