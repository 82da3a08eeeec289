type Child = Node | string | number | null | undefined | false;
type Attributes = Record<string, string | number | boolean | undefined | ((event: Event) => void)>;

/** An element with attributes (`on…` keys are listeners, `false`/undefined leave an attribute out) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (typeof value === 'function') element.addEventListener(name.slice(2), value);
    else if (value === true) element.setAttribute(name, '');
    else if (value !== false && value !== undefined) element.setAttribute(name, String(value));
  }
  element.append(
    ...children
      .filter((c): c is Node | string | number => c !== null && c !== undefined && c !== false)
      .map((c) => (typeof c === 'number' ? String(c) : c)),
  );
  return element;
}

const SVG = 'http://www.w3.org/2000/svg';
/** An SVG element (the timeline chart). */
export function svg(
  tag: string,
  attributes: Record<string, string | number>,
  ...children: (Node | string)[]
): SVGElement {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  element.append(...children);
  return element;
}

/** A time as the reader's clock shows it, with the date when it is not today. */
export function when(iso: string | Date | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  const sameDay = date.toDateString() === new Date().toDateString();
  return sameDay ? date.toLocaleTimeString() : date.toLocaleString();
}

/** "3 min ago", for "since when" at a glance. */
export function ago(iso: string | Date): string {
  const seconds = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86400)} d ago`;
}

/** A lease state as a colored label (color is not the only cue: the word is there). */
export const leaseBadge = (state: string | undefined) =>
  h('span', { class: `badge lease-${state ?? 'unknown'}`, 'data-lease': state ?? 'unknown' }, state ?? '—');

/** The message of an SDK or fetch failure: the Azure error code when there is one. */
export function problem(error: unknown): string {
  const e = error as { code?: string; statusCode?: number; message?: string; details?: { errorCode?: string } };
  const code = e.details?.errorCode ?? e.code;
  return [e.statusCode, code, code ? undefined : e.message].filter(Boolean).join(' ');
}

/** A status line for a view: what went wrong, announced to screen readers. */
export const alertLine = (text: string) => h('p', { class: 'alert', role: 'alert' }, text);
