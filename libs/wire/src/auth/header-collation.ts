/**
 * Order of canonicalized `x-ms-*` header names in a Shared Key string-to-sign.
 *
 * The SDK does not sort ordinally: it uses a three-level Windows-style collation
 * (`compareHeader` in @azure/storage-common). A signature only verifies when we sort the same
 * way, so this reproduces that ordering, derived from ordered character lists.
 *
 * Weights per level: 0 = ignored at this level, END = end of string, real weights start at 2.
 * Characters outside ASCII get weight 0; they cannot occur in HTTP header names.
 */
const END = 1;

function weightTable(ordered: readonly string[]): readonly number[] {
  const table = new Array<number>(128).fill(0);
  ordered.forEach((chars, rank) => {
    for (const c of chars) table[c.charCodeAt(0)] = rank + 2;
  });
  return table;
}

const letters = 'abcdefghijklmnopqrstuvwxyz';

// Level 1: punctuation (in this order) < digits < letters, case-insensitive; `-`, `'` and the
// remaining punctuation are ignored.
const primary = weightTable([...'!#$%&*.^_`|~+0123456789', ...[...letters].map((c) => c + c.toUpperCase())]);
// Level 2: only uppercase letters count, all alike, so the name with fewer of them sorts first.
const secondary = weightTable([letters.toUpperCase()]);
// Level 3: only `'` and `-` count.
const tertiary = weightTable(["'", '-']);

function weights(s: string, table: readonly number[], keepIgnored: boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const w = table[s.charCodeAt(i)] ?? 0;
    if (w !== 0 || keepIgnored) out.push(w);
  }
  return out;
}

function compareWeights(x: readonly number[], y: readonly number[]): number {
  for (let k = 0; k < Math.max(x.length, y.length); k++) {
    const d = (x[k] ?? END) - (y[k] ?? END);
    if (d !== 0) return d;
  }
  return 0;
}

/** A name's weights at the three levels, computed once per name rather than once per comparison. */
interface CollationKey {
  name: string;
  levels: [number[], number[], number[]];
}

const collationKey = (name: string): CollationKey => ({
  name,
  // The SDK compares the last level position by position without skipping, so an ignored
  // character (0) sorts before the end of the other name (END), which sorts before `'` and `-`.
  levels: [weights(name, primary, false), weights(name, secondary, false), weights(name, tertiary, true)],
});

function compareKeys(a: CollationKey, b: CollationKey): number {
  if (a.name === b.name) return 0;
  return (
    compareWeights(a.levels[0], b.levels[0]) ||
    compareWeights(a.levels[1], b.levels[1]) ||
    compareWeights(a.levels[2], b.levels[2]) ||
    // Distinct names the collation cannot tell apart (e.g. differing only in letter case
    // positions or ignored punctuation; never two lowercase token names): the SDK's comparator
    // has no answer for them, so fall back to ordinal order to stay a consistent ordering.
    (a.name < b.name ? -1 : 1)
  );
}

export const compareCanonicalHeaderNames = (a: string, b: string): number =>
  compareKeys(collationKey(a), collationKey(b));

/** The names in the SDK's order: compareCanonicalHeaderNames, with each name's weights computed once. */
export const sortCanonicalHeaderNames = (names: string[]): string[] =>
  names
    .map(collationKey)
    .sort(compareKeys)
    .map((key) => key.name);
