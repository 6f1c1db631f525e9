//! The decision log on PostgreSQL, shared by several `discount serve` processes. Budget holds
//! are single conditional `UPDATE`s, so concurrent processes can never hold more than the total.

use postgres::{Client, Row};

use crate::decision_log::{
    anonymised, erased_id, erasure_audit_id, ApiKeyRow, BudgetRow, BudgetStore, DecisionRow,
    DecisionStore, Erasure, Holds, KeyStore, OrderLineFact, OutcomeRow, OutcomeSource, PolicyRow,
    PolicyStore, Recorded,
};
use crate::StoreError;

pub struct PostgresDecisionLog {
    pub(crate) client: Client,
}

const DECISION_COLUMNS: &str = "id, idempotency_key, customer_id, at, attribution_deadline,
    policy_version, offer, propensity, explored, expected_profit, currency, budget_id, reserved,
    request, response, joined, offer_id";

fn decision_of(r: &Row) -> DecisionRow {
    DecisionRow {
        id: r.get(0),
        idempotency_key: r.get(1),
        customer_id: r.get(2),
        at: r.get(3),
        attribution_deadline: r.get(4),
        policy_version: r.get(5),
        offer: r.get(6),
        propensity: r.get(7),
        explored: r.get::<_, i32>(8) != 0,
        expected_profit: r.get(9),
        currency: r.get(10),
        budget_id: r.get(11),
        reserved: r.get(12),
        request: r.get(13),
        response: r.get(14),
        joined: r.get::<_, i32>(15) != 0,
        offer_id: r.get(16),
    }
}

fn key_of(r: &Row) -> ApiKeyRow {
    ApiKeyRow {
        id: r.get(0),
        name: r.get(1),
        role: r.get(2),
        secret_hash: r.get(3),
        rate_per_second: r.get(4),
        created_at: r.get(5),
        revoked_at: r.get(6),
    }
}

fn budget_of(r: &Row) -> BudgetRow {
    BudgetRow {
        id: r.get(0),
        currency: r.get(1),
        total: r.get(2),
        reserved: r.get(3),
        spent: r.get(4),
    }
}

const KEY_COLUMNS: &str = "id, name, role, secret_hash, rate_per_second, created_at, revoked_at";

impl PostgresDecisionLog {
    /// Connects and runs pending migrations.
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        drop(crate::postgres::PostgresStore::connect(url)?);
        Ok(Self {
            client: crate::pg_connect::connect(url)?,
        })
    }

    fn decisions_where(
        &mut self,
        condition: &str,
        args: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<DecisionRow>, StoreError> {
        let sql = format!("SELECT {DECISION_COLUMNS} FROM decisions WHERE {condition}");
        Ok(self
            .client
            .query(&sql, args)?
            .iter()
            .map(decision_of)
            .collect())
    }
}

