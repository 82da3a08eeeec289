import { applyPolicy, MAX_SIGNED_IDENTIFIERS, SignedIdentifier, signedIdentifiersProblem } from './access-policy';

const isTime = (value: string) => !Number.isNaN(Date.parse(value));
const policy = (id: string, accessPolicy: SignedIdentifier['accessPolicy']): SignedIdentifier => ({ id, accessPolicy });

describe('stored access policies', () => {
  it('accepts up to five distinct identifiers with share permissions in order', () => {
    const five = Array.from({ length: MAX_SIGNED_IDENTIFIERS }, (_, i) =>
      policy(`p${i}`, { permission: 'rl', expiry: '2099-01-01T00:00:00Z' }),
    );
    expect(signedIdentifiersProblem(five, isTime)).toBeUndefined();
    expect(signedIdentifiersProblem([...five, policy('p5', {})], isTime)).toMatch(/At most 5/);
  });

  it.each([
    ['a duplicate id', [policy('a', {}), policy('a', {})], /more than once/],
    ['an empty id', [policy('', {})], /1 to 64/],
    ['a 65-character id', [policy('x'.repeat(65), {})], /1 to 64/],
    ['letters out of order', [policy('a', { permission: 'wr' })], /rcwdl/],
    ['an unknown letter', [policy('a', { permission: 'rx' })], /rcwdl/],
    ['a bad time', [policy('a', { start: 'soon' })], /ISO 8601/],
  ])('refuses %s', (_name, identifiers, problem) => {
    expect(signedIdentifiersProblem(identifiers, isTime)).toMatch(problem);
  });

  const stored = [
    policy('read', { permission: 'r', start: '2020-01-01T00:00:00Z', expiry: '2099-01-01T00:00:00Z' }),
    policy('bare', {}),
  ];

  it('takes from the policy what the SAS leaves out', () => {
    expect(applyPolicy({}, 'read', stored)).toEqual({
      fields: { permissions: 'r', start: '2020-01-01T00:00:00Z', expiry: '2099-01-01T00:00:00Z' },
    });
    expect(applyPolicy({ permissions: 'rw', expiry: '2030-01-01T00:00:00Z' }, 'bare', stored)).toEqual({
      fields: { permissions: 'rw', start: undefined, expiry: '2030-01-01T00:00:00Z' },
    });
  });

  it('refuses a field given by both, a field given by neither, and an unknown policy', () => {
    expect(applyPolicy({ permissions: 'r' }, 'read', stored)).toEqual({
      problem: expect.stringMatching(/permissions is given by both/),
    });
    expect(applyPolicy({ expiry: '2030-01-01T00:00:00Z' }, 'read', stored)).toEqual({
      problem: expect.stringMatching(/expiry time is given by both/),
    });
    expect(applyPolicy({ permissions: 'r' }, 'bare', stored)).toEqual({
      problem: expect.stringMatching(/no.*expiry|gives an expiry/),
    });
    expect(applyPolicy({ expiry: '2030-01-01T00:00:00Z' }, 'bare', stored)).toEqual({
      problem: expect.stringMatching(/gives permissions/),
    });
    expect(applyPolicy({}, 'gone', stored)).toEqual({ problem: expect.stringMatching(/not a stored access policy/) });
  });
});
