-- One decision per transaction: the row as the decision log stores it (docs/scaling.md).
\set c random(1, 100000000)
\set n random(1, 4000000000000)
BEGIN;
INSERT INTO scaling_pgb.decisions VALUES ('d-' || :client_id || '-' || :n, NULL, 'c' || :c, :n, :n + 604800000000, 'checkout-v1/epsilon_greedy/disjoint/v0', '{"kind":"percent_off","percent":10.0}', 0.9333, 0, 120, 'USD', 'b1', 500, repeat('x', 801), repeat('y', 376), 0) ON CONFLICT DO NOTHING;
COMMIT;
