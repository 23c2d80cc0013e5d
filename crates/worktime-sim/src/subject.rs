//! The engine under test, optionally with a deliberate bug, so the
//! simulator can show it has teeth.

use std::collections::VecDeque;
use worktime_core::{Engine, Input, Method, Output, StoreName, Write};
use worktime_protocol::{BatchRequest, Session};

/// A deliberate bug to plant in the engine's output stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bug {
    /// The real engine, unchanged.
    None,
    /// Workbox's mistake: delete the queued items just before sending them,
    /// instead of after the server acknowledged them.
    DeleteBeforeAck,
    /// No write-ahead: queue writes are never persisted, so a killed worker
    /// forgets what it had not sent yet.
    SkipQueueWrites,
}

/// The engine as the simulator drives it.
#[derive(Debug)]
pub struct Subject {
    engine: Engine,
    bug: Bug,
    extra: VecDeque<Output>,
}

impl Subject {
    /// A fresh engine (waiting for `Started`) with `bug` planted.
    pub fn new(bug: Bug) -> Self {
        Subject {
            engine: Engine::new(),
            bug,
            extra: VecDeque::new(),
        }
    }

    /// The engine, for its getters.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Feeds one input.
    pub fn handle(&mut self, input: Input) {
        self.engine.handle(input);
    }

    /// The next output, bent by the planted bug.
    pub fn poll_output(&mut self) -> Option<Output> {
        if let Some(o) = self.extra.pop_front() {
            return Some(o);
        }
        let output = self.engine.poll_output()?;
        match (self.bug, output) {
            (Bug::DeleteBeforeAck, Output::Send { request_id, request }) => {
                let ids = pushed_ids(&request);
                let send = Output::Send {
                    request_id,
                    request,
                };
                if ids.is_empty() {
                    return Some(send);
                }
                self.extra.push_back(send);
                Some(Output::Persist {
                    writes: ids
                        .into_iter()
                        .map(|key| Write::Delete {
                            store: StoreName::Queue,
                            key,
                        })
                        .collect(),
                })
            }
            (Bug::SkipQueueWrites, Output::Persist { writes }) => Some(Output::Persist {
                writes: writes
                    .into_iter()
                    .filter(|w| {
                        !matches!(w, Write::Put { record } if record.store() == StoreName::Queue)
                    })
                    .collect(),
            }),
            (_, output) => Some(output),
        }
    }
}

/// The session ids a push request carries.
pub fn pushed_ids(request: &worktime_core::Request) -> Vec<String> {
    let Some(body) = request.body.as_deref() else {
        return Vec::new();
    };
    match request.method {
        Method::Put => serde_json::from_str::<Session>(body)
            .map(|s| vec![s.local_id.to_string()])
            .unwrap_or_default(),
        Method::Post => serde_json::from_str::<BatchRequest>(body)
            .map(|b| b.sessions.iter().map(|s| s.local_id.to_string()).collect())
            .unwrap_or_default(),
        Method::Get => Vec::new(),
    }
}
