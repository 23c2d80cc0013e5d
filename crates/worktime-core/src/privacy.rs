//! What the user asked never to time: incognito windows (unless they turn
//! it on) and a list of repositories or owners (`owner/*`, `owner/repo`,
//! case-insensitive), either left out or, with "only these", the only ones
//! timed. A page that is not to be timed is, for the engine, no pull
//! request at all: no session, nothing stored, nothing sent.

use serde::{Deserialize, Serialize};
use worktime_protocol::PrRef;

/// One entry of the list: every repository of an owner, or one repository.
/// Kept in canonical lower case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RepoPattern {
    owner: String,
    /// `None` for `owner/*`.
    repo: Option<String>,
}

/// Why a list entry was refused; carries the entry as typed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{0}\" is not owner/* or owner/repo")]
pub struct InvalidRepoPattern(pub String);

impl RepoPattern {
    /// Reads `owner/*` or `owner/repo` (surrounding spaces ignored, any case).
    pub fn parse(text: &str) -> Result<Self, InvalidRepoPattern> {
        let bad = || InvalidRepoPattern(text.trim().to_owned());
        let (owner, repo) = text.trim().split_once('/').ok_or_else(bad)?;
        let repo = (repo != "*").then_some(repo);
        // The same naming rules as a pull request's owner and repository.
        PrRef::new(owner, repo.unwrap_or("x"), 1).map_err(|_| bad())?;
        Ok(RepoPattern {
            owner: owner.to_ascii_lowercase(),
            repo: repo.map(str::to_ascii_lowercase),
        })
    }

    /// Whether `pr` (canonical lower case) is in this pattern.
    pub fn matches(&self, pr: &PrRef) -> bool {
        self.owner.eq_ignore_ascii_case(&pr.owner)
            && self
                .repo
                .as_ref()
                .is_none_or(|r| r.eq_ignore_ascii_case(&pr.repo))
    }
}

impl TryFrom<String> for RepoPattern {
    type Error = InvalidRepoPattern;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        RepoPattern::parse(&text)
    }
}

impl From<RepoPattern> for String {
    fn from(p: RepoPattern) -> String {
        format!("{}/{}", p.owner, p.repo.as_deref().unwrap_or("*"))
    }
}

/// The user's privacy controls. The default times everything but incognito.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Privacy {
    /// Whether pages in incognito windows are timed.
    #[serde(default)]
    pub time_incognito: bool,
    /// Repositories or owners.
    #[serde(default)]
    pub repos: Vec<RepoPattern>,
    /// `repos` are the only ones timed (else: never timed).
    #[serde(default)]
    pub only_these: bool,
}

impl Privacy {
    /// Reads the list as the options page sends it: one entry per line or
    /// comma, blank entries ignored. The first bad entry is named.
    pub fn parse_list(text: &str) -> Result<Vec<RepoPattern>, InvalidRepoPattern> {
        text.split(['\n', ','])
            .filter(|entry| !entry.trim().is_empty())
            .map(RepoPattern::parse)
            .collect()
    }

    /// Whether a page on `pr`, in an incognito window or not, may be timed.
    pub fn allows(&self, pr: &PrRef, incognito: bool) -> bool {
        if incognito && !self.time_incognito {
            return false;
        }
        let listed = self.repos.iter().any(|p| p.matches(pr));
        listed == self.only_these
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pr(owner: &str, repo: &str) -> PrRef {
        PrRef::new(owner, repo, 1).unwrap()
    }

    #[test]
    fn patterns_name_an_owner_or_one_repository_in_any_case() {
        let all = RepoPattern::parse(" Octo-Org/* ").unwrap();
        assert!(all.matches(&pr("octo-org", "widget")));
        assert!(all.matches(&pr("Octo-Org", "Other")));
        assert!(!all.matches(&pr("octo", "widget")));
        let one = RepoPattern::parse("octo/Hello-World").unwrap();
        assert!(one.matches(&pr("OCTO", "hello-world")));
        assert!(!one.matches(&pr("octo", "hello")));
        assert_eq!(String::from(all), "octo-org/*");
    }

    #[test]
    fn a_bad_entry_is_refused_by_name() {
        for bad in [
            "octo",
            "/repo",
            "octo/",
            "-bad/*",
            "a b/c",
            "octo/../x",
            "*/*",
        ] {
            assert_eq!(
                RepoPattern::parse(bad),
                Err(InvalidRepoPattern(bad.trim().to_owned())),
                "{bad}"
            );
        }
        let err = Privacy::parse_list("octo/*\nnot a repo\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "\"not a repo\" is not owner/* or owner/repo"
        );
        assert_eq!(Privacy::parse_list(" \n, ").unwrap(), vec![]);
        assert_eq!(Privacy::parse_list("a/*, b/c\n").unwrap().len(), 2);
    }

    #[test]
    fn incognito_is_not_timed_unless_turned_on() {
        let mut p = Privacy::default();
        assert!(p.allows(&pr("octo", "hello"), false));
        assert!(!p.allows(&pr("octo", "hello"), true));
        p.time_incognito = true;
        assert!(p.allows(&pr("octo", "hello"), true));
    }

    #[test]
    fn the_list_is_never_timed_or_with_only_these_the_only_ones_timed() {
        let mut p = Privacy {
            repos: Privacy::parse_list("secret-org/*\nocto/private").unwrap(),
            ..Privacy::default()
        };
        assert!(!p.allows(&pr("secret-org", "anything"), false));
        assert!(!p.allows(&pr("octo", "private"), false));
        assert!(p.allows(&pr("octo", "public"), false));
        p.only_these = true;
        assert!(p.allows(&pr("secret-org", "anything"), false));
        assert!(p.allows(&pr("octo", "private"), false));
        assert!(!p.allows(&pr("octo", "public"), false));
    }
}
