// content.js — runs on github.com and, while the tab shows a pull request,
// tells the service worker three things: which path this tab shows, whether
// the tab is visible, and that the page is going away. It reads nothing of
// the page's content: only `location.pathname` and
// `document.visibilityState`.
//
// It is injected on every github.com page, not only on /pull/ URLs, because
// GitHub navigates without reloading: a review reached by clicking through
// from the PR list never loads a /pull/ URL, so Chrome would never inject a
// PR-only script. Off pull requests it stays silent (no message wakes the
// worker) until a pull-request path appears.
//
// The worker derives the pull request from the path (one rule, in Rust:
// `worktime_protocol::page::pull_request_of_path`), and the sender's tab id
// identifies the tab. A path that is not a pull request (the user navigated
// away inside GitHub) detaches this tab from its PR; the tab is timed again
// on the next PR it shows.
(() => {
  'use strict';

  // GitHub navigates without reloading (Turbo), so the script outlives
  // the pull request it started on. Report only real changes.
  let lastPath = null;
  let lastVisible = null;
  // Whether this document has told the worker about a pull request; until it
  // has, paths that are not pull requests are not worth a message.
  let reported = false;
  // A loose first look only: the worker applies the real rule
  // (`pull_request_of_path`) to every path it is sent.
  const LOOKS_LIKE_PR = /^\/[^/]+\/[^/]+\/pull\/[^/]+/;
  let alive = true;
  // Between pagehide and a pageshow from the back/forward cache the page is
  // gone: the visibilitychange to hidden that follows pagehide must not
  // reopen the session the end notice just closed.
  let leaving = false;

  // Report order without the wall clock: `doc` names this showing of the
  // page (a random number, new for every document and every return from the
  // back/forward cache), `seq` counts its reports. The worker orders reports
  // within a showing by `seq` and ignores showings the tab has moved on from,
  // so a clock set back cannot make a new page's reports look old.
  function newDoc() {
    const words = crypto.getRandomValues(new Uint32Array(2));
    // 53 random bits: a safe integer.
    return (words[0] & 0x1fffff) * 0x100000000 + words[1];
  }
  let doc = newDoc();
  let counter = 0;
  function seq() {
    counter += 1;
    return counter;
  }

  // The worker answers a report only once it is stored. A worker stopped
  // while it handled one (MV3 stops idle workers at any moment) never
  // answers, and the report is lost unless it is sent again; the same `seq`
  // makes a resend of a report that did land change nothing. Only the latest
  // report is resent: a newer one carries the whole state of the tab.
  const RESEND_AFTER_MS = [250, 1000, 3000, 10000];
  let unanswered = null;

  function send(message) {
    if (!alive) return;
    message.doc = doc;
    message.seq = seq();
    deliver({ message, tries: 0, timer: null });
  }

  function deliver(attempt) {
    if (unanswered && unanswered !== attempt) clearTimeout(unanswered.timer);
    unanswered = attempt;
    let answer;
    try {
      answer = chrome.runtime.sendMessage(attempt.message);
    } catch (_) {
      // "Extension context invalidated": the extension was reloaded or
      // removed. This copy of the script is orphaned; go quiet.
      alive = false;
      unanswered = null;
      clearInterval(poll);
      return;
    }
    answer.then(
      (reply) => {
        // A refused message stays refused; resending cannot help.
        const refused = reply && reply.ok === false && reply.error && reply.error.name === 'MessageError';
        if (reply && (reply.ok || refused)) {
          if (unanswered === attempt) unanswered = null;
        } else {
          resendLater(attempt);
        }
      },
      () => resendLater(attempt),
    );
  }

  function resendLater(attempt) {
    if (unanswered !== attempt || !alive) return; // a newer report took over
    const delay = RESEND_AFTER_MS[attempt.tries];
    if (delay === undefined) {
      // The worker stays unreachable; the next report carries the full state.
      unanswered = null;
      return;
    }
    attempt.tries += 1;
    attempt.timer = setTimeout(() => {
      if (unanswered === attempt && alive) deliver(attempt);
    }, delay);
  }

  function report(force) {
    if (leaving) return;
    const path = location.pathname;
    const visible = document.visibilityState === 'visible';
    if (!force && path === lastPath && visible === lastVisible) return;
    lastPath = path;
    lastVisible = visible;
    if (!reported && !LOOKS_LIKE_PR.test(path)) return;
    reported = true;
    send({ type: 'page-state', path, visible });
  }

  // In-page navigation: the Navigation API sees pushState/replaceState;
  // popstate covers back/forward; Turbo fires turbo:load on the document.
  if (window.navigation && typeof window.navigation.addEventListener === 'function') {
    window.navigation.addEventListener('navigatesuccess', () => report(false));
  }
  window.addEventListener('popstate', () => report(false));
  document.addEventListener('turbo:load', () => report(false));
  // A cheap safety net for any navigation the events above miss: one string
  // comparison every second, no message unless something changed.
  const poll = setInterval(() => report(false), 1000);

  document.addEventListener('visibilitychange', () => report(false));

  // pagehide is not reliable when a tab closes, which is why the worker also
  // ends a session when the tab is removed; neither signal alone is trusted.
  window.addEventListener('pagehide', () => {
    const path = lastPath || location.pathname;
    leaving = true;
    if (!reported) return;
    lastPath = null;
    lastVisible = null;
    send({ type: 'page-left', path });
  });
  // Back/forward cache: the same document comes back without reloading,
  // as a new showing (the tab may have shown other pages meanwhile).
  window.addEventListener('pageshow', (event) => {
    if (event.persisted) {
      leaving = false;
      doc = newDoc();
      counter = 0;
      report(true);
    }
  });

  report(true);
})();
