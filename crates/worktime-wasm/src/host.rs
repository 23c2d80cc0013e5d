//! The browser services the glue hands to the shell (`host` in
//! `background.js`): alarms, the badge, tab listing, telling open pages
//! that the view changed, and a second place (`chrome.storage.local`) for
//! writes IndexedDB refuses. Passing them in, rather than binding `chrome.*`
//! directly, keeps the shell runnable in tests where `chrome` does not exist.

use crate::error::js_text;
use crate::timing::IdleState;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen]
extern "C" {
    /// The glue's host object. Every method may return a promise.
    pub type Host;

    #[wasm_bindgen(method, catch, js_name = setAlarm)]
    fn set_alarm_js(this: &Host, name: &str, when_ms: f64) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(method, catch, js_name = ensureRepeatingAlarm)]
    fn ensure_repeating_alarm_js(
        this: &Host,
        name: &str,
        period_minutes: f64,
    ) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(method, catch, js_name = clearAlarm)]
    fn clear_alarm_js(this: &Host, name: &str) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(method, catch, js_name = setBadge)]
    fn set_badge_js(this: &Host, text: &str, color: &str) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(method, catch, js_name = broadcast)]
    fn broadcast_js(this: &Host, view: &JsValue) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(method, catch, js_name = openTabs)]
    fn open_tabs_js(this: &Host) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(method, catch, js_name = setIdleDetection)]
    fn set_idle_detection_js(this: &Host, seconds: u32) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(method, catch, js_name = queryIdleState)]
    fn query_idle_state_js(this: &Host, seconds: u32) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(method, catch, js_name = firstStartThisBrowserRun)]
    fn first_start_this_browser_run_js(this: &Host) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(method, catch, js_name = saveBacklog)]
    fn save_backlog_js(this: &Host, writes: &JsValue) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(method, catch, js_name = loadBacklog)]
    fn load_backlog_js(this: &Host) -> Result<JsValue, JsValue>;

    #[wasm_bindgen(method, catch, js_name = clearBacklog)]
    fn clear_backlog_js(this: &Host) -> Result<JsValue, JsValue>;
}

/// Awaits `value` if it is a promise, and says how it ended.
async fn resolved(value: Result<JsValue, JsValue>) -> Result<JsValue, String> {
    let value = value.map_err(|e| js_text(&e))?;
    match value.dyn_into::<js_sys::Promise>() {
        Ok(promise) => JsFuture::from(promise).await.map_err(|e| js_text(&e)),
        Err(v) => Ok(v),
    }
}

/// Awaits `value` if it is a promise; a failure is logged, never raised:
/// a badge or alarm that could not be set must not stop a sync.
async fn settle(what: &str, value: Result<JsValue, JsValue>) -> Option<JsValue> {
    match resolved(value).await {
        Ok(v) => Some(v),
        Err(e) => {
            crate::log::warn(&format!("{what} failed: {e}"));
            None
        }
    }
}

impl Host {
    /// A one-shot alarm `name` at `when` (Unix ms), replacing any earlier one.
    pub async fn set_alarm(&self, name: &str, when_ms: i64) {
        settle("setAlarm", self.set_alarm_js(name, when_ms as f64)).await;
    }

    /// A repeating alarm every `period_minutes`, created only when missing.
    pub async fn ensure_repeating_alarm(&self, name: &str, period_minutes: f64) {
        settle(
            "ensureRepeatingAlarm",
            self.ensure_repeating_alarm_js(name, period_minutes),
        )
        .await;
    }

    /// Removes the alarm `name`, if set.
    pub async fn clear_alarm(&self, name: &str) {
        settle("clearAlarm", self.clear_alarm_js(name)).await;
    }

    /// Sets the toolbar badge.
    pub async fn set_badge(&self, text: &str, color: &str) {
        settle("setBadge", self.set_badge_js(text, color)).await;
    }

    /// Tells open pages that the popup view changed.
    pub async fn broadcast(&self, view: &JsValue) {
        settle("broadcast", self.broadcast_js(view)).await;
    }

    /// Keeps `writes` (refused by IndexedDB) in `chrome.storage.local`,
    /// replacing what was kept before; `Err` when that refuses too.
    pub async fn save_backlog(&self, writes: &JsValue) -> Result<(), String> {
        resolved(self.save_backlog_js(writes)).await.map(|_| ())
    }

    /// The writes kept by [`Host::save_backlog`], if any (`null` or
    /// `undefined` when none; `Err` when they cannot be read).
    pub async fn load_backlog(&self) -> Result<Option<JsValue>, String> {
        let value = resolved(self.load_backlog_js()).await?;
        Ok((!value.is_null() && !value.is_undefined()).then_some(value))
    }

    /// Forgets the kept writes: IndexedDB has committed them.
    pub async fn clear_backlog(&self) {
        settle("clearBacklog", self.clear_backlog_js()).await;
    }

    /// `chrome.idle.setDetectionInterval(seconds)`.
    pub async fn set_idle_detection(&self, seconds: u32) {
        settle("setIdleDetection", self.set_idle_detection_js(seconds)).await;
    }

    /// `chrome.idle.queryState(seconds)`: the state now, which no event
    /// tells a worker that starts while the machine is idle or locked.
    /// `None` when Chrome does not answer or answers something unknown.
    pub async fn query_idle_state(&self, seconds: u32) -> Option<IdleState> {
        settle("queryIdleState", self.query_idle_state_js(seconds))
            .await
            .and_then(|v| v.as_string())
            .and_then(|name| IdleState::parse(&name))
    }

    /// Whether this is the worker's first start since the browser started
    /// (a marker in `chrome.storage.session`, which a browser restart
    /// clears). Chrome reuses tab ids after a restart, so tab ids stored in
    /// an earlier run name other tabs. Unknown counts as a first start: a
    /// session ended early is better than one timed on the wrong tab.
    pub async fn first_start_this_browser_run(&self) -> bool {
        settle(
            "firstStartThisBrowserRun",
            self.first_start_this_browser_run_js(),
        )
        .await
        .and_then(|v| v.as_bool())
        .unwrap_or(true)
    }

    /// Ids of every open tab (empty if they cannot be listed).
    pub async fn open_tabs(&self) -> Vec<i64> {
        let Some(value) = settle("openTabs", self.open_tabs_js()).await else {
            return Vec::new();
        };
        js_sys::Array::from(&value)
            .iter()
            .filter_map(|v| v.as_f64())
            .map(|v| v as i64)
            .collect()
    }
}
