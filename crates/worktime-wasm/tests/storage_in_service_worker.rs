//! The shell's storage in a real service worker's IndexedDB: the schema
//! upgrade keeps data, a write batch is all-or-nothing, and a record that no
//! longer decodes is set aside instead of breaking the start.
#![cfg(target_arch = "wasm32")]
// `allow-unwrap-in-tests` / `allow-expect-in-tests` do not see `#[wasm_bindgen_test]` functions.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;
use worktime_core::store::{Record, StoreName, SyncMeta, Write};
use worktime_protocol::UnixMillis;
use worktime_wasm::db::{CURRENT_VERSION, Db, RawWrite, stores};
use worktime_wasm::storage;

wasm_bindgen_test_configure!(run_in_service_worker);

/// A database name no other test uses, so tests cannot see each other's data.
fn fresh_name(test: &str) -> String {
    format!("wt-test-{test}-{}", js_sys::Math::random())
}

fn put(store: &str, key: &str, value: JsValue) -> RawWrite {
    RawWrite {
        store: store.into(),
        key: key.into(),
        value: Some(value),
    }
}

fn obj(json: &str) -> JsValue {
    js_sys::JSON::parse(json).unwrap()
}

fn meta_with_error(text: &str) -> SyncMeta {
    SyncMeta {
        last_error: Some(text.into()),
        last_successful: Some(UnixMillis(1_795_300_000_000)),
        counter: 7,
        ..SyncMeta::default()
    }
}

