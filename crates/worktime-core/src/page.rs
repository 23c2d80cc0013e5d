//! From what a tab reports to an [`Input`]: the one mapping the browser
//! shell applies to content-script messages and `tabs.onUpdated`, and the
//! simulator applies to its scripted user, so the model is the product.

use crate::ids::{DocId, TabId};
use crate::input::{Input, PageEvent};
use worktime_protocol::page::pull_request_of_path;
use worktime_protocol::{PrRef, UnixMillis};

/// The input for a content-script report, to be stamped with the time the
/// shell reads: the page in `tab` shows `path` (`event` Visible/Hidden) or
/// went away (`Closed`, `pagehide`), as report `seq` of showing `doc`.
///
/// A path under a pull request (see [`pull_request_of_path`]) that
/// `may_time` allows is a [`Input::Page`]; any other shown path means the tab
/// left its PR ([`Input::LeftPullRequest`]); a page that was no PR going
/// away is nothing (`None`). A page-left is never filtered by `may_time`: it
/// only ends what an allowed report started.
pub fn content_input(
    tab: TabId,
    path: &str,
    event: PageEvent,
    doc: DocId,
    seq: u64,
    may_time: impl FnOnce(&PrRef) -> bool,
) -> Option<impl FnOnce(UnixMillis) -> Input> {
    let pr = pull_request_of_path(path).filter(|pr| event == PageEvent::Closed || may_time(pr));
    let left = matches!(event, PageEvent::Visible | PageEvent::Hidden);
    (pr.is_some() || left).then_some({
        move |now| match pr {
            Some(pr) => Input::Page {
                now,
                tab,
                pr,
                event,
                doc,
                seq,
            },
            None => Input::LeftPullRequest {
                now,
                tab,
                report: Some((doc, seq)),
            },
        }
    })
}

/// The input for `tabs.onUpdated` (status `loading`) in `tab`, whose new
/// URL is `url` (`None` when the extension may not see it), to be stamped
/// with the time the shell reads: a page off github.com means the tab left
/// its PR; a github.com page has the content script, which reports what it
/// shows.
pub fn tab_updated_input(
    tab: TabId,
    url: Option<&str>,
) -> Option<impl FnOnce(UnixMillis) -> Input> {
    let on_github = url.is_some_and(|u| u.starts_with("https://github.com/"));
    (!on_github).then_some(move |now| Input::LeftPullRequest {
        now,
        tab,
        report: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixMillis = UnixMillis(1_000);

    #[test]
    fn a_pull_request_path_in_any_case_is_a_page_report_of_the_canonical_pr() {
        let input = content_input(
            TabId(3),
            "/Octo/Hello/pull/4/changes",
            PageEvent::Visible,
            DocId(9),
            2,
            |_| true,
        )
        .map(|make| make(NOW));
        let Some(Input::Page { pr, seq, doc, .. }) = input else {
            panic!("not a page report: {input:?}");
        };
        assert_eq!(pr.to_string(), "octo/hello#4");
        assert_eq!((doc, seq), (DocId(9), 2));
    }

    #[test]
    fn another_github_page_detaches_the_tab_and_its_going_away_is_nothing() {
        let shown = content_input(
            TabId(3),
            "/octo/hello/pulls",
            PageEvent::Hidden,
            DocId(9),
            5,
            |_| true,
        )
        .map(|make| make(NOW));
        assert_eq!(
            shown,
            Some(Input::LeftPullRequest {
                now: NOW,
                tab: TabId(3),
                report: Some((DocId(9), 5))
            })
        );
        let left = content_input(
            TabId(3),
            "/octo/hello/pulls",
            PageEvent::Closed,
            DocId(9),
            6,
            |_| true,
        );
        assert!(left.is_none());
    }

    #[test]
    fn an_excluded_pr_is_no_pull_request_but_its_page_left_still_ends() {
        let shown = content_input(
            TabId(1),
            "/secret/repo/pull/1",
            PageEvent::Visible,
            DocId(1),
            1,
            |_| false,
        )
        .map(|make| make(NOW));
        assert!(matches!(shown, Some(Input::LeftPullRequest { .. })));
        let left = content_input(
            TabId(1),
            "/secret/repo/pull/1",
            PageEvent::Closed,
            DocId(1),
            2,
            |_| false,
        )
        .map(|make| make(NOW));
        assert!(matches!(left, Some(Input::Page { .. })));
    }

    #[test]
    fn leaving_github_in_a_tab_is_leaving_its_pr() {
        assert!(tab_updated_input(TabId(1), Some("https://github.com/a/b/pull/1")).is_none());
        for url in [
            None,
            Some("https://example.com/"),
            Some("http://github.com/"),
        ] {
            assert!(
                matches!(
                    tab_updated_input(TabId(1), url).map(|make| make(NOW)),
                    Some(Input::LeftPullRequest { report: None, .. })
                ),
                "{url:?}"
            );
        }
    }
}
