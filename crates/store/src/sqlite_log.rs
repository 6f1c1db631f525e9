//! The decision log on the embedded SQLite file (same file and migrations as [`crate::sqlite`]).

use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::decision_log::{
    anonymised, erased_id, erasure_audit_id, ApiKeyRow, BudgetRow, BudgetStore, DecisionRow,
    DecisionStore, Erasure, Holds, KeyStore, OrderLineFact, OutcomeRow, OutcomeSource, PolicyRow,
    PolicyStore, Recorded,
};
use crate::StoreError;

pub struct SqliteDecisionLog {
    pub(crate) conn: Connection,
}

const DECISION_COLUMNS: &str = "id, idempotency_key, customer_id, at, attribution_deadline,
    policy_version, offer, propensity, explored, expected_profit, currency, budget_id, reserved,
    request, response, joined, offer_id";

fn decision_of(r: &Row) -> rusqlite::Result<DecisionRow> {
    Ok(DecisionRow {
        id: r.get(0)?,
        idempotency_key: r.get(1)?,
        customer_id: r.get(2)?,
        at: r.get(3)?,
        attribution_deadline: r.get(4)?,
        policy_version: r.get(5)?,
        offer: r.get(6)?,
        propensity: r.get(7)?,
        explored: r.get::<_, i64>(8)? != 0,
        expected_profit: r.get(9)?,
        currency: r.get(10)?,
        budget_id: r.get(11)?,
        reserved: r.get(12)?,
        request: r.get(13)?,
        response: r.get(14)?,
        joined: r.get::<_, i64>(15)? != 0,
        offer_id: r.get(16)?,
    })
}

fn key_of(r: &Row) -> rusqlite::Result<ApiKeyRow> {
    Ok(ApiKeyRow {
        id: r.get(0)?,
        name: r.get(1)?,
        role: r.get(2)?,
        secret_hash: r.get(3)?,
        rate_per_second: r.get(4)?,
        created_at: r.get(5)?,
        revoked_at: r.get(6)?,
    })
}

fn budget_of(r: &Row) -> rusqlite::Result<BudgetRow> {
    Ok(BudgetRow {
        id: r.get(0)?,
        currency: r.get(1)?,
        total: r.get(2)?,
        reserved: r.get(3)?,
        spent: r.get(4)?,
    })
}

