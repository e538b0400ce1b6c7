// The customer panel (a modal dialog): identity, AML block and flags, the audit trail
// (statusHistory with its actors), and for a compliance:write key the back-office moves the
// state machines allow from the customer's current status: buttons, plus the verified-identity
// form for VERIFIED and the findings form for an AML result. The gateway still decides: a move
// it refuses (someone moved the customer meanwhile) shows its InvalidTransitionError.
import { ApiError, type GraphQLClient } from './api.js';
import { amlBadge, kycBadge } from './badges.js';
import { fill, h, uid, type Children } from './dom.js';
import { formatActor, formatDateTime } from './format.js';
import { CUSTOMER, CUSTOMER_HISTORY, RECORD_AML, TRANSITION_KYC } from './operations.js';
import { AML_LABELS, KYC_LABELS, TYPE_LABELS, amlMoves, isAmlResult, kycMoves } from './statuses.js';
import type { AmlFlags, AmlStatus, CustomerDetail, CustomerRow, HistoryEvent, KycStatus, PageInfo, TransitionResult } from './types.js';

/** A feed change for the open customer refreshes the panel after this quiet time. */
const REFRESH_DEBOUNCE_MS = 150;

const FLAG_LABELS: Readonly<Record<keyof AmlFlags, string>> = {
  pep: 'Politically exposed person',
  sanctions: 'Sanctions',
  adverseMedia: 'Adverse media',
  terrorism: 'Terrorism',
};

const ADDED_VIA_LABELS: Readonly<Record<string, string>> = {
  ADMIN_MANUAL: 'Entered by hand',
  AI_EXTRACTED: 'Extracted from documents',
  CONTACT_PORTAL: 'Contact portal',
  BULK_IMPORT: 'Bulk import',
  INTEGRATION: 'API integration',
  SYSTEM: 'Platform',
};

type OpenForm = { kind: 'verify' } | { kind: 'aml'; status: AmlStatus } | null;

export interface PanelOptions {
  client: GraphQLClient;
  /** The key has compliance:write: show the back-office moves. */
  canWrite: boolean;
  /** The customer changed through this panel (the list updates its row). */
  onCustomer(customer: CustomerRow): void;
  /** A short message for the page's status live region. */
  announce(text: string): void;
}

export class CustomerPanel {
  readonly element: HTMLDialogElement;
  private id: string | null = null;
  private opener: HTMLElement | null = null;
  private customer: CustomerDetail | null = null;
  private history: HistoryEvent[] = [];
  private historyPage: PageInfo = { hasNextPage: false, endCursor: null };
  private form: OpenForm = null;
  private formElement: HTMLFormElement | null = null;
  private busy = false;
  private error: string | null = null;
  private fieldErrors = new Map<string, string>();
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private loading = 0;
  /** Set by a successful move until the panel has rendered its result. */
  private moved: string | null = null;
  /** The first read started after that move (older ones may predate it). */
  private movedTicket = 0;

  private readonly titleId = uid('panel-title');
  private readonly title = h('h2', { id: this.titleId, tabindex: '-1' });
  private readonly subtitle = h('p', { class: 'panel-sub' });
  private readonly statusLine = h('div', { class: 'panel-status', tabindex: '-1', 'data-focus-key': 'status' });
  private readonly alert = h('div', { class: 'alert', role: 'alert', tabindex: '-1', hidden: true });
  private readonly actions = h('section', { class: 'panel-section actions', 'aria-label': 'Back-office actions', hidden: true });
  private readonly details = h('section', { class: 'panel-section', 'aria-labelledby': 'panel-details' });
  private readonly identity = h('section', { class: 'panel-section', 'aria-labelledby': 'panel-identity' });
  private readonly aml = h('section', { class: 'panel-section', 'aria-labelledby': 'panel-aml' });
  private readonly historySection = h('section', { class: 'panel-section', 'aria-labelledby': 'panel-history' });