impl DecisionStore for PostgresDecisionLog {
    fn record_decisions(
        &mut self,
        batch: &[DecisionRow],
        holds: Holds<'_>,
    ) -> Result<Vec<Recorded>, StoreError> {
        let mut tx = self.client.transaction()?;
        let insert = tx.prepare(&format!(
            "INSERT INTO decisions ({DECISION_COLUMNS})
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 0, $16)
             ON CONFLICT DO NOTHING"
        ))?;
        let mut out = Vec::with_capacity(batch.len());
        for d in batch {
            let n = tx.execute(
                &insert,
                &[
                    &d.id,
                    &d.idempotency_key,
                    &d.customer_id,
                    &d.at,
                    &d.attribution_deadline,
                    &d.policy_version,
                    &d.offer,
                    &d.propensity,
                    &(d.explored as i32),
                    &d.expected_profit,
                    &d.currency,
                    &d.budget_id,
                    &d.reserved,
                    &d.request,
                    &d.response,
                    &d.offer_id,
                ],
            )?;
            if n == 1 {
                if let (Some(b), true) = (&d.budget_id, d.reserved != 0) {
                    match holds {
                        Holds::Apply => tx.execute(
                            "UPDATE budgets SET reserved = reserved + $1 WHERE id = $2",
                            &[&d.reserved, b],
                        )?,
                        Holds::TakenBy(holder) => tx.execute(
                            "UPDATE budget_holds SET amount = amount - $1
                             WHERE holder = $2 AND budget_id = $3",
                            &[&d.reserved, &holder, b],
                        )?,
                    };
                }
                out.push(Recorded::Stored);
                continue;
            }
            let row = tx.query_one(
                &format!(
                    "SELECT {DECISION_COLUMNS} FROM decisions WHERE idempotency_key = $1 OR id = $2 LIMIT 1"
                ),
                &[&d.idempotency_key, &d.id],
            )?;
            out.push(Recorded::Existing(Box::new(decision_of(&row))));
        }
        tx.commit()?;
        Ok(out)
    }

    fn events_of(
        &mut self,
        customer: &str,
        limit: usize,
    ) -> Result<Vec<discount_core::Event>, StoreError> {
        let rows = self.client.query(
            "SELECT id, at, payload FROM events WHERE user_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
            &[&customer, &(limit as i64)],
        )?;
        let mut events = Vec::with_capacity(rows.len());
        for r in rows.iter().rev() {
            events.push(discount_core::Event {
                id: r.get(0),
                user_id: customer.to_string(),
                time: discount_core::Timestamp(r.get(1)),
                kind: serde_json::from_str(r.get::<_, &str>(2))?,
            });
        }
        Ok(events)
    }

    fn item_categories(
        &mut self,
        item_ids: &[String],
    ) -> Result<Vec<(String, String)>, StoreError> {
        crate::postgres::item_categories(&mut self.client, item_ids)
    }

    fn offers_of(
        &mut self,
        customer: &str,
        since: i64,
        limit: usize,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        // Read from the index (customer_id, at, id, offer_id) alone.
        let rows = self.client.query(
            "SELECT offer_id, at FROM decisions WHERE customer_id = $1 AND at >= $2
             ORDER BY at DESC, id DESC LIMIT $3",
            &[&customer, &since, &(limit as i64)],
        )?;
        Ok(rows
            .iter()
            .filter_map(|r| Some((r.get::<_, Option<String>>(0)?, r.get(1))))
            .collect())
    }

    fn decision(&mut self, id: &str) -> Result<Option<DecisionRow>, StoreError> {
        Ok(self.decisions_where("id = $1", &[&id])?.pop())
    }

    fn decision_by_idempotency_key(
        &mut self,
        key: &str,
    ) -> Result<Option<DecisionRow>, StoreError> {
        Ok(self.decisions_where("idempotency_key = $1", &[&key])?.pop())
    }

    fn open_decisions_of(
        &mut self,
        customer: &str,
        at: i64,
    ) -> Result<Vec<DecisionRow>, StoreError> {
        self.decisions_where(
            "customer_id = $1 AND joined = 0 AND at <= $2 AND attribution_deadline >= $2
             ORDER BY at DESC, id DESC",
            &[&customer, &at],
        )
    }

    fn due_decisions(&mut self, now: i64, limit: usize) -> Result<Vec<DecisionRow>, StoreError> {
        self.decisions_where(
            "joined = 0 AND attribution_deadline <= $1 ORDER BY attribution_deadline, id LIMIT $2",
            &[&now, &(limit as i64)],
        )
    }

    fn order_lines_between(
        &mut self,
        customer: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<OrderLineFact>, StoreError> {
        let rows = self.client.query(
            "SELECT e.id, e.at, l.quantity, l.list_price, l.paid, l.coupon_discount, i.unit_cost
             FROM events e JOIN order_lines l ON l.event_id = e.id
             LEFT JOIN items i ON i.id = l.item_id
             WHERE e.user_id = $1 AND e.kind = 'order' AND e.at >= $2 AND e.at <= $3
             ORDER BY e.at, e.id, l.line_no",
            &[&customer, &from, &to],
        )?;
        Ok(rows
            .iter()
            .map(|r| OrderLineFact {
                event_id: r.get(0),
                at: r.get(1),
                quantity: r.get(2),
                list_price: r.get(3),
                paid: r.get(4),
                coupon_discount: r.get(5),
                unit_cost: r.get(6),
            })
            .collect())
    }

    fn record_outcome(&mut self, o: &OutcomeRow) -> Result<bool, StoreError> {
        let mut tx = self.client.transaction()?;
        let held = tx.query_opt(
            "UPDATE decisions SET joined = 1 WHERE id = $1 AND joined = 0
             RETURNING budget_id, reserved",
            &[&o.decision_id],
        )?;
        let Some(held) = held else {
            return Ok(false);
        };
        let (budget_id, reserved): (Option<String>, i64) = (held.get(0), held.get(1));
        tx.execute(
            "INSERT INTO decision_outcomes (decision_id, at, source, event_id, converted, revenue,
               discount, profit, charged, recorded_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[
                &o.decision_id,
                &o.at,
                &o.source.as_str(),
                &o.event_id,
                &(o.converted as i32),
                &o.revenue,
                &o.discount,
                &o.profit,
                &o.charged,
                &o.recorded_at,
            ],
        )?;
        if let Some(b) = budget_id {
            tx.execute(
                "UPDATE budgets SET reserved = reserved - $1, spent = spent + $2 WHERE id = $3",
                &[&reserved, &o.charged.min(reserved), &b],
            )?;
        }
        tx.commit()?;
        Ok(true)
    }

    fn outcome(&mut self, decision_id: &str) -> Result<Option<OutcomeRow>, StoreError> {
        let row = self.client.query_opt(
            &format!("SELECT {OUTCOME_COLUMNS} FROM decision_outcomes WHERE decision_id = $1"),
            &[&decision_id],
        )?;
        Ok(row.as_ref().map(outcome_of))
    }

    fn joined_decisions(
        &mut self,
        from: i64,
        to: i64,
    ) -> Result<Vec<(DecisionRow, Option<OutcomeRow>)>, StoreError> {
        let decisions =
            self.decisions_where("at >= $1 AND at < $2 ORDER BY at, id", &[&from, &to])?;
        let outcomes: Vec<OutcomeRow> = self
            .client
            .query(
                &format!(
                    "SELECT {OUTCOME_COLUMNS} FROM decision_outcomes o
                     WHERE o.decision_id IN (SELECT id FROM decisions WHERE at >= $1 AND at < $2)"
                ),
                &[&from, &to],
            )?
            .iter()
            .map(outcome_of)
            .collect();
        Ok(crate::decision_log::join_outcomes(decisions, outcomes))
    }

    fn scan_joined_decisions(
        &mut self,
        from: i64,
        to: i64,
        visit: &mut dyn FnMut(DecisionRow, Option<OutcomeRow>) -> std::ops::ControlFlow<()>,
    ) -> Result<u64, StoreError> {
        use postgres::fallible_iterator::FallibleIterator;
        let sql =
            crate::decision_log::joined_scan_sql(DECISION_COLUMNS, OUTCOME_COLUMNS, "$1", "$2");
        // Rows stream from the server as they are read; they are never all in memory.
        let bounds: [&(dyn postgres::types::ToSql + Sync); 2] = [&from, &to];
        let mut rows = self.client.query_raw(&sql, bounds)?;
        let mut visited = 0;
        while let Some(r) = rows.next()? {
            let decision = decision_of(&r);
            // The outcome's columns follow the decision's 17; its key is null when there is none.
            let outcome = r.get::<_, Option<String>>(17).map(|_| outcome_at(&r, 17));
            visited += 1;
            if visit(decision, outcome).is_break() {
                break;
            }
        }
        Ok(visited)
    }

    fn recent_decisions(
        &mut self,
        limit: usize,
    ) -> Result<Vec<(DecisionRow, Option<OutcomeRow>)>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let decisions =
            self.decisions_where("TRUE ORDER BY at DESC, id DESC LIMIT $1", &[&limit])?;
        let ids: Vec<&str> = decisions.iter().map(|d| d.id.as_str()).collect();
        let outcomes: Vec<OutcomeRow> = self
            .client
            .query(
                &format!(
                    "SELECT {OUTCOME_COLUMNS} FROM decision_outcomes o
                     WHERE o.decision_id = ANY($1)"
                ),
                &[&ids],
            )?
            .iter()
            .map(outcome_of)
            .collect();
        Ok(crate::decision_log::join_outcomes(decisions, outcomes))
    }

    fn log_counts(&mut self) -> Result<(i64, i64, i64), StoreError> {
        let r = self.client.query_one(
            "SELECT (SELECT COUNT(*) FROM decisions), (SELECT COUNT(*) FROM decisions WHERE joined = 0),
                    (SELECT COUNT(*) FROM decision_outcomes)",
            &[],
        )?;
        Ok((r.get(0), r.get(1), r.get(2)))
    }

    fn erase_customer(
        &mut self,
        customer: &str,
        salt: &[u8],
        at: i64,
        reason: &str,
    ) -> Result<Erasure, StoreError> {
        let mut tx = self.client.transaction()?;
        tx.execute(
            "DELETE FROM order_lines WHERE event_id IN (SELECT id FROM events WHERE user_id = $1)",
            &[&customer],
        )?;
        let events = tx.execute("DELETE FROM events WHERE user_id = $1", &[&customer])?;
        let users = tx.execute("DELETE FROM users WHERE id = $1", &[&customer])?;
        tx.execute(
            "DELETE FROM recommendation_slates WHERE customer_id = $1",
            &[&customer],
        )?;
        // The profile state is derived from the erased events.
        tx.execute(
            "DELETE FROM profile_states WHERE user_id = $1",
            &[&customer],
        )?;
        let rows: Vec<DecisionRow> = tx
            .query(
                &format!("SELECT {DECISION_COLUMNS} FROM decisions WHERE customer_id = $1"),
                &[&customer],
            )?
            .iter()
            .map(decision_of)
            .collect();
        let stand_in = erased_id(salt, customer);
        let decisions = postgres_anonymise(&mut tx, &rows, |_| stand_in.clone())?;
        let erasure = Erasure {
            audit_id: erasure_audit_id(salt, at),
            events: events as i64,
            users: users as i64,
            decisions,
        };
        postgres_audit(&mut tx, &erasure, at, reason)?;
        tx.commit()?;
        Ok(erasure)
    }

    fn erase_before(&mut self, cutoff: i64, salt: &[u8], at: i64) -> Result<Erasure, StoreError> {
        let mut tx = self.client.transaction()?;
        tx.execute(
            "DELETE FROM order_lines WHERE event_id IN (SELECT id FROM events WHERE at < $1)",
            &[&cutoff],
        )?;
        let events = tx.execute("DELETE FROM events WHERE at < $1", &[&cutoff])?;
        tx.execute(
            "DELETE FROM recommendation_slates WHERE at < $1",
            &[&cutoff],
        )?;
        let rows: Vec<DecisionRow> = tx
            .query(
                &format!(
                    "SELECT {DECISION_COLUMNS} FROM decisions
                     WHERE at < $1 AND customer_id NOT LIKE 'erased-%'"
                ),
                &[&cutoff],
            )?
            .iter()
            .map(decision_of)
            .collect();
        let decisions = postgres_anonymise(&mut tx, &rows, |c| erased_id(salt, c))?;
        let erasure = Erasure {
            audit_id: erasure_audit_id(salt, at),
            events: events as i64,
            users: 0,
            decisions,
        };
        postgres_audit(&mut tx, &erasure, at, "retention")?;
        tx.commit()?;
        Ok(erasure)
    }
}

