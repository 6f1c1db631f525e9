//! The synthetic shop of the serving benchmarks: a catalogue of 97 items in six categories and,
//! per customer, a history of views, carts, orders (one or two lines, some discounted), the odd
//! refund and coupon over the 180 days before a given time. Seeded: the same arguments give the
//! same events, so `bench serve` and `bench profiles` measure the same customers.

use discount_core::event::OrderLine;
use discount_core::{Currency, Event, EventKind, Item, Offer, Timestamp};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Items of the catalogue (and of the baskets).
pub const ITEMS: u64 = 97;
const CATEGORIES: [&str; 6] = ["shoes", "hats", "music", "home", "books", "toys"];

/// The catalogue the histories name: items `i0` to `i96`, their categories in turn.
pub fn catalogue() -> Vec<Item> {
    (0..ITEMS)
        .map(|i| Item {
            id: format!("i{i}"),
            category: CATEGORIES[(i % CATEGORIES.len() as u64) as usize].into(),
            list_price: 500 + 75 * i as i64,
            unit_cost: None,
            currency: Currency::USD,
            stock: None,
        })
        .collect()
}

/// The histories of customers `c0`, `c1`, ... in turn, about `mean` events each (uniform on 0 to
/// `2 * mean`).
pub struct Histories {
    customers: u64,
    next: u64,
    mean: u32,
    now: i64,
    rng: StdRng,
}

impl Histories {
    pub fn new(customers: u64, mean: u32, now: i64, seed: u64) -> Self {
        Self {
            customers,
            next: 0,
            mean,
            now,
            rng: StdRng::seed_from_u64(seed ^ 0x5e_ed0f_4157),
        }
    }
}

impl Iterator for Histories {
    type Item = Vec<Event>;

    fn next(&mut self) -> Option<Vec<Event>> {
        if self.next >= self.customers {
            return None;
        }
        let c = self.next;
        self.next += 1;
        let rng = &mut self.rng;
        let day = discount_core::time::MICROS_PER_DAY;
        let n = rng.gen_range(0..=2 * self.mean);
        let mut events = Vec::with_capacity(n as usize);
        for k in 0..n {
            let time = Timestamp(self.now - rng.gen_range(0..180 * day));
            let item = |rng: &mut StdRng| format!("i{}", rng.gen_range(0..ITEMS));
            let kind = match rng.gen_range(0..100) {
                0..=59 => EventKind::View {
                    item_id: Some(item(rng)),
                },
                60..=79 => EventKind::AddToCart {
                    item_id: item(rng),
                    quantity: 1,
                },
                80..=93 => {
                    let lines = (0..rng.gen_range(1..=2))
                        .map(|_| {
                            let list = rng.gen_range(500..8_000);
                            let off = if rng.gen_bool(0.3) { list / 5 } else { 0 };
                            OrderLine {
                                item_id: item(rng),
                                quantity: 1,
                                list_price: list,
                                paid: list - off,
                                retail_discount: off,
                                coupon_discount: 0,
                            }
                        })
                        .collect();
                    EventKind::Order {
                        order_id: format!("o{c}-{k}"),
                        currency: Currency::USD,
                        lines,
                    }
                }
                94..=95 => EventKind::Refund {
                    order_id: format!("o{c}-{k}"),
                    currency: Currency::USD,
                    amount: rng.gen_range(100..2_000),
                    item_id: None,
                },
                _ => EventKind::CouponIssued {
                    coupon_id: format!("k{c}-{k}"),
                    decision_id: None,
                    offer: Offer::AmountOff {
                        amount: 500,
                        min_spend: 0,
                    },
                    expires_at: None,
                },
            };
            events.push(Event {
                id: format!("h{c}-{k}"),
                user_id: format!("c{c}"),
                time,
                kind,
            });
        }
        Some(events)
    }
}
