//! A shell for the engine's behaviour tests: it carries out every output the
//! way the browser shell must (persists into an in-memory store, requests
//! kept until the test answers them, one wake-up timer) and checks the
//! drain rule's promises on every output: a session is persisted before a
//! request carries it, and no wake-up is asked for in the past.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use worktime_core::tracker::LEAVE_GRACE;
use worktime_core::{
    Command, DocId, Engine, HttpOutcome, Input, Method, Output, PageEvent, QueueEntry, Request,
    RequestId, Session, StoredState, SyncView, TabId, UiEvent, UnixMillis,
};
use worktime_protocol::{BatchRequest, BatchResponse, ItemResult, ItemStatus, PrRef};

/// 2026-11-21T12:00:00Z, a Saturday noon in UTC.
pub const T0: i64 = 1_795_262_400_000;

/// The pull request `octo/hello#n`.
pub fn pr(n: u64) -> PrRef {
    PrRef {
        owner: "octo".into(),
        repo: "hello".into(),
        number: n,
    }
}

/// The sessions a push request carries (empty for a GET).
pub fn sessions_in(request: &Request) -> Vec<Session> {
    let body = request.body.as_deref().unwrap_or("");
    match request.method {
        Method::Put => vec![serde_json::from_str(body).expect("a PUT carries a session")],
        Method::Post => {
            serde_json::from_str::<BatchRequest>(body)
                .expect("a POST carries a batch")
                .sessions
        }
        Method::Get => Vec::new(),
    }
}

/// An HTTP answer classified as the shell does it.
pub fn answer(status: u16, retry_after: Option<&str>, body: &str) -> HttpOutcome {
    HttpOutcome::from_response(status, retry_after, body.to_owned(), UnixMillis(T0))
}

