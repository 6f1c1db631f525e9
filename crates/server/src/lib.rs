//! The decision service: HTTP API over the policy, durable decision log, outcome join, auth, metrics.
