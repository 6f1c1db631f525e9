//! Every customer's profile from the store's streaming scan equals the profile built from that
//! customer's own events.

use std::ops::ControlFlow;

use discount_core::config::UnknownItems;
use discount_core::event::WireRecord;
use discount_core::{Record, Timestamp};
use discount_features::{Catalog, FeatureError, ProfileBuilder, ProfileStream};

fn rec(json: &str) -> Record {
    serde_json::from_str::<WireRecord>(json)
        .unwrap()
        .into_record()
        .unwrap()
}

#[test]
fn a_scan_gives_each_users_profile() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("s.sqlite");
    let mut store = discount_store::open(path.to_str().unwrap_or_default())?;
    let mut batch = vec![rec(
        r#"{"type":"item","id":"i1","category":"shoes","list_price":500}"#,
    )];
    for (user, day) in [("u2", 3), ("u1", 1), ("u3", 9), ("u1", 5), ("u2", 20)] {
        batch.push(rec(&format!(
            r#"{{"type":"order","id":"{user}-{day}","user_id":"{user}","time":"2024-03-{day:02}","order_id":"o-{user}-{day}",
                "lines":[{{"item_id":"i1","quantity":1,"list_price":500,"paid":{}}}]}}"#,
            100 * day
        )));
    }
    store.write_batch(&batch, UnknownItems::Register)?;
    let catalog: Catalog = [("i1", "shoes")].into_iter().collect();
    let as_of = Timestamp::parse("as_of", "2024-03-10")?;

    let mut stream = ProfileStream::new(as_of);
    let mut profiles = Vec::new();
    let mut failure: Option<FeatureError> = None;
    store.scan_events(&mut |e| match stream.push(&e, &catalog) {
        Ok(done) => {
            profiles.extend(done);
            ControlFlow::Continue(())
        }
        Err(err) => {
            failure = Some(err);
            ControlFlow::Break(())
        }
    })?;
    if let Some(err) = failure {
        return Err(err.into());
    }
    profiles.extend(stream.finish()?);

    let users: Vec<&str> = profiles.iter().map(|p| p.user_id.as_str()).collect();
    assert_eq!(users, ["u1", "u2", "u3"]);
    for p in &profiles {
        let mut one = ProfileBuilder::with_horizon(p.user_id.clone(), as_of);
        for e in store.events_of_user(&p.user_id)? {
            one.fold(&e, &catalog)?;
        }
        assert_eq!(*p, one.snapshot(as_of)?);
    }
    // u2's order of the 20th is after the cut-off; u3's of the 9th is in.
    assert_eq!((profiles[1].orders, profiles[1].spend_total), (1, 300));
    assert_eq!((profiles[2].orders, profiles[2].spend_total), (1, 900));
    assert_eq!(profiles[0].windows.orders, [1, 2, 2]);
    Ok(())
}
