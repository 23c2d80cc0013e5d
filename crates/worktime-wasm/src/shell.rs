//! The run loop: feeds browser events to the engine as inputs stamped with
//! `Date.now()`, and carries out its outputs in order — persist (awaited,
//! write-ahead), send (in the background, its outcome fed back), wake-ups,
//! status. One input is handled at a time; a fetch never holds that turn.
//!
//! Group commit: inputs that arrive while a turn is busy (a burst of page
//! reports, answers, alarms) wait for the next turn, which hands all of them
//! to the engine and commits everything they wrote in one IndexedDB
//! transaction before any of their other outputs is carried out. Each caller
//! still returns only once its input is committed. A prefix of the engine's
//! persists is all the engine's restart needs, and one merged transaction is
//! such a prefix (the drain rule in `worktime-core`).

use crate::backlog::{WriteBacklog, kept_records, merge_kept};
use crate::db::{DB_NAME, Db};
use crate::error::{HttpError, SettingsError, ShellError, StorageError};
use crate::host::Host;
use crate::http::{self, HttpRequest};
use crate::settings::Settings;
use crate::timing::Timing;
use crate::view::{self, PopupView};
use crate::{clock, convert, log, storage};
use gloo_timers::callback::Timeout;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use worktime_core::output::{Output, SyncNowReply, UiEvent};
use worktime_core::privacy::Privacy;
use worktime_core::{Engine, HttpOutcome, Input};
use worktime_protocol::UnixMillis;

/// The alarm that fires every minute whatever the engine asked: it restarts a
/// killed worker and probes parked items.
pub const FALLBACK_ALARM: &str = "worktime-fallback";
/// The fallback alarm's period, in minutes. The test variant
/// (`./build.sh build --test-variant`, cargo feature `test-variant`) fires it
/// every 6 s so end-to-end tests can watch it probe; what ships waits a
/// minute and carries no way to change that.
pub const FALLBACK_PERIOD_MINUTES: f64 = if cfg!(feature = "test-variant") {
    0.1
} else {
    1.0
};
/// The alarm that carries a far wake-up across worker restarts.
pub const WAKE_ALARM: &str = "worktime-wake";
/// Wake-ups sooner than this use an in-worker timer; later ones an alarm
/// (Chrome clamps packed extensions' alarms to 30 s).
pub const NEAR_WAKE_MS: i64 = 30_000;

/// How often a write batch is tried at once before it is kept in the
/// backlog for the next input.
const PERSIST_TRIES: u32 = 3;

/// The shell's state; shared by the event handlers and background sends.
pub struct Shell {
    db: Db,
    host: Host,
    engine: RefCell<Engine>,
    settings: RefCell<Option<Settings>>,
    timing: Cell<Timing>,
    privacy: RefCell<Privacy>,
    quarantined: Cell<u32>,
    /// Writes IndexedDB refused, retried in front of the next batch.
    backlog: RefCell<WriteBacklog>,
    /// One turn at a time, outputs carried out in order.
    turn: tokio::sync::Mutex<()>,
    /// Inputs waiting for the next turn (stamped when they arrived).
    waiting: RefCell<Vec<Input>>,
    /// Inputs ever handed to [`Shell::handle`]; an input's number is the
    /// count before it.
    arrived: Cell<u64>,
    /// Inputs taken by a turn (the numbers below this one).
    taken: Cell<u64>,
    wake_timer: RefCell<Option<Timeout>>,
    /// The network hint the engine last heard.
    online: Cell<bool>,
    /// The engine's answer to the last Sync-now command.
    sync_now_reply: RefCell<Option<SyncNowReply>>,
}

