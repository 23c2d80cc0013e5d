// devices-view.js — the signed-in user's devices (API tokens) with "Sign
// out" per device and "Sign out everywhere", each behind a confirmation.

import { byId, h, replaceChildren } from './dom.js';
import { when, whenFull } from './format.js';

const dialog = () => byId('confirm');

/**
 * Asks before a destructive action, in a modal <dialog> (focus is trapped,
 * Escape cancels). Resolves to true only when the user confirms.
 */
export function confirmAction({ title, text, ok }) {
  const d = dialog();
  replaceChildren(byId('confirm-title'), title);
  replaceChildren(byId('confirm-text'), text);
  replaceChildren(byId('confirm-ok'), ok);
  d.returnValue = '';
  return new Promise((resolve) => {
    d.addEventListener('close', () => resolve(d.returnValue === 'ok'), { once: true });
    d.showModal();
    byId('confirm-cancel').focus();
  });
}

/** The devices table. `onSignOut(device)` runs after the user confirms. */
export class DevicesView {
  constructor({ onSignOut }) {
    this.body = byId('devices-body');
    this.onSignOut = onSignOut;
  }

  show(devices) {
    const sorted = [...devices].sort((a, b) => Number(b.current) - Number(a.current) || (b.last_seen_at ?? '').localeCompare(a.last_seen_at ?? ''));
    replaceChildren(this.body, ...sorted.map((d) => this.renderRow(d)));
  }

  renderRow(d) {
    const button = h('button', {
      type: 'button',
      class: 'btn btn-small',
      'aria-label': `Sign out ${d.label}${d.current ? ' (this dashboard)' : ''}`,
    }, 'Sign out');
    button.addEventListener('click', async () => {
      const yes = await confirmAction({
        title: `Sign out “${d.label}”?`,
        text: d.current
          ? 'This revokes the token this dashboard is using: you will have to sign in again with another one.'
          : 'This revokes the device’s token. It stops syncing until it is given a new token.',
        ok: 'Sign out device',
      });
      if (yes) this.onSignOut(d, button);
    });
    return h('tr', { 'data-device-id': String(d.id) },
      h('th', { scope: 'row', class: 'device-label' },
        h('span', { class: 'label-text' }, d.label),
        d.current ? h('span', { class: 'badge badge-info' }, 'this dashboard') : null),
      h('td', { class: 'col-created' }, h('time', { datetime: d.created_at, title: whenFull(d.created_at) }, when(d.created_at))),
      h('td', {}, d.last_seen_at ? h('time', { datetime: d.last_seen_at, title: whenFull(d.last_seen_at) }, when(d.last_seen_at)) : h('span', { class: 'muted' }, 'never')),
      h('td', { class: 'actions' }, button));
  }
}
