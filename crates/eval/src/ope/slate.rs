//! Slate off-policy evaluation: what would a ranking policy have earned, judged from the log of another?
//!
//! A slate is a ranked list of items shown at once; the log holds one row per shown slot (slate id, position,
//! reward). The three estimators of Open Bandit Pipeline (`obp.ope.estimators_slate`) weight each slot's reward
//! by a ratio of evaluation to behaviour propensities and sum over all rows, divided by the number of slates:
//!
//! * [`SlateEstimator::Standard`] (SIPS, McInerney et al. 2020): the propensity of the whole slate, the same
//!   on every row of a slate. Unbiased with no assumption on how customers react, but with the largest weights.
//! * [`SlateEstimator::Independent`] (IIPS, Li et al. 2018): the marginal probability that the item sits at
//!   that position. Unbiased when each slot's reward depends only on its own item and position.
//! * [`SlateEstimator::RewardInteraction`] (RIPS, McInerney et al. 2020): the probability of the ranking's
//!   prefix down to that position (the cascade). Unbiased when a slot's reward depends only on the slots above.
//!
//! The logging side of a slate policy is usually Plackett-Luce sampling (a softmax draw without replacement,
//! slot after slot): [`PlackettLuce`] gives all three propensities of a given ranking exactly, so the same
//! logits serve the logger and the evaluator.
//!
//! ```
//! use discount_eval::ope::slate::{estimate_slate_value, PlackettLuce, SlateEstimator, SlateRows};
//!
//! // One slate of two slots over three items, logged by uniform Plackett-Luce, reward on the first slot.
//! let uniform = PlackettLuce::new(&[0.0, 0.0, 0.0])?;
//! let shown = [2, 0];
//! let behaviour = uniform.propensities(&shown)?;
//! assert!((behaviour.ranking - 1.0 / 6.0).abs() < 1e-12);
//! // Evaluate a policy that strongly prefers item 2.
//! let evaluation = PlackettLuce::new(&[0.0, 0.0, 5.0])?.propensities(&shown)?;
//! let rows = SlateRows::new(vec![0, 0], vec![0, 1], vec![1.0, 0.0])?;
//! let value = estimate_slate_value(
//!     SlateEstimator::RewardInteraction,
//!     &rows,
//!     &behaviour.cascade,
//!     &evaluation.cascade,
//! )?;
//! assert!(value > 1.0); // the first slot's reward is up-weighted: item 2 comes first far more often
//! # Ok::<(), discount_eval::EvalError>(())
//! ```

use std::collections::{BTreeMap, HashSet};

use crate::error::{EvalError, Result};

/// Which slate estimator; each reads its own kind of propensity (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SlateEstimator {
    /// SIPS: propensity of the whole slate.
    Standard,
    /// IIPS: marginal propensity of the item at its position.
    Independent,
    /// RIPS: propensity of the slate's prefix down to the slot.
    RewardInteraction,
}

impl SlateEstimator {
    /// All three, in Open Bandit Pipeline's order.
    pub const ALL: [SlateEstimator; 3] = [
        SlateEstimator::Standard,
        SlateEstimator::Independent,
        SlateEstimator::RewardInteraction,
    ];

    /// Open Bandit Pipeline's name: `sips`, `iips` or `rips`.
    pub fn label(self) -> &'static str {
        match self {
            SlateEstimator::Standard => "sips",
            SlateEstimator::Independent => "iips",
            SlateEstimator::RewardInteraction => "rips",
        }
    }

    /// The kind of propensity this estimator reads, as Open Bandit Pipeline names its argument.
    pub fn pscore_name(self) -> &'static str {
        match self {
            SlateEstimator::Standard => "pscore",
            SlateEstimator::Independent => "pscore_item_position",
            SlateEstimator::RewardInteraction => "pscore_cascade",
        }
    }

    /// The propensity of this estimator's kind from a [`SlatePropensities`].
    pub fn pick(self, propensities: &SlatePropensities) -> &[f64] {
        match self {
            SlateEstimator::Standard => &propensities.joint,
            SlateEstimator::Independent => &propensities.item_position,
            SlateEstimator::RewardInteraction => &propensities.cascade,
        }
    }
}