impl KeyStore for PostgresDecisionLog {
    fn create_key(&mut self, k: &ApiKeyRow) -> Result<(), StoreError> {
        self.client.execute(
            &format!("INSERT INTO api_keys ({KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"),
            &[
                &k.id,
                &k.name,
                &k.role,
                &k.secret_hash,
                &k.rate_per_second,
                &k.created_at,
                &k.revoked_at,
            ],
        )?;
        Ok(())
    }

    fn key(&mut self, id: &str) -> Result<Option<ApiKeyRow>, StoreError> {
        let row = self.client.query_opt(
            &format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE id = $1"),
            &[&id],
        )?;
        Ok(row.as_ref().map(key_of))
    }

    fn keys(&mut self) -> Result<Vec<ApiKeyRow>, StoreError> {
        let rows = self.client.query(
            &format!("SELECT {KEY_COLUMNS} FROM api_keys ORDER BY created_at, id"),
            &[],
        )?;
        Ok(rows.iter().map(key_of).collect())
    }

    fn revoke_key(&mut self, id: &str, at: i64) -> Result<bool, StoreError> {
        Ok(self.client.execute(
            "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
            &[&at, &id],
        )? == 1)
    }
}

impl BudgetStore for PostgresDecisionLog {
    fn set_budget(&mut self, id: &str, currency: &str, total: i64) -> Result<(), StoreError> {
        self.client.execute(
            "INSERT INTO budgets (id, currency, total, reserved, spent) VALUES ($1, $2, $3, 0, 0)
             ON CONFLICT (id) DO UPDATE SET total = excluded.total, currency = excluded.currency",
            &[&id, &currency, &total],
        )?;
        Ok(())
    }

