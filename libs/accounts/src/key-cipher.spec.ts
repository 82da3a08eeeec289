import { KeyCipher } from './key-cipher';

describe('KeyCipher', () => {
  const cipher = new KeyCipher('a'.repeat(32));
  const key = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

  it('round-trips, and never stores the key in the clear', () => {
    const sealed = cipher.encrypt(key);
    expect(sealed).not.toContain(key);
    expect(KeyCipher.isSealed(sealed)).toBe(true);
    expect(cipher.decrypt(sealed)).toBe(key);
  });

  it('seals the same key differently every time', () => {
    expect(cipher.encrypt(key)).not.toBe(cipher.encrypt(key));
  });

  it('refuses another secret, a tampered value, and plain text', () => {
    const sealed = cipher.encrypt(key);
    expect(() => new KeyCipher('b'.repeat(32)).decrypt(sealed)).toThrow();
    const parts = sealed.split(':');
    parts[3] = Buffer.from('tampered').toString('base64');
    expect(() => cipher.decrypt(parts.join(':'))).toThrow();
    expect(() => cipher.decrypt(key)).toThrow(/not an encrypted/);
  });
});
