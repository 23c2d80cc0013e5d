//! The browser shell of WorkTime Sync. It carries out what the engine
//! (`worktime-core`) decides — IndexedDB writes, `fetch`, timers, alarms,
//! badge — and holds no sync rule of its own: every module converts values
//! and delegates. The glue (`extension/background.js`) calls [`api::Extension`].

pub mod api;
pub mod backlog;
pub mod clock;
pub mod connection;
pub mod convert;
pub mod db;
pub mod error;
pub mod host;
pub mod http;
pub mod log;
pub mod messages;
pub mod settings;
pub mod shell;
pub mod storage;
pub mod tagged;
pub mod timing;
pub mod view;