/// The logged slots: one row per shown slot, slates in any order.
#[derive(Debug, Clone, PartialEq)]
pub struct SlateRows {
    slate_id: Vec<usize>,
    position: Vec<usize>,
    reward: Vec<f64>,
}

impl SlateRows {
    /// Checks that the three columns have one entry per row, that rewards are finite, and that no position
    /// repeats within a slate.
    pub fn new(slate_id: Vec<usize>, position: Vec<usize>, reward: Vec<f64>) -> Result<Self> {
        if position.len() != slate_id.len() {
            return Err(EvalError::shape("position", slate_id.len(), position.len()));
        }
        if reward.len() != slate_id.len() {
            return Err(EvalError::shape("reward", slate_id.len(), reward.len()));
        }
        if slate_id.is_empty() {
            return Err(EvalError::Insufficient("the slate log has no rows".into()));
        }
        if let Some(k) = reward.iter().position(|r| !r.is_finite()) {
            return Err(EvalError::invalid("reward", k, reward[k], "must be finite"));
        }
        let mut seen = HashSet::with_capacity(slate_id.len());
        for (k, key) in slate_id.iter().zip(&position).enumerate() {
            if !seen.insert(key) {
                return Err(EvalError::invalid(
                    "position",
                    k,
                    *key.1 as f64,
                    format!("position repeated within slate {}", key.0),
                ));
            }
        }
        Ok(SlateRows {
            slate_id,
            position,
            reward,
        })
    }

    pub fn len(&self) -> usize {
        self.slate_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slate_id.is_empty()
    }

    pub fn slate_id(&self) -> &[usize] {
        &self.slate_id
    }

    pub fn position(&self) -> &[usize] {
        &self.position
    }

    pub fn reward(&self) -> &[f64] {
        &self.reward
    }

    /// Number of distinct slates, the denominator of every estimate.
    pub fn n_slates(&self) -> usize {
        self.slate_id.iter().collect::<HashSet<_>>().len()
    }
}

/// Checks the propensities of one estimator as Open Bandit Pipeline does: behaviour in (0, 1], evaluation in
/// [0, 1]; SIPS needs one value per slate, RIPS values that do not increase down the slate.
fn check_propensities(
    estimator: SlateEstimator,
    rows: &SlateRows,
    behaviour: &[f64],
    evaluation: &[f64],
) -> Result<()> {
    let name = estimator.pscore_name();
    let evaluation_name = format!("evaluation_policy_{name}");
    if behaviour.len() != rows.len() {
        return Err(EvalError::shape(name, rows.len(), behaviour.len()));
    }
    if evaluation.len() != rows.len() {
        return Err(EvalError::shape(
            &evaluation_name,
            rows.len(),
            evaluation.len(),
        ));
    }
    if let Some(k) = behaviour.iter().position(|p| !(*p > 0.0 && *p <= 1.0)) {
        return Err(EvalError::invalid(
            name,
            k,
            behaviour[k],
            "must be in (0, 1]",
        ));
    }
    if let Some(k) = evaluation.iter().position(|p| !(*p >= 0.0 && *p <= 1.0)) {
        return Err(EvalError::invalid(
            &evaluation_name,
            k,
            evaluation[k],
            "must be in [0, 1]",
        ));
    }
    match estimator {
        SlateEstimator::Standard => {
            for (column, column_name) in [(behaviour, name), (evaluation, evaluation_name.as_str())]
            {
                let mut first: BTreeMap<usize, f64> = BTreeMap::new();
                for (k, (&slate, &p)) in rows.slate_id.iter().zip(column).enumerate() {
                    let value = *first.entry(slate).or_insert(p);
                    if value != p {
                        return Err(EvalError::invalid(
                            column_name,
                            k,
                            p,
                            format!("must be the same on every row of slate {slate} (saw {value})"),
                        ));
                    }
                }
            }
        }
        SlateEstimator::RewardInteraction => {
            for (column, column_name) in [(behaviour, name), (evaluation, evaluation_name.as_str())]
            {
                let mut by_slate: BTreeMap<usize, Vec<(usize, usize)>> = BTreeMap::new();
                for (k, (&slate, &position)) in rows.slate_id.iter().zip(&rows.position).enumerate()
                {
                    by_slate.entry(slate).or_default().push((position, k));
                }
                for (slate, mut slots) in by_slate {
                    slots.sort_unstable();
                    for pair in slots.windows(2) {
                        let (above, below) = (column[pair[0].1], column[pair[1].1]);
                        if below > above {
                            return Err(EvalError::invalid(
                                column_name,
                                pair[1].1,
                                below,
                                format!(
                                    "must not increase down slate {slate} (the slot above has {above})"
                                ),
                            ));
                        }
                    }
                }
            }
        }
        SlateEstimator::Independent => {}
    }
    Ok(())
}

