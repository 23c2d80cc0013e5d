//! Coordination: one request in flight, under a lease; triggers that arrive
//! meanwhile collapse into one follow-up; "Sync now" cooldown; pull
//! throttling.

use crate::ids::RequestId;
use worktime_protocol::{DurationMillis, LocalId, MAX_BATCH_ITEMS, UnixMillis};

/// How long a request may stay unanswered before the engine gives up on it
/// (treats it as a timeout) — so a lost answer cannot wedge the sync.
pub const SYNC_LEASE: DurationMillis = DurationMillis::from_secs(60);
/// "Sync now" is refused this long after the last one.
pub const SYNC_NOW_COOLDOWN: DurationMillis = DurationMillis::from_secs(5);
/// Automatic pulls (on popup open) at most this often.
pub const PULL_INTERVAL: DurationMillis = DurationMillis::from_secs(15 * 60);
/// Most pages one pull of today's sessions follows (`next`), 500 sessions
/// each: a server that hands out cursors forever cannot keep the engine
/// pulling.
pub const MAX_PULL_PAGES: u32 = 20;
/// How soon an automatic pull goes again after one that did not succeed, so
/// that opening the popup during an outage does not send a request each time.
pub const PULL_RETRY_INTERVAL: DurationMillis = DurationMillis::from_secs(60);

/// What the request in flight is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Flight {
    /// Sessions sent, with the revision of each.
    Push(Vec<(LocalId, u64)>),
    /// `GET /api/v1/me`, to learn whether the server is back.
    Probe,
    /// `GET /api/v1/sessions` for today's totals: the page after `cursor`
    /// (the first when `None`) of the sessions since `since`.
    Pull {
        /// The `since` of the first page, kept for the pages after it.
        since: String,
        /// Which page of the chain this is (1 for the first).
        page: u32,
    },
}

/// The next page of a pull, when the server's answer said there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PullNext {
    pub(crate) since: String,
    pub(crate) cursor: String,
    pub(crate) page: u32,
}

/// The request in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InFlight {
    pub(crate) id: RequestId,
    pub(crate) flight: Flight,
    /// Method and path, for the popup when the answer is a server problem.
    pub(crate) request: String,
    /// The clock offset its timestamps were sent with.
    pub(crate) offset: DurationMillis,
    pub(crate) lease_until: UnixMillis,
    /// Which token the request carried (see [`Coordinator::token_epoch`]).
    pub(crate) token_epoch: u64,
}

/// Counters of the sync run in progress (first request to nothing left).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Run {
    pub(crate) delivered: usize,
    pub(crate) rejected: usize,
}

/// The coordination state (memory only: a restarted worker has nothing in
/// flight, whatever the previous one was doing).
#[derive(Debug, Clone, Default)]
pub(crate) struct Coordinator {
    next_request: u64,
    pub(crate) in_flight: Option<InFlight>,
    /// A "Sync now" is queued behind the running sync.
    pub(crate) manual_queued: bool,
    pub(crate) cooldown_until: Option<UnixMillis>,
    pub(crate) pull_wanted: bool,
    /// The page a pull still has to fetch (the server's `next`).
    pub(crate) pull_next: Option<PullNext>,
    /// When the last pull was sent (kept in memory only: a restarted worker
    /// may pull once more, which is harmless).
    pub(crate) last_pull_sent: Option<UnixMillis>,
    pub(crate) probe_wanted: bool,
    /// Send once even though the network hint says offline.
    pub(crate) force_once: bool,
    pub(crate) run: Option<Run>,
    /// Bumped by every new token, so a 401 to a request sent with the old
    /// one does not sign the new one out.
    pub(crate) token_epoch: u64,
    /// Most sessions per request: [`MAX_BATCH_ITEMS`], halved after a 413.
    pub(crate) max_batch: usize,
    /// The server's `Retry-After` (on a 429 or 503): no request of any kind
    /// before then, not only the refused sessions again. Mirrored in
    /// [`crate::SyncMeta::server_busy_until`], so a restarted worker waits
    /// too.
    pub(crate) server_busy_until: Option<UnixMillis>,
}

impl Coordinator {
    /// Starts request numbering at a random point, so that answers meant for
    /// a previous worker's requests cannot match this one's.
    pub(crate) fn new(first_request: u64) -> Self {
        Coordinator {
            next_request: first_request,
            max_batch: MAX_BATCH_ITEMS,
            ..Coordinator::default()
        }
    }

    /// Takes the lock for a new request.
    pub(crate) fn begin(
        &mut self,
        flight: Flight,
        request: String,
        offset: DurationMillis,
        now: UnixMillis,
    ) -> (RequestId, bool) {
        let id = RequestId(self.next_request);
        self.next_request = self.next_request.wrapping_add(1);
        self.in_flight = Some(InFlight {
            id,
            flight,
            request,
            offset,
            lease_until: now + SYNC_LEASE,
            token_epoch: self.token_epoch,
        });
        let new_run = self.run.is_none();
        if new_run {
            self.run = Some(Run::default());
        }
        (id, new_run)
    }

    /// Releases the lock if `id` is the request in flight.
    pub(crate) fn finish(&mut self, id: RequestId) -> Option<InFlight> {
        if self.in_flight.as_ref().is_some_and(|f| f.id == id) {
            self.in_flight.take()
        } else {
            None
        }
    }

    pub(crate) fn in_cooldown(&self, now: UnixMillis) -> Option<UnixMillis> {
        self.cooldown_until.filter(|&t| t > now)
    }

    /// Until when the server asked for no requests, if that is still ahead.
    pub(crate) fn server_busy(&self, now: UnixMillis) -> Option<UnixMillis> {
        self.server_busy_until.filter(|&t| t > now)
    }

    pub(crate) fn shift(&mut self, by: DurationMillis) {
        if let Some(f) = self.in_flight.as_mut() {
            f.lease_until = f.lease_until + by;
        }
        if let Some(t) = self.cooldown_until.as_mut() {
            *t = *t + by;
        }
        if let Some(t) = self.server_busy_until.as_mut() {
            *t = *t + by;
        }
    }
}
