//! The OpenAPI document served at `/v1/openapi.json`. It is written by hand; the test below
//! checks that its paths and methods are exactly the router's.

pub const DOCUMENT: &str = include_str!("openapi.json");

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    #[test]
    fn document_lists_exactly_the_routes() {
        let doc: serde_json::Value = serde_json::from_str(super::DOCUMENT).unwrap();
        let mut documented = BTreeSet::new();
        for (path, ops) in doc["paths"].as_object().unwrap() {
            for method in ops.as_object().unwrap().keys() {
                documented.insert((method.to_uppercase(), path.clone()));
            }
        }
        let routed: BTreeSet<(String, String)> = crate::app::route_table()
            .into_iter()
            .map(|r| (r.method.to_string(), r.path.to_string()))
            .collect();
        let missing: Vec<_> = routed.difference(&documented).collect();
        let stale: Vec<_> = documented.difference(&routed).collect();
        assert!(
            missing.is_empty(),
            "routes missing from openapi.json: {missing:?}"
        );
        assert!(
            stale.is_empty(),
            "openapi.json documents routes that do not exist: {stale:?}"
        );
    }
}
