import { parseUrl } from './request';

describe('parseUrl', () => {
  it('takes an encoded slash below the share as a separator, as Azure does (the Python SDK sends dir%2Fsub)', () => {
    expect(parseUrl('/acct/share/a%2Fb/c.txt?restype=directory')).toMatchObject({
      account: 'acct',
      share: 'share',
      path: ['a', 'b', 'c.txt'],
      query: { restype: 'directory' },
    });
    expect(parseUrl('/acct/share/a/b/c.txt').path).toEqual(['a', 'b', 'c.txt']);
  });

  it('does not split the account or the share at an encoded slash', () => {
    expect(parseUrl('/acct%2Fshare/x')).toMatchObject({ account: 'acct/share', share: 'x', path: [] });
  });
});
