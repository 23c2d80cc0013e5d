//! The engine's storage on top of [`crate::db`]: turns a `Persist` batch into
//! one IndexedDB transaction, loads everything back at start, and sets aside
//! any record that no longer decodes instead of failing on it.

use crate::convert;
use crate::db::{Db, RawWrite, stores};
use crate::error::StorageError;
use crate::settings::Settings;
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsValue;
use worktime_core::store::{Record, StoreName, StoredState, SyncMeta, Write};
use worktime_protocol::UnixMillis;

/// The settings record's key in [`stores::SETTINGS`].
const SETTINGS_KEY: &str = "server";
/// The timing preferences' key in [`stores::SETTINGS`].
pub const TIMING_KEY: &str = "timing";
/// The privacy controls' key in [`stores::SETTINGS`].
pub const PRIVACY_KEY: &str = "privacy";

/// Converts a value to a plain JS object (numbers, strings, arrays, objects:
/// what IndexedDB's structured clone keeps exactly).
pub fn to_js<T: Serialize>(value: &T, store: &str) -> Result<JsValue, StorageError> {
    convert::to_js(value).map_err(|reason| StorageError::Encode {
        store: store.to_owned(),
        reason,
    })
}

/// Converts one engine write into a raw IndexedDB write.
pub fn raw_write(write: &Write) -> Result<RawWrite, StorageError> {
    Ok(match write {
        Write::Put { record } => {
            let store = record.store().as_str();
            let value = match record {
                Record::Sessions(r) => to_js(r, store)?,
                Record::Queue(r) => to_js(r, store)?,
                Record::Failed(r) => to_js(r, store)?,
                Record::Meta(r) => to_js(r, store)?,
            };
            RawWrite {
                store: store.to_owned(),
                key: record.key(),
                value: Some(value),
            }
        }
        Write::Delete { store, key } => RawWrite {
            store: store.as_str().to_owned(),
            key: key.clone(),
            value: None,
        },
    })
}

/// Applies one `Persist` batch as one transaction: all or nothing.
pub async fn persist(db: &Db, writes: &[Write]) -> Result<(), StorageError> {
    let raw = writes
        .iter()
        .map(raw_write)
        .collect::<Result<Vec<_>, _>>()?;
    db.write(&raw).await
}

/// A record that could not be decoded and was moved to quarantine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quarantined {
    /// The store it was in.
    pub store: String,
    /// Its key.
    pub key: String,
    /// Why it did not decode.
    pub reason: String,
}

/// Everything the engine stored, decoded, plus what had to be set aside.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The state for `Input::Started`.
    pub stored: StoredState,
    /// Records set aside during this load.
    pub quarantined: Vec<Quarantined>,
}

/// Loads every engine store. A record that fails to decode is moved to the
/// quarantine store (with the reason) and left out; it never stops the load.
pub async fn load(db: &Db, now: UnixMillis) -> Result<Loaded, StorageError> {
    let mut loaded = Loaded::default();
    let mut bad = Vec::new();
    let stored = &mut loaded.stored;
    let read = |store: StoreName| db.read_all(store.as_str());
    stored.sessions = values(decode_each(
        StoreName::Sessions,
        read(StoreName::Sessions).await?,
        &mut bad,
    ));
    stored.queue = values(decode_each(
        StoreName::Queue,
        read(StoreName::Queue).await?,
        &mut bad,
    ));
    stored.failed = values(decode_each(
        StoreName::Failed,
        read(StoreName::Failed).await?,
        &mut bad,
    ));
    stored.meta = decode_each::<SyncMeta>(StoreName::Meta, read(StoreName::Meta).await?, &mut bad)
        .into_iter()
        .find(|(key, _)| key == SyncMeta::KEY)
        .map(|(_, meta)| meta);
    for (store, key, raw, reason) in bad {
        db.quarantine(store, &key, &raw, &reason, now.0).await?;
        loaded.quarantined.push(Quarantined {
            store: store.to_owned(),
            key,
            reason,
        });
    }
    Ok(loaded)
}

/// A stored record that did not decode: its store, key, raw value and why.
type Undecodable = (&'static str, String, JsValue, String);

/// Every record read from `store` that decodes as `T`, by key; the others
/// go to `bad`. Only the decoding is generic: reading and quarantining (in
/// [`load`]) are one copy for all stores.
fn decode_each<T: DeserializeOwned>(
    store: StoreName,
    raw: Vec<(String, JsValue)>,
    bad: &mut Vec<Undecodable>,
) -> Vec<(String, T)> {
    let name = store.as_str();
    let mut out = Vec::new();
    for (key, raw) in raw {
        match convert::from_js::<T>(raw.clone()) {
            Ok(value) => out.push((key, value)),
            Err(reason) => bad.push((name, key, raw, reason)),
        }
    }
    out
}

fn values<T>(keyed: Vec<(String, T)>) -> Vec<T> {
    keyed.into_iter().map(|(_, value)| value).collect()
}

/// How many records sit in quarantine (shown in the popup).
pub async fn quarantine_count(db: &Db) -> Result<u32, StorageError> {
    db.count(stores::QUARANTINE).await
}

/// The saved settings, if any. A settings record that does not decode is
/// quarantined and treated as absent (the user re-enters it).
pub async fn load_settings(db: &Db, now: UnixMillis) -> Result<Option<Settings>, StorageError> {
    let Some(raw) = db.get(stores::SETTINGS, SETTINGS_KEY).await? else {
        return Ok(None);
    };
    match convert::from_js::<Settings>(raw.clone()) {
        Ok(settings) => Ok(Some(settings)),
        Err(reason) => {
            db.quarantine(stores::SETTINGS, SETTINGS_KEY, &raw, &reason, now.0)
                .await?;
            Ok(None)
        }
    }
}

/// Saves the settings (one transaction).
pub async fn save_settings(db: &Db, settings: &Settings) -> Result<(), StorageError> {
    db.write(&[RawWrite {
        store: stores::SETTINGS.to_owned(),
        key: SETTINGS_KEY.to_owned(),
        value: Some(to_js(settings, stores::SETTINGS)?),
    }])
    .await
}

/// Deletes the saved settings, the token with them (one transaction).
pub async fn forget_settings(db: &Db) -> Result<(), StorageError> {
    db.write(&[RawWrite {
        store: stores::SETTINGS.to_owned(),
        key: SETTINGS_KEY.to_owned(),
        value: None,
    }])
    .await
}

/// A saved preference record under `key` in [`stores::SETTINGS`] (the
/// timing and privacy choices), or its default. A record that does not
/// decode is quarantined and the default applies.
pub async fn load_pref<T: DeserializeOwned + Default>(
    db: &Db,
    key: &str,
    now: UnixMillis,
) -> Result<T, StorageError> {
    let Some(raw) = db.get(stores::SETTINGS, key).await? else {
        return Ok(T::default());
    };
    match convert::from_js::<T>(raw.clone()) {
        Ok(value) => Ok(value),
        Err(reason) => {
            db.quarantine(stores::SETTINGS, key, &raw, &reason, now.0)
                .await?;
            Ok(T::default())
        }
    }
}

/// Saves a preference record under `key` (one transaction).
pub async fn save_pref<T: Serialize>(db: &Db, key: &str, value: &T) -> Result<(), StorageError> {
    db.write(&[RawWrite {
        store: stores::SETTINGS.to_owned(),
        key: key.to_owned(),
        value: Some(to_js(value, stores::SETTINGS)?),
    }])
    .await
}
