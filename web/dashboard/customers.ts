// The customer list: the `customers` filters (KYC / AML status, search, type, updated since),
// cursor pagination and totalCount. The connection is forward-only, so the list keeps the stack
// of `after` cursors it came through: Next pushes the page's endCursor, Previous pops one.
import { ApiError, type GraphQLClient } from './api.js';
import { amlBadge, kycBadge } from './badges.js';
import { fill, h, uid } from './dom.js';
import { countOf, formatDateTime, formatShortDateTime } from './format.js';
import { CUSTOMERS } from './operations.js';
import { AML_LABELS, AML_STATUSES, KYC_LABELS, KYC_STATUSES, TYPE_LABELS } from './statuses.js';
import type { Machine } from './tiles.js';
import type { AmlStatus, CustomerFilter, CustomerPage, CustomerRow, CustomerType, KycStatus } from './types.js';

export const PAGE_SIZES = [10, 25, 50, 100] as const;
const DEFAULT_PAGE_SIZE = 25;
/** Typing in the search box waits this long for the next key before asking the gateway. */
const SEARCH_DEBOUNCE_MS = 250;

interface Filters {
  kyc: Set<KycStatus>;
  aml: Set<AmlStatus>;
  search: string;
  type: CustomerType | '';
  /** The value of the datetime-local input (local time), '' for none. */
  updatedSince: string;
}

const numbers = new Intl.NumberFormat();

export interface CustomerListOptions {
  client: GraphQLClient;
  /** A row's name was activated: open its panel; focus returns to `opener` when it closes. */
  onOpen(id: string, opener: HTMLElement): void;
  /** The status filters changed (the tiles show them pressed). */
  onStatusFilter(kyc: ReadonlySet<string>, aml: ReadonlySet<string>): void;
}

export class CustomerList {
  readonly element: HTMLElement;
  private filters: Filters = { kyc: new Set(), aml: new Set(), search: '', type: '', updatedSince: '' };
  private pageSize = DEFAULT_PAGE_SIZE;
  /** `after` of each page walked through; the last one is the current page's. */
  private cursors: (string | null)[] = [null];
  private page: CustomerPage | null = null;
  private request: AbortController | null = null;
  private searchTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly rows = new Map<string, HTMLTableRowElement>();

  private readonly form: HTMLFormElement;
  private readonly statusMenus: Record<
    Machine,
    { details: HTMLDetailsElement; summary: HTMLElement; boxes: Map<string, HTMLInputElement> }
  >;
  private readonly tbody = h('tbody');
  private readonly table: HTMLTableElement;
  private readonly summary = h('p', { class: 'list-summary', id: uid('summary'), 'aria-live': 'polite', tabindex: '-1' });
  private readonly message = h('div', { class: 'list-message', hidden: true });
  private searchInput: HTMLInputElement;
  private readonly clear = h(
    'button',
    { type: 'button', class: 'btn btn-quiet', hidden: true, onclick: () => this.reset() },
    'Clear filters',
  );
  private readonly prev: HTMLButtonElement;
  private readonly next: HTMLButtonElement;

