import fc from 'fast-check';
import { join } from 'node:path';
import { compareCanonicalHeaderNames, sortCanonicalHeaderNames } from './header-collation';

// The SDK's comparator, the ordering the service has to agree with. The package's `exports` hide
// the file, so it is loaded by path next to the package's CommonJS entry point.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a path outside the package's exports cannot be imported
const { compareHeader } = require(
  join(require.resolve('@azure/storage-common'), '..', 'utils', 'SharedKeyComparator.js'),
) as { compareHeader: (lhs: string, rhs: string) => number };

const sign = (n: number) => Math.sign(n);

/**
 * The SDK comparator answers 1 for both (a, b) and (b, a) when the collation cannot tell two
 * distinct strings apart; ours must then still be non-zero and antisymmetric. Otherwise signs match.
 */
function expectAgreement(a: string, b: string): void {
  const ours = compareCanonicalHeaderNames(a, b);
  if (a === b) {
    expect(ours).toBe(0);
    return;
  }
  const sdk = compareHeader(a, b);
  if (sdk !== compareHeader(b, a)) {
    expect(sign(ours)).toBe(sdk);
  } else {
    expect(ours).not.toBe(0);
    expect(sign(compareCanonicalHeaderNames(b, a))).toBe(-sign(ours));
  }
}

const printable = fc.string({ unit: 'grapheme-ascii', maxLength: 12 });
const sevenBit = fc.string({ unit: 'binary-ascii', maxLength: 12 });
const chars = (alphabet: string) => fc.constantFrom(...alphabet.split(''));
const lowercaseToken = 'abcdefghijklmnopqrstuvwxyz0123456789-_.';
// Short names over a small alphabet, so prefixes, ties at one level and hyphen positions are common.
const nearNames = fc.string({ unit: chars("ab-_.1'A"), maxLength: 6 });
const headerName = fc.string({ unit: chars(lowercaseToken), maxLength: 20 }).map((rest) => `x-ms-${rest}`);

describe('compareCanonicalHeaderNames', () => {
  it('agrees with the SDK on printable ASCII strings', () => {
    fc.assert(fc.property(printable, printable, expectAgreement), { numRuns: 20000 });
  });

  it('agrees with the SDK on all 7-bit strings, control characters included', () => {
    fc.assert(fc.property(sevenBit, sevenBit, expectAgreement), { numRuns: 20000 });
  });

  it('agrees with the SDK on near-identical short strings', () => {
    fc.assert(fc.property(nearNames, nearNames, expectAgreement), { numRuns: 20000 });
  });

  it('matches the SDK sign exactly on lowercase header names (the SDK never ties on these)', () => {
    fc.assert(
      fc.property(headerName, headerName, (a, b) => {
        expect(sign(compareCanonicalHeaderNames(a, b))).toBe(a === b ? 0 : compareHeader(a, b));
      }),
      { numRuns: 20000 },
    );
  });

  it('sorts lists of header names into the same order as the SDK', () => {
    fc.assert(
      fc.property(fc.uniqueArray(headerName, { maxLength: 15 }), (names) => {
        const sdk = [...names].sort(compareHeader);
        expect([...names].sort(compareCanonicalHeaderNames)).toEqual(sdk);
        expect(sortCanonicalHeaderNames(names)).toEqual(sdk);
      }),
      { numRuns: 2000 },
    );
  });

  it('puts x-ms-enabled-protocols before x-ms-enable-snapshot-virtual-directory-access, unlike ordinal', () => {
    const a = 'x-ms-enabled-protocols';
    const b = 'x-ms-enable-snapshot-virtual-directory-access';
    expect(compareCanonicalHeaderNames(a, b)).toBeLessThan(0);
    expect(compareCanonicalHeaderNames(b, a)).toBeGreaterThan(0);
    expect([b, a].sort()).toEqual([b, a]);
  });

  it('sorts metadata keys a, a_b, a1, ab', () => {
    const names = ['x-ms-meta-ab', 'x-ms-meta-a1', 'x-ms-meta-a', 'x-ms-meta-a_b'];
    expect(names.sort(compareCanonicalHeaderNames)).toEqual([
      'x-ms-meta-a',
      'x-ms-meta-a_b',
      'x-ms-meta-a1',
      'x-ms-meta-ab',
    ]);
  });

  it('puts x-ms-deleted-share-name before x-ms-delete-snapshots', () => {
    expect(compareCanonicalHeaderNames('x-ms-deleted-share-name', 'x-ms-delete-snapshots')).toBeLessThan(0);
  });

  it('uses hyphens only to break ties', () => {
    expect(compareCanonicalHeaderNames('ab', 'a-b')).toBeLessThan(0);
    expect(compareCanonicalHeaderNames('a-b', 'ab-')).toBeGreaterThan(0);
    expect(compareCanonicalHeaderNames('a-c', 'ab')).toBeGreaterThan(0);
  });

  it('returns 0 only for identical names', () => {
    expect(compareCanonicalHeaderNames('x-ms-date', 'x-ms-date')).toBe(0);
    expect(compareCanonicalHeaderNames('aB', 'Ab')).not.toBe(0);
    expect(compareCanonicalHeaderNames('a(', '(a')).not.toBe(0);
  });
});
