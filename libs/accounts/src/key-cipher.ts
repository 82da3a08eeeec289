import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const PREFIX = 'v1';

/**
 * Account keys are stored encrypted (AES-256-GCM, a fresh IV per value) with a key derived from
 * configuration, so a copy of the database alone does not give away any tenant's keys.
 */
export class KeyCipher {
  private readonly key: Buffer;

  constructor(secret: string) {
    this.key = createHash('sha256').update(`leasehold account keys\n${secret}`).digest();
  }

  encrypt(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const sealed = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [PREFIX, iv.toString('base64'), cipher.getAuthTag().toString('base64'), sealed.toString('base64')].join(':');
  }

  /** The plain value; throws when the value was not sealed with this key or was tampered with. */
  decrypt(stored: string): string {
    const [prefix, iv, tag, sealed] = stored.split(':');
    if (prefix !== PREFIX || !iv || !tag || sealed === undefined) throw new Error('not an encrypted account key');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64'));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(sealed, 'base64')), decipher.final()]).toString('utf8');
  }

  static isSealed(stored: string): boolean {
    return stored.startsWith(`${PREFIX}:`);
  }
}
