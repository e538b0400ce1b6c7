// What the dashboard remembers: the API key and the live feed's last cursor, in sessionStorage
// only (this tab, until it closes or the user signs out): never in a URL, a cookie or
// localStorage, so the key is not kept on disk nor sent anywhere but in our own requests.

const KEY = 'customer-gateway.dashboard.apiKey';
const CURSOR = 'customer-gateway.dashboard.feedCursor';

export const session = {
  key(): string | null {
    return sessionStorage.getItem(KEY);
  },
  /** Signing in starts a new feed: a cursor of another key's organisation means nothing here. */
  signIn(key: string): void {
    sessionStorage.setItem(KEY, key);
    sessionStorage.removeItem(CURSOR);
  },
  signOut(): void {
    sessionStorage.removeItem(KEY);
    sessionStorage.removeItem(CURSOR);
  },
  cursor(): string | null {
    return sessionStorage.getItem(CURSOR);
  },
  setCursor(cursor: string | null): void {
    if (cursor === null) sessionStorage.removeItem(CURSOR);
    else sessionStorage.setItem(CURSOR, cursor);
  },
};
