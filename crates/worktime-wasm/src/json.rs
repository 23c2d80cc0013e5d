//! Values across the JS boundary as JSON: `serde_json` on the Rust side and
//! the engine's own `JSON.parse` / `JSON.stringify` on the other. One
//! serializer for wire bodies, IndexedDB records, messages and replies keeps
//! the wasm small; the JS values are the same plain objects as before
//! (numbers, strings, arrays, objects, `null`), so stored data keeps its form.

use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsValue;

/// `value` as a plain JS value, or why it cannot be one. Integers beyond
/// 2^53 lose precision as they do in any JS number (no stored counter comes
/// near that).
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, String> {
    let text = serde_json::to_string(value).map_err(|e| e.to_string())?;
    parse(&text)
}

/// Decodes a plain JS value (a stored record, a message) into `T`, or says
/// why it does not fit.
pub fn from_js<T: DeserializeOwned>(value: &JsValue) -> Result<T, String> {
    let text = stringify(value)?;
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

fn parse(text: &str) -> Result<JsValue, String> {
    js_sys::JSON::parse(text).map_err(|e| crate::error::js_text(&e))
}

/// `JSON.stringify(value)`; values it cannot write (`undefined`, functions,
/// cycles, BigInts) are an error.
fn stringify(value: &JsValue) -> Result<String, String> {
    js_sys::JSON::stringify(value)
        .map_err(|e| crate::error::js_text(&e))
        .and_then(|text| {
            JsValue::from(text)
                .as_string()
                .ok_or_else(|| "not a JSON value".to_owned())
        })
}
