// options.js — edits the server URL and API token, the idle threshold and
// the privacy controls through the service worker, which validates and
// stores them. Save also tests the connection and says what it found;
// Disconnect forgets the token. An input the worker refused is marked
// (`aria-invalid`) and tied to its error (`aria-describedby`). The saved
// token is never sent back to this page; an empty token field means "keep
// the saved one".

const $ = (id) => document.getElementById(id);
const form = $('settings');
const urlInput = $('server-url');
const tokenInput = $('api-token');
const idleInput = $('idle-minutes');
const incognitoInput = $('time-incognito');
const reposInput = $('repos');
const onlyInput = $('only-these');

async function ask(message) {
  const answer = await chrome.runtime.sendMessage(message);
  if (!answer || !answer.ok) {
    const error = answer && answer.error ? answer.error : { message: 'no answer from the extension' };
    throw Object.assign(new Error(error.message), error);
  }
  return answer.reply;
}

function show(text, kind) {
  const el = $('result');
  el.textContent = text;
  el.className = `result ${kind || ''}`;
  el.hidden = false;
}

function showSaved(settings) {
  urlInput.value = settings.serverUrl || '';
  tokenInput.value = '';
  tokenInput.placeholder = settings.hasToken ? 'A token is saved — leave empty to keep it' : '';
}

function showPrivacy(privacy) {
  incognitoInput.checked = privacy.timeIncognito;
  reposInput.value = privacy.repos.join('\n');
  onlyInput.checked = privacy.onlyThese;
}

function showTiming(timing) {
  idleInput.value = String(timing.idleSeconds / 60);
}

/** The idle threshold as typed, in whole seconds (the worker checks it). */
function idleSeconds() {
  const minutes = Number(idleInput.value);
  return Number.isFinite(minutes) && minutes >= 0 ? Math.round(minutes * 60) : -1;
}

/** Which input each refusal of the worker is about (by the error's variant). */
const INPUT_OF = {
  InvalidUrl: urlInput,
  InsecureUrl: urlInput,
  UrlHasExtras: urlInput,
  MissingToken: tokenInput,
  InvalidToken: tokenInput,
  InvalidIdleThreshold: idleInput,
  InvalidRepoPattern: reposInput,
};
const INPUTS = [urlInput, tokenInput, idleInput, reposInput];

// Each input's own hint, which its error goes in front of.
for (const input of INPUTS) input.dataset.hint = input.getAttribute('aria-describedby');

/** Marks `input` as refused with `message` (or clears it, without one). */
function markInput(input, message) {
  const error = $(`${input.id}-error`);
  error.textContent = message ?? '';
  error.hidden = !message;
  if (message) input.setAttribute('aria-invalid', 'true');
  else input.removeAttribute('aria-invalid');
  input.setAttribute('aria-describedby', message ? `${error.id} ${input.dataset.hint}` : input.dataset.hint);
}

function clearMarks() {
  for (const input of INPUTS) markInput(input, null);
}

/** Shows a refusal: on its input when it names one, else in the result line. */
function showError(err, prefix = '') {
  const input = INPUT_OF[err.variant];
  if (input) {
    markInput(input, err.message);
    input.focus();
  }
  show(prefix + err.message, 'bad');
}

/** The words for a connection test's answer. */
const connected = (me) => `Connected as ${me.user} on device "${me.device}".`;

function busy(on) {
  for (const b of form.querySelectorAll('button')) b.disabled = on;
}

function formValues() {
  return { serverUrl: urlInput.value.trim(), token: tokenInput.value.trim() };
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  busy(true);
  clearMarks();
  try {
    showTiming(await ask({ type: 'save-timing', idleSeconds: idleSeconds() }));
    showPrivacy(await ask({
      type: 'save-privacy',
      timeIncognito: incognitoInput.checked,
      repos: reposInput.value,
      onlyThese: onlyInput.checked,
    }));
    const { serverUrl, token } = formValues();
    // The idle setting alone may be saved before any server is set.
    if (!(serverUrl || token || (await ask({ type: 'get-settings' })).serverUrl)) {
      show('Saved.', 'ok');
      return;
    }
    showSaved(await ask({ type: 'save-settings', serverUrl, token }));
    // Saved: now say whether these settings work.
    show('Saved. Testing the connection…');
    try {
      show(`Saved. ${connected(await ask({ type: 'test-connection', serverUrl: '', token: '' }))}`, 'ok');
    } catch (err) {
      show(`Saved, but the connection test failed: ${err.message}`, 'bad');
    }
  } catch (err) {
    showError(err);
  } finally {
    busy(false);
  }
});

$('test').addEventListener('click', async () => {
  busy(true);
  clearMarks();
  show('Testing…');
  try {
    show(connected(await ask({ type: 'test-connection', ...formValues() })), 'ok');
  } catch (err) {
    showError(err);
  } finally {
    busy(false);
  }
});

$('disconnect').addEventListener('click', async () => {
  busy(true);
  clearMarks();
  try {
    const typed = urlInput.value;
    showSaved(await ask({ type: 'disconnect' }));
    urlInput.value = typed; // for a new token, if the user wants one
    show('Disconnected: the API token is forgotten and nothing is sent until you save a new one. Reviews are still timed and kept.', 'ok');
  } catch (err) {
    showError(err);
  } finally {
    busy(false);
  }
});

chrome.runtime.onMessage.addListener(() => {
  // Status broadcasts are for the popup; never answer here, so that the
  // worker's answer to the popup's own requests wins.
});

ask({ type: 'get-settings' }).then(showSaved, (err) => show(err.message, 'bad'));
ask({ type: 'get-timing' }).then(showTiming, (err) => show(err.message, 'bad'));
ask({ type: 'get-privacy' }).then(showPrivacy, (err) => show(err.message, 'bad'));
