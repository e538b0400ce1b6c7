// The page: sign-in with an API key, then the dashboard (tiles, customer list, panel, live
// feed). It talks to the gateway only through the public GraphQL API on this origin.
import { ApiError, ErrorCodes, GraphQLClient } from './api.js';
import { CustomerList } from './customers.js';
import { fill, h, uid } from './dom.js';
import { Feed } from './feed.js';
import { LiveFeed, type ConnectionState } from './live.js';
import { STATS, VIEWER } from './operations.js';
import { CustomerPanel } from './panel.js';
import { session } from './session.js';
import { Tiles } from './tiles.js';
import type { Stats, StatusChange, Viewer } from './types.js';

/** The scopes the page needs, and the one that shows the back-office buttons (SPEC section 2). */
const READ_SCOPE = 'customers:read';
const WRITE_SCOPE = 'compliance:write';

/**
 * The tiles are re-read (customerStats) at once on a change, then at most this often while
 * changes keep coming: a change shows within this plus one request, and a busy organisation
 * costs the key at most 40 requests a minute. The counts are always the gateway's own, never
 * adjusted locally (a change replayed after a reload would then be counted twice).
 */
const STATS_MIN_INTERVAL_MS = 1500;
/** After RATE_LIMITED the interval doubles, up to this. */
const STATS_MAX_INTERVAL_MS = 30_000;

const CONNECTION_TEXT: Record<ConnectionState, string> = {
  connecting: 'Connecting…',
  connected: 'Live',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
};

/** What a signed-in page holds, closed together on sign-out. */
interface Signed {
  client: GraphQLClient;
  feed: LiveFeed;
  panel: CustomerPanel;
}

export class App {
  private signed: Signed | null = null;

  constructor(private readonly root: HTMLElement) {}

  /** Resumes the tab's session, or asks for a key. */
  async start(): Promise<void> {
    const key = session.key();
    if (!key) return this.showSignIn();
    fill(this.root, h('p', { class: 'boot', role: 'status' }, 'Signing in…'));
    try {
      const viewer = await this.verify(key);
      this.showDashboard(key, viewer);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      // Only the gateway's refusal forgets the key; an unreachable gateway keeps the session.
      if (error instanceof ApiError && (error.code === ErrorCodes.Unauthenticated || error.code === ErrorCodes.Forbidden)) {
        session.signOut();
        return this.showSignIn(message);
      }
      this.showUnreachable(message);
    }
  }

  private showUnreachable(message: string): void {
    const retry = h('button', { type: 'button', class: 'btn btn-primary', onclick: () => void this.start() }, 'Try again');
    this.showCard(
      h('h1', {}, 'Compliance dashboard'),
      h('p', { class: 'inline-error', role: 'alert' }, message),
      h(
        'div',
        { class: 'form-buttons' },
        retry,
        h('button', { type: 'button', class: 'btn btn-quiet', onclick: () => this.signOut() }, 'Sign out'),
      ),
    );
    retry.focus();
  }

  /** The centred card of the signed-out views (sign-in, gateway unreachable). */
  private showCard(...children: Node[]): void {
    fill(this.root, h('main', { class: 'signin' }, h('div', { class: 'signin-card' }, ...children)));
  }

  /** Checks a key: valid, and allowed to read customers. */
  private async verify(key: string): Promise<Viewer> {
    const { viewer } = await new GraphQLClient(key).request<{ viewer: Viewer | null }>(VIEWER);
    if (!viewer) throw new ApiError(ErrorCodes.Unauthenticated, 'This key was not accepted.');
    if (!viewer.scopes.includes(READ_SCOPE)) {
      throw new ApiError(ErrorCodes.Forbidden, `This key cannot read customers: the dashboard needs the ${READ_SCOPE} scope.`);
    }
    return viewer;
  }

  private showSignIn(message?: string): void {
    const inputId = uid('key');
    const hintId = uid('key-hint');
    const input = h('input', {
      id: inputId,
      name: 'apiKey',
      type: 'password',
      required: true,
      autocomplete: 'off',
      spellcheck: 'false',
      placeholder: 'ic_live_…',
      'aria-describedby': hintId,
    });
    const error = h('p', { class: 'inline-error', role: 'alert', hidden: !message }, message ?? '');
    const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-wide' }, 'Sign in');
    const form = h(
      'form',
      {
        class: 'signin-form',
        // POST, never GET: were the script ever bypassed, the key still stays out of any URL
        // (and the page's policy, form-action 'none', stops the submission anyway).
        method: 'post',
        onsubmit: (event) => {
          event.preventDefault();
          const key = input.value.trim();
          if (!key) return;
          submit.disabled = true;
          error.hidden = true;
          this.verify(key).then(
            (viewer) => {
              session.signIn(key);
              input.value = '';
              this.showDashboard(key, viewer);
            },
            (reason: unknown) => {
              submit.disabled = false;
              fill(
                error,
                reason instanceof ApiError && reason.code === ErrorCodes.Unauthenticated
                  ? 'This API key was not accepted.'
                  : String(reason instanceof Error ? reason.message : reason),
              );
              error.hidden = false;
              input.focus();
              input.select();
            },
          );
        },
      },
      h('label', { for: inputId }, 'API key'),
      input,
      h(
        'p',
        { class: 'hint', id: hintId },
        'Kept in this browser tab only, and sent only to this gateway. A key with customers:read shows the dashboard; compliance:write adds the back-office actions.',
      ),
      error,
      submit,
    );
    this.showCard(
      h(
        'div',
        { class: 'brand brand-large' },
        h('span', { class: 'brand-mark', 'aria-hidden': 'true' }),
        h('span', {}, 'Customer Gateway'),
      ),
      h('h1', {}, 'Compliance dashboard'),
      h('p', { class: 'lead' }, 'Live KYC and AML status of your organisation’s customers.'),
      form,
    );
    document.title = 'Sign in · Compliance dashboard';
    input.focus();
  }

