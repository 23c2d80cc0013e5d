//! Values across the JS boundary through `serde-wasm-bindgen`: messages,
//! replies, IndexedDB records and what `chrome.storage.local` keeps. One
//! serializer setting for all of them: plain objects for maps and `null` for
//! `None`, the structured-clone values IndexedDB and `chrome.runtime`
//! messaging keep exactly (and the form the records have always had).

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_wasm_bindgen::Serializer;
use wasm_bindgen::JsValue;

/// Plain objects and `null`, never a `Map` or `undefined`.
const SERIALIZER: Serializer = Serializer::json_compatible();

/// `value` as a plain JS value, or why it cannot be one (e.g. an integer
/// beyond 2^53, which no JS number holds exactly).
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, String> {
    value.serialize(&SERIALIZER).map_err(|e| e.to_string())
}

/// Decodes a JS value (a stored record, a message) into `T`, or says why it
/// does not fit.
pub fn from_js<T: DeserializeOwned>(value: JsValue) -> Result<T, String> {
    serde_wasm_bindgen::from_value(value).map_err(|e| e.to_string())
}
