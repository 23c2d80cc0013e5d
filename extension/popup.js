// popup.js — shows the view the service worker sends and forwards the
// user's clicks to it. No sync logic lives here: the status line, the
// Sync-now permission and its reason, and the words for the engine's answer
// to "Sync now" (queued behind a running sync, or the cooldown's seconds
// left) all come from the worker; this file only formats times and keeps the
// timer ticking between updates.

const $ = (id) => document.getElementById(id);

let view = null;
/** The engine's last answer to "Sync now": `{ words, until }` (`until`: the
 * time the engine said to try again at, if it named one). */
let syncNowReply = null;
/** Date.now() when `view` arrived, to run the timer from the worker's clock. */
let receivedAt = 0;

async function ask(message) {
  const answer = await chrome.runtime.sendMessage(message);
  if (!answer || !answer.ok) {
    const error = answer && answer.error ? answer.error : { message: 'no answer from the extension' };
    throw Object.assign(new Error(error.message), error);
  }
  return answer.reply;
}

function showError(err) {
  const el = $('error');
  if (err) {
    el.textContent = err.message || String(err);
    el.hidden = false;
  } else {
    el.hidden = true;
  }
}

/** `h:mm:ss` or `m:ss`. */
function clock(totalSeconds) {
  const s = Math.max(0, Math.floor(totalSeconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** `1 h 05 min`, `12 min`, `42 s` (under a minute), `0 min`. */
function total(seconds) {
  const s = Math.floor(Math.max(0, seconds));
  if (s > 0 && s < 60) return `${s} s`;
  const minutes = Math.floor(s / 60);
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return h > 0 ? `${h} h ${String(m).padStart(2, '0')} min` : `${m} min`;
}

/** `just now`, `12 s`, `3 min`, `2 h`, `4 d`. */
function span(ms) {
  const s = Math.round(Math.abs(ms) / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h} h`;
  return `${Math.round(h / 24)} d`;
}

/** The worker's clock now, estimated from when the view arrived. */
function workerNow() {
  return view.now + (Date.now() - receivedAt);
}

function liveSeconds(current) {
  const running = current.counting_since != null ? (workerNow() - current.counting_since) / 1000 : 0;
  return current.active_seconds + Math.max(0, running);
}

/** Parts that change every second. */
function tick() {
  if (!view) return;
  const now = workerNow();
  const current = view.current;
  $('current-timer').textContent = current ? clock(liveSeconds(current)) : '0:00';
  const todayLive = view.today_seconds + (current && current.counting_since != null ? Math.max(0, (now - current.counting_since) / 1000) : 0);
  $('today-total').textContent = total(todayLive);

  $('last-synced').textContent =
    view.last_synced_at != null
      ? (now - view.last_synced_at < 5000 ? 'Last synced just now' : `Last synced ${span(now - view.last_synced_at)} ago`)
      : 'Never synced';
  const retry = $('next-retry');
  if (view.next_retry_at != null && view.next_retry_at > now) {
    retry.textContent = `Next retry in ${span(view.next_retry_at - now)}`;
    retry.hidden = false;
  } else if (view.next_retry_at != null) {
    retry.textContent = 'Retrying now';
    retry.hidden = false;
  } else {
    retry.hidden = true;
  }

  const button = $('sync-now');
  const reason = $('sync-now-reason');
  const gate = view.sync_now;
  button.disabled = !gate.allowed;
  reason.hidden = gate.allowed || !gate.reason;
  reason.textContent = gate.allowed ? '' : gate.reason ?? '';
  // The engine's answer stays up until the time it named has passed.
  const replyEl = $('sync-now-reply');
  if (syncNowReply && syncNowReply.until != null && now >= syncNowReply.until) syncNowReply = null;
  replyEl.hidden = !syncNowReply;
  replyEl.textContent = syncNowReply ? syncNowReply.words : '';
}

function renderFailed() {
  const list = $('failed-list');
  list.replaceChildren();
  for (const item of view.failed) {
    const li = document.createElement('li');
    const what = document.createElement('div');
    what.className = 'what';
    what.textContent = item.pr;
    const why = document.createElement('div');
    why.className = 'why';
    why.textContent = `${item.error} (after ${item.attempts} ${item.attempts === 1 ? 'attempt' : 'attempts'})`;
    const actions = document.createElement('div');
    actions.className = 'actions';
    for (const [label, type] of [['Retry', 'retry-failed'], ['Discard', 'discard-failed']]) {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = label;
      // Screen readers hear which item each button acts on.
      b.setAttribute('aria-label', `${label} ${item.pr}`);
      b.addEventListener('click', () => {
        // Discarding cannot be undone: ask once.
        if (type === 'discard-failed' && !confirm(`Discard the review of ${item.pr}? It will not reach the server.`)) return;
        act({ type, id: item.id });
      });
      actions.append(b);
    }
    li.append(what, why, actions);
    list.append(li);
  }
  $('failed-section').hidden = view.failed.length === 0 && view.failed_dropped === 0;
  $('retry-all').hidden = view.failed.length < 2;
  const dropped = $('failed-dropped');
  dropped.hidden = view.failed_dropped === 0;
  dropped.textContent = `${view.failed_dropped} older failed ${view.failed_dropped === 1 ? 'item was' : 'items were'} dropped (the list keeps the latest 50).`;
}

/** Shows `next`, unless a newer view is already shown (an answer and a
 * broadcast may arrive in either order); says whether it was shown. */
function render(next) {
  if (view && next.now < view.now) return false;
  view = next;
  receivedAt = Date.now();
  const status = $('status');
  status.textContent = view.status.line;
  status.dataset.kind = view.status.kind;
  $('signed-out').hidden = view.status.kind !== 'signed_out';
  // Sync paused for a server problem: the worker's words, what to check.
  $('server-problem').hidden = !view.server_problem;
  $('server-problem').textContent = view.server_problem ?? '';
  // The last error matters while something still waits for the server.
  const lastError = $('last-error');
  const waiting = ['pending', 'offline', 'syncing'].includes(view.status.kind);
  lastError.hidden = !(waiting && view.last_error);
  lastError.textContent = view.last_error ? `Last error: ${view.last_error}` : '';
  $('unconfigured').hidden = view.configured;
  const pr = $('current-pr');
  pr.textContent = view.current ? view.current.pr : 'No pull request open';
  pr.classList.toggle('none', !view.current);
  const q = $('quarantined');
  q.hidden = view.quarantined === 0;
  q.textContent = `${view.quarantined} stored ${view.quarantined === 1 ? 'record' : 'records'} could not be read and ${view.quarantined === 1 ? 'was' : 'were'} set aside.`;
  const storage = $('storage-error');
  storage.hidden = !view.storage_error;
  const atRisk = view.storage_at_risk;
  storage.textContent = !view.storage_error
    ? ''
    : atRisk == null
      ? `This browser refuses to save WorkTime Sync's data (${view.storage_error}). Changes are kept in the extension's own storage and saved as soon as storage works again.`
      : `This browser refuses to save WorkTime Sync's data (${view.storage_error}), and the extension's own storage refuses it too. ` +
        `${atRisk} ended ${atRisk === 1 ? 'review is' : 'reviews are'} held in memory only: closing the browser now loses ${atRisk === 1 ? 'it' : 'them'}.`;
  renderFailed();
  tick();
  return true;
}

async function act(message) {
  try {
    showError(null);
    const reply = await ask(message);
    if (reply && reply.sync_now) {
      syncNowReply = reply.sync_now_words
        ? { words: reply.sync_now_words, until: reply.sync_now.retry_at ?? null }
        : null;
    }
    if (reply && reply.view && !render(reply.view) && syncNowReply?.until == null && view.status.kind !== 'syncing') {
      // The queued sync already ran: a newer view came first.
      syncNowReply = null;
      tick();
    }
  } catch (err) {
    showError(err);
  }
}

$('sync-now').addEventListener('click', () => act({ type: 'sync-now' }));
$('retry-all').addEventListener('click', () => act({ type: 'retry-all-failed' }));

chrome.runtime.onMessage.addListener((message) => {
  if (message && message.type === 'status-changed' && message.view) {
    // A request queued behind a running sync is answered once no sync runs.
    if (syncNowReply && syncNowReply.until == null && message.view.status.kind !== 'syncing') syncNowReply = null;
    render(message.view);
  }
  // Never answer: the worker's own answer to other pages must win.
});

setInterval(tick, 1000);
act({ type: 'get-status' });