impl Shell {
    /// Opens storage, loads everything (setting aside what does not decode),
    /// starts the engine and the fallback alarm.
    pub async fn open(host: Host, db_name: Option<&str>) -> Result<Rc<Shell>, ShellError> {
        let db = Db::open(db_name.unwrap_or(DB_NAME)).await?;
        let now = clock::now();
        let settings = storage::load_settings(&db, now).await?;
        let timing: Timing = storage::load_pref(&db, storage::TIMING_KEY, now).await?;
        let privacy: Privacy = storage::load_pref(&db, storage::PRIVACY_KEY, now).await?;
        host.set_idle_detection(timing.idle_seconds.secs()).await;
        let mut loaded = storage::load(&db, now).await?;
        // Writes a previous worker could only keep in chrome.storage.local
        // (IndexedDB refused them): back over what IndexedDB holds, and
        // waiting to be committed there.
        let mut backlog = WriteBacklog::default();
        match host.load_backlog().await {
            Ok(None) => {}
            Ok(Some(value)) => match convert::from_js::<worktime_core::StoredState>(value) {
                Ok(kept) => {
                    log::warn(
                        "records IndexedDB refused before were kept in chrome.storage.local; \
                         putting them back",
                    );
                    merge_kept(&mut loaded.stored, &kept);
                    backlog.restore(&kept);
                }
                Err(e) => log::error(&format!(
                    "the writes kept in chrome.storage.local could not be read: {e}"
                )),
            },
            Err(e) => log::error(&format!("chrome.storage.local could not be read: {e}")),
        }
        for q in &loaded.quarantined {
            log::warn(&format!(
                "a stored record could not be read and was set aside ({}/{}): {}",
                q.store, q.key, q.reason
            ));
        }
        let quarantined = storage::quarantine_count(&db).await?;
        // Tab ids of an earlier browser run name other tabs now: on the
        // run's first start, every stored tab is gone.
        let new_browser_run = host.first_start_this_browser_run().await;
        let open_tabs = if new_browser_run {
            Vec::new()
        } else {
            host.open_tabs().await
        };
        // No event says the machine is already idle or locked when this
        // worker starts: ask, and tell the engine right after it starts.
        let idle_now = host.query_idle_state(timing.idle_seconds.secs()).await;
        let online = http::online();
        let shell = Rc::new(Shell {
            db,
            host,
            engine: RefCell::new(Engine::new()),
            settings: RefCell::new(settings),
            timing: Cell::new(timing),
            privacy: RefCell::new(privacy),
            quarantined: Cell::new(quarantined),
            backlog: RefCell::new(backlog),
            turn: tokio::sync::Mutex::new(()),
            waiting: RefCell::new(Vec::new()),
            arrived: Cell::new(0),
            taken: Cell::new(0),
            wake_timer: RefCell::new(None),
            online: Cell::new(online),
            sync_now_reply: RefCell::new(None),
        });
        shell
            .host
            .ensure_repeating_alarm(FALLBACK_ALARM, FALLBACK_PERIOD_MINUTES)
            .await;
        let has_token = shell.settings.borrow().is_some();
        let stored = loaded.stored;
        shell
            .input(move |now| Input::Started {
                now,
                stored,
                open_tabs: open_tabs.into_iter().map(worktime_core::TabId).collect(),
                new_browser_run,
                has_token,
                online,
                entropy: clock::random_u128(),
                utc_offset_minutes: clock::utc_offset_minutes(),
            })
            .await;
        if let Some(state) = idle_now {
            let threshold = timing.idle_seconds;
            shell.input(|now| state.input(now, threshold)).await;
        }
        Ok(shell)
    }

