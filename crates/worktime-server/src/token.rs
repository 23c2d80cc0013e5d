//! Device tokens: 256 random bits shown once, stored only as a SHA-256 hash.
//!
//! A token looks like `wt_` followed by 64 lowercase hex digits. The hash is
//! what the database keeps and what a lookup compares, so a leaked database
//! does not leak working tokens. Tokens are never logged: [`Token`]'s
//! `Debug` prints a placeholder.

use sha2::{Digest, Sha256};
use std::fmt::Write as _;

/// Prefix that makes a token recognisable (in secret scanners, too).
pub const PREFIX: &str = "wt_";

/// Why no token could be made.
#[derive(Debug, thiserror::Error)]
#[error("the operating system's random source failed: {0}")]
pub struct RandomError(String);

/// A freshly made token, to be shown to the operator exactly once.
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl Token {
    /// Makes a token from 256 bits of the operating system's randomness.
    pub fn generate() -> Result<Token, RandomError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| RandomError(e.to_string()))?;
        Ok(Token(format!("{PREFIX}{}", hex(&bytes))))
    }

    /// The secret text; print it once, never log it.
    pub fn reveal(&self) -> &str {
        &self.0
    }

    /// The hash to store.
    pub fn hash(&self) -> String {
        hash(&self.0)
    }
}

/// SHA-256 of a presented token, as lowercase hex.
pub fn hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_hashed() {
        let a = Token::generate().unwrap();
        let b = Token::generate().unwrap();
        assert_ne!(a.reveal(), b.reveal());
        assert!(a.reveal().starts_with(PREFIX));
        assert_eq!(a.reveal().len(), PREFIX.len() + 64);
        assert_eq!(a.hash(), hash(a.reveal()));
        assert_eq!(a.hash().len(), 64);
        assert!(!a.hash().contains(&a.reveal()[3..]));
    }

    #[test]
    fn debug_output_hides_the_token() {
        let t = Token::generate().unwrap();
        assert!(!format!("{t:?}").contains(t.reveal()));
    }

    #[test]
    fn hash_matches_a_known_sha256() {
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