  constructor(private readonly options: PanelOptions) {
    this.element = h(
      'dialog',
      { class: 'panel', 'aria-labelledby': this.titleId, onclose: () => this.closed() },
      h(
        'header',
        { class: 'panel-head' },
        h('div', { class: 'panel-titles' }, this.title, this.subtitle),
        h(
          'button',
          { type: 'button', class: 'btn btn-quiet icon-button', 'aria-label': 'Close', onclick: () => this.element.close() },
          '✕',
        ),
      ),
      h(
        'div',
        { class: 'panel-body' },
        // What a compliance officer reads first: where the customer stands and who moved it.
        this.statusLine,
        this.alert,
        this.actions,
        this.identity,
        this.aml,
        this.historySection,
        this.details,
      ),
    );
    // A click on the backdrop (outside the panel's box) closes it, as users expect of a drawer.
    this.element.addEventListener('click', (event) => {
      if (event.target === this.element) {
        const box = this.element.getBoundingClientRect();
        const e = event as MouseEvent;
        if (e.clientX < box.left || e.clientX > box.right || e.clientY < box.top || e.clientY > box.bottom) this.element.close();
      }
    });
  }

  /** Opens the panel on a customer; focus returns to `opener` when it closes. */
  open(id: string, opener: HTMLElement | null): void {
    this.id = id;
    this.opener = opener;
    this.customer = null;
    this.form = null;
    this.formElement = null;
    this.error = null;
    this.fieldErrors.clear();
    fill(this.title, 'Loading…');
    fill(this.subtitle);
    for (const section of [this.statusLine, this.details, this.identity, this.aml, this.historySection]) fill(section);
    this.actions.hidden = true;
    this.alert.hidden = true;
    if (!this.element.open) this.element.showModal();
    this.title.focus();
    void this.load();
  }

