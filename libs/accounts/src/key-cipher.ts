import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** v2 binds each value to its account (associated data); v1 values (no binding) are only read to re-seal them. */
const CURRENT = 'v2';
const LEGACY = 'v1';

/**
 * Account keys are stored encrypted (AES-256-GCM, a fresh IV per value) with a key derived from
 * configuration, so a copy of the database alone does not give away any tenant's keys. The account
 * name is the associated data: a sealed key moved to another account's row no longer opens.
 */
export class KeyCipher {
  private readonly key: Buffer;

  constructor(secret: string) {
    this.key = createHash('sha256').update(`leasehold account keys\n${secret}`).digest();
  }

  encrypt(plain: string, account: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(account, 'utf8'));
    const sealed = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [CURRENT, iv.toString('base64'), cipher.getAuthTag().toString('base64'), sealed.toString('base64')].join(
      ':',
    );
  }

  /** The plain value; throws when the value was not sealed with this key for this account, or was tampered with. */
  decrypt(stored: string, account: string): string {
    return this.open(stored, CURRENT, account);
  }

  /**
   * The value sealed the current way: a plain value or a v1 value (sealed before keys were bound
   * to their account) is re-sealed; undefined when it already is current.
   */
  reseal(stored: string, account: string): string | undefined {
    if (stored.startsWith(`${CURRENT}:`)) return undefined;
    return this.encrypt(stored.startsWith(`${LEGACY}:`) ? this.open(stored, LEGACY) : stored, account);
  }

  private open(stored: string, version: string, account?: string): string {
    const [prefix, iv, tag, sealed] = stored.split(':');
    if (prefix !== version || !iv || !tag || sealed === undefined) throw new Error('not an encrypted account key');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64'));
    if (account !== undefined) decipher.setAAD(Buffer.from(account, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(sealed, 'base64')), decipher.final()]).toString('utf8');
  }
}
