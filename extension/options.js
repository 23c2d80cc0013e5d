// options.js — edits the server URL and API token, the idle threshold and
// the privacy controls,
// through the service worker, which validates and stores them. The saved token is never sent back
// to this page; an empty token field means "keep the saved one".

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

function busy(on) {
  for (const b of form.querySelectorAll('button')) b.disabled = on;
}

function formValues() {
  return { serverUrl: urlInput.value.trim(), token: tokenInput.value.trim() };
}

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  busy(true);
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
    if (serverUrl || token || (await ask({ type: 'get-settings' })).serverUrl) {
      showSaved(await ask({ type: 'save-settings', serverUrl, token }));
    }
    show('Saved.', 'ok');
  } catch (err) {
    show(err.message, 'bad');
  } finally {
    busy(false);
  }
});

$('test').addEventListener('click', async () => {
  busy(true);
  show('Testing…');
  try {
    const me = await ask({ type: 'test-connection', ...formValues() });
    show(`Connected as ${me.user} on device "${me.device}".`, 'ok');
  } catch (err) {
    show(err.message, 'bad');
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