impl SqliteDecisionLog {
    /// Opens (creating and migrating if needed) the SQLite file at `path`.
    pub fn open(path: &str) -> Result<Self, StoreError> {
        drop(crate::sqlite::SqliteStore::open(path)?);
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        // NORMAL in WAL mode: a commit survives the process being killed; only an OS crash can
        // lose the last commits.
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(30))?;
        // Checkpoints are left to `checkpoint`, which the service runs off the request path.
        conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        // The page cache stays at SQLite's default (2 MB). A 64 MiB one was walked whole by the
        // cache truncation at the end of every transaction (7% of a serving profile) and served
        // 18% fewer decisions with long histories (docs/operations.md); mapping the file was
        // slower still, every write transaction unmapping and mapping pages.
        Ok(Self { conn })
    }

    fn decisions_where(
        &self,
        condition: &str,
        args: impl rusqlite::Params,
    ) -> Result<Vec<DecisionRow>, StoreError> {
        let sql = format!("SELECT {DECISION_COLUMNS} FROM decisions WHERE {condition}");
        let mut stmt = self.conn.prepare_cached(&sql)?;
        let rows = stmt.query_map(args, decision_of)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

impl DecisionStore for SqliteDecisionLog {
    fn record_decisions(
        &mut self,
        batch: &[DecisionRow],
        holds: Holds<'_>,
    ) -> Result<Vec<Recorded>, StoreError> {
        let tx = crate::sqlite::write_transaction(&mut self.conn)?;
        let mut out = Vec::with_capacity(batch.len());
        for d in batch {
            let n = tx
                .prepare_cached(&format!(
                    "INSERT INTO decisions ({DECISION_COLUMNS})
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, 0, ?16)
                     ON CONFLICT DO NOTHING"
                ))?
                .execute(params![
                    d.id,
                    d.idempotency_key,
                    d.customer_id,
                    d.at,
                    d.attribution_deadline,
                    d.policy_version,
                    d.offer,
                    d.propensity,
                    d.explored as i64,
                    d.expected_profit,
                    d.currency,
                    d.budget_id,
                    d.reserved,
                    d.request,
                    d.response,
                    d.offer_id
                ])?;
            if n == 1 {
                if let (Some(b), true) = (&d.budget_id, d.reserved != 0) {
                    match holds {
                        Holds::Apply => tx
                            .prepare_cached(
                                "UPDATE budgets SET reserved = reserved + ?1 WHERE id = ?2",
                            )?
                            .execute(params![d.reserved, b])?,
                        Holds::TakenBy(holder) => tx
                            .prepare_cached(
                                "UPDATE budget_holds SET amount = amount - ?1
                                 WHERE holder = ?2 AND budget_id = ?3",
                            )?
                            .execute(params![d.reserved, holder, b])?,
                    };
                }
                out.push(Recorded::Stored);
                continue;
            }
            let existing = tx
                .prepare_cached(&format!(
                    "SELECT {DECISION_COLUMNS} FROM decisions WHERE idempotency_key = ?1 OR id = ?2"
                ))?
                .query_row(params![d.idempotency_key, d.id], decision_of)?;
            out.push(Recorded::Existing(Box::new(existing)));
        }
        tx.commit()?;
        Ok(out)
    }

    fn events_of(
        &mut self,
        customer: &str,
        limit: usize,
    ) -> Result<Vec<discount_core::Event>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, at, payload FROM events WHERE user_id = ?1 ORDER BY at DESC, id DESC LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![customer, limit as i64], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, String>(2)?,
            ))
        })?;
        let mut events = Vec::new();
        for row in rows {
            let (id, at, payload) = row?;
            events.push(discount_core::Event {
                id,
                user_id: customer.to_string(),
                time: discount_core::Timestamp(at),
                kind: serde_json::from_str(&payload)?,
            });
        }
        events.reverse();
        Ok(events)
    }

    fn item_categories(
        &mut self,
        item_ids: &[String],
    ) -> Result<Vec<(String, String)>, StoreError> {
        crate::sqlite::item_categories(&self.conn, item_ids)
    }

    fn offers_of(
        &mut self,
        customer: &str,
        since: i64,
        limit: usize,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        // Read from the index (customer_id, at, id, offer_id) alone.
        let mut stmt = self.conn.prepare_cached(
            "SELECT offer_id, at FROM decisions WHERE customer_id = ?1 AND at >= ?2
             ORDER BY at DESC, id DESC LIMIT ?3",
        )?;
        let rows = stmt.query_map(params![customer, since, limit as i64], |r| {
            Ok((r.get::<_, Option<String>>(0)?, r.get::<_, i64>(1)?))
        })?;
        let mut offers = Vec::new();
        for row in rows {
            if let (Some(offer), at) = row? {
                offers.push((offer, at));
            }
        }
        Ok(offers)
    }

    fn decision(&mut self, id: &str) -> Result<Option<DecisionRow>, StoreError> {
        Ok(self.decisions_where("id = ?1", [id])?.pop())
    }

    fn decision_by_idempotency_key(
        &mut self,
        key: &str,
    ) -> Result<Option<DecisionRow>, StoreError> {
        Ok(self.decisions_where("idempotency_key = ?1", [key])?.pop())
    }

    fn open_decisions_of(
        &mut self,
        customer: &str,
        at: i64,
    ) -> Result<Vec<DecisionRow>, StoreError> {
        self.decisions_where(
            "customer_id = ?1 AND joined = 0 AND at <= ?2 AND attribution_deadline >= ?2
             ORDER BY at DESC, id DESC",
            params![customer, at],
        )
    }

    fn due_decisions(&mut self, now: i64, limit: usize) -> Result<Vec<DecisionRow>, StoreError> {
        self.decisions_where(
            "joined = 0 AND attribution_deadline <= ?1 ORDER BY attribution_deadline, id LIMIT ?2",
            params![now, limit as i64],
        )
    }

    fn order_lines_between(
        &mut self,
        customer: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<OrderLineFact>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT e.id, e.at, l.quantity, l.list_price, l.paid, l.coupon_discount, i.unit_cost
             FROM events e JOIN order_lines l ON l.event_id = e.id
             LEFT JOIN items i ON i.id = l.item_id
             WHERE e.user_id = ?1 AND e.kind = 'order' AND e.at >= ?2 AND e.at <= ?3
             ORDER BY e.at, e.id, l.line_no",
        )?;
        let rows = stmt.query_map(params![customer, from, to], |r| {
            Ok(OrderLineFact {
                event_id: r.get(0)?,
                at: r.get(1)?,
                quantity: r.get(2)?,
                list_price: r.get(3)?,
                paid: r.get(4)?,
                coupon_discount: r.get(5)?,
                unit_cost: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn record_outcome(&mut self, o: &OutcomeRow) -> Result<bool, StoreError> {
        let tx = crate::sqlite::write_transaction(&mut self.conn)?;
        let held: Option<(Option<String>, i64)> = tx
            .query_row(
                "UPDATE decisions SET joined = 1 WHERE id = ?1 AND joined = 0
                 RETURNING budget_id, reserved",
                [&o.decision_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((budget_id, reserved)) = held else {
            return Ok(false);
        };
        tx.execute(
            "INSERT INTO decision_outcomes (decision_id, at, source, event_id, converted, revenue,
               discount, profit, charged, recorded_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                o.decision_id,
                o.at,
                o.source.as_str(),
                o.event_id,
                o.converted as i64,
                o.revenue,
                o.discount,
                o.profit,
                o.charged,
                o.recorded_at
            ],
        )?;
        if let Some(b) = budget_id {
            tx.execute(
                "UPDATE budgets SET reserved = reserved - ?1, spent = spent + ?2 WHERE id = ?3",
                params![reserved, o.charged.min(reserved), b],
            )?;
        }
        tx.commit()?;
        Ok(true)
    }

    fn outcome(&mut self, decision_id: &str) -> Result<Option<OutcomeRow>, StoreError> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {OUTCOME_COLUMNS} FROM decision_outcomes WHERE decision_id = ?1"),
                [decision_id],
                outcome_of,
            )
            .optional()?)
    }

    fn joined_decisions(
        &mut self,
        from: i64,
        to: i64,
    ) -> Result<Vec<(DecisionRow, Option<OutcomeRow>)>, StoreError> {
        let decisions =
            self.decisions_where("at >= ?1 AND at < ?2 ORDER BY at, id", params![from, to])?;
        let outcomes: Vec<OutcomeRow> = self
            .conn
            .prepare(&format!(
                "SELECT {OUTCOME_COLUMNS} FROM decision_outcomes o
                 WHERE o.decision_id IN (SELECT id FROM decisions WHERE at >= ?1 AND at < ?2)"
            ))?
            .query_map(params![from, to], outcome_of)?
            .collect::<Result<_, _>>()?;
        Ok(crate::decision_log::join_outcomes(decisions, outcomes))
    }

    fn scan_joined_decisions(
        &mut self,
        from: i64,
        to: i64,
        visit: &mut dyn FnMut(DecisionRow, Option<OutcomeRow>) -> std::ops::ControlFlow<()>,
    ) -> Result<u64, StoreError> {
        let sql =
            crate::decision_log::joined_scan_sql(DECISION_COLUMNS, OUTCOME_COLUMNS, "?1", "?2");
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query(params![from, to])?;
        let mut visited = 0;
        while let Some(r) = rows.next()? {
            let decision = decision_of(r)?;
            // The outcome's columns follow the decision's 17; its key is null when there is none.
            let outcome = match r.get::<_, Option<String>>(17)? {
                Some(_) => Some(outcome_at(r, 17)?),
                None => None,
            };
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
            self.decisions_where("1 = 1 ORDER BY at DESC, id DESC LIMIT ?1", params![limit])?;
        let outcomes: Vec<OutcomeRow> = self
            .conn
            .prepare(&format!(
                "SELECT {OUTCOME_COLUMNS} FROM decision_outcomes o WHERE o.decision_id IN
                 (SELECT id FROM decisions ORDER BY at DESC, id DESC LIMIT ?1)"
            ))?
            .query_map(params![limit], outcome_of)?
            .collect::<Result<_, _>>()?;
        Ok(crate::decision_log::join_outcomes(decisions, outcomes))
    }

    fn log_counts(&mut self) -> Result<(i64, i64, i64), StoreError> {
        Ok(self.conn.query_row(
            "SELECT (SELECT COUNT(*) FROM decisions), (SELECT COUNT(*) FROM decisions WHERE joined = 0),
                    (SELECT COUNT(*) FROM decision_outcomes)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?)
    }

    fn erase_customer(
        &mut self,
        customer: &str,
        salt: &[u8],
        at: i64,
        reason: &str,
    ) -> Result<Erasure, StoreError> {
        let tx = crate::sqlite::write_transaction(&mut self.conn)?;
        tx.execute(
            "DELETE FROM order_lines WHERE event_id IN (SELECT id FROM events WHERE user_id = ?1)",
            params![customer],
        )?;
        let events = tx.execute("DELETE FROM events WHERE user_id = ?1", params![customer])?;
        let users = tx.execute("DELETE FROM users WHERE id = ?1", params![customer])?;
        tx.execute(
            "DELETE FROM recommendation_slates WHERE customer_id = ?1",
            params![customer],
        )?;
        // The profile state is derived from the erased events.
        tx.execute(
            "DELETE FROM profile_states WHERE user_id = ?1",
            params![customer],
        )?;
        let rows: Vec<DecisionRow> = tx
            .prepare(&format!(
                "SELECT {DECISION_COLUMNS} FROM decisions WHERE customer_id = ?1"
            ))?
            .query_map(params![customer], decision_of)?
            .collect::<Result<_, _>>()?;
        let stand_in = erased_id(salt, customer);
        let decisions = sqlite_anonymise(&tx, &rows, |_| stand_in.clone())?;
        let erasure = Erasure {
            audit_id: erasure_audit_id(salt, at),
            events: events as i64,
            users: users as i64,
            decisions,
        };
        sqlite_audit(&tx, &erasure, at, reason)?;
        tx.commit()?;
        Ok(erasure)
    }

    fn erase_before(&mut self, cutoff: i64, salt: &[u8], at: i64) -> Result<Erasure, StoreError> {
        let tx = crate::sqlite::write_transaction(&mut self.conn)?;
        tx.execute(
            "DELETE FROM order_lines WHERE event_id IN (SELECT id FROM events WHERE at < ?1)",
            params![cutoff],
        )?;
        let events = tx.execute("DELETE FROM events WHERE at < ?1", params![cutoff])?;
        tx.execute(
            "DELETE FROM recommendation_slates WHERE at < ?1",
            params![cutoff],
        )?;
        let rows: Vec<DecisionRow> = tx
            .prepare(&format!(
                "SELECT {DECISION_COLUMNS} FROM decisions
                 WHERE at < ?1 AND customer_id NOT LIKE 'erased-%'"
            ))?
            .query_map(params![cutoff], decision_of)?
            .collect::<Result<_, _>>()?;
        let decisions = sqlite_anonymise(&tx, &rows, |c| erased_id(salt, c))?;
        let erasure = Erasure {
            audit_id: erasure_audit_id(salt, at),
            events: events as i64,
            users: 0,
            decisions,
        };
        sqlite_audit(&tx, &erasure, at, "retention")?;
        tx.commit()?;
        Ok(erasure)
    }

    fn checkpoint(&mut self, restart: bool) -> Result<(), StoreError> {
        self.conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        if restart {
            // Right after the passive pass little is left, so the writer is held only briefly
            // while the log is rewound to its start (it would otherwise grow without end).
            self.conn
                .query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(()))?;
        }
        Ok(())
    }
}

impl KeyStore for SqliteDecisionLog {
    fn create_key(&mut self, k: &ApiKeyRow) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO api_keys (id, name, role, secret_hash, rate_per_second, created_at, revoked_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                k.id,
                k.name,
                k.role,
                k.secret_hash,
                k.rate_per_second,
                k.created_at,
                k.revoked_at
            ],
        )?;
        Ok(())
    }

    fn key(&mut self, id: &str) -> Result<Option<ApiKeyRow>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, name, role, secret_hash, rate_per_second, created_at, revoked_at
                 FROM api_keys WHERE id = ?1",
                [id],
                key_of,
            )
            .optional()?)
    }

    fn keys(&mut self) -> Result<Vec<ApiKeyRow>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, name, role, secret_hash, rate_per_second, created_at, revoked_at
             FROM api_keys ORDER BY created_at, id",
        )?;
        let rows = stmt.query_map([], key_of)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn revoke_key(&mut self, id: &str, at: i64) -> Result<bool, StoreError> {
        Ok(self.conn.execute(
            "UPDATE api_keys SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
            params![at, id],
        )? == 1)
    }
}