/// Each slate's estimated reward: the sum over its rows of `reward × evaluation / behaviour`, slates in
/// increasing id order. Their mean is the estimate; they are the rounds the bootstrap resamples (as Open Bandit
/// Pipeline's `estimate_interval`).
pub fn slate_round_rewards(
    estimator: SlateEstimator,
    rows: &SlateRows,
    behaviour: &[f64],
    evaluation: &[f64],
) -> Result<Vec<f64>> {
    check_propensities(estimator, rows, behaviour, evaluation)?;
    let mut sums: BTreeMap<usize, f64> = BTreeMap::new();
    for (k, &slate) in rows.slate_id.iter().enumerate() {
        *sums.entry(slate).or_insert(0.0) += rows.reward[k] * (evaluation[k] / behaviour[k]);
    }
    Ok(sums.into_values().collect())
}

/// The estimated value per slate: Σ rows `reward × evaluation / behaviour` ÷ number of slates, exactly as
/// `obp.ope.SlateStandardIPS`, `SlateIndependentIPS` and `SlateRewardInteractionIPS` compute it.
pub fn estimate_slate_value(
    estimator: SlateEstimator,
    rows: &SlateRows,
    behaviour: &[f64],
    evaluation: &[f64],
) -> Result<f64> {
    check_propensities(estimator, rows, behaviour, evaluation)?;
    // Summed in row order, as NumPy's sum over the same array would be.
    let total: f64 = rows
        .reward
        .iter()
        .zip(behaviour.iter().zip(evaluation))
        .map(|(r, (b, e))| r * (e / b))
        .sum();
    Ok(total / rows.n_slates() as f64)
}

/// The three propensities of each slot of one ranking, top slot first.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SlatePropensities {
    /// Probability of the whole ranking (the same for every slot): what SIPS reads.
    pub joint: Vec<f64>,
    /// Probability that the slot's item is shown at that slot, whatever else is shown: what IIPS reads.
    pub item_position: Vec<f64>,
    /// Probability of the ranking down to and including the slot: what RIPS reads.
    pub cascade: Vec<f64>,
    /// Probability of the whole ranking (equal to every entry of `joint`).
    pub ranking: f64,
}

/// Above this many prefixes, [`PlackettLuce::item_position_probability`] refuses to enumerate.
pub const MAX_ENUMERATED_PREFIXES: u64 = 50_000_000;

/// A Plackett-Luce ranking distribution: the top slot is drawn from the softmax of the logits, each next slot
/// from the softmax of the items not yet drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct PlackettLuce {
    /// exp(logit − max logit): the unnormalised weights, shifted so that the largest is 1.
    weights: Vec<f64>,
}

impl PlackettLuce {
    /// Checks that there is at least one item and that the logits are finite.
    pub fn new(logits: &[f64]) -> Result<Self> {
        if logits.is_empty() {
            return Err(EvalError::Insufficient(
                "a Plackett-Luce distribution needs at least one item".into(),
            ));
        }
        if let Some(k) = logits.iter().position(|l| !l.is_finite()) {
            return Err(EvalError::invalid("logit", k, logits[k], "must be finite"));
        }
        let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        Ok(PlackettLuce {
            weights: logits.iter().map(|l| (l - max).exp()).collect(),
        })
    }

    pub fn n_items(&self) -> usize {
        self.weights.len()
    }

