// The tiles: how many customers are in each KYC and AML status (customerStats), kept current
// by the app as changes arrive. Each tile is a toggle button that filters the list by its status.
import { h, fill } from './dom.js';
import { countOf } from './format.js';
import { AML_LABELS, AML_STATUSES, AML_TONES, KYC_LABELS, KYC_STATUSES, KYC_TONES, type Tone } from './statuses.js';
import type { AmlStatus, KycStatus, Stats } from './types.js';

export type Machine = 'kyc' | 'aml';

interface Tile {
  button: HTMLButtonElement;
  count: HTMLElement;
  segment: HTMLElement;
}

const numbers = new Intl.NumberFormat();

export class Tiles {
  readonly element: HTMLElement;
  private readonly tiles = new Map<string, Tile>();
  private readonly totals: Record<Machine, HTMLElement>;
  private readonly error = h('p', { class: 'inline-error', role: 'alert', hidden: true });

  constructor(onToggle: (machine: Machine, status: string) => void) {
    this.totals = { kyc: h('span', { class: 'card-meta' }), aml: h('span', { class: 'card-meta' }) };
    const group = (
      machine: Machine,
      title: string,
      statuses: readonly string[],
      label: (s: string) => string,
      tone: (s: string) => Tone,
    ) => {
      const meter = h('div', { class: 'meter', 'aria-hidden': 'true' });
      const grid = h('div', { class: 'tile-grid' });
      for (const status of statuses) {
        const count = h('span', { class: 'tile-count' }, '–');
        const button = h(
          'button',
          {
            type: 'button',
            class: `tile tone-${tone(status)}`,
            'aria-pressed': 'false',
            'data-machine': machine,
            'data-status': status,
            title: `Show only customers whose ${machine.toUpperCase()} status is ${label(status)}`,
            onclick: () => onToggle(machine, status),
          },
          h('span', { class: 'tile-label' }, label(status)),
          count,
        );
        const segment = h('span', { class: `meter-segment tone-${tone(status)}` });
        meter.append(segment);
        grid.append(button);
        this.tiles.set(`${machine}:${status}`, { button, count, segment });
      }
      const headingId = `tiles-${machine}`;
      return h(
        'section',
        { class: 'card tiles', 'data-machine': machine, 'aria-labelledby': headingId },
        h('div', { class: 'card-head' }, h('h2', { id: headingId }, title), this.totals[machine]),
        meter,
        grid,
      );
    };
    this.element = h(
      'div',
      { class: 'overview' },
      group(
        'kyc',
        'KYC status',
        KYC_STATUSES,
        (s) => KYC_LABELS[s as KycStatus],
        (s) => KYC_TONES[s as KycStatus],
      ),
      group(
        'aml',
        'AML screening',
        AML_STATUSES,
        (s) => AML_LABELS[s as AmlStatus],
        (s) => AML_TONES[s as AmlStatus],
      ),
      this.error,
    );
  }

  /** Shows new counts, patching the tiles in place (a focused tile keeps its focus). */
  update(stats: Stats): void {
    this.error.hidden = true;
    const set = (machine: Machine, rows: { status: string; count: number }[]) => {
      for (const { status, count } of rows) {
        const tile = this.tiles.get(`${machine}:${status}`);
        if (!tile) continue;
        tile.count.textContent = numbers.format(count);
        tile.segment.style.flexGrow = String(count);
        tile.button.dataset.count = String(count);
      }
      fill(this.totals[machine], countOf(stats.total, 'customer'));
    };
    set('kyc', stats.kyc);
    set('aml', stats.aml);
  }

  /** Marks the tiles whose status is in the list's filter. */
  setPressed(kyc: ReadonlySet<string>, aml: ReadonlySet<string>): void {
    for (const [id, tile] of this.tiles) {
      const [machine, status] = id.split(':') as [Machine, string];
      tile.button.setAttribute('aria-pressed', String((machine === 'kyc' ? kyc : aml).has(status)));
    }
  }

  showError(message: string): void {
    fill(this.error, `Counts could not be refreshed: ${message}`);
    this.error.hidden = false;
  }
}