impl BudgetStore for SqliteDecisionLog {
    fn set_budget(&mut self, id: &str, currency: &str, total: i64) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO budgets (id, currency, total, reserved, spent) VALUES (?1, ?2, ?3, 0, 0)
             ON CONFLICT (id) DO UPDATE SET total = excluded.total, currency = excluded.currency",
            params![id, currency, total],
        )?;
        Ok(())
    }

    fn budget(&mut self, id: &str) -> Result<Option<BudgetRow>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, currency, total, reserved, spent FROM budgets WHERE id = ?1",
                [id],
                budget_of,
            )
            .optional()?)
    }

    fn budgets(&mut self) -> Result<Vec<BudgetRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, currency, total, reserved, spent FROM budgets ORDER BY id")?;
        let rows = stmt.query_map([], budget_of)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn reserve(
        &mut self,
        holder: &str,
        id: &str,
        amount: i64,
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        let tx = crate::sqlite::write_transaction(&mut self.conn)?;
        let remaining: Option<i64> = tx
            .prepare_cached(
                "UPDATE budgets SET reserved = reserved + ?1
                 WHERE id = ?2 AND spent + reserved + ?1 <= total
                 RETURNING total - spent - reserved",
            )?
            .query_row(params![amount, id], |r| r.get(0))
            .optional()?;
        if remaining.is_some() {
            tx.prepare_cached(
                "INSERT INTO budget_holds (holder, budget_id, amount, heartbeat_at)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (holder, budget_id)
                 DO UPDATE SET amount = amount + excluded.amount, heartbeat_at = excluded.heartbeat_at",
            )?
            .execute(params![holder, id, amount, now])?;
        }
        tx.commit()?;
        Ok(remaining)
    }

    fn release(&mut self, holder: &str, id: &str, amount: i64) -> Result<(), StoreError> {
        let tx = crate::sqlite::write_transaction(&mut self.conn)?;
        tx.prepare_cached("UPDATE budgets SET reserved = reserved - ?1 WHERE id = ?2")?
            .execute(params![amount, id])?;
        tx.prepare_cached(
            "UPDATE budget_holds SET amount = amount - ?1 WHERE holder = ?2 AND budget_id = ?3",
        )?
        .execute(params![amount, holder, id])?;
        tx.commit()?;
        Ok(())
    }

    fn heartbeat_holds(&mut self, holder: &str, now: i64) -> Result<(), StoreError> {
        self.conn
            .prepare_cached("UPDATE budget_holds SET heartbeat_at = ?1 WHERE holder = ?2")?
            .execute(params![now, holder])?;
        Ok(())
    }

    fn expire_holds(&mut self, stale_before: i64) -> Result<i64, StoreError> {
        let tx = crate::sqlite::write_transaction(&mut self.conn)?;
        let stale: Vec<(String, i64)> = tx
            .prepare_cached(
                "DELETE FROM budget_holds WHERE heartbeat_at < ?1 RETURNING budget_id, amount",
            )?
            .query_map(params![stale_before], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let mut released = 0;
        for (budget, amount) in stale.iter().filter(|(_, a)| *a > 0) {
            tx.prepare_cached("UPDATE budgets SET reserved = reserved - ?1 WHERE id = ?2")?
                .execute(params![amount, budget])?;
            released += amount;
        }
        tx.commit()?;
        Ok(released)
    }
}

