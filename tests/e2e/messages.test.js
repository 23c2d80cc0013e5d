// The worker's sender check (extension/messages.js): which family a message
// belongs to by who sent it, and that other senders are refused with a typed
// error. What a message holds is decoded in Rust (messages.rs, and
// foreign_messages.test.js through the real worker).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkSender, MessageError } from '../../extension/messages.js';

const ID = 'kkbhhgejcecbmgehppbhkbcbapbihcim';
const ORIGIN = `chrome-extension://${ID}/`;
const fromTab = { id: ID, tab: { id: 12 }, url: 'https://github.com/octo/hello/pull/7' };
const fromPopup = { id: ID, url: `${ORIGIN}popup.html` };

function refused(sender, variant) {
  assert.throws(
    () => checkSender(sender, ID, ORIGIN),
    (err) => err instanceof MessageError && err.name === 'MessageError' && err.variant === variant,
  );
}

test('our content script in a github.com tab is the content family, with its tab id and Chrome\'s incognito flag', () => {
  assert.deepEqual(checkSender(fromTab, ID, ORIGIN), { family: 'content', tabId: 12, incognito: false });
  const incognitoTab = { ...fromTab, tab: { id: 13, incognito: true } };
  assert.deepEqual(checkSender(incognitoTab, ID, ORIGIN), { family: 'content', tabId: 13, incognito: true });
});

test('our own pages are the page family, also when opened in a tab', () => {
  assert.deepEqual(checkSender(fromPopup, ID, ORIGIN), { family: 'page' });
  assert.deepEqual(checkSender({ id: ID, url: `${ORIGIN}options.html`, tab: { id: 4 } }, ID, ORIGIN), { family: 'page' });
});

test('messages from other extensions or web pages are refused', () => {
  refused({ id: 'someotherextensionidaaaaaaaaaaaa', url: 'chrome-extension://x/' }, 'ForeignSender');
  refused({ url: 'https://evil.example/' }, 'ForeignSender');
  refused(undefined, 'ForeignSender');
});

test('a content message without a tab, or from a page that is not github.com, is refused', () => {
  refused({ id: ID, url: 'https://github.com/octo/hello/pull/7' }, 'NoTab');
  refused({ id: ID, tab: { id: -1 }, url: 'https://github.com/octo/hello/pull/7' }, 'NoTab');
  refused({ id: ID, tab: { id: 3 }, url: 'https://gitlab.com/octo/hello/pull/7' }, 'WrongOrigin');
  refused({ id: ID, tab: { id: 3 } }, 'WrongOrigin');
});