    fn budget(&mut self, id: &str) -> Result<Option<BudgetRow>, StoreError> {
        let row = self.client.query_opt(
            "SELECT id, currency, total, reserved, spent FROM budgets WHERE id = $1",
            &[&id],
        )?;
        Ok(row.as_ref().map(budget_of))
    }

    fn budgets(&mut self) -> Result<Vec<BudgetRow>, StoreError> {
        let rows = self.client.query(
            "SELECT id, currency, total, reserved, spent FROM budgets ORDER BY id",
            &[],
        )?;
        Ok(rows.iter().map(budget_of).collect())
    }

    fn reserve(
        &mut self,
        holder: &str,
        id: &str,
        amount: i64,
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        // One statement: the conditional hold and the holder's in-flight count move together.
        let row = self.client.query_opt(
            "WITH held AS (
                 UPDATE budgets SET reserved = reserved + $1
                 WHERE id = $2 AND spent + reserved + $1 <= total
                 RETURNING id, total - spent - reserved AS remaining
             ), counted AS (
                 INSERT INTO budget_holds (holder, budget_id, amount, heartbeat_at)
                 SELECT $3, id, $1, $4 FROM held
                 ON CONFLICT (holder, budget_id)
                 DO UPDATE SET amount = budget_holds.amount + EXCLUDED.amount,
                               heartbeat_at = EXCLUDED.heartbeat_at
             )
             SELECT remaining FROM held",
            &[&amount, &id, &holder, &now],
        )?;
        Ok(row.map(|r| r.get(0)))
    }

    fn release(&mut self, holder: &str, id: &str, amount: i64) -> Result<(), StoreError> {
        self.client.execute(
            "WITH released AS (
                 UPDATE budgets SET reserved = reserved - $1 WHERE id = $2 RETURNING id
             )
             UPDATE budget_holds SET amount = amount - $1
             WHERE holder = $3 AND budget_id IN (SELECT id FROM released)",
            &[&amount, &id, &holder],
        )?;
        Ok(())
    }

    fn heartbeat_holds(&mut self, holder: &str, now: i64) -> Result<(), StoreError> {
        self.client.execute(
            "UPDATE budget_holds SET heartbeat_at = $1 WHERE holder = $2",
            &[&now, &holder],
        )?;
        Ok(())
    }

    fn expire_holds(&mut self, stale_before: i64) -> Result<i64, StoreError> {
        let mut tx = self.client.transaction()?;
        let stale = tx.query(
            "DELETE FROM budget_holds WHERE heartbeat_at < $1 RETURNING budget_id, amount",
            &[&stale_before],
        )?;
        let mut released = 0;
        for row in &stale {
            let (budget, amount): (String, i64) = (row.get(0), row.get(1));
            if amount > 0 {
                tx.execute(
                    "UPDATE budgets SET reserved = reserved - $1 WHERE id = $2",
                    &[&amount, &budget],
                )?;
                released += amount;
            }
        }
        tx.commit()?;
        Ok(released)
    }
}

