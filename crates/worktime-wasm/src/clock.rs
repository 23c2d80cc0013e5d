//! The shell's only clock and only source of randomness: `Date.now()` and
//! `crypto.getRandomValues`. The engine never reads either itself.

use wasm_bindgen::prelude::*;
use worktime_protocol::UnixMillis;

#[wasm_bindgen]
extern "C" {
    /// The global `crypto` object (present in windows and workers alike).
    #[wasm_bindgen(thread_local_v2, js_name = crypto)]
    static CRYPTO: web_sys::Crypto;
}

/// Wall-clock time now, in Unix milliseconds.
pub fn now() -> UnixMillis {
    UnixMillis(js_sys::Date::now() as i64)
}

/// 128 random bits from the platform's cryptographic generator. If that
/// fails (it does not in practice), the current time and `Math.random`
/// stand in, so ids stay distinct.
pub fn random_u128() -> u128 {
    let mut bytes = [0u8; 16];
    let filled = CRYPTO.with(|c| c.get_random_values_with_u8_array(&mut bytes).is_ok());
    if !filled {
        let a = (js_sys::Math::random() * f64::from(u32::MAX)) as u128;
        let b = (js_sys::Math::random() * f64::from(u32::MAX)) as u128;
        return (js_sys::Date::now() as u128) << 64 | a << 32 | b;
    }
    u128::from_le_bytes(bytes)
}

/// 64 random bits (seeds, jitter).
pub fn random_u64() -> u64 {
    random_u128() as u64
}

/// Minutes east of UTC on this computer now (`-getTimezoneOffset()`).
pub fn utc_offset_minutes() -> i32 {
    -(js_sys::Date::new_0().get_timezone_offset() as i32)
}