#[wasm_bindgen_test]
async fn data_written_at_version_1_is_intact_after_opening_at_the_current_version() {
    let name = fresh_name("upgrade");
    let v1 = Db::open_at(&name, 1).await.unwrap();
    assert_eq!(v1.version().unwrap(), 1);
    assert!(!v1.store_names().contains(&stores::QUARANTINE.to_string()));
    let meta = meta_with_error("boom");
    storage::persist(
        &v1,
        &[Write::Put {
            record: Record::Meta(meta.clone()),
        }],
    )
    .await
    .unwrap();
    v1.write(&[put(
        stores::SETTINGS,
        "server",
        obj(r#"{"server_url":"https://wt.example","token":"t0k"}"#),
    )])
    .await
    .unwrap();
    v1.close();

    let v2 = Db::open(&name).await.unwrap();
    assert_eq!(v2.version().unwrap(), CURRENT_VERSION);
    const { assert!(CURRENT_VERSION >= 2) };
    assert!(v2.store_names().contains(&stores::QUARANTINE.to_string()));
    let loaded = storage::load(&v2, UnixMillis(0)).await.unwrap();
    assert_eq!(loaded.stored.meta, Some(meta));
    assert!(loaded.quarantined.is_empty());
    let settings = storage::load_settings(&v2, UnixMillis(0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(settings.server_url, "https://wt.example");
    assert_eq!(settings.token, "t0k");
    v2.close();
    Db::delete(&name).await.unwrap();
}

/// Records exactly as the build that stored them through serde-wasm-bindgen
/// wrote them (plain objects, `null` for none), before records went through
/// JSON: they must still load, at version 1 and after the upgrade.
#[wasm_bindgen_test]
async fn records_stored_by_the_serde_wasm_bindgen_build_still_load() {
    let name = fresh_name("old-encoding");
    let session = r#"{"local_id":"s-1","repo_owner":"octo","repo_name":"hello","pr_number":7,
        "started_at":"2026-11-21T09:30:00.250Z","ended_at":null,"active_seconds":12,
        "state":"active","updated_at":"2026-11-21T09:30:12.250Z"}"#;
    let v1 = Db::open_at(&name, 1).await.unwrap();
    v1.write(&[
        put(
            stores::SESSIONS,
            "s-1",
            obj(&format!(
                r#"{{"session":{session},"active_ms":12000,
                "tabs":[{{"tab":17,"visible":true,"seq":1795300000250000}}],
                "last_checkpoint":1795300212250,"last_queued_at":1795300200250}}"#
            )),
        ),
        put(
            stores::QUEUE,
            "s-1",
            obj(&format!(
                r#"{{"session":{session},"priority":"started","order":3,"revision":2,
                "attempts":1,"next_attempt_at":1795300213250,"parked_since":null,
                "last_error":"server answered 503"}}"#
            )),
        ),
        put(
            stores::FAILED,
            "s-0",
            obj(&format!(
                r#"{{"session":{},"reason":"pr_number: bad","code":"invalid",
                "attempts":1,"failed_at":1795300100000,"order":1}}"#,
                session
                    .replace("s-1", "s-0")
                    .replace(r#""active""#, r#""ended""#)
            )),
        ),
        put(
            stores::META,
            SyncMeta::KEY,
            obj(
                r#"{"last_attempted":1795300212000,"last_successful":null,"last_error":null,
                "evictions":0,"signed_out":false,"last_pull":null,
                "today":{"day":20413,"seconds":[["s-1",12]]},"counter":4,"user_idle":false}"#,
            ),
        ),
    ])
    .await
    .unwrap();
    v1.close();

    let db = Db::open(&name).await.unwrap();
    let loaded = storage::load(&db, UnixMillis(0)).await.unwrap();
    assert!(loaded.quarantined.is_empty(), "{:?}", loaded.quarantined);
    let stored = loaded.stored;
    assert_eq!(stored.sessions.len(), 1);
    assert_eq!(stored.sessions[0].active_ms, 12_000);
    assert_eq!(stored.sessions[0].tabs[0].seq, 1_795_300_000_250_000);
    assert_eq!(
        stored.sessions[0].session.started_at,
        UnixMillis(1_795_253_400_250)
    );
    assert_eq!(stored.queue.len(), 1);
    assert_eq!(
        stored.queue[0].next_attempt_at,
        Some(UnixMillis(1_795_300_213_250))
    );
    assert_eq!(
        stored.queue[0].last_error.as_deref(),
        Some("server answered 503")
    );
    assert_eq!(stored.failed.len(), 1);
    assert_eq!(stored.failed[0].reason, "pr_number: bad");
    let meta = stored.meta.unwrap();
    assert_eq!(meta.counter, 4);
    assert_eq!(meta.today.seconds.len(), 1);

    // Written back by this build, they read the same.
    let again: Vec<Write> = stored
        .sessions
        .iter()
        .cloned()
        .map(|r| Write::Put {
            record: Record::Sessions(r),
        })
        .collect();
    storage::persist(&db, &again).await.unwrap();
    let reloaded = storage::load(&db, UnixMillis(0)).await.unwrap();
    assert_eq!(reloaded.stored.sessions, stored.sessions);
    db.close();
    Db::delete(&name).await.unwrap();
}

