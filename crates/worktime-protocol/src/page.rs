//! Which pull request a github.com page shows: the one rule the extension's
//! shell (and the simulator) apply to a tab's `location.pathname`.
//!
//! Every path under `/{owner}/{repo}/pull/{n}` is that pull request:
//! the conversation, `changes` (GitHub's Files-changed view), `files`,
//! `commits`, `commits/<sha>`, `checks`, and whatever sub-page GitHub adds
//! later. Owner and repository names are case-insensitive on GitHub, so the
//! answer is in canonical lower case: one PR is one session and one total,
//! however the URL was typed.

use crate::ids::PrRef;

/// The pull request `path` shows, in canonical lower case, or `None` for a
/// page that is not a pull request (which starts no session).
///
/// ```
/// use worktime_protocol::page::pull_request_of_path;
/// let pr = pull_request_of_path("/Octo-Org/Widget/pull/8/changes").unwrap();
/// assert_eq!(pr.to_string(), "octo-org/widget#8");
/// assert_eq!(pull_request_of_path("/octo-org/widget/pulls"), None);
/// ```
pub fn pull_request_of_path(path: &str) -> Option<PrRef> {
    let mut parts = path.strip_prefix('/')?.split('/');
    let owner = parts.next()?;
    let repo = parts.next()?;
    if parts.next()? != "pull" {
        return None;
    }
    let number = parts.next()?;
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) || number.len() > 10 {
        return None;
    }
    let number: u64 = number.parse().ok()?;
    PrRef::new(owner, repo, number).ok().map(PrRef::canonical)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_under_a_pull_request_is_that_pull_request() {
        let pr = PrRef::new("rust-lang", "rust", 123).unwrap();
        for path in [
            "/rust-lang/rust/pull/123",
            "/rust-lang/rust/pull/123/",
            "/rust-lang/rust/pull/123/changes",
            "/rust-lang/rust/pull/123/files",
            "/rust-lang/rust/pull/123/commits",
            "/rust-lang/rust/pull/123/commits/abc123",
            "/rust-lang/rust/pull/123/checks",
            "/rust-lang/rust/pull/123/a-sub-page-github-adds-later/x",
        ] {
            assert_eq!(pull_request_of_path(path), Some(pr.clone()), "{path}");
        }
    }

    #[test]
    fn owner_and_repository_come_out_in_canonical_lower_case() {
        let lower = pull_request_of_path("/octo-org/widget/pull/8").unwrap();
        let mixed = pull_request_of_path("/Octo-Org/Widget/pull/8/changes").unwrap();
        assert_eq!(mixed, lower);
        assert_eq!(mixed.owner, "octo-org");
        assert_eq!(mixed.repo, "widget");
        assert_eq!(
            pull_request_of_path("/OCTO/My.Repo_X/pull/1").unwrap().repo,
            "my.repo_x"
        );
    }

    #[test]
    fn pages_that_are_not_pull_requests_are_refused() {
        for path in [
            "",
            "/",
            "/rust-lang/rust",
            "/rust-lang/rust/pulls",
            "/rust-lang/rust/pull",
            "/rust-lang/rust/pull/",
            "/rust-lang/rust/pull/abc",
            "/rust-lang/rust/pull/12x",
            "/rust-lang/rust/pull/1e3",
            "/rust-lang/rust/pull/0",
            "/rust-lang/rust/pull/-1",
            "/rust-lang/rust/pull/99999999999",
            "/rust-lang/rust/issues/5",
            "/-bad/rust/pull/5",
            "/owner/../pull/5",
            "rust-lang/rust/pull/5",
        ] {
            assert_eq!(pull_request_of_path(path), None, "{path:?}");
        }
    }
}
