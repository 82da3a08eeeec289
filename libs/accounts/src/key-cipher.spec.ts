import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { KeyCipher } from './key-cipher';

describe('KeyCipher', () => {
  const secret = 'a'.repeat(32);
  const cipher = new KeyCipher(secret);
  const key = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

  it('round-trips, and never stores the key in the clear', () => {
    const sealed = cipher.encrypt(key, 'alice');
    expect(sealed).not.toContain(key);
    expect(cipher.decrypt(sealed, 'alice')).toBe(key);
  });

  it('seals the same key differently every time', () => {
    expect(cipher.encrypt(key, 'alice')).not.toBe(cipher.encrypt(key, 'alice'));
  });

  it('refuses another secret, a tampered value, plain text, and another account', () => {
    const sealed = cipher.encrypt(key, 'alice');
    expect(() => new KeyCipher('b'.repeat(32)).decrypt(sealed, 'alice')).toThrow();
    const parts = sealed.split(':');
    parts[3] = Buffer.from('tampered').toString('base64');
    expect(() => cipher.decrypt(parts.join(':'), 'alice')).toThrow();
    expect(() => cipher.decrypt(key, 'alice')).toThrow(/not an encrypted/);
    expect(() => cipher.decrypt(sealed, 'mallory')).toThrow();
  });

  it('re-seals plain and v1 values (no associated data) bound to the account, and leaves current ones alone', () => {
    // A v1 value as the previous release wrote it: same key derivation, no associated data.
    const iv = randomBytes(12);
    const v1 = createCipheriv(
      'aes-256-gcm',
      createHash('sha256').update(`leasehold account keys\n${secret}`).digest(),
      iv,
    );
    const body = Buffer.concat([v1.update(key, 'utf8'), v1.final()]);
    const legacy = ['v1', iv.toString('base64'), v1.getAuthTag().toString('base64'), body.toString('base64')].join(':');
    expect(() => cipher.decrypt(legacy, 'alice')).toThrow();
    for (const stored of [legacy, key]) {
      const resealed = cipher.reseal(stored, 'alice')!;
      expect(cipher.decrypt(resealed, 'alice')).toBe(key);
      expect(() => cipher.decrypt(resealed, 'bob')).toThrow();
      expect(cipher.reseal(resealed, 'alice')).toBeUndefined();
    }
  });
});