impl PolicyStore for PostgresDecisionLog {
    fn register_policy(
        &mut self,
        version: &str,
        config: &str,
        at: i64,
    ) -> Result<bool, StoreError> {
        Ok(self.client.execute(
            "INSERT INTO policies (version, config, created_at, activated_seq, active, apprentice)
             VALUES ($1, $2, $3, NULL, 0, 0) ON CONFLICT (version) DO NOTHING",
            &[&version, &config, &at],
        )? == 1)
    }

    fn policies(&mut self) -> Result<Vec<PolicyRow>, StoreError> {
        let rows = self.client.query(
            "SELECT version, config, created_at, activated_seq, active, apprentice
             FROM policies ORDER BY created_at, version",
            &[],
        )?;
        Ok(rows
            .iter()
            .map(|r| PolicyRow {
                version: r.get(0),
                config: r.get(1),
                created_at: r.get(2),
                activated_seq: r.get(3),
                active: r.get::<_, i32>(4) != 0,
                apprentice: r.get::<_, i32>(5) != 0,
            })
            .collect())
    }

    fn activate_policy(&mut self, version: &str) -> Result<bool, StoreError> {
        let mut tx = self.client.transaction()?;
        tx.execute("LOCK TABLE policies IN EXCLUSIVE MODE", &[])?;
        if tx
            .query_opt("SELECT 1 FROM policies WHERE version = $1", &[&version])?
            .is_none()
        {
            return Ok(false);
        }
        tx.execute("UPDATE policies SET active = 0", &[])?;
        tx.execute(
            "UPDATE policies SET active = 1,
               activated_seq = (SELECT COALESCE(MAX(activated_seq), 0) + 1 FROM policies)
             WHERE version = $1",
            &[&version],
        )?;
        tx.commit()?;
        Ok(true)
    }

