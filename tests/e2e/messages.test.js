// The worker's message guard (extension/messages.js): what it accepts from
// whom, and that everything else is refused with a typed error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkMessage, MessageError } from '../../extension/messages.js';

const ID = 'kkbhhgejcecbmgehppbhkbcbapbihcim';
const ORIGIN = `chrome-extension://${ID}/`;
const fromTab = { id: ID, tab: { id: 12 }, url: 'https://github.com/octo/hello/pull/7' };
const fromPopup = { id: ID, url: `${ORIGIN}popup.html` };

function refused(message, sender, variant) {
  assert.throws(
    () => checkMessage(message, sender, ID, ORIGIN),
    (err) => err instanceof MessageError && err.name === 'MessageError' && err.variant === variant,
  );
}

test('content reports from a github.com tab are accepted with their tab id', () => {
  const m = { type: 'page-state', path: '/octo/hello/pull/7', visible: true, doc: 4503599627370495, seq: 1 };
  assert.deepEqual(checkMessage(m, fromTab, ID, ORIGIN), { family: 'content', tabId: 12, message: { ...m, incognito: false } });
  const incognitoTab = { ...fromTab, tab: { id: 13, incognito: true } };
  assert.equal(checkMessage(m, incognitoTab, ID, ORIGIN).message.incognito, true, 'the incognito flag comes from Chrome');
  refused({ ...m, incognito: false }, incognitoTab, 'UnexpectedField');
  const left = { type: 'page-left', path: '/octo/hello/pull/7', doc: 9, seq: 2 };
  assert.equal(checkMessage(left, fromTab, ID, ORIGIN).family, 'content');
});

test('page commands from our own pages are accepted', () => {
  for (const m of [
    { type: 'get-status' },
    { type: 'sync-now' },
    { type: 'retry-failed', id: 'abc_-1' },
    { type: 'discard-failed', id: 'abc' },
    { type: 'get-settings' },
    { type: 'save-settings', serverUrl: 'https://wt.example', token: 't' },
    { type: 'get-timing' },
    { type: 'save-timing', idleSeconds: 180 },
    { type: 'get-privacy' },
    { type: 'save-privacy', timeIncognito: false, repos: 'octo/*', onlyThese: false },
    { type: 'test-connection', serverUrl: '', token: '' },
  ]) {
    assert.deepEqual(checkMessage(m, fromPopup, ID, ORIGIN), { family: 'page', message: m });
  }
});

test('messages from other extensions or web pages are refused', () => {
  refused({ type: 'get-status' }, { id: 'someotherextensionidaaaaaaaaaaaa', url: 'chrome-extension://x/' }, 'ForeignSender');
  refused({ type: 'get-status' }, { url: 'https://evil.example/' }, 'ForeignSender');
  refused({ type: 'get-status' }, undefined, 'ForeignSender');
});

test('a content message without a tab, or from a page that is not github.com, is refused', () => {
  const m = { type: 'page-state', path: '/octo/hello/pull/7', visible: true, doc: 1, seq: 1 };
  refused(m, { id: ID, url: 'https://github.com/octo/hello/pull/7' }, 'NoTab');
  refused(m, { id: ID, tab: { id: 3 }, url: 'https://gitlab.com/octo/hello/pull/7' }, 'WrongOrigin');
});

test('a content script cannot send page commands such as saving settings', () => {
  refused({ type: 'save-settings', serverUrl: 'https://evil.example', token: 'x' }, fromTab, 'WrongOrigin');
  refused({ type: 'sync-now' }, fromTab, 'WrongOrigin');
});

test('malformed messages are refused and name what is wrong', () => {
  refused(null, fromPopup, 'NotAnObject');
  refused('get-status', fromPopup, 'NotAnObject');
  refused([], fromPopup, 'NotAnObject');
  refused({}, fromPopup, 'MissingType');
  refused({ type: 'rm-rf' }, fromPopup, 'UnknownType');
  refused({ type: 'get-status', extra: 1 }, fromPopup, 'UnexpectedField');
  refused({ type: 'retry-failed', id: 'a/b' }, fromPopup, 'InvalidField');
  refused({ type: 'retry-failed' }, fromPopup, 'InvalidField');
  refused({ type: 'page-state', path: '/a/b/pull/1', visible: 'yes', doc: 1, seq: 1 }, fromTab, 'InvalidField');
  refused({ type: 'page-state', path: 'x'.repeat(5000), visible: true, doc: 1, seq: 1 }, fromTab, 'InvalidField');
  refused({ type: 'page-state', path: '/a/b/pull/1', visible: true, doc: 1, seq: -1 }, fromTab, 'InvalidField');
  refused({ type: 'page-state', path: '/a/b/pull/1', visible: true, seq: 1 }, fromTab, 'InvalidField');
  refused({ type: 'page-state', path: '/a/b/pull/1', visible: true, doc: 2 ** 53, seq: 1 }, fromTab, 'InvalidField');
  refused({ type: 'page-left', path: '/a/b/pull/1', doc: '7', seq: 1 }, fromTab, 'InvalidField');
  refused({ type: 'toString' }, fromPopup, 'UnknownType');
  refused({ type: 'save-timing', idleSeconds: '180' }, fromPopup, 'InvalidField');
  refused({ type: 'save-timing' }, fromPopup, 'InvalidField');
  refused({ type: 'save-timing', idleSeconds: 180 }, fromTab, 'WrongOrigin');
});