  /** A live change arrived: refresh if it is this panel's customer. */
  changed(customerId: string): void {
    if (!this.element.open || customerId !== this.id) return;
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => void this.load(), REFRESH_DEBOUNCE_MS);
  }

  close(): void {
    if (this.element.open) this.element.close();
  }

  private closed(): void {
    clearTimeout(this.refreshTimer);
    this.id = null;
    this.opener?.focus();
    this.opener = null;
  }

  /** Reads the customer (and the first page of its audit trail) and renders it. */
  private async load(): Promise<void> {
    const id = this.id;
    if (!id) return;
    clearTimeout(this.refreshTimer);
    const ticket = ++this.loading;
    try {
      const data = await this.options.client.request<{ customer: CustomerDetail | null }>(CUSTOMER, { id });
      if (ticket !== this.loading || id !== this.id) return;
      if (!data.customer) {
        this.customer = null;
        fill(this.title, 'Customer not found');
        this.showError('This customer does not exist in your organisation.');
        return;
      }
      this.show(data.customer, ticket);
    } catch (error) {
      if (ticket !== this.loading || id !== this.id) return;
      if (!this.customer) fill(this.title, 'Customer');
      this.showError(error instanceof ApiError ? error.message : 'The customer could not be loaded.');
    }
  }

  private show(customer: CustomerDetail, ticket: number): void {
    this.customer = customer;
    this.history = customer.statusHistory.edges.map((e) => e.node);
    this.historyPage = customer.statusHistory.pageInfo;
    this.render(ticket);
  }

  private showError(message: string | null): void {
    this.error = message;
    this.alert.hidden = message === null;
    fill(this.alert, message ?? '');
  }

  /**
   * Renders every section; focus stays on the element with the same data-focus-key. `ticket`
   * is the read that brought the data (0: none), to tell a move's result from older data.
   */
  private render(ticket = 0): void {
    const c = this.customer;
    if (!c) return;
    const focusKey = document.activeElement instanceof HTMLElement ? document.activeElement.dataset.focusKey : undefined;
    fill(this.title, c.fullName);
    fill(this.subtitle, [c.email, c.externalId ? `External id ${c.externalId}` : null].filter(Boolean).join(' · '));
    fill(
      this.statusLine,
      h('span', { class: 'status-pair' }, h('span', { class: 'status-name' }, 'KYC'), kycBadge(c.kycStatus)),
      h('span', { class: 'status-pair' }, h('span', { class: 'status-name' }, 'AML'), amlBadge(c.aml.status)),
    );
    this.showError(this.error);
    // An open form keeps what the user typed: its section is rebuilt only once the form closes.
    if (!this.formElement || !this.actions.contains(this.formElement)) this.renderActions(c);
    else this.setBusy(this.actions);
    this.renderDetails(c);
    this.renderHistory();
    if (this.moved && ticket >= this.movedTicket) {
      this.options.onCustomer(c);
      this.options.announce(`${c.fullName}: ${this.moved}.`);
      this.moved = null;
      // Next step for a keyboard user: the first move now offered, else the new status.
      (this.actions.querySelector<HTMLElement>('button[data-move]') ?? this.statusLine).focus();
    } else if (focusKey) {
      this.element.querySelector<HTMLElement>(`[data-focus-key="${CSS.escape(focusKey)}"]`)?.focus();
    }
  }

  private setBusy(root: HTMLElement): void {
    for (const control of root.querySelectorAll<HTMLButtonElement | HTMLInputElement>('button, input')) control.disabled = this.busy;
    root.setAttribute('aria-busy', String(this.busy));
  }

  private renderActions(c: CustomerDetail): void {
    if (!this.options.canWrite) {
      this.actions.hidden = true;
      fill(this.actions);
      return;
    }
    this.actions.hidden = false;
    const kyc = kycMoves(c.kycStatus);
    const aml = amlMoves(c.kycStatus, c.aml.status);
    const kycGroupId = uid('kyc-moves');
    const amlGroupId = uid('aml-moves');
    const button = (machine: 'kyc' | 'aml', to: string, label: string) =>
      h(
        'button',
        {
          type: 'button',
          class: `btn btn-move${this.form && ((this.form.kind === 'verify' && to === 'VERIFIED' && machine === 'kyc') || (this.form.kind === 'aml' && this.form.status === to && machine === 'aml')) ? ' is-active' : ''}`,
          'data-focus-key': `${machine}:${to}`,
          'data-move': `${machine}:${to}`,
          onclick: () => this.choose(machine, to),
        },
        label,
      );
    fill(
      this.actions,
      h('h3', {}, 'Back office'),
      h(
        'div',
        { class: 'move-group' },
        h('p', { class: 'move-label', id: kycGroupId }, 'Move KYC to'),
        kyc.length
          ? h(
              'div',
              { role: 'group', 'aria-labelledby': kycGroupId, class: 'move-buttons' },
              kyc.map((to) => button('kyc', to, KYC_LABELS[to])),
            )
          : h('p', { class: 'hint' }, `${KYC_LABELS[c.kycStatus]} is final.`),
      ),
      h(
        'div',
        { class: 'move-group' },
        h('p', { class: 'move-label', id: amlGroupId }, 'Record AML step'),
        aml.length
          ? h(
              'div',
              { role: 'group', 'aria-labelledby': amlGroupId, class: 'move-buttons' },
              aml.map((to) => button('aml', to, AML_LABELS[to])),
            )
          : h('p', { class: 'hint' }, 'AML screening starts once KYC is Verified.'),
      ),
      this.formElement,
    );
    this.setBusy(this.actions);
  }

  /** A move button: the forms for VERIFIED and AML results, the mutation at once otherwise. */
  private choose(machine: 'kyc' | 'aml', to: string): void {
    this.error = null;
    this.fieldErrors.clear();
    if (machine === 'kyc' && to === 'VERIFIED') return this.openForm({ kind: 'verify' });
    if (machine === 'aml' && isAmlResult(to as AmlStatus)) return this.openForm({ kind: 'aml', status: to as AmlStatus });
    this.closeForm();
    void this.move(machine, to, {});
  }

  private openForm(form: NonNullable<OpenForm>): void {
    const c = this.customer;
    if (!c) return;
    // Reopened with the gateway's field errors: keep what the user entered.
    const previous = this.formElement && this.form?.kind === form.kind ? new FormData(this.formElement) : null;
    this.form = form;
    this.formElement = form.kind === 'verify' ? this.verifyForm(c, previous) : this.flagsForm(form.status, previous);
    this.renderActions(c);
    this.showError(null);
    this.formElement.querySelector<HTMLElement>('input')?.focus();
  }

  private closeForm(): void {
    this.form = null;
    this.formElement = null;
  }

  /** An input with its label and, when the gateway refused it, its error. */
  private field(label: string, input: HTMLInputElement, errorKey: string, hint?: string): HTMLElement {
    const id = uid('f');
    input.id = id;
    const error = this.fieldErrors.get(errorKey);
    const describedBy: string[] = [];
    const hintEl = hint ? h('span', { class: 'hint', id: `${id}-hint` }, hint) : null;
    if (hintEl) describedBy.push(hintEl.id);
    const errorEl = error ? h('span', { class: 'field-error', id: `${id}-error` }, error) : null;
    if (errorEl) {
      describedBy.push(errorEl.id);
      input.setAttribute('aria-invalid', 'true');
    }
    if (describedBy.length) input.setAttribute('aria-describedby', describedBy.join(' '));
    return h('div', { class: 'field' }, h('label', { for: id }, label), input, hintEl, errorEl);
  }

  private verifyForm(c: CustomerDetail, previous: FormData | null): HTMLFormElement {
    const legalName = h('input', {
      name: 'legalName',
      required: true,
      maxlength: 255,
      autocomplete: 'off',
      value: String(previous?.get('legalName') ?? c.fullName),
    });
    const country = h('input', {
      name: 'country',
      required: true,
      minlength: 3,
      maxlength: 3,
      pattern: '[A-Za-z]{3}',
      autocomplete: 'off',
      autocapitalize: 'characters',
      spellcheck: 'false',
      class: 'input-country',
      placeholder: 'GBR',
      value: String(previous?.get('country') ?? ''),
    });
    return this.actionForm(
      'Verified identity',
      'KYC moves to Verified with the identity established. Name and email are frozen from then on.',
      [
        this.field('Legal name', legalName, 'identity.legalName'),
        this.field('Country', country, 'identity.country', 'ISO 3166-1 alpha-3 code, e.g. GBR, USA, DEU'),
      ],
      'Verify identity',
      () => ({ machine: 'kyc', to: 'VERIFIED', vars: { identity: { legalName: legalName.value, country: country.value } } }),
    );
  }

  private flagsForm(status: AmlStatus, previous: FormData | null): HTMLFormElement {
    const boxes = (Object.keys(FLAG_LABELS) as (keyof AmlFlags)[]).map((flag) => ({
      flag,
      input: h('input', { type: 'checkbox', name: flag, checked: previous?.has(flag) ?? false }),
    }));
    const error = this.fieldErrors.get('flags');
    const legendId = uid('findings');
    const fieldset = h(
      'fieldset',
      { class: 'flags', 'aria-describedby': error ? `${legendId}-error` : null },
      h('legend', { id: legendId }, 'Findings'),
      boxes.map(({ flag, input }) => h('label', { class: 'check' }, input, FLAG_LABELS[flag])),
      error ? h('span', { class: 'field-error', id: `${legendId}-error` }, error) : null,
    );
    const hint =
      status === 'CLEAR'
        ? 'A clear result records no findings: leave every box unticked.'
        : 'Tick at least one finding for a result that needs review.';
    return this.actionForm(`Screening result: ${AML_LABELS[status]}`, hint, [fieldset], `Record ${AML_LABELS[status]}`, () => ({
      machine: 'aml',
      to: status,
      vars: { flags: Object.fromEntries(boxes.map(({ flag, input }) => [flag, input.checked])) },
    }));
  }

  private actionForm(
    title: string,
    hint: string,
    fields: Children,
    submitLabel: string,
    values: () => { machine: 'kyc' | 'aml'; to: string; vars: Record<string, unknown> },
  ): HTMLFormElement {
    const titleId = uid('form-title');
    const form = h(
      'form',
      {
        class: 'action-form',
        'aria-labelledby': titleId,
        onsubmit: (e) => {
          e.preventDefault();
          if (!form.reportValidity()) return;
          const { machine, to, vars } = values();
          void this.move(machine, to, vars);
        },
      },
      h('h4', { id: titleId }, title),
      h('p', { class: 'hint' }, hint),
      fields,
      h(
        'div',
        { class: 'form-buttons' },
        h('button', { type: 'submit', class: 'btn btn-primary', 'data-focus-key': 'submit' }, submitLabel),
        h(
          'button',
          {
            type: 'button',
            class: 'btn btn-quiet',
            onclick: () => {
              this.closeForm();
              if (this.customer) this.renderActions(this.customer);
              this.statusLine.focus();
            },
          },
          'Cancel',
        ),
      ),
    );
    return form;
  }

  /** Runs the mutation; the answer's customer replaces the panel's, or its error is shown. */
  private async move(machine: 'kyc' | 'aml', to: string, vars: Record<string, unknown>): Promise<void> {
    const id = this.id;
    if (!id || this.busy) return;
    this.busy = true;
    this.setBusy(this.actions);
    let result: TransitionResult | null = null;
    try {
      result =
        machine === 'kyc'
          ? (await this.options.client.request<{ transitionKyc: TransitionResult }>(TRANSITION_KYC, { id, to, ...vars })).transitionKyc
          : (await this.options.client.request<{ recordAmlScreening: TransitionResult }>(RECORD_AML, { id, status: to, ...vars }))
              .recordAmlScreening;
    } catch (error) {
      this.error = error instanceof ApiError ? error.message : 'The move could not be made.';
    }
    this.busy = false;
    this.setBusy(this.actions);
    if (id !== this.id) return;
    const label = machine === 'kyc' ? `KYC moved to ${KYC_LABELS[to as KycStatus]}` : `AML ${AML_LABELS[to as AmlStatus]} recorded`;
    if (result && 'customer' in result) {
      this.error = null;
      this.fieldErrors.clear();
      this.closeForm();
      // Whichever render shows the moved customer first (this read, or one a live change
      // started meanwhile) announces the move and puts the focus on the next step.
      this.moved = label;
      this.movedTicket = this.loading + 1;
      await this.load();
      return;
    }
    if (result) {
      this.error = result.message;
      this.fieldErrors = new Map((result.fieldErrors ?? []).map((f) => [f.field, f.message]));
      if (result.__typename === 'ValidationError' && this.form) {
        // Rebuild the open form with the gateway's field errors, keeping nothing stale.
        this.openForm(this.form);
        this.showError(this.error);
        return;
      }
      // The customer moved meanwhile (or is gone): show where it stands now.
      this.closeForm();
      await this.load();
    }
    if (this.customer) this.render();
    else this.showError(this.error);
    this.alert.focus();
  }

  private renderDetails(c: CustomerDetail): void {
    const row = (term: string, value: Children) => [h('dt', {}, term), h('dd', {}, value)];
    const time = (iso: string | null) => (iso ? h('time', { datetime: iso }, formatDateTime(iso)) : '—');
    fill(
      this.details,
      h('h3', { id: 'panel-details' }, 'Record'),
      h(
        'dl',
        { class: 'facts' },
        row('Customer id', h('span', { class: 'mono' }, c.id)),
        row('External id', c.externalId ? h('span', { class: 'mono' }, c.externalId) : '—'),
        row('Type', TYPE_LABELS[c.type]),
        row('Added via', ADDED_VIA_LABELS[c.addedVia] ?? c.addedVia),
        row('Created', time(c.createdAt)),
        row('Updated', time(c.updatedAt)),
        row('KYC started', time(c.kycStartedAt)),
        row('KYC completed', time(c.kycCompletedAt)),
      ),
    );
    fill(
      this.identity,
      h('h3', { id: 'panel-identity' }, 'Verified identity'),
      c.identity
        ? h(
            'dl',
            { class: 'facts' },
            row('Legal name', c.identity.verifiedLegalName),
            row('Country', h('span', { class: 'mono' }, c.identity.verifiedCountry)),
          )
        : h('p', { class: 'hint' }, 'Not verified yet: the identity is set when KYC moves to Verified.'),
    );
    fill(
      this.aml,
      h('h3', { id: 'panel-aml' }, 'AML screening'),
      h(
        'dl',
        { class: 'facts' },
        row('Status', amlBadge(c.aml.status)),
        row('Screened', time(c.aml.screenedAt)),
        row('Last reviewed', time(c.aml.lastReviewedAt)),
      ),
      h(
        'ul',
        { class: 'flag-list', 'aria-label': 'AML flags' },
        (Object.keys(FLAG_LABELS) as (keyof AmlFlags)[]).map((flag) => {
          // Before the first result the flags say nothing yet: shown neutral, not as "clear".
          const state = c.aml.flags[flag] ? 'raised' : c.aml.screenedAt ? 'clear' : 'unknown';
          const mark = { raised: '!', clear: '✓', unknown: '–' }[state];
          const said = { raised: ': found', clear: ': not found', unknown: ': not screened yet' }[state];
          return h(
            'li',
            { class: `flag is-${state}`, 'data-flag': flag },
            h('span', { class: 'flag-mark', 'aria-hidden': 'true' }, mark),
            FLAG_LABELS[flag],
            h('span', { class: 'visually-hidden' }, said),
          );
        }),
      ),
    );
  }

  private renderHistory(): void {
    const more = this.historyPage.hasNextPage
      ? h(
          'button',
          { type: 'button', class: 'btn btn-quiet', 'data-focus-key': 'history-more', onclick: () => void this.loadOlder() },
          'Show older entries',
        )
      : null;
    fill(
      this.historySection,
      h('h3', { id: 'panel-history' }, 'Audit trail'),
      h(
        'ol',
        { class: 'history' },
        this.history.map((event) =>
          h(
            'li',
            { class: 'history-item', 'data-kind': event.kind },
            h('div', { class: 'history-what' }, describeEvent(event)),
            h(
              'div',
              { class: 'history-meta' },
              h('time', { datetime: event.occurredAt }, formatDateTime(event.occurredAt)),
              ' · ',
              h('span', { class: 'actor', 'data-actor-kind': event.actor.kind }, formatActor(event.actor)),
            ),
          ),
        ),
      ),
      more,
    );
  }

  private async loadOlder(): Promise<void> {
    const id = this.id;
    if (!id || !this.historyPage.endCursor) return;
    try {
      const data = await this.options.client.request<{
        customer: { statusHistory: { edges: { node: HistoryEvent }[]; pageInfo: PageInfo } } | null;
      }>(CUSTOMER_HISTORY, { id, historyAfter: this.historyPage.endCursor });
      if (id !== this.id || !data.customer) return;
      this.history.push(...data.customer.statusHistory.edges.map((e) => e.node));
      this.historyPage = data.customer.statusHistory.pageInfo;
      this.renderHistory();
      this.historySection.querySelector<HTMLElement>('[data-focus-key="history-more"]')?.focus();
    } catch (error) {
      this.showError(error instanceof ApiError ? error.message : 'Older entries could not be loaded.');
    }
  }
}

/** "KYC: Pending → In progress", "Created", … */
function describeEvent(event: HistoryEvent): Children {
  if (event.kyc) return moveText('KYC', KYC_LABELS[event.kyc.from], KYC_LABELS[event.kyc.to]);
  if (event.aml) return moveText('AML', AML_LABELS[event.aml.from], AML_LABELS[event.aml.to]);
  return { CREATED: 'Created', UPDATED: 'Details updated', ADOPTED: 'Linked to its external id', KYC: 'KYC', AML: 'AML' }[event.kind];
}

function moveText(machine: string, from: string, to: string): Children {
  return [h('strong', {}, machine), `: ${from} → ${to}`];
}