  private showDashboard(key: string, viewer: Viewer): void {
    const client = new GraphQLClient(key, () => this.signOut('Your API key is no longer accepted. Sign in again.'));
    const status = h('p', { class: 'visually-hidden', role: 'status' });
    const announce = (text: string) => fill(status, text);
    const indicator = h('span', { class: 'connection', 'data-state': 'connecting', role: 'status', 'aria-live': 'polite' });
    const setConnection = (state: ConnectionState, attempt: number) => {
      indicator.dataset.state = state;
      indicator.title =
        state === 'reconnecting' && attempt > 1
          ? `Attempt ${attempt}`
          : state === 'offline'
            ? 'The browser reports no network; reconnecting once it is back.'
            : '';
      fill(
        indicator,
        h('span', { class: 'connection-dot', 'aria-hidden': 'true' }),
        h('span', { class: 'visually-hidden' }, 'Live feed: '),
        CONNECTION_TEXT[state],
      );
    };
    setConnection('connecting', 0);

    const tiles = new Tiles((machine, s) => list.toggle(machine, s));
    const panel = new CustomerPanel({
      client,
      canWrite: viewer.scopes.includes(WRITE_SCOPE),
      onCustomer: (customer) => list.update(customer),
      announce,
    });
    const list = new CustomerList({
      client,
      onOpen: (id, opener) => panel.open(id, opener),
      onStatusFilter: (kyc, aml) => tiles.setPressed(kyc, aml),
    });
    const feedView = new Feed((id, opener) => panel.open(id, opener));

    let statsInterval = STATS_MIN_INTERVAL_MS;
    const loadStats = async () => {
      try {
        tiles.update((await client.request<{ customerStats: Stats }>(STATS)).customerStats);
        statsInterval = STATS_MIN_INTERVAL_MS;
      } catch (error) {
        if (error instanceof ApiError && error.code === ErrorCodes.Closed) return;
        tiles.showError(error instanceof Error ? error.message : String(error));
        // Try again later, and less often when the key is over its rate limit.
        if (error instanceof ApiError && error.code === ErrorCodes.RateLimited)
          statsInterval = Math.min(STATS_MAX_INTERVAL_MS, statsInterval * 2);
        refreshStats();
      }
    };
    const refreshStats = throttle(loadStats, () => statsInterval);

    const onChange = (change: StatusChange) => {
      feedView.add(change);
      list.update(change.customer);
      panel.changed(change.customer.id);
      refreshStats();
    };
    const feed = new LiveFeed({
      key,
      cursor: { get: () => session.cursor(), set: (c) => session.setCursor(c) },
      onChange,
      onState: setConnection,
      onNotice: (message) => feedView.showNotice(message),
      onFatal: (code, message) =>
        code === ErrorCodes.Unauthenticated
          ? this.signOut('Your API key is no longer accepted. Sign in again.')
          : feedView.showNotice(`The live feed stopped: ${message}`),
    });

    const signOut = h('button', { type: 'button', class: 'btn btn-quiet', onclick: () => this.signOut() }, 'Sign out');
    fill(
      this.root,
      h('a', { class: 'skip-link', href: '#customers-heading' }, 'Skip to customers'),
      h(
        'header',
        { class: 'topbar' },
        h('div', { class: 'brand' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }), h('span', {}, 'Customer Gateway')),
        h('h1', { class: 'topbar-title' }, 'Compliance dashboard'),
        h(
          'div',
          { class: 'topbar-end' },
          indicator,
          h('span', { class: 'org', title: `Organisation ${viewer.organization.id}` }, viewer.organization.name),
          signOut,
        ),
      ),
      h(
        'main',
        { class: 'layout' },
        h('div', { class: 'primary' }, tiles.element, list.element),
        h('aside', { class: 'secondary', 'aria-label': 'Live feed' }, feedView.element),
      ),
      panel.element,
      status,
    );
    document.title = `${viewer.organization.name} · Compliance dashboard`;
    this.signed = { client, feed, panel };
    feed.start();
    void loadStats();
    void list.load();
  }

  /** Forgets the key and the feed cursor, stops everything that used them, back to sign-in. */
  signOut(message?: string): void {
    const signed = this.signed;
    this.signed = null;
    if (signed) {
      signed.client.close();
      signed.feed.stop();
      signed.panel.close();
    }
    session.signOut();
    this.showSignIn(message);
  }
}

/** Runs `fn` at once, then at most once per `interval()` ms (calls meanwhile run once, when the time is up). */
function throttle(fn: () => Promise<void>, interval: () => number): () => void {
  let last = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  return () => {
    if (timer) return;
    const wait = last + interval() - Date.now();
    const run = () => {
      timer = undefined;
      last = Date.now();
      void fn();
    };
    if (wait <= 0) run();
    else timer = setTimeout(run, wait);
  };
}
