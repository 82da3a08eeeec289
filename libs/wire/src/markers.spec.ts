import { markerBinding, MarkerCodec } from './markers';

type Position = { nodeKey: string; handleId: string };
const isPosition = (v: unknown): v is Position =>
  typeof (v as Position)?.nodeKey === 'string' && typeof (v as Position)?.handleId === 'string';

describe('MarkerCodec', () => {
  const codec = new MarkerCodec('a-secret-of-at-least-thirty-two-characters');
  const binding = markerBinding('close', 'acct', '1001', 'dir', true, '*');
  const position = { nodeKey: 'dir/sub/file', handleId: '10000000042' };

  it('round-trips a position', () => {
    expect(codec.decode(binding, codec.encode(binding, position), isPosition)).toEqual(position);
  });

  it.each([
    ['another account', markerBinding('close', 'other', '1001', 'dir', true, '*')],
    ['another share', markerBinding('close', 'acct', '1002', 'dir', true, '*')],
    ['another path', markerBinding('close', 'acct', '1001', 'dir2', true, '*')],
    ['another query', markerBinding('close', 'acct', '1001', 'dir', false, '*')],
    ['another operation', markerBinding('list', 'acct', '1001', 'dir', true, '*')],
  ])('refuses a marker used for %s', (_, other) => {
    expect(codec.decode(other, codec.encode(binding, position), isPosition)).toBeUndefined();
  });

  it('refuses a marker signed with another secret', () => {
    const forged = new MarkerCodec('another-secret-of-thirty-two-characters!!').encode(binding, position);
    expect(codec.decode(binding, forged, isPosition)).toBeUndefined();
  });

  it.each(['', '.', 'abc', 'abc.', '.sig', 'not base64!.x', `${Buffer.from('[1,2]').toString('base64url')}.zzzz`])(
    'refuses malformed %j',
    (marker) => {
      expect(codec.decode(binding, marker, isPosition)).toBeUndefined();
    },
  );

  it('refuses a signed value of the wrong shape', () => {
    expect(codec.decode(binding, codec.encode(binding, ['dir', 1]), isPosition)).toBeUndefined();
  });

  it('refuses a tampered payload with the original signature', () => {
    const [, signature] = codec.encode(binding, position).split('.');
    const tampered = `${Buffer.from(JSON.stringify({ nodeKey: 'dir/zzz', handleId: '1' })).toString('base64url')}.${signature}`;
    expect(codec.decode(binding, tampered, isPosition)).toBeUndefined();
  });
});
