// messages.js — the messages the service worker accepts, as a discriminated
// union on `type`, and the guard that checks one before anything acts on it.
//
// Two families, told apart by who may send them:
// - content messages come from our content script in a github.com tab
//   (the sender must carry a tab);
// - page messages come from our own popup and options pages.
// Anything else — another extension, a web page, an unknown type, a missing
// or mistyped field, an extra field — is refused with a typed error.

/** Longest URL path a content script may report. */
const MAX_PATH = 2048;
/** Longest server URL or token the options page may submit. */
const MAX_SETTING = 4096;

const isString = (max) => (v) => typeof v === 'string' && v.length <= max;
const isBool = (v) => typeof v === 'boolean';
const isSeq = (v) => Number.isSafeInteger(v) && v >= 0;
const isId = (v) => typeof v === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(v);

/** Fields each message type carries, with a check for each. */
const CONTENT_MESSAGES = {
  'page-state': { path: isString(MAX_PATH), visible: isBool, doc: isSeq, seq: isSeq },
  'page-left': { path: isString(MAX_PATH), doc: isSeq, seq: isSeq },
};

const PAGE_MESSAGES = {
  'get-status': {},
  'sync-now': {},
  'retry-failed': { id: isId },
  'discard-failed': { id: isId },
  'get-settings': {},
  'get-timing': {},
  'get-privacy': {},
  'save-privacy': { timeIncognito: isBool, repos: isString(MAX_SETTING), onlyThese: isBool },
  'save-timing': { idleSeconds: (v) => Number.isSafeInteger(v) && v >= 0 },
  'save-settings': { serverUrl: isString(MAX_SETTING), token: isString(MAX_SETTING) },
  'test-connection': { serverUrl: isString(MAX_SETTING), token: isString(MAX_SETTING) },
};

/** A refused message: the same `{name, variant, message}` shape as the wasm errors. */
export class MessageError extends Error {
  constructor(variant, message) {
    super(message);
    this.name = 'MessageError';
    this.variant = variant;
  }
}

function checkFields(message, spec) {
  for (const key of Object.keys(message)) {
    if (key !== 'type' && !Object.prototype.hasOwnProperty.call(spec, key)) {
      throw new MessageError('UnexpectedField', `unexpected field "${key}" in "${message.type}"`);
    }
  }
  for (const [key, ok] of Object.entries(spec)) {
    if (!ok(message[key])) {
      throw new MessageError('InvalidField', `field "${key}" of "${message.type}" is missing or invalid`);
    }
  }
}

/**
 * Checks `message` and its `sender` (a chrome.runtime.MessageSender).
 * `extensionId` is chrome.runtime.id and `extensionOrigin` the
 * chrome-extension://<id>/ prefix of our own pages.
 *
 * Returns `{ family: 'content', tabId, message }` (a `page-state` gains
 * `incognito` from the sender's tab) or
 * `{ family: 'page', message }`; throws a MessageError otherwise.
 */
export function checkMessage(message, sender, extensionId, extensionOrigin) {
  if (!sender || sender.id !== extensionId) {
    throw new MessageError('ForeignSender', 'messages from other extensions or web pages are refused');
  }
  if (message === null || typeof message !== 'object' || Array.isArray(message)) {
    throw new MessageError('NotAnObject', 'a message must be an object');
  }
  const { type } = message;
  if (typeof type !== 'string') {
    throw new MessageError('MissingType', 'a message must have a string "type"');
  }
  if (Object.prototype.hasOwnProperty.call(CONTENT_MESSAGES, type)) {
    const tabId = sender.tab && sender.tab.id;
    if (!Number.isInteger(tabId) || tabId < 0) {
      throw new MessageError('NoTab', `"${type}" must come from a tab`);
    }
    if (typeof sender.url !== 'string' || !sender.url.startsWith('https://github.com/')) {
      throw new MessageError('WrongOrigin', `"${type}" must come from a github.com page`);
    }
    checkFields(message, CONTENT_MESSAGES[type]);
    // Whether the tab is incognito comes from Chrome, never from the page
    // (a content script sending `incognito` was refused above).
    const checked = type === 'page-state' ? { ...message, incognito: sender.tab.incognito === true } : message;
    return { family: 'content', tabId, message: checked };
  }
  if (Object.prototype.hasOwnProperty.call(PAGE_MESSAGES, type)) {
    if (typeof sender.url !== 'string' || !sender.url.startsWith(extensionOrigin)) {
      throw new MessageError('WrongOrigin', `"${type}" must come from the extension's own pages`);
    }
    checkFields(message, PAGE_MESSAGES[type]);
    return { family: 'page', message };
  }
  throw new MessageError('UnknownType', `unknown message type "${type}"`);
}

/** An error as plain data that survives chrome.runtime messaging. */
export function errorToPlain(err) {
  if (err && typeof err === 'object') {
    return {
      name: typeof err.name === 'string' ? err.name : 'Error',
      variant: typeof err.variant === 'string' ? err.variant : 'Unknown',
      message: typeof err.message === 'string' ? err.message : String(err),
    };
  }
  return { name: 'Error', variant: 'Unknown', message: String(err) };
}