    /// Handles one input made at the current time; returns once it and
    /// every output it caused are carried out (its writes committed).
    pub async fn input<'a>(self: &Rc<Self>, make: impl FnOnce(UnixMillis) -> Input + 'a) {
        // One non-generic body for every caller: a generic one would put a
        // copy of the engine into the module per call site.
        self.handle(make(clock::now())).await;
    }

    async fn handle(self: &Rc<Self>, input: Input) {
        let number = self.arrived.get();
        self.arrived.set(number + 1);
        self.waiting.borrow_mut().push(input);
        let _turn = self.turn.lock().await;
        if number < self.taken.get() {
            // An earlier turn took this input along and committed it (turns
            // run one at a time): answer now, and leave the inputs that
            // arrived since to their own callers' turn.
            return;
        }
        let inputs = std::mem::take(&mut *self.waiting.borrow_mut());
        self.taken.set(self.arrived.get());
        // Storage failed before: try the refused writes again now, whether
        // or not these inputs write anything (the fallback alarm brings one
        // every minute).
        if self.backlog.borrow().is_waiting() {
            self.persist(&[]).await;
        }
        let mut turn = Turn::default();
        // Report the network hint whenever it changed since the last turn:
        // `online`/`offline` events are not reliably delivered to a worker
        // (nor to one that was stopped when the network changed).
        let online = http::online();
        if online != self.online.replace(online) {
            let now = clock::now();
            self.engine_turn(Input::Network { now, online }, &mut turn);
        }
        for input in inputs {
            self.engine_turn(input, &mut turn);
        }
        self.carry_out(turn).await;
    }

    /// Hands one input to the engine and collects its outputs (the drain
    /// rule: all of them, in order).
    fn engine_turn(&self, input: Input, turn: &mut Turn) {
        let mut engine = self.engine.borrow_mut();
        engine.handle(input);
        while let Some(output) = engine.poll_output() {
            turn.collect(output);
        }
    }

    /// Carries out a turn's outputs: its writes first, in one transaction,
    /// then everything else.
    async fn carry_out(self: &Rc<Self>, turn: Turn) {
        if !turn.writes.is_empty() {
            self.persist(&turn.writes).await;
        }
        for output in turn.rest {
            match output {
                Output::Persist { .. } => {} // collected into `turn.writes`
                Output::Send {
                    request_id,
                    request,
                } => {
                    let shell = Rc::clone(self);
                    wasm_bindgen_futures::spawn_local(async move {
                        let result = shell.send(&request).await;
                        // The server's clock first, so that the answer is
                        // judged with it (a refusal of our timestamps).
                        let server_date = match &result {
                            Some(Ok(resp)) => resp
                                .date
                                .as_deref()
                                .and_then(worktime_core::outcome::parse_http_date),
                            _ => None,
                        };
                        if let Some(server_date) = server_date {
                            shell
                                .input(move |now| Input::ServerClock { now, server_date })
                                .await;
                        }
                        shell
                            .input(move |now| Input::Response {
                                now,
                                request_id,
                                outcome: outcome_of(result, now),
                            })
                            .await;
                    });
                }
                Output::Event { event } => {
                    if let UiEvent::SyncNow { reply } = event {
                        *self.sync_now_reply.borrow_mut() = Some(reply);
                    }
                }
                // Only the last of these in a turn counts (see `Turn`).
                Output::WakeAt { .. } | Output::CancelWake | Output::StatusChanged { .. } => {}
            }
        }
        match turn.wake {
            Some(Output::WakeAt { at }) => self.wake_at(at).await,
            Some(_) => {
                self.wake_timer.borrow_mut().take();
                self.host.clear_alarm(WAKE_ALARM).await;
            }
            None => {}
        }
        if let Some(view) = turn.status {
            self.publish(&view).await;
        }
    }

    /// Shows `view` on the badge and in any open popup.
    async fn publish(&self, view: &worktime_core::status::SyncView) {
        let popup = self.popup_view_of(view, clock::now());
        let badge = view.badge(popup.configured, popup.storage_error.is_some());
        self.host.set_badge(&badge.text, badge.color).await;
        if let Ok(js) = storage::to_js(&popup, "view") {
            self.host.broadcast(&js).await;
        }
    }

    /// Commits `writes` in one transaction, behind any writes refused
    /// before. When IndexedDB refuses it every time, the batch waits in the
    /// backlog for the next input and the popup says storage is failing;
    /// the engine goes on (a send of what it holds in memory is safe: the
    /// server merges, and the backlog brings the disk level again).
    async fn persist(&self, writes: &[worktime_core::store::Write]) {
        let batch = self.backlog.borrow().batch_with(writes);
        let mut last = None;
        for _ in 0..PERSIST_TRIES {
            match storage::persist(&self.db, &batch).await {
                Ok(()) => {
                    let recovered = self.backlog.borrow_mut().committed();
                    if self.backlog.borrow_mut().take_spare_to_clear() {
                        self.host.clear_backlog().await;
                    }
                    if recovered {
                        log::warn("storage works again: the writes it refused are committed");
                        self.publish_now().await;
                    }
                    return;
                }
                Err(e) => last = Some(e),
            }
        }
        if let Some(e) = last {
            log::error(&format!(
                "{e}; kept in chrome.storage.local and memory, tried again with the next change"
            ));
            let first = self.backlog.borrow().error().is_none();
            // Memory dies with the worker: keep a copy in chrome.storage.local
            // (its own quota) until IndexedDB takes the writes.
            let kept = match storage::to_js(&kept_records(&batch), "backlog") {
                Ok(value) => self.host.save_backlog(&value).await,
                Err(e) => Err(e.to_string()),
            };
            if let Err(why) = &kept {
                log::error(&format!(
                    "chrome.storage.local refused the writes too ({why}): they are in memory only"
                ));
            }
            self.backlog.borrow_mut().refused(batch, e.to_string());
            let changed = self.backlog.borrow_mut().kept(kept);
            if first || changed {
                self.publish_now().await;
            }
        }
    }

    async fn publish_now(&self) {
        let view = self.engine.borrow().view(clock::now());
        self.publish(&view).await;
    }

    /// Sends one request to the configured server. `None` when no server is
    /// configured (the engine then hears 401: there is no usable token).
    async fn send(
        &self,
        request: &worktime_core::output::Request,
    ) -> Option<Result<http::HttpResponse, HttpError>> {
        let settings = self.settings.borrow().clone()?;
        let req = HttpRequest {
            method: request.method.as_str().to_owned(),
            path: request.path.clone(),
            body: request.body.clone(),
        };
        Some(http::send(&settings.server_url, &settings.token, &req).await)
    }

    async fn wake_at(self: &Rc<Self>, at: UnixMillis) {
        let delay = at.0.saturating_sub(clock::now().0).max(0);
        if delay < NEAR_WAKE_MS {
            let shell = Rc::clone(self);
            let timer = Timeout::new(delay as u32, move || {
                wasm_bindgen_futures::spawn_local(async move {
                    shell.input(|now| Input::TimerDue { now }).await;
                });
            });
            *self.wake_timer.borrow_mut() = Some(timer);
            self.host.clear_alarm(WAKE_ALARM).await;
        } else {
            self.wake_timer.borrow_mut().take();
            self.host.set_alarm(WAKE_ALARM, at.0).await;
        }
    }

    /// The popup's view now.
    pub fn popup_view(&self, now: UnixMillis) -> PopupView {
        let view = self.engine.borrow().view(now);
        self.popup_view_of(&view, now)
    }

    fn popup_view_of(&self, view: &worktime_core::status::SyncView, now: UnixMillis) -> PopupView {
        let server_url = self
            .settings
            .borrow()
            .as_ref()
            .map(|s| s.server_url.clone());
        view::popup_view(
            view,
            server_url.as_deref(),
            self.quarantined.get(),
            self.backlog.borrow().error().map(str::to_owned),
            self.backlog.borrow().at_risk(),
            now,
        )
    }

    /// Whether a session is timing `tab` (so an event about it is worth a
    /// turn of the engine).
    pub fn times_tab(&self, tab: worktime_core::TabId) -> bool {
        self.engine
            .borrow()
            .running_sessions()
            .any(|r| r.tabs.iter().any(|t| t.tab == tab))
    }

    /// Takes the engine's answer to the last Sync-now command.
    pub fn take_sync_now_reply(&self) -> Option<SyncNowReply> {
        self.sync_now_reply.borrow_mut().take()
    }

    /// The saved settings.
    pub fn settings(&self) -> Option<Settings> {
        self.settings.borrow().clone()
    }

    /// Stores new settings and tells the engine a token is set.
    pub async fn save_settings(self: &Rc<Self>, settings: Settings) -> Result<(), StorageError> {
        storage::save_settings(&self.db, &settings).await?;
        *self.settings.borrow_mut() = Some(settings);
        self.input(|now| Input::Command {
            now,
            command: worktime_core::Command::TokenSet,
        })
        .await;
        Ok(())
    }

    /// Forgets the saved settings (the token with them) and tells the
    /// engine: nothing is sent until a new token is saved; what waits stays.
    pub async fn disconnect(self: &Rc<Self>) -> Result<(), StorageError> {
        storage::forget_settings(&self.db).await?;
        *self.settings.borrow_mut() = None;
        self.input(|now| Input::Command {
            now,
            command: worktime_core::Command::TokenCleared,
        })
        .await;
        Ok(())
    }

    /// The timing preferences in force.
    pub fn timing(&self) -> Timing {
        self.timing.get()
    }

    /// Stores new timing preferences and hands the idle threshold to
    /// `chrome.idle`.
    pub async fn save_timing(&self, timing: Timing) -> Result<(), StorageError> {
        storage::save_pref(&self.db, storage::TIMING_KEY, &timing).await?;
        self.timing.set(timing);
        self.host
            .set_idle_detection(timing.idle_seconds.secs())
            .await;
        Ok(())
    }

    /// The privacy controls in force.
    pub fn privacy(&self) -> Privacy {
        self.privacy.borrow().clone()
    }

    /// Whether a page on `pr` may be timed (see [`Privacy::allows`]).
    pub fn may_time(&self, pr: &worktime_protocol::PrRef, incognito: bool) -> bool {
        self.privacy.borrow().allows(pr, incognito)
    }

    /// Stores new privacy controls; they apply to the next page report.
    pub async fn save_privacy(&self, privacy: Privacy) -> Result<(), StorageError> {
        storage::save_pref(&self.db, storage::PRIVACY_KEY, &privacy).await?;
        *self.privacy.borrow_mut() = privacy;
        Ok(())
    }

    /// The settings to use for a test, or why there are none.
    pub fn require_settings(&self) -> Result<Settings, SettingsError> {
        self.settings().ok_or(SettingsError::NotConfigured)
    }
}

