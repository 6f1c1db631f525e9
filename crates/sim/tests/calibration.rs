//! Simulated aggregates land where the configuration puts them (moderate population, loose
//! tolerances that cover sampling noise; `examples/calibrate.rs` shows the figures at scale).

use discount_sim::calibration::{measure, Targets};
use discount_sim::policy::{NoOfferPolicy, UniformPolicy};
use discount_sim::{ResponseType, SimConfig};

#[test]
fn simulated_aggregates_match_the_calibration_targets() -> anyhow::Result<()> {
    let config = SimConfig {
        users: 60_000,
        days: 45,
        ..SimConfig::default()
    };
    let t = Targets::from_public_data();
    let none = measure(&config, &mut NoOfferPolicy)?;
    let five = measure(&config, &mut UniformPolicy { percent: 5.0 })?;
    let ten = measure(&config, &mut UniformPolicy { percent: 10.0 })?;
    eprintln!("{none:?}\n{five:?}\n{ten:?}");
    let near = |what: &str, got: f64, want: f64, rel: f64| {
        assert!(
            (got / want - 1.0).abs() <= rel,
            "{what}: simulated {got:.5}, target {want:.5} (+-{:.0}%)",
            rel * 100.0
        );
    };
    // Conversion over two weeks (Hillstrom): no offer, and with an offer inside the e-mail band.
    near(
        "conversion, no offer",
        none.conversion_14d,
        t.conversion_14d_no_offer,
        0.25,
    );
    near(
        "visits in two weeks",
        none.visit_14d,
        t.visit_14d_no_offer,
        0.10,
    );
    for m in [&five, &ten] {
        assert!(
            m.conversion_14d > 0.85 * t.conversion_14d_offer_low
                && m.conversion_14d < 1.2 * t.conversion_14d_offer_high,
            "{}: conversion {:.5} outside the Hillstrom e-mail band",
            m.policy,
            m.conversion_14d
        );
        assert!(m.conversion_14d > none.conversion_14d * 1.4);
    }
    assert!(ten.conversion_14d > five.conversion_14d);
    // Redemption (Complete Journey) for a 10% coupon.
    near(
        "redemption rate",
        ten.redemption_rate,
        t.redemption_rate,
        0.15,
    );
    // Repeat purchases within 30 days (CDNOW), no offers.
    near("repeat within 30 days", none.repeat_30d, t.repeat_30d, 0.25);
    // Response-type shares as configured.
    let s = config.response.shares;
    for (rt, share) in &none.type_shares {
        let want = match rt {
            ResponseType::Persuadable => s.persuadable,
            ResponseType::SureThing => s.sure_thing,
            ResponseType::LostCause => s.lost_cause,
            ResponseType::SleepingDog => s.sleeping_dog,
        };
        assert!((share - want).abs() < 0.01, "{rt:?}: {share} vs {want}");
    }
    Ok(())
}
