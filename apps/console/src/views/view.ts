import type { Session } from '../session';
import type { Watch } from '../watch';

/** What a view gets: the signed-in session and the live watch. It returns what to do when it is left. */
export interface ViewContext {
  session: Session;
  watch: Watch;
}
export type View = (root: HTMLElement, context: ViewContext, params: string[]) => (() => void) | void;

/** The route of a place: `#/file/{share}/{path}`, each segment encoded. */
export const route = (...segments: string[]) =>
  `#/${segments
    .flatMap((s) => s.split('/'))
    .filter(Boolean)
    .map(encodeURIComponent)
    .join('/')}`;

/** Paths compare as the service compares names: case-insensitively. */
export const samePath = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/**
 * The audit trail is a projection that lags the log by a moment: after a change arrives on the
 * watch, read until what `read` returns includes it (`has`), a bounded number of times.
 */
export async function untilIncluded<T>(read: () => Promise<T>, has: (value: T) => boolean): Promise<T> {
  let value = await read();
  for (let attempt = 0; attempt < 40 && !has(value); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    value = await read();
  }
  return value;
}
