// messages.js — who may send the service worker a message. Only the sender
// is checked here, because only Chrome knows it; the message itself (its
// `type`, fields and bounds) is decoded once, in Rust
// (crates/worktime-wasm/src/messages.rs), and refused there when malformed.
//
// Two families, told apart by who sends them:
// - content messages come from our content script in a github.com tab
//   (the sender must carry a tab);
// - page messages come from our own popup and options pages.
// Anything from another extension or a web page is refused with a typed error.

/** A refused sender: the same `{name, variant, message}` shape as the wasm errors. */
export class MessageError extends Error {
  constructor(variant, message) {
    super(message);
    this.name = 'MessageError';
    this.variant = variant;
  }
}

/**
 * Checks a message's `sender` (a chrome.runtime.MessageSender).
 * `extensionId` is chrome.runtime.id and `extensionOrigin` the
 * chrome-extension://<id>/ prefix of our own pages.
 *
 * Returns `{ family: 'content', tabId, incognito }` for our content script
 * in a github.com tab (whether the tab is incognito comes from Chrome, never
 * from the page) or `{ family: 'page' }` for our own pages; throws a
 * MessageError otherwise.
 */
export function checkSender(sender, extensionId, extensionOrigin) {
  if (!sender || sender.id !== extensionId) {
    throw new MessageError('ForeignSender', 'messages from other extensions or web pages are refused');
  }
  if (typeof sender.url === 'string' && sender.url.startsWith(extensionOrigin)) {
    return { family: 'page' };
  }
  const tabId = sender.tab && sender.tab.id;
  if (!Number.isInteger(tabId) || tabId < 0) {
    throw new MessageError('NoTab', 'a message from a page must come from a tab');
  }
  if (typeof sender.url !== 'string' || !sender.url.startsWith('https://github.com/')) {
    throw new MessageError('WrongOrigin', 'messages must come from a github.com page or the extension\'s own pages');
  }
  return { family: 'content', tabId, incognito: sender.tab.incognito === true };
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