impl PolicyStore for SqliteDecisionLog {
    fn register_policy(
        &mut self,
        version: &str,
        config: &str,
        at: i64,
    ) -> Result<bool, StoreError> {
        Ok(self.conn.execute(
            "INSERT INTO policies (version, config, created_at, activated_seq, active, apprentice)
             VALUES (?1, ?2, ?3, NULL, 0, 0) ON CONFLICT (version) DO NOTHING",
            params![version, config, at],
        )? == 1)
    }

    fn policies(&mut self) -> Result<Vec<PolicyRow>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT version, config, created_at, activated_seq, active, apprentice
             FROM policies ORDER BY created_at, version",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(PolicyRow {
                version: r.get(0)?,
                config: r.get(1)?,
                created_at: r.get(2)?,
                activated_seq: r.get(3)?,
                active: r.get::<_, i64>(4)? != 0,
                apprentice: r.get::<_, i64>(5)? != 0,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn activate_policy(&mut self, version: &str) -> Result<bool, StoreError> {
        let tx = crate::sqlite::write_transaction(&mut self.conn)?;
        let exists = tx
            .query_row(
                "SELECT 1 FROM policies WHERE version = ?1",
                [version],
                |_| Ok(()),
            )
            .optional()?
            .is_some();
        if !exists {
            return Ok(false);
        }
        tx.execute("UPDATE policies SET active = 0", [])?;
        tx.execute(
            "UPDATE policies SET active = 1,
               activated_seq = (SELECT COALESCE(MAX(activated_seq), 0) + 1 FROM policies)
             WHERE version = ?1",
            [version],
        )?;
        tx.commit()?;
        Ok(true)
    }