/// The outputs of one turn's inputs, gathered for carrying out: every write
/// (in order, compacted into one transaction), the sends and events in
/// order, and of the wake-up and the status only the last (each replaces
/// the one before it).
#[derive(Default)]
struct Turn {
    writes: Vec<worktime_core::store::Write>,
    rest: Vec<Output>,
    wake: Option<Output>,
    status: Option<Box<worktime_core::status::SyncView>>,
}

impl Turn {
    fn collect(&mut self, output: Output) {
        match output {
            // Compacted once, when the turn commits (`WriteBacklog::batch_with`).
            Output::Persist { writes } => self.writes.extend(writes),
            Output::WakeAt { .. } | Output::CancelWake => self.wake = Some(output),
            Output::StatusChanged { view } => self.status = Some(view),
            other => self.rest.push(other),
        }
    }
}

/// The engine's view of how a request ended.
fn outcome_of(
    result: Option<Result<http::HttpResponse, HttpError>>,
    now: UnixMillis,
) -> HttpOutcome {
    match result {
        None => HttpOutcome::Unauthorized { status: 401 },
        Some(Ok(resp)) => {
            HttpOutcome::from_response(resp.status, resp.retry_after.as_deref(), resp.body, now)
        }
        Some(Err(HttpError::Timeout(_))) => HttpOutcome::Timeout,
        Some(Err(e)) => HttpOutcome::NetworkError {
            message: e.to_string(),
        },
    }
}