    fn check_ranking(&self, ranking: &[usize]) -> Result<()> {
        if ranking.is_empty() || ranking.len() > self.weights.len() {
            return Err(EvalError::shape(
                "ranking (1 to n_items slots)",
                self.weights.len(),
                ranking.len(),
            ));
        }
        let mut seen = vec![false; self.weights.len()];
        for (k, &item) in ranking.iter().enumerate() {
            match seen.get_mut(item) {
                None => {
                    return Err(EvalError::invalid(
                        "ranking",
                        k,
                        item as f64,
                        format!("item out of range ({} items)", self.weights.len()),
                    ))
                }
                Some(s) if *s => {
                    return Err(EvalError::invalid(
                        "ranking",
                        k,
                        item as f64,
                        "item shown twice",
                    ))
                }
                Some(s) => *s = true,
            }
        }
        Ok(())
    }

    /// Probability of drawing each slot's item given the slots above: the factors of the cascade.
    pub fn conditional_probabilities(&self, ranking: &[usize]) -> Result<Vec<f64>> {
        self.check_ranking(ranking)?;
        let mut remaining: f64 = self.weights.iter().sum();
        let mut out = Vec::with_capacity(ranking.len());
        for &item in ranking {
            let w = self.weights[item];
            out.push(w / remaining);
            remaining -= w;
        }
        Ok(out)
    }

    /// Probability of the ranking down to each slot (the cumulative product of the conditionals).
    pub fn cascade_probabilities(&self, ranking: &[usize]) -> Result<Vec<f64>> {
        let mut product = 1.0;
        Ok(self
            .conditional_probabilities(ranking)?
            .into_iter()
            .map(|p| {
                product *= p;
                product
            })
            .collect())
    }

    /// Probability of exactly this ranking of `ranking.len()` slots.
    pub fn ranking_probability(&self, ranking: &[usize]) -> Result<f64> {
        Ok(self
            .cascade_probabilities(ranking)?
            .last()
            .copied()
            .unwrap_or(1.0))
    }

    /// Exact probability that `item` is drawn at slot `position` (0 = top), summed over every ordered prefix
    /// of other items above it; the work grows as n_items^position, so it is refused past
    /// [`MAX_ENUMERATED_PREFIXES`] prefixes.
    pub fn item_position_probability(&self, item: usize, position: usize) -> Result<f64> {
        let n = self.weights.len();
        if item >= n {
            return Err(EvalError::invalid(
                "item",
                0,
                item as f64,
                format!("out of range ({n} items)"),
            ));
        }
        if position >= n {
            return Err(EvalError::invalid(
                "position",
                0,
                position as f64,
                format!("out of range ({n} items)"),
            ));
        }
        // Number of ordered prefixes: (n-1)(n-2)...(n-position).
        let mut prefixes: u64 = 1;
        for k in 0..position {
            prefixes = prefixes.saturating_mul((n - 1 - k) as u64);
        }
        if prefixes > MAX_ENUMERATED_PREFIXES {
            return Err(EvalError::setting(
                "position",
                format!(
                    "the exact marginal at slot {position} of {n} items sums {prefixes} prefixes (limit {MAX_ENUMERATED_PREFIXES})"
                ),
            ));
        }
        let total: f64 = self.weights.iter().sum();
        let mut used = vec![false; n];
        used[item] = true;
        Ok(self.prefix_sum(item, position, total, 1.0, &mut used))
    }

    /// Σ over ordered prefixes of `depth` more unused items of P(prefix) × P(item next | prefix).
    fn prefix_sum(
        &self,
        item: usize,
        depth: usize,
        remaining: f64,
        probability: f64,
        used: &mut [bool],
    ) -> f64 {
        if depth == 0 {
            return probability * self.weights[item] / remaining;
        }
        let mut sum = 0.0;
        for other in 0..self.weights.len() {
            if used[other] {
                continue;
            }
            let w = self.weights[other];
            used[other] = true;
            sum += self.prefix_sum(
                item,
                depth - 1,
                remaining - w,
                probability * w / remaining,
                used,
            );
            used[other] = false;
        }
        sum
    }