  constructor(private readonly options: CustomerListOptions) {
    const searchId = uid('search');
    const typeId = uid('type');
    const sinceId = uid('since');
    const sizeId = uid('size');
    this.statusMenus = {
      kyc: this.statusMenu('kyc', 'KYC status', KYC_STATUSES, (s) => KYC_LABELS[s as KycStatus]),
      aml: this.statusMenu('aml', 'AML status', AML_STATUSES, (s) => AML_LABELS[s as AmlStatus]),
    };
    const search = (this.searchInput = h('input', {
      id: searchId,
      name: 'search',
      type: 'search',
      placeholder: 'Name, email, external id',
      title: 'Part of the name, email or external id',
      autocomplete: 'off',
      spellcheck: 'false',
      maxlength: 255,
      oninput: (e) => {
        this.filters.search = (e.target as HTMLInputElement).value.trim();
        clearTimeout(this.searchTimer);
        this.searchTimer = setTimeout(() => this.restart(), SEARCH_DEBOUNCE_MS);
      },
    }));
    const type = h(
      'select',
      {
        id: typeId,
        name: 'type',
        onchange: (e) => {
          this.filters.type = (e.target as HTMLSelectElement).value as CustomerType | '';
          this.restart();
        },
      },
      h('option', { value: '' }, 'Any'),
      (Object.keys(TYPE_LABELS) as CustomerType[]).map((t) => h('option', { value: t }, TYPE_LABELS[t])),
    );
    const since = h('input', {
      id: sinceId,
      name: 'updatedSince',
      type: 'datetime-local',
      onchange: (e) => {
        this.filters.updatedSince = (e.target as HTMLInputElement).value;
        this.restart();
      },
    });
    this.form = h(
      'form',
      {
        class: 'filters',
        role: 'search',
        'aria-label': 'Filter customers',
        // Nothing is ever submitted anywhere: Enter applies the search at once.
        onsubmit: (e) => {
          e.preventDefault();
          clearTimeout(this.searchTimer);
          this.restart();
        },
      },
      h('div', { class: 'field field-search' }, h('label', { for: searchId }, 'Search'), search),
      h('div', { class: 'field' }, h('span', { class: 'field-label', 'aria-hidden': 'true' }, 'KYC status'), this.statusMenus.kyc.details),
      h('div', { class: 'field' }, h('span', { class: 'field-label', 'aria-hidden': 'true' }, 'AML status'), this.statusMenus.aml.details),
      h('div', { class: 'field' }, h('label', { for: typeId }, 'Type'), type),
      h('div', { class: 'field' }, h('label', { for: sinceId, title: 'In your local time' }, 'Updated since'), since),
    );

    this.table = h(
      'table',
      { class: 'customers', 'aria-describedby': this.summary.id },
      h('caption', { class: 'visually-hidden' }, 'Customers'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { scope: 'col' }, 'Customer'),
          h('th', { scope: 'col', class: 'col-external' }, 'External id'),
          h('th', { scope: 'col' }, 'KYC'),
          h('th', { scope: 'col' }, 'AML'),
          h('th', { scope: 'col', class: 'col-updated' }, 'Updated'),
        ),
      ),
      this.tbody,
    );
    this.prev = h('button', { type: 'button', class: 'btn', onclick: () => this.go(-1) }, '← Previous');
    this.next = h('button', { type: 'button', class: 'btn', onclick: () => this.go(1) }, 'Next →');
    const size = h(
      'select',
      {
        id: sizeId,
        onchange: (e) => {
          this.pageSize = Number((e.target as HTMLSelectElement).value);
          this.restart();
        },
      },
      PAGE_SIZES.map((n) => h('option', { value: n, selected: n === this.pageSize }, String(n))),
    );
    this.element = h(
      'section',
      { class: 'card list', 'aria-labelledby': 'customers-heading' },
      h(
        'div',
        { class: 'card-head' },
        h('h2', { id: 'customers-heading' }, 'Customers'),
        h('button', { type: 'button', class: 'btn btn-quiet', onclick: () => void this.load() }, 'Refresh'),
      ),
      this.form,
      h('div', { class: 'list-bar' }, this.summary, this.clear),
      h('div', { class: 'table-wrap' }, this.table),
      this.message,
      h(
        'nav',
        { class: 'pager', 'aria-label': 'Pages' },
        h('div', { class: 'field field-inline' }, h('label', { for: sizeId }, 'Rows per page'), size),
        h('div', { class: 'pager-buttons' }, this.prev, this.next),
      ),
    );
  }

  /** A dropdown of status checkboxes (several statuses may be selected). */
  private statusMenu(machine: Machine, title: string, statuses: readonly string[], label: (s: string) => string) {
    const boxes = new Map<string, HTMLInputElement>();
    const summary = h('summary', { class: 'select-like' }, h('span', { class: 'visually-hidden' }, `${title}: `), 'Any');
    const list = h('div', { class: 'menu', role: 'group', 'aria-label': title });
    for (const status of statuses) {
      const box = h('input', {
        type: 'checkbox',
        name: machine,
        value: status,
        onchange: () => this.toggle(machine, status, box.checked),
      });
      boxes.set(status, box);
      list.append(h('label', { class: 'check' }, box, label(status)));
    }
    const details = h('details', { class: 'dropdown', 'data-machine': machine }, summary, list);
    // Like a menu: Escape, or the focus going elsewhere, closes it (a bare <details> stays open).
    details.addEventListener('keydown', (event) => {
      if (event.key !== 'Escape' || !details.open) return;
      details.open = false;
      summary.focus();
    });
    details.addEventListener('focusout', (event) => {
      if (details.open && !details.contains(event.relatedTarget as Node | null)) details.open = false;
    });
    return { details, summary, boxes };
  }

  /** Adds or removes a status from the filter (a tile or a checkbox) and reloads page 1. */
  toggle(machine: Machine, status: string, on?: boolean): void {
    const set = (machine === 'kyc' ? this.filters.kyc : this.filters.aml) as Set<string>;
    const wanted = on ?? !set.has(status);
    if (wanted) set.add(status);
    else set.delete(status);
    this.syncStatusControls();
    this.restart();
  }

  private syncStatusControls(): void {
    for (const machine of ['kyc', 'aml'] as const) {
      const set = (machine === 'kyc' ? this.filters.kyc : this.filters.aml) as Set<string>;
      const menu = this.statusMenus[machine];
      for (const [status, box] of menu.boxes) box.checked = set.has(status);
      const labels = [...set].map((s) => (machine === 'kyc' ? KYC_LABELS[s as KycStatus] : AML_LABELS[s as AmlStatus]));
      const title = machine === 'kyc' ? 'KYC status' : 'AML status';
      const shown = labels.length === 0 ? 'Any' : labels.length <= 2 ? labels.join(', ') : `${labels.length} selected`;
      fill(menu.summary, h('span', { class: 'visually-hidden' }, `${title}: `), shown);
    }
    this.options.onStatusFilter(this.filters.kyc, this.filters.aml);
  }

  private reset(): void {
    const focused = document.activeElement === this.clear;
    this.filters = { kyc: new Set(), aml: new Set(), search: '', type: '', updatedSince: '' };
    this.form.reset();
    this.syncStatusControls();
    this.restart();
    // The button hides itself: keep the keyboard user in the filters.
    if (focused) this.searchInput.focus();
  }

  /** The filter as the API takes it. */
  private apiFilter(): CustomerFilter {
    const f: CustomerFilter = {};
    if (this.filters.kyc.size) f.kycStatus = [...this.filters.kyc];
    if (this.filters.aml.size) f.amlStatus = [...this.filters.aml];
    if (this.filters.search) f.search = this.filters.search;
    if (this.filters.type) f.type = this.filters.type;
    if (this.filters.updatedSince) {
      const since = new Date(this.filters.updatedSince);
      if (!Number.isNaN(since.getTime())) f.updatedSince = since.toISOString();
    }
    return f;
  }

  /** Back to page 1 (a filter or the page size changed). */
  restart(): void {
    this.clear.hidden = !this.isFiltered();
    this.cursors = [null];
    void this.load();
  }

  private go(step: 1 | -1): void {
    if (step === 1) {
      const end = this.page?.pageInfo.endCursor;
      if (!this.page?.pageInfo.hasNextPage || !end) return;
      this.cursors.push(end);
    } else {
      if (this.cursors.length <= 1) return;
      this.cursors.pop();
    }
    void this.load();
  }

  /** Loads the current page (the last cursor of the stack) with the current filter. */
  async load(): Promise<void> {
    this.request?.abort();
    const request = new AbortController();
    this.request = request;
    this.table.setAttribute('aria-busy', 'true');
    try {
      const data = await this.options.client.request<{ customers: CustomerPage }>(
        CUSTOMERS,
        { first: this.pageSize, after: this.cursors.at(-1) ?? null, filter: this.apiFilter() },
        request.signal,
      );
      if (request.signal.aborted) return;
      this.render(data.customers);
    } catch (error) {
      if (request.signal.aborted) return;
      this.showMessage(error instanceof ApiError ? error.message : 'The customers could not be loaded.', true);
    } finally {
      if (this.request === request) {
        this.request = null;
        this.table.removeAttribute('aria-busy');
      }
    }
  }

  private render(page: CustomerPage): void {
    this.page = page;
    this.rows.clear();
    const hadFocus = this.tbody.contains(document.activeElement);
    fill(
      this.tbody,
      page.edges.map(({ node }) => this.row(node)),
    );
    const first = (this.cursors.length - 1) * this.pageSize + 1;
    const last = first + page.edges.length - 1;
    fill(
      this.summary,
      page.edges.length === 0
        ? `No customers match${this.cursors.length > 1 ? ' on this page' : ''}.`
        : `${first === last ? numbers.format(first) : `${numbers.format(first)}–${numbers.format(last)}`} of ${countOf(page.totalCount, 'customer')}`,
    );
    this.message.hidden = true;
    if (page.edges.length === 0) this.showMessage(this.isFiltered() ? 'No customers match these filters.' : 'No customers yet.', false);
    const wasFocused = document.activeElement;
    this.prev.disabled = this.cursors.length <= 1;
    this.next.disabled = !page.pageInfo.hasNextPage;
    // A pager button that just became disabled drops the focus: keep the keyboard user on the list.
    if (hadFocus || (wasFocused instanceof HTMLButtonElement && wasFocused.disabled)) this.summary.focus();
  }

  private isFiltered(): boolean {
    const f = this.filters;
    return f.kyc.size > 0 || f.aml.size > 0 || f.search !== '' || f.type !== '' || f.updatedSince !== '';
  }

  private showMessage(text: string, isError: boolean): void {
    fill(this.message, h('p', isError ? { role: 'alert' } : {}, text));
    if (isError) this.message.append(h('button', { type: 'button', class: 'btn', onclick: () => void this.load() }, 'Try again'));
    this.message.classList.toggle('is-error', isError);
    this.message.hidden = false;
  }

  private row(customer: CustomerRow): HTMLTableRowElement {
    const row = h('tr', { 'data-customer-id': customer.id });
    this.rows.set(customer.id, row);
    this.patchRow(row, customer, true);
    return row;
  }

  /** Writes a customer into its row; cells are patched, so a focused name button keeps focus. */
  private patchRow(row: HTMLTableRowElement, c: CustomerRow, fresh = false): void {
    if (fresh) {
      const open = h('button', { type: 'button', class: 'link-button', onclick: () => this.options.onOpen(c.id, open) });
      row.append(
        h('td', { class: 'col-name' }, h('div', { class: 'name-line' }, open, h('span', { class: 'tag' })), h('span', { class: 'sub' })),
        h('td', { class: 'col-external mono' }),
        h('td', { class: 'col-kyc' }),
        h('td', { class: 'col-aml' }),
        h('td', { class: 'col-updated' }),
      );
    }
    const [name, external, kyc, aml, updated] = Array.from(row.cells);
    const button = name?.querySelector('button');
    if (button) button.textContent = c.fullName;
    // The type is the exception worth a tag; individuals are the default.
    const tag = name?.querySelector<HTMLElement>('.tag');
    if (tag) {
      tag.textContent = c.type === 'INDIVIDUAL' ? '' : TYPE_LABELS[c.type];
      tag.hidden = c.type === 'INDIVIDUAL';
    }
    const sub = name?.querySelector('.sub');
    if (sub) sub.textContent = c.email ?? '';
    if (external) external.textContent = c.externalId ?? '—';
    if (kyc) fill(kyc, kycBadge(c.kycStatus));
    if (aml) fill(aml, amlBadge(c.aml.status));
    if (updated) fill(updated, h('time', { datetime: c.updatedAt, title: formatDateTime(c.updatedAt) }, formatShortDateTime(c.updatedAt)));
  }

  /** A customer changed (live feed or a back-office move): its row, if shown, is updated in place. */
  update(customer: CustomerRow): void {
    const row = this.rows.get(customer.id);
    if (!row) return;
    this.patchRow(row, customer);
    row.classList.remove('flash');
    // Restart the highlight animation.
    void row.offsetWidth;
    row.classList.add('flash');
  }
}
