// The live feed: every KYC / AML change of the organisation as it commits, newest first, in a
// log live region (screen readers announce new entries). At most MAX_ITEMS are kept on screen.
import { amlBadge, kycBadge } from './badges.js';
import { fill, h } from './dom.js';
import { formatActor, formatTime } from './format.js';
import type { StatusChange } from './types.js';

const MAX_ITEMS = 200;

export class Feed {
  readonly element: HTMLElement;
  private readonly list = h('ol', { class: 'feed-list' });
  private readonly empty = h(
    'p',
    { class: 'feed-empty' },
    'Waiting for status changes… New KYC and AML moves of your organisation appear here as they happen.',
  );
  private readonly notice = h('p', { class: 'notice', role: 'status', hidden: true });

  constructor(private readonly onOpen: (customerId: string, opener: HTMLElement) => void) {
    this.element = h(
      'section',
      { class: 'card feed', 'aria-labelledby': 'feed-heading' },
      h('div', { class: 'card-head' }, h('h2', { id: 'feed-heading' }, 'Live changes')),
      this.notice,
      this.empty,
      h('div', { class: 'feed-log', role: 'log', 'aria-label': 'Live status changes', 'aria-relevant': 'additions' }, this.list),
    );
  }

  /** Adds a change at the top. */
  add(change: StatusChange): void {
    this.empty.hidden = true;
    const move = change.kyc
      ? { machine: 'KYC', from: kycBadge(change.kyc.from), to: kycBadge(change.kyc.to), raw: change.kyc }
      : change.aml
        ? { machine: 'AML', from: amlBadge(change.aml.from), to: amlBadge(change.aml.to), raw: change.aml }
        : null;
    const open = h(
      'button',
      { type: 'button', class: 'link-button', onclick: () => this.onOpen(change.customer.id, open) },
      change.customer.fullName,
    );
    const item = h(
      'li',
      {
        class: 'feed-item',
        'data-customer-id': change.customer.id,
        'data-kind': change.kind,
        'data-from': move?.raw.from,
        'data-to': move?.raw.to,
      },
      h('div', { class: 'feed-top' }, open, h('time', { datetime: change.occurredAt }, formatTime(change.occurredAt))),
      move
        ? h(
            'div',
            { class: 'feed-move' },
            h('span', { class: 'feed-machine' }, move.machine),
            move.from,
            h('span', { 'aria-hidden': 'true' }, '→'),
            h('span', { class: 'visually-hidden' }, 'to'),
            move.to,
          )
        : null,
      h('div', { class: 'feed-actor' }, formatActor(change.actor)),
    );
    this.list.prepend(item);
    while (this.list.children.length > MAX_ITEMS) this.list.lastElementChild?.remove();
  }

  showNotice(message: string): void {
    fill(this.notice, message);
    this.notice.hidden = false;
  }
}
