// options.js — edits the server URL and API token through the service
// worker, which validates and stores them. The saved token is never sent back
// to this page; an empty token field means "keep the saved one".

const $ = (id) => document.getElementById(id);
const form = $('settings');
const urlInput = $('server-url');
const tokenInput = $('api-token');

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
    const saved = await ask({ type: 'save-settings', ...formValues() });
    showSaved(saved);
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
