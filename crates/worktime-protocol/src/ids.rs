//! Identifiers that cross the wire: a session's client-made id and the pull
//! request it times. Both are checked when built, so code holding one can
//! trust it.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A session's id, made by the client (not the server), so that a session can
/// be created offline and every retry of it names the same row.
///
/// 1 to 64 characters of `A-Z a-z 0-9 _ -`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LocalId(String);

/// Why a [`LocalId`] was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("local_id must be 1 to 64 characters of A-Z, a-z, 0-9, '_' or '-'")]
pub struct InvalidLocalId;

impl LocalId {
    /// Longest accepted id.
    pub const MAX_LEN: usize = 64;

    /// Checks `text` and wraps it.
    pub fn parse(text: &str) -> Result<Self, InvalidLocalId> {
        let ok = !text.is_empty()
            && text.len() <= Self::MAX_LEN
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if ok {
            Ok(LocalId(text.to_owned()))
        } else {
            Err(InvalidLocalId)
        }
    }

    /// A fresh id from 128 random bits the caller supplies (the protocol
    /// crate has no randomness of its own): 32 lowercase hex digits.
    pub fn from_random(bits: u128) -> Self {
        LocalId(format!("{bits:032x}"))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for LocalId {
    type Error = InvalidLocalId;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        LocalId::parse(&value)
    }
}

impl From<LocalId> for String {
    fn from(id: LocalId) -> String {
        id.0
    }
}

impl fmt::Display for LocalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The pull request a session times: `owner/repo#number`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PrRef {
    /// The user or organisation that owns the repository.
    pub owner: String,
    /// The repository's name.
    pub repo: String,
    /// The pull request's number, from 1.
    pub number: u64,
}

/// Why a [`PrRef`] was refused; names the offending field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidPrRef {
    /// Not a GitHub user or organisation name.
    #[error("repo_owner must be 1 to 39 letters, digits or single inner hyphens")]
    Owner,
    /// Not a GitHub repository name.
    #[error("repo_name must be 1 to 100 letters, digits, '.', '_' or '-' (not '.' or '..')")]
    Repo,
    /// Zero, or too large to be a pull request number.
    #[error("pr_number must be a whole number from 1 to 2147483647")]
    Number,
}

impl InvalidPrRef {
    /// The wire field this error is about.
    pub fn field(&self) -> &'static str {
        match self {
            InvalidPrRef::Owner => "repo_owner",
            InvalidPrRef::Repo => "repo_name",
            InvalidPrRef::Number => "pr_number",
        }
    }
}

impl PrRef {
    /// Largest accepted pull-request number (GitHub's numbers are 32-bit).
    pub const MAX_NUMBER: u64 = i32::MAX as u64;

    /// Checks each part against GitHub's naming rules.
    pub fn new(owner: &str, repo: &str, number: u64) -> Result<Self, InvalidPrRef> {
        if !is_valid_owner(owner) {
            return Err(InvalidPrRef::Owner);
        }
        if !is_valid_repo(repo) {
            return Err(InvalidPrRef::Repo);
        }
        if number == 0 || number > Self::MAX_NUMBER {
            return Err(InvalidPrRef::Number);
        }
        Ok(PrRef {
            owner: owner.to_owned(),
            repo: repo.to_owned(),
            number,
        })
    }

    /// The same pull request with owner and repository in lower case, the
    /// canonical form (GitHub compares both without case).
    pub fn canonical(self) -> Self {
        PrRef {
            owner: self.owner.to_ascii_lowercase(),
            repo: self.repo.to_ascii_lowercase(),
            number: self.number,
        }
    }
}

impl fmt::Display for PrRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}#{}", self.owner, self.repo, self.number)
    }
}

fn is_valid_owner(owner: &str) -> bool {
    (1..=39).contains(&owner.len())
        && owner
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !owner.starts_with('-')
        && !owner.ends_with('-')
        && !owner.contains("--")
}

fn is_valid_repo(repo: &str) -> bool {
    (1..=100).contains(&repo.len())
        && repo
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && repo != "."
        && repo != ".."
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_id_accepts_hex_and_refuses_punctuation_and_length() {
        assert!(LocalId::parse("0123abcd-_XY").is_ok());
        assert_eq!(LocalId::parse(""), Err(InvalidLocalId));
        assert_eq!(LocalId::parse("a/b"), Err(InvalidLocalId));
        assert_eq!(LocalId::parse(&"a".repeat(65)), Err(InvalidLocalId));
        assert_eq!(LocalId::from_random(0xab).as_str().len(), 32);
    }

    #[test]
    fn invalid_parts_name_their_field() {
        assert_eq!(PrRef::new("a b", "r", 1).unwrap_err().field(), "repo_owner");
        assert_eq!(PrRef::new("o", "", 1).unwrap_err().field(), "repo_name");
        assert_eq!(PrRef::new("o", "r", 0).unwrap_err().field(), "pr_number");
    }
}