/// The contract's error body.
pub fn error_body(code: &str, message: &str, field: Option<&str>) -> String {
    match field {
        Some(f) => {
            format!(r#"{{"error":{{"code":"{code}","message":"{message}","field":"{f}"}}}}"#)
        }
        None => format!(r#"{{"error":{{"code":"{code}","message":"{message}"}}}}"#),
    }
}

/// The success answer the server gives `request`.
pub fn success(request: &Request) -> HttpOutcome {
    let body = match request.method {
        Method::Post => serde_json::to_string(&BatchResponse {
            results: sessions_in(request)
                .iter()
                .map(|s| ItemResult {
                    local_id: s.local_id.to_string(),
                    status: ItemStatus::Ok,
                    error: None,
                })
                .collect(),
        })
        .unwrap(),
        Method::Put => request.body.clone().unwrap_or_default(),
        Method::Get if request.path.starts_with("/api/v1/sessions") => {
            r#"{"sessions":[],"next":null}"#.to_owned()
        }
        Method::Get => r#"{"user":"ada","device":"laptop","device_id":1,"admin":false}"#.to_owned(),
    };
    answer(200, None, &body)
}

/// The engine in its shell.
pub struct Shell {
    /// The engine under test.
    pub engine: Engine,
    /// The wall clock.
    pub now: UnixMillis,
    /// What has committed.
    pub store: StoredState,
    /// Requests sent and not answered yet, oldest first.
    pub requests: Vec<(RequestId, Request)>,
    /// Every request ever sent.
    pub sent_total: usize,
    /// UI events since the last [`Shell::take_events`].
    pub events: Vec<UiEvent>,
    /// The last view announced.
    pub last_view: Option<SyncView>,
    /// The wake-up asked for.
    pub wake: Option<UnixMillis>,
    /// Every output of the last input, in order.
    pub last_outputs: Vec<Output>,
    /// Tabs that exist in the browser.
    pub open_tabs: Vec<i64>,
    pub online: bool,
    pub has_token: bool,
    seq: u64,
    /// Set for the boot of [`Shell::restart_browser`] only.
    new_browser_run: bool,
}

impl Shell {
    /// A started engine: empty storage, online, signed in.
    pub fn new() -> Shell {
        Shell::with_store(StoredState::default(), UnixMillis(T0))
    }

    /// A started engine on `store`.
    pub fn with_store(store: StoredState, now: UnixMillis) -> Shell {
        let mut shell = Shell {
            engine: Engine::new(),
            now,
            store,
            requests: Vec::new(),
            sent_total: 0,
            events: Vec::new(),
            last_view: None,
            wake: None,
            last_outputs: Vec::new(),
            open_tabs: Vec::new(),
            online: true,
            has_token: true,
            seq: 0,
            new_browser_run: false,
        };
        shell.boot();
        shell
    }

    /// The worker was killed and starts again from what committed: requests
    /// in flight and timers are lost with it.
    pub fn restart(&mut self) {
        self.engine = Engine::new();
        self.requests.clear();
        self.wake = None;
        self.boot();
    }

    /// The whole browser went down and starts again: every tab is gone, and
    /// the worker's start is the first of a browser run.
    pub fn restart_browser(&mut self) {
        self.open_tabs.clear();
        self.new_browser_run = true;
        self.restart();
        self.new_browser_run = false;
    }

    fn boot(&mut self) {
        let input = Input::Started {
            now: self.now,
            stored: self.store.clone(),
            open_tabs: self.open_tabs.iter().map(|&t| TabId(t)).collect(),
            new_browser_run: self.new_browser_run,
            has_token: self.has_token,
            online: self.online,
            entropy: 0x5eed_u128 + u128::from(self.seq) * 7919,
            utc_offset_minutes: 0,
        };
        self.handle(input);
    }

    /// Handles one input and carries out every output, in order.
    pub fn handle(&mut self, input: Input) {
        self.engine.handle(input);
        self.last_outputs.clear();
        while let Some(output) = self.engine.poll_output() {
            self.last_outputs.push(output.clone());
            match output {
                Output::Persist { writes } => self.store.apply(&writes),
                Output::Send {
                    request_id,
                    request,
                } => {
                    // Write-ahead: every session sent is durable as sent
                    // (on the wire its times are on the server's clock).
                    let offset = self.engine.clock_offset();
                    for s in sessions_in(&request) {
                        let s = worktime_core::clock::on_the_wire(
                            &s,
                            worktime_protocol::DurationMillis(-offset.0),
                        );
                        let stored = self
                            .store
                            .queue
                            .iter()
                            .find(|e| e.session.local_id == s.local_id);
                        assert_eq!(
                            stored.map(|e| &e.session),
                            Some(&s),
                            "sent before it was persisted: {s:?}"
                        );
                    }
                    self.sent_total += 1;
                    self.requests.push((request_id, request));
                }
                Output::WakeAt { at } => {
                    assert!(at > self.now, "wake-up at {at:?} asked at {:?}", self.now);
                    self.wake = Some(at);
                }
                Output::CancelWake => self.wake = None,
                Output::Event { event } => self.events.push(event),
                Output::StatusChanged { view } => self.last_view = Some(*view),
            }
        }
    }

    /// A page report from `tab` about `octo/hello#n` (all from one showing
    /// per tab, numbered in order).
    pub fn page(&mut self, tab: i64, n: u64, event: PageEvent) {
        self.page_in(tab, 0, n, event);
    }

    /// A page report from showing `doc` in `tab` about `octo/hello#n`.
    pub fn page_in(&mut self, tab: i64, doc: u64, n: u64, event: PageEvent) {
        if !self.open_tabs.contains(&tab) {
            self.open_tabs.push(tab);
        }
        self.seq += 1;
        let input = Input::Page {
            now: self.now,
            tab: TabId(tab),
            pr: pr(n),
            event,
            doc: DocId(doc),
            seq: self.seq,
        };
        self.handle(input);
    }

    /// The page in `tab` (its one showing) moved in-page to a page that is
    /// no pull request.
    pub fn left_pr(&mut self, tab: i64) {
        self.seq += 1;
        let input = Input::LeftPullRequest {
            now: self.now,
            tab: TabId(tab),
            report: Some((DocId(0), self.seq)),
        };
        self.handle(input);
    }

    /// `pagehide` on PR `n` in `tab`, and nothing brings it back: the tab's
    /// grace runs out.
    pub fn leave(&mut self, tab: i64, n: u64) {
        self.page(tab, n, PageEvent::Closed);
        self.advance(LEAVE_GRACE.0);
    }

    /// The tab is closed (`chrome.tabs.onRemoved`, no `pagehide`).
    pub fn remove_tab(&mut self, tab: i64) {
        self.open_tabs.retain(|&t| t != tab);
        let input = Input::TabRemoved {
            now: self.now,
            tab: TabId(tab),
        };
        self.handle(input);
    }

    /// Opens `tab` on PR `n`, visible, and closes it with `pagehide`: one
    /// ended session, queued.
    pub fn review(&mut self, tab: i64, n: u64) {
        self.page(tab, n, PageEvent::Visible);
        self.page(tab, n, PageEvent::Closed);
        self.remove_tab(tab);
    }

    /// A user command.
    pub fn command(&mut self, command: Command) {
        let input = Input::Command {
            now: self.now,
            command,
        };
        self.handle(input);
    }

    /// The network hint changed.
    pub fn set_online(&mut self, online: bool) {
        self.online = online;
        let input = Input::Network {
            now: self.now,
            online,
        };
        self.handle(input);
    }

    /// The fallback alarm fired.
    pub fn alarm(&mut self) {
        let input = Input::AlarmFired { now: self.now };
        self.handle(input);
    }

    /// Lets `ms` pass, delivering the engine's wake-ups on time.
    pub fn advance(&mut self, ms: i64) {
        let target = UnixMillis(self.now.0 + ms);
        while let Some(at) = self.wake.filter(|&at| at <= target) {
            self.now = at;
            self.wake = None;
            self.handle(Input::TimerDue { now: at });
        }
        self.now = target;
    }

    /// Answers the oldest request in flight with `outcome`; returns it.
    pub fn respond(&mut self, outcome: HttpOutcome) -> (RequestId, Request) {
        assert!(!self.requests.is_empty(), "no request to answer");
        let (id, request) = self.requests.remove(0);
        let input = Input::Response {
            now: self.now,
            request_id: id,
            outcome,
        };
        self.handle(input);
        (id, request)
    }

    /// Answers the oldest request as the server would on success.
    pub fn respond_ok(&mut self) -> (RequestId, Request) {
        let outcome = success(&self.requests[0].1);
        self.respond(outcome)
    }

    /// Answers every request with success until none is left; returns how
    /// many there were.
    pub fn deliver_all(&mut self) -> usize {
        let mut n = 0;
        while !self.requests.is_empty() {
            self.respond_ok();
            n += 1;
            assert!(n < 10_000, "the engine never stops sending");
        }
        n
    }

    /// The request in flight (there must be exactly one).
    pub fn only_request(&self) -> &Request {
        assert_eq!(self.requests.len(), 1, "requests: {:?}", self.requests);
        &self.requests[0].1
    }

    /// The UI events since the last call.
    pub fn take_events(&mut self) -> Vec<UiEvent> {
        std::mem::take(&mut self.events)
    }

    /// The popup's snapshot now.
    pub fn view(&self) -> SyncView {
        self.engine.view(self.now)
    }

    /// The stored queue entry of the (only) queued session.
    pub fn only_queued(&self) -> &QueueEntry {
        assert_eq!(self.store.queue.len(), 1, "queue: {:?}", self.store.queue);
        &self.store.queue[0]
    }
}