    /// All three propensities of each slot of `ranking`.
    pub fn propensities(&self, ranking: &[usize]) -> Result<SlatePropensities> {
        let cascade = self.cascade_probabilities(ranking)?;
        let ranking_probability = cascade.last().copied().unwrap_or(1.0);
        let item_position = ranking
            .iter()
            .enumerate()
            .map(|(position, &item)| self.item_position_probability(item, position))
            .collect::<Result<Vec<_>>>()?;
        Ok(SlatePropensities {
            joint: vec![ranking_probability; ranking.len()],
            item_position,
            cascade,
            ranking: ranking_probability,
        })
    }

    /// Draws a ranking of `slots` items and returns it with its exact probability.
    pub fn sample<R: rand::Rng + ?Sized>(
        &self,
        slots: usize,
        rng: &mut R,
    ) -> Result<(Vec<usize>, f64)> {
        if slots == 0 || slots > self.weights.len() {
            return Err(EvalError::setting(
                "slots",
                format!(
                    "must be between 1 and the number of items ({})",
                    self.weights.len()
                ),
            ));
        }
        let mut weights = self.weights.clone();
        let mut remaining: f64 = weights.iter().sum();
        let mut ranking = Vec::with_capacity(slots);
        let mut probability = 1.0;
        for _ in 0..slots {
            let target = rng.gen::<f64>() * remaining;
            let mut cumulative = 0.0;
            // The last item still available is the fallback when rounding leaves `target` past the sum.
            let mut chosen = None;
            for (i, &w) in weights.iter().enumerate() {
                if w <= 0.0 {
                    continue;
                }
                chosen = Some(i);
                cumulative += w;
                if target < cumulative {
                    break;
                }
            }
            let Some(i) = chosen else {
                return Err(EvalError::Insufficient(
                    "every remaining Plackett-Luce weight is zero".into(),
                ));
            };
            probability *= weights[i] / remaining;
            remaining -= weights[i];
            weights[i] = 0.0;
            ranking.push(i);
        }
        Ok((ranking, probability))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn plackett_luce_propensities_by_hand() {
        // Weights 1, 2, 3 (logits ln 1, ln 2, ln 3); ranking [2, 0].
        let pl = PlackettLuce::new(&[0.0, 2f64.ln(), 3f64.ln()]).unwrap();
        let p = pl.propensities(&[2, 0]).unwrap();
        // P(2 first) = 3/6; P(0 second | 2 first) = 1/3.
        assert!(close(p.cascade[0], 0.5));
        assert!(close(p.cascade[1], 0.5 / 3.0));
        assert!(close(p.ranking, 1.0 / 6.0));
        assert!(close(p.joint[0], 1.0 / 6.0) && close(p.joint[1], 1.0 / 6.0));
        assert!(close(p.item_position[0], 0.5));
        // P(0 second) = P(1 first) P(0 | 1) + P(2 first) P(0 | 2) = 2/6 × 1/4 + 3/6 × 1/3 = 1/12 + 1/6 = 1/4.
        assert!(close(p.item_position[1], 0.25));
    }

    #[test]
    fn item_position_marginals_sum_to_one_per_slot_and_per_item() {
        let pl = PlackettLuce::new(&[0.3, -1.0, 2.0, 0.0]).unwrap();
        for position in 0..4 {
            let s: f64 = (0..4)
                .map(|i| pl.item_position_probability(i, position).unwrap())
                .sum();
            assert!(close(s, 1.0), "slot {position}: {s}");
        }
        for item in 0..4 {
            let s: f64 = (0..4)
                .map(|k| pl.item_position_probability(item, k).unwrap())
                .sum();
            assert!(close(s, 1.0), "item {item}: {s}");
        }
    }

    #[test]
    fn sampled_rankings_follow_their_logged_probability() {
        let pl = PlackettLuce::new(&[0.0, 1.0, 2.0]).unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let n = 60_000;
        let mut count_210 = 0;
        for _ in 0..n {
            let (ranking, p) = pl.sample(3, &mut rng).unwrap();
            assert!(close(p, pl.ranking_probability(&ranking).unwrap()));
            if ranking == [2, 1, 0] {
                count_210 += 1;
            }
        }
        let expected = pl.ranking_probability(&[2, 1, 0]).unwrap();
        let observed = count_210 as f64 / n as f64;
        // Binomial standard error at this n is about 0.002.
        assert!(
            (observed - expected).abs() < 0.01,
            "{observed} vs {expected}"
        );
    }

    #[test]
    fn estimators_by_hand() {
        // Two slates of two slots.
        let rows =
            SlateRows::new(vec![0, 0, 1, 1], vec![0, 1, 0, 1], vec![1.0, 0.0, 0.0, 2.0]).unwrap();
        // SIPS: slate 0 weight 0.2/0.1 = 2, slate 1 weight 0.1/0.4 = 0.25.
        // (1×2 + 0 + 0 + 2×0.25) / 2 = 1.25.
        let b = [0.1, 0.1, 0.4, 0.4];
        let e = [0.2, 0.2, 0.1, 0.1];
        let v = estimate_slate_value(SlateEstimator::Standard, &rows, &b, &e).unwrap();
        assert!(close(v, 1.25));
        let per_slate = slate_round_rewards(SlateEstimator::Standard, &rows, &b, &e).unwrap();
        assert_eq!(per_slate.len(), 2);
        assert!(close(per_slate[0], 2.0) && close(per_slate[1], 0.5));
        // IIPS: (1 × 0.5/0.25 + 2 × 0.3/0.6) / 2 = (2 + 1) / 2 = 1.5.
        let b = [0.25, 0.5, 0.5, 0.6];
        let e = [0.5, 0.1, 0.9, 0.3];
        let v = estimate_slate_value(SlateEstimator::Independent, &rows, &b, &e).unwrap();
        assert!(close(v, 1.5));
        // RIPS: (1 × 0.6/0.3 + 2 × 0.05/0.2) / 2 = (2 + 0.5) / 2 = 1.25.
        let b = [0.3, 0.1, 0.5, 0.2];
        let e = [0.6, 0.3, 0.5, 0.05];
        let v = estimate_slate_value(SlateEstimator::RewardInteraction, &rows, &b, &e).unwrap();
        assert!(close(v, 1.25));
    }

    #[test]
    fn the_evaluation_policy_equal_to_the_logger_returns_the_mean_slate_reward() {
        let rows =
            SlateRows::new(vec![4, 4, 9, 9], vec![0, 1, 1, 0], vec![1.0, 1.0, 0.0, 1.0]).unwrap();
        let p = [0.2, 0.2, 0.3, 0.3];
        for estimator in SlateEstimator::ALL {
            let v = estimate_slate_value(estimator, &rows, &p, &p).unwrap();
            assert!(close(v, 1.5), "{estimator:?}: {v}");
        }
    }

    #[test]
    fn invalid_logs_are_refused_with_the_field_named() {
        let e = SlateRows::new(vec![0, 0], vec![1, 1], vec![1.0, 0.0]).unwrap_err();
        assert!(e.to_string().contains("position repeated"), "{e}");
        let rows = SlateRows::new(vec![0, 0], vec![0, 1], vec![1.0, 0.0]).unwrap();
        let e = estimate_slate_value(SlateEstimator::Standard, &rows, &[0.1, 0.2], &[0.1, 0.1])
            .unwrap_err();
        assert!(e.to_string().contains("pscore"), "{e}");
        let e = estimate_slate_value(
            SlateEstimator::RewardInteraction,
            &rows,
            &[0.1, 0.2],
            &[0.1, 0.1],
        )
        .unwrap_err();
        assert!(e.to_string().contains("must not increase"), "{e}");
        let e = estimate_slate_value(SlateEstimator::Independent, &rows, &[0.0, 0.2], &[0.1, 0.1])
            .unwrap_err();
        assert!(e.to_string().contains("(0, 1]"), "{e}");
        assert!(PlackettLuce::new(&[0.0, f64::NAN]).is_err());
        let pl = PlackettLuce::new(&[0.0, 0.0]).unwrap();
        assert!(pl.propensities(&[0, 0]).is_err());
        assert!(pl.propensities(&[2]).is_err());
    }
}
