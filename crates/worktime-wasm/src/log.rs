//! The shell's console output. Messages never contain the API token: nothing
//! that holds it is ever formatted into a log line.

/// Logs a warning to the worker's console.
pub fn warn(message: &str) {
    web_sys::console::warn_1(&format!("WorkTime Sync: {message}").into());
}

/// Logs an error to the worker's console.
pub fn error(message: &str) {
    web_sys::console::error_1(&format!("WorkTime Sync: {message}").into());
}