    fn roll_back_policy(&mut self) -> Result<Option<String>, StoreError> {
        let tx = crate::sqlite::write_transaction(&mut self.conn)?;
        let previous: Option<String> = tx
            .query_row(
                "SELECT version FROM policies WHERE active = 0 AND activated_seq IS NOT NULL
                 ORDER BY activated_seq DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        let Some(previous) = previous else {
            return Ok(None);
        };
        // The rolled-back version leaves the activation history, so that a second roll-back
        // goes one step further back instead of toggling.
        tx.execute(
            "UPDATE policies SET active = 0, activated_seq = NULL WHERE active = 1",
            [],
        )?;
        tx.execute(
            "UPDATE policies SET active = 1 WHERE version = ?1",
            [&previous],
        )?;
        tx.commit()?;
        Ok(Some(previous))
    }

    fn set_apprentice(&mut self, version: &str, on: bool) -> Result<bool, StoreError> {
        Ok(self.conn.execute(
            "UPDATE policies SET apprentice = ?1 WHERE version = ?2",
            params![on as i64, version],
        )? == 1)
    }
}

fn sqlite_anonymise(
    tx: &rusqlite::Transaction<'_>,
    rows: &[DecisionRow],
    stand_in: impl Fn(&str) -> String,
) -> Result<i64, StoreError> {
    let mut update = tx.prepare(
        "UPDATE decisions SET customer_id = ?1, idempotency_key = NULL, request = ?2, response = ?3
         WHERE id = ?4",
    )?;
    for row in rows {
        let id = stand_in(&row.customer_id);
        let (request, response) = anonymised(row, &id);
        update.execute(params![id, request, response, row.id])?;
    }
    Ok(rows.len() as i64)
}

fn sqlite_audit(
    tx: &rusqlite::Transaction<'_>,
    e: &Erasure,
    at: i64,
    reason: &str,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO erasures (id, at, reason, events, users, decisions) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![e.audit_id, at, reason, e.events, e.users, e.decisions],
    )?;
    Ok(())
}

const OUTCOME_COLUMNS: &str =
    "decision_id, at, source, event_id, converted, revenue, discount, profit, charged, recorded_at";

fn outcome_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutcomeRow> {
    outcome_at(r, 0)
}

/// The outcome whose [`OUTCOME_COLUMNS`] start at column `base` of the row.
fn outcome_at(r: &rusqlite::Row<'_>, base: usize) -> rusqlite::Result<OutcomeRow> {
    let source: String = r.get(base + 2)?;
    Ok(OutcomeRow {
        decision_id: r.get(base)?,
        at: r.get(base + 1)?,
        source: OutcomeSource::parse(&source).unwrap_or(OutcomeSource::Reported),
        event_id: r.get(base + 3)?,
        converted: r.get::<_, i64>(base + 4)? != 0,
        revenue: r.get(base + 5)?,
        discount: r.get(base + 6)?,
        profit: r.get(base + 7)?,
        charged: r.get(base + 8)?,
        recorded_at: r.get(base + 9)?,
    })
}
