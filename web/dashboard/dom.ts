// A tiny DOM builder. Text always goes in as text nodes, never as HTML (the page's
// Content-Security-Policy enforces Trusted Types, so an HTML sink would throw anyway).

type Child = Node | string | number | null | undefined | false;
export type Children = Child | Child[];
type Listener = (event: Event) => void;
export type Props = Record<string, string | number | boolean | null | undefined | Listener>;

/** Creates an element: `on*` props are listeners, `true` / `false` set or omit an attribute. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Children[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (typeof value === 'function') element.addEventListener(name.slice(2), value);
    else if (value === true) element.setAttribute(name, '');
    else if (value !== false && value !== null && value !== undefined) element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

/** Appends children (nested arrays flattened, empty values skipped). */
export function append(parent: Element, children: Children[]): void {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(typeof child === 'number' ? String(child) : child);
  }
}

/** Replaces an element's children. */
export function fill(parent: Element, ...children: Children[]): void {
  parent.replaceChildren();
  append(parent, children);
}

let ids = 0;
/** A unique id for label / aria wiring. */
export function uid(prefix: string): string {
  return `${prefix}-${++ids}`;
}
