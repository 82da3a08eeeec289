import { CorsRule, corsRulesProblem, headerCovered, matchPreflight, matchRequest } from './cors';

const rule = (overrides: Partial<CorsRule> = {}): CorsRule => ({
  allowedOrigins: ['https://app.example'],
  allowedMethods: ['GET', 'PUT'],
  allowedHeaders: ['x-ms-meta-*', 'content-type'],
  exposedHeaders: ['x-ms-*'],
  maxAgeInSeconds: 60,
  ...overrides,
});

describe('CORS rules', () => {
  it('matches headers exactly, by prefix, or with *; case-insensitively', () => {
    expect(headerCovered(['x-ms-meta-*'], 'X-MS-META-Owner')).toBe(true);
    expect(headerCovered(['content-type'], 'Content-Type')).toBe(true);
    expect(headerCovered(['content-type'], 'content-length')).toBe(false);
    expect(headerCovered(['*'], 'anything')).toBe(true);
    expect(headerCovered([], 'x')).toBe(false);
  });

  it('answers a preflight from the first rule whose origin, method and every header match', () => {
    const strict = rule();
    const any = rule({ allowedOrigins: ['*'], allowedMethods: ['GET'], allowedHeaders: ['*'] });
    expect(matchPreflight([strict, any], 'https://APP.example', 'put', ['x-ms-meta-a', 'content-type'])).toBe(strict);
    expect(matchPreflight([strict, any], 'https://app.example', 'PUT', ['x-ms-version'])).toBeUndefined();
    expect(matchPreflight([strict, any], 'https://other.example', 'GET', ['x-ms-version'])).toBe(any);
    expect(matchPreflight([strict, any], 'https://other.example', 'DELETE', [])).toBeUndefined();
    expect(matchPreflight([], 'https://app.example', 'GET', [])).toBeUndefined();
  });

  it('matches an actual request on origin and method only', () => {
    expect(matchRequest([rule()], 'https://app.example', 'PUT')).toBeDefined();
    expect(matchRequest([rule()], 'https://app.example', 'DELETE')).toBeUndefined();
    expect(matchRequest([rule()], 'https://evil.example', 'GET')).toBeUndefined();
  });

  it.each([
    ['six rules', Array.from({ length: 6 }, () => rule()), /At most 5/],
    ['an unknown method', [rule({ allowedMethods: ['FETCH'] })], /FETCH/],
    ['no origin', [rule({ allowedOrigins: [] })], /at least one origin/],
    ['no method', [rule({ allowedMethods: [] })], /at least one method/],
    ['three prefixed headers', [rule({ allowedHeaders: ['a*', 'b*', 'c*'] })], /prefixed/],
    ['65 literal headers', [rule({ exposedHeaders: Array.from({ length: 65 }, (_, i) => `h${i}`) })], /literal/],
    ['a 257-character origin', [rule({ allowedOrigins: ['o'.repeat(257)] })], /longer than 256/],
    ['a negative max age', [rule({ maxAgeInSeconds: -1 })], /MaxAgeInSeconds/],
  ])('refuses %s', (_name, rules, problem) => {
    expect(corsRulesProblem(rules)).toMatch(problem);
  });

  it('accepts five valid rules', () => {
    expect(corsRulesProblem(Array.from({ length: 5 }, () => rule()))).toBeUndefined();
  });
});
