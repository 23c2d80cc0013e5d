//! IndexedDB through `rexie`: the extension's source of truth. A versioned
//! schema with an upgrade path, one transaction per write batch (so a batch
//! lands whole or not at all), and reads that return raw records for the
//! caller to decode. No transaction here ever waits on anything but
//! IndexedDB, so none can span a `fetch`.

use crate::error::{StorageError, js_text};
use rexie::{ObjectStore, Rexie, TransactionMode};
use std::future::Future;
use std::task::Poll;
use wasm_bindgen::JsValue;

/// The database's name in the extension's origin.
pub const DB_NAME: &str = "worktime-sync";

/// The schema version this build opens.
pub const CURRENT_VERSION: u32 = 2;

/// Object stores by the version that introduced them. Each store keeps
/// records under out-of-line string keys.
///
/// - v1: the engine's stores and the shell's settings.
/// - v2: `quarantine`, where records that fail to decode are set aside.
pub const STORES_BY_VERSION: &[(u32, &[&str])] = &[
    (
        1,
        &[
            stores::SESSIONS,
            stores::QUEUE,
            stores::FAILED,
            stores::META,
            stores::SETTINGS,
        ],
    ),
    (2, &[stores::QUARANTINE]),
];

/// Store names.
pub mod stores {
    /// Review sessions, by local id.
    pub const SESSIONS: &str = "sessions";
    /// Pending changes waiting to be sent.
    pub const QUEUE: &str = "queue";
    /// The dead-letter list: permanent rejections.
    pub const FAILED: &str = "failed";
    /// Sync bookkeeping: last attempt, last success, counters.
    pub const META: &str = "meta";
    /// The shell's own settings (server URL, token).
    pub const SETTINGS: &str = "settings";
    /// Records that failed to decode, kept for inspection, never deleted silently.
    pub const QUARANTINE: &str = "quarantine";
}

/// The stores that exist at schema `version`.
pub fn stores_at(version: u32) -> Vec<&'static str> {
    STORES_BY_VERSION
        .iter()
        .filter(|(since, _)| *since <= version)
        .flat_map(|(_, names)| names.iter().copied())
        .collect()
}

/// One change in a write batch: put `value` under `key`, or delete `key`
/// when `value` is `None`.
#[derive(Debug, Clone)]
pub struct RawWrite {
    /// The object store.
    pub store: String,
    /// The record's key.
    pub key: String,
    /// The new value, or `None` to delete.
    pub value: Option<JsValue>,
}

/// An open database.
#[derive(Debug)]
pub struct Db {
    rexie: Rexie,
}

impl Db {
    /// Opens (creating or upgrading as needed) the database at the current schema.
    pub async fn open(name: &str) -> Result<Db, StorageError> {
        Self::open_at(name, CURRENT_VERSION).await
    }

    /// Opens the database at a given schema version. Production code opens at
    /// [`CURRENT_VERSION`]; upgrade tests open an older one first.
    pub async fn open_at(name: &str, version: u32) -> Result<Db, StorageError> {
        let mut builder = Rexie::builder(name).version(version);
        for store in stores_at(version) {
            builder = builder.add_object_store(ObjectStore::new(store));
        }
        let rexie = builder
            .build()
            .await
            .map_err(|e| StorageError::Open(e.to_string()))?;
        Ok(Db { rexie })
    }

    /// The schema version the database is at.
    pub fn version(&self) -> Result<u32, StorageError> {
        self.rexie
            .version()
            .map_err(|e| StorageError::Open(e.to_string()))
    }

    /// Names of the stores that exist.
    pub fn store_names(&self) -> Vec<String> {
        self.rexie.store_names()
    }

    /// Closes the connection (other connections may then upgrade or delete).
    pub fn close(self) {
        self.rexie.close();
    }

    /// Deletes the database named `name`.
    pub async fn delete(name: &str) -> Result<(), StorageError> {
        Rexie::delete(name)
            .await
            .map_err(|e| StorageError::Open(e.to_string()))
    }