    fn roll_back_policy(&mut self) -> Result<Option<String>, StoreError> {
        let mut tx = self.client.transaction()?;
        tx.execute("LOCK TABLE policies IN EXCLUSIVE MODE", &[])?;
        let previous = tx.query_opt(
            "SELECT version FROM policies WHERE active = 0 AND activated_seq IS NOT NULL
             ORDER BY activated_seq DESC LIMIT 1",
            &[],
        )?;
        let Some(previous) = previous.map(|r| r.get::<_, String>(0)) else {
            return Ok(None);
        };
        tx.execute(
            "UPDATE policies SET active = 0, activated_seq = NULL WHERE active = 1",
            &[],
        )?;
        tx.execute(
            "UPDATE policies SET active = 1 WHERE version = $1",
            &[&previous],
        )?;
        tx.commit()?;
        Ok(Some(previous))
    }

    fn set_apprentice(&mut self, version: &str, on: bool) -> Result<bool, StoreError> {
        Ok(self.client.execute(
            "UPDATE policies SET apprentice = $1 WHERE version = $2",
            &[&(on as i32), &version],
        )? == 1)
    }
}

fn postgres_anonymise(
    tx: &mut postgres::Transaction<'_>,
    rows: &[DecisionRow],
    stand_in: impl Fn(&str) -> String,
) -> Result<i64, StoreError> {
    let update = tx.prepare(
        "UPDATE decisions SET customer_id = $1, idempotency_key = NULL, request = $2, response = $3
         WHERE id = $4",
    )?;
    for row in rows {
        let id = stand_in(&row.customer_id);
        let (request, response) = anonymised(row, &id);
        tx.execute(&update, &[&id, &request, &response, &row.id])?;
    }
    Ok(rows.len() as i64)
}

fn postgres_audit(
    tx: &mut postgres::Transaction<'_>,
    e: &Erasure,
    at: i64,
    reason: &str,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO erasures (id, at, reason, events, users, decisions) VALUES ($1, $2, $3, $4, $5, $6)",
        &[&e.audit_id, &at, &reason, &e.events, &e.users, &e.decisions],
    )?;
    Ok(())
}

const OUTCOME_COLUMNS: &str =
    "decision_id, at, source, event_id, converted, revenue, discount, profit, charged, recorded_at";

fn outcome_of(r: &postgres::Row) -> OutcomeRow {
    outcome_at(r, 0)
}

/// The outcome whose [`OUTCOME_COLUMNS`] start at column `base` of the row.
fn outcome_at(r: &postgres::Row, base: usize) -> OutcomeRow {
    let source: String = r.get(base + 2);
    OutcomeRow {
        decision_id: r.get(base),
        at: r.get(base + 1),
        source: OutcomeSource::parse(&source).unwrap_or(OutcomeSource::Reported),
        event_id: r.get(base + 3),
        converted: r.get::<_, i32>(base + 4) != 0,
        revenue: r.get(base + 5),
        discount: r.get(base + 6),
        profit: r.get(base + 7),
        charged: r.get(base + 8),
        recorded_at: r.get(base + 9),
    }
}