/// Every record main's build (JSON-text conversion, before
/// serde-wasm-bindgen) stored after a real run, captured from IndexedDB by
/// fixtures/capture_records.mjs: a review refused into the failed list, two
/// waiting in the queue, one still open, sync bookkeeping, settings, timing
/// and privacy. They were already plain structured-clone objects, and
/// serde-wasm-bindgen writes the same form (`null` for `None`, objects for
/// maps), so the schema needs no conversion step: this shows this build
/// reads each of them, sets none aside, and writes them back unchanged.
#[wasm_bindgen_test]
async fn records_written_by_mains_build_load_whole_and_write_back_the_same() {
    let fixture = obj(include_str!("fixtures/main-build-records.json"));
    let get = |o: &JsValue, k: &str| js_sys::Reflect::get(o, &k.into()).unwrap();
    let version = get(&fixture, "version").as_f64().unwrap() as u32;
    assert_eq!(
        version, CURRENT_VERSION,
        "captured at the schema this build opens"
    );
    let name = fresh_name("main-build");
    let old = Db::open_at(&name, version).await.unwrap();
    let mut writes = Vec::new();
    let mut originals = Vec::new();
    for store in [
        stores::SESSIONS,
        stores::QUEUE,
        stores::FAILED,
        stores::META,
        stores::SETTINGS,
    ] {
        for entry in js_sys::Array::from(&get(&fixture, store)).iter() {
            let key = get(&entry, "key").as_string().unwrap();
            let value = get(&entry, "value");
            originals.push((store, key.clone(), js_sys::JSON::stringify(&value).unwrap()));
            writes.push(put(store, &key, value));
        }
    }
    old.write(&writes).await.unwrap();
    old.close();

    let db = Db::open(&name).await.unwrap();
    let loaded = storage::load(&db, UnixMillis(0)).await.unwrap();
    assert!(loaded.quarantined.is_empty(), "{:?}", loaded.quarantined);
    let stored = loaded.stored;
    assert_eq!(stored.sessions.len(), 1, "the open review");
    assert_eq!(stored.sessions[0].session.pr_number, 4);
    assert_eq!(stored.queue.len(), 2);
    assert_eq!(stored.failed.len(), 1);
    assert_eq!(stored.failed[0].reason, "pr_number: no such pull request");
    let meta = stored.meta.clone().unwrap();
    assert_eq!(
        meta.last_error.as_deref(),
        Some("network error: could not reach the server")
    );
    let settings = storage::load_settings(&db, UnixMillis(0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(settings.token, "wt_fixture-token-not-real");
    let timing: worktime_wasm::timing::Timing =
        storage::load_pref(&db, storage::TIMING_KEY, UnixMillis(0))
            .await
            .unwrap();
    assert_eq!(timing.idle_seconds.secs(), 240);
    let privacy: worktime_core::privacy::Privacy =
        storage::load_pref(&db, storage::PRIVACY_KEY, UnixMillis(0))
            .await
            .unwrap();
    assert!(privacy.time_incognito);
    assert_eq!(privacy.repos.len(), 1);
    assert_eq!(storage::quarantine_count(&db).await.unwrap(), 0);

    // Written back by this build (serde-wasm-bindgen), each engine record
    // is the very object main's build stored.
    let mut again: Vec<Write> = Vec::new();
    again.extend(stored.sessions.iter().cloned().map(|r| Write::Put {
        record: Record::Sessions(r),
    }));
    again.extend(stored.queue.iter().cloned().map(|r| Write::Put {
        record: Record::Queue(r),
    }));
    again.extend(stored.failed.iter().cloned().map(|r| Write::Put {
        record: Record::Failed(r),
    }));
    again.push(Write::Put {
        record: Record::Meta(meta),
    });
    storage::persist(&db, &again).await.unwrap();
    storage::save_settings(&db, &settings).await.unwrap();
    for (store, key, before) in originals {
        let now = db.get(store, &key).await.unwrap().unwrap();
        let now = js_sys::JSON::stringify(&now).unwrap();
        if store == stores::SETTINGS && key != "server" {
            continue; // timing and privacy are written only when the user saves them
        }
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&String::from(now)).unwrap(),
            serde_json::from_str::<serde_json::Value>(&String::from(before)).unwrap(),
            "{store}/{key}"
        );
    }
    db.close();
    Db::delete(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn every_engine_store_exists_in_the_current_schema() {
    let name = fresh_name("stores");
    let db = Db::open(&name).await.unwrap();
    let names = db.store_names();
    for store in StoreName::ALL {
        assert!(
            names.contains(&store.as_str().to_string()),
            "{store:?} missing"
        );
    }
    db.close();
    Db::delete(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_batch_that_fails_part_way_writes_nothing() {
    let name = fresh_name("atomic");
    let db = Db::open(&name).await.unwrap();
    db.write(&[put(stores::META, "keep", obj(r#"{"v":1}"#))])
        .await
        .unwrap();

    // A function cannot be stored (structured clone refuses it): the third
    // write throws after two have been issued.
    let uncloneable: JsValue = js_sys::Function::new_no_args("return 1").into();
    let err = db
        .write(&[
            put(stores::META, "keep", obj(r#"{"v":2}"#)),
            put(stores::QUEUE, "new", obj(r#"{"v":3}"#)),
            put(stores::QUEUE, "bad", uncloneable),
        ])
        .await
        .unwrap_err();
    assert!(
        matches!(err, worktime_wasm::error::StorageError::Write(_)),
        "{err:?}"
    );
    // The write that threw is named, not the earlier ones its abort ended.
    assert!(err.to_string().contains("queue/bad"), "{err}");

    let keep = db.get(stores::META, "keep").await.unwrap().unwrap();
    assert_eq!(js_sys::JSON::stringify(&keep).unwrap(), r#"{"v":1}"#);
    assert_eq!(db.get(stores::QUEUE, "new").await.unwrap(), None);
    assert_eq!(db.count(stores::QUEUE).await.unwrap(), 0);

    // And a good batch afterwards lands whole, deletes included.
    db.write(&[
        put(stores::QUEUE, "a", obj("1")),
        put(stores::QUEUE, "b", obj("2")),
        RawWrite {
            store: stores::META.into(),
            key: "keep".into(),
            value: None,
        },
    ])
    .await
    .unwrap();
    assert_eq!(db.count(stores::QUEUE).await.unwrap(), 2);
    assert_eq!(db.get(stores::META, "keep").await.unwrap(), None);
    db.close();
    Db::delete(&name).await.unwrap();
}

#[wasm_bindgen_test]
async fn a_record_that_does_not_decode_is_set_aside_and_the_rest_loads() {
    let name = fresh_name("corrupt");
    let db = Db::open(&name).await.unwrap();
    let meta = meta_with_error("fine");
    storage::persist(
        &db,
        &[Write::Put {
            record: Record::Meta(meta.clone()),
        }],
    )
    .await
    .unwrap();
    db.write(&[
        put(
            stores::QUEUE,
            "garbage",
            obj(r#"{"session":"not a session","priority":42}"#),
        ),
        put(
            stores::FAILED,
            "also-bad",
            JsValue::from_str("just a string"),
        ),
    ])
    .await
    .unwrap();

    let loaded = storage::load(&db, UnixMillis(5)).await.unwrap();
    assert_eq!(loaded.stored.meta, Some(meta));
    assert!(loaded.stored.queue.is_empty());
    assert!(loaded.stored.failed.is_empty());
    let mut set_aside: Vec<_> = loaded
        .quarantined
        .iter()
        .map(|q| (q.store.as_str(), q.key.as_str()))
        .collect();
    set_aside.sort();
    assert_eq!(set_aside, [("failed", "also-bad"), ("queue", "garbage")]);

    // Moved, not lost: out of the engine's stores, into quarantine with the reason.
    assert_eq!(db.count(stores::QUEUE).await.unwrap(), 0);
    assert_eq!(storage::quarantine_count(&db).await.unwrap(), 2);
    let entry = db
        .get(stores::QUARANTINE, "queue/garbage")
        .await
        .unwrap()
        .unwrap();
    let reason = js_sys::Reflect::get(&entry, &"reason".into()).unwrap();
    assert!(!reason.as_string().unwrap().is_empty());
    let value = js_sys::Reflect::get(&entry, &"value".into()).unwrap();
    assert_eq!(
        js_sys::JSON::stringify(&value).unwrap(),
        r#"{"session":"not a session","priority":42}"#
    );

    // A second start finds nothing more to set aside.
    let again = storage::load(&db, UnixMillis(6)).await.unwrap();
    assert!(again.quarantined.is_empty());
    db.close();
    Db::delete(&name).await.unwrap();
}