    /// Applies `writes` in one read-write transaction over exactly the stores
    /// they touch: all of them land, or none does.
    ///
    /// Every request is issued before any answer is awaited: IndexedDB runs a
    /// transaction's requests in order, and waiting for each answer before
    /// issuing the next costs a round trip to the browser per write (a
    /// thousand-write group commit took ~4× as long that way).
    pub async fn write(&self, writes: &[RawWrite]) -> Result<(), StorageError> {
        if writes.is_empty() {
            return Ok(());
        }
        // The stores touched, each once (a few at most: a linear check
        // costs less wasm than a sort).
        let mut names: Vec<&str> = Vec::new();
        for write in writes {
            if !names.contains(&write.store.as_str()) {
                names.push(&write.store);
            }
        }
        let tx = self
            .rexie
            .transaction(&names, TransactionMode::ReadWrite)
            .map_err(|e| StorageError::Write(e.to_string()))?;
        let mut failure = None;
        let mut requests = Vec::with_capacity(writes.len());
        for write in writes {
            match tx.store(&write.store) {
                Ok(store) => requests.push(Box::pin(apply(store, write))),
                Err(e) => {
                    failure = Some(StorageError::Write(format!("{}: {e}", write.store)));
                    break;
                }
            }
        }
        // A request's first poll issues it; one thrown at once (before
        // IndexedDB saw it, e.g. an uncloneable value) answers at once.
        let mut answers: Vec<Option<Result<(), StorageError>>> = Vec::new();
        std::future::poll_fn(|cx| {
            answers = requests
                .iter_mut()
                .map(|request| match request.as_mut().poll(cx) {
                    Poll::Ready(answer) => Some(answer),
                    Poll::Pending => None,
                })
                .collect();
            Poll::Ready(())
        })
        .await;
        // An exception thrown before a request does not abort the
        // transaction by itself: abort now, before the other requests can
        // commit it.
        if failure.is_none()
            && let Some(thrown) = answers.iter().position(|a| matches!(a, Some(Err(_))))
        {
            // Its error is the one to report (the requests before it will
            // end with AbortError); its slot stays answered.
            failure = answers[thrown].replace(Ok(())).and_then(Result::err);
        }
        let mut tx = Some(tx);
        if failure.is_some()
            && let Some(tx) = tx.take()
        {
            let _ = tx.abort().await;
        }
        // Every request is awaited, also after a failure (they then end
        // with AbortError): their callbacks must outlive their answers. The
        // first failure in order is the one that aborted the transaction.
        for (request, answer) in requests.iter_mut().zip(answers) {
            let answer = match answer {
                Some(answer) => answer,
                None => request.as_mut().await,
            };
            if let Err(e) = answer {
                failure.get_or_insert(e);
            }
        }
        match (failure, tx) {
            (None, Some(tx)) => tx
                .done()
                .await
                .map_err(|e| StorageError::Write(e.to_string()))
                .and_then(|result| {
                    if result.is_committed() {
                        Ok(())
                    } else {
                        Err(StorageError::Write("the transaction was aborted".into()))
                    }
                }),
            (failure, tx) => {
                // A failed request usually aborts the transaction by itself;
                // aborting again changes nothing. Either way nothing is written.
                if let Some(tx) = tx {
                    let _ = tx.abort().await;
                }
                Err(failure
                    .unwrap_or_else(|| StorageError::Write("the transaction was aborted".into())))
            }
        }
    }

    /// Every `(key, value)` in `store`, in key order, undecoded.
    pub async fn read_all(&self, store: &str) -> Result<Vec<(String, JsValue)>, StorageError> {
        let read_error = read_error(store);
        let tx = self
            .rexie
            .transaction(&[store], TransactionMode::ReadOnly)
            .map_err(read_error)?;
        let pairs = tx
            .store(store)
            .map_err(read_error)?
            .scan(None, None, None, None)
            .await
            .map_err(read_error)?;
        tx.done().await.map_err(read_error)?;
        Ok(pairs
            .into_iter()
            .map(|(key, value)| (key.as_string().unwrap_or_else(|| js_text(&key)), value))
            .collect())
    }

    /// The value under `key` in `store`, undecoded.
    pub async fn get(&self, store: &str, key: &str) -> Result<Option<JsValue>, StorageError> {
        let read_error = read_error(store);
        let tx = self
            .rexie
            .transaction(&[store], TransactionMode::ReadOnly)
            .map_err(read_error)?;
        let value = tx
            .store(store)
            .map_err(read_error)?
            .get(key.into())
            .await
            .map_err(read_error)?;
        tx.done().await.map_err(read_error)?;
        Ok(value)
    }

    /// Number of records in `store`.
    pub async fn count(&self, store: &str) -> Result<u32, StorageError> {
        let read_error = read_error(store);
        let tx = self
            .rexie
            .transaction(&[store], TransactionMode::ReadOnly)
            .map_err(read_error)?;
        let n = tx
            .store(store)
            .map_err(read_error)?
            .count(None)
            .await
            .map_err(read_error)?;
        tx.done().await.map_err(read_error)?;
        Ok(n)
    }

    /// Moves the record `key` of `store` into the quarantine store, with
    /// `reason` and the time, in one transaction: it is out of the engine's
    /// way but not lost.
    pub async fn quarantine(
        &self,
        store: &str,
        key: &str,
        raw: &JsValue,
        reason: &str,
        at_millis: i64,
    ) -> Result<(), StorageError> {
        let entry = js_sys::Object::new();
        let set = |k: &str, v: &JsValue| {
            js_sys::Reflect::set(&entry, &k.into(), v)
                .map(|_| ())
                .map_err(|e| StorageError::Encode {
                    store: stores::QUARANTINE.into(),
                    reason: js_text(&e),
                })
        };
        set("store", &store.into())?;
        set("key", &key.into())?;
        set("value", raw)?;
        set("reason", &reason.into())?;
        set("at", &JsValue::from_f64(at_millis as f64))?;
        self.write(&[
            RawWrite {
                store: stores::QUARANTINE.into(),
                key: format!("{store}/{key}"),
                value: Some(entry.into()),
            },
            RawWrite {
                store: store.into(),
                key: key.into(),
                value: None,
            },
        ])
        .await
    }
}

async fn apply(store: rexie::Store, write: &RawWrite) -> Result<(), StorageError> {
    let key = JsValue::from_str(&write.key);
    let result = match &write.value {
        Some(value) => store.put(value, Some(&key)).await.map(|_| ()),
        None => store.delete(key).await,
    };
    result.map_err(|e| {
        StorageError::Write(format!("{}/{}: {}", write.store, write.key, idb_detail(&e)))
    })
}

/// rexie's Display says only "idb error"; the cause has the useful part.
fn idb_detail(e: &rexie::Error) -> String {
    match e {
        rexie::Error::IdbError(inner) => inner.to_string(),
        other => other.to_string(),
    }
}

/// Turns a rexie failure while reading `store` into the typed error.
fn read_error(store: &str) -> impl Fn(rexie::Error) -> StorageError + Copy + '_ {
    move |e| StorageError::Read {
        store: store.to_owned(),
        reason: e.to_string(),
    }
}
