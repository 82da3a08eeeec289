import { Injectable } from '@nestjs/common';
import { EventMetadata, EventStore, isUniqueViolation, retryOnConcurrency, SqlExecutor } from '@leasehold/event-store';
import { AccountKeyLookup } from '@leasehold/wire';
import { randomBytes } from 'node:crypto';
import { KeyCipher } from './key-cipher';

/** The public development account of the Azure storage emulators: SDK samples work against it unchanged. */
export const DEVELOPMENT_ACCOUNT = 'devstoreaccount1';
export const DEVELOPMENT_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export const ACCOUNT_NAME = /^[a-z0-9]{3,24}$/;
/** Keys are looked up on every request; a short cache keeps that off the database, and bounds how long a disabled account or a rotated key lingers. */
const KEY_CACHE_MS = 5_000;

const SYSTEM: EventMetadata = { requestId: 'system', principal: 'system', authentication: 'System' };

export const newAccountKey = () => randomBytes(64).toString('base64');

export interface AccountSummary {
  name: string;
  disabled: boolean;
  createdAt: string;
}

export type KeyName = 'key1' | 'key2';

export class AccountError extends Error {
  constructor(
    readonly status: 400 | 404 | 409,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Accounts are tenants: each has two keys, both valid, so a key can be rotated without downtime.
 * Account events record what happened (created, disabled, a key rotated), never key material: the
 * keys live encrypted in account_keys, outside the immutable log.
 */
@Injectable()
export class AccountsService implements AccountKeyLookup {
  private readonly cache = new Map<string, { keys: Buffer[] | undefined; until: number }>();

  constructor(
    private readonly store: EventStore,
    private readonly cipher: KeyCipher,
  ) {}

  async keysOf(account: string): Promise<Buffer[] | undefined> {
    const cached = this.cache.get(account);
    if (cached && cached.until > Date.now()) return cached.keys;
    const rows = await this.store.db.query(
      `SELECT k.key1, k.key2 FROM accounts a JOIN account_keys k ON k.account = a.name WHERE a.name = $1 AND NOT a.disabled`,
      [account],
    );
    const keys = rows.length ? [rows[0].key1, rows[0].key2].map((k: string) => Buffer.from(this.cipher.decrypt(k), 'base64')) : undefined;
    this.cache.set(account, { keys, until: Date.now() + KEY_CACHE_MS });
    return keys;
  }

  /** Creates an account with the given keys; false when it exists already. */
  async create(name: string, key1: string, key2: string, metadata: EventMetadata = SYSTEM): Promise<boolean> {
    if (!ACCOUNT_NAME.test(name)) throw new AccountError(400, 'account names are 3 to 24 lowercase letters and digits');
    const createdAt = new Date();
    try {
      return await this.store.transaction(async (sql) => {
        const inserted = await sql.query(
          `INSERT INTO accounts (name, created_at, version) VALUES ($1, $2, 1) ON CONFLICT DO NOTHING RETURNING 1`,
          [name, createdAt],
        );
        if (inserted.length === 0) return false;
        await sql.query(`INSERT INTO account_keys (account, key1, key2) VALUES ($1, $2, $3)`, [name, this.cipher.encrypt(key1), this.cipher.encrypt(key2)]);
        await this.store.append(
          { tenant: name, streamId: `account-${name}`, expectedVersion: 0, events: [{ type: 'AccountCreated', data: { name, createdAt } }], metadata },
          sql,
        );
        this.cache.delete(name);
        return true;
      });
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }

  async list(): Promise<AccountSummary[]> {
    const rows = await this.store.db.query(`SELECT name, disabled, created_at FROM accounts ORDER BY name`);
    return rows.map((r: any) => ({ name: r.name, disabled: r.disabled, createdAt: new Date(r.created_at).toISOString() }));
  }

  /** Appends one event to the account's stream with its projection, guarded by the version read. */
  private async change(name: string, type: string, data: object, metadata: EventMetadata, alsoInTransaction?: (sql: SqlExecutor) => Promise<void>): Promise<void> {
    await retryOnConcurrency(() =>
      this.store.transaction(async (sql) => {
        const rows = await sql.query(`SELECT version, disabled FROM accounts WHERE name = $1`, [name]);
        if (!rows.length) throw new AccountError(404, `no account named ${name}`);
        const { version } = rows[0];
        const disabled = type === 'AccountDisabled' ? true : type === 'AccountEnabled' ? false : rows[0].disabled;
        await alsoInTransaction?.(sql);
        await this.store.append(
          {
            tenant: name,
            streamId: `account-${name}`,
            expectedVersion: version,
            events: [{ type, data }],
            metadata,
            projection: { sql: `UPDATE accounts SET disabled = $2, version = $3 WHERE name = $1 AND version = $4 RETURNING 1`, params: [name, disabled, version + 1, version] },
          },
          sql,
        );
      }),
    );
    this.cache.delete(name);
  }

  disable(name: string, metadata: EventMetadata = SYSTEM): Promise<void> {
    return this.change(name, 'AccountDisabled', { name }, metadata);
  }

  enable(name: string, metadata: EventMetadata = SYSTEM): Promise<void> {
    return this.change(name, 'AccountEnabled', { name }, metadata);
  }

  /** Replaces one key; the other stays valid, so clients move over without downtime. Returns the new key. */
  async rotate(name: string, which: KeyName, metadata: EventMetadata = SYSTEM): Promise<string> {
    const key = newAccountKey();
    await this.change(name, 'AccountKeyRotated', { name, key: which }, metadata, async (sql) => {
      await sql.query(`UPDATE account_keys SET ${which} = $2 WHERE account = $1`, [name, this.cipher.encrypt(key)]);
    });
    return key;
  }

  /** Seals keys stored before encryption at rest existed. */
  async sealPlainKeys(): Promise<number> {
    const rows = await this.store.db.query(`SELECT account, key1, key2 FROM account_keys`);
    let sealed = 0;
    for (const r of rows) {
      if (KeyCipher.isSealed(r.key1) && KeyCipher.isSealed(r.key2)) continue;
      const seal = (k: string) => (KeyCipher.isSealed(k) ? k : this.cipher.encrypt(k));
      await this.store.db.query(`UPDATE account_keys SET key1 = $2, key2 = $3 WHERE account = $1`, [r.account, seal(r.key1), seal(r.key2)]);
      sealed++;
    }
    return sealed;
  }

  /** Outside production the development account exists with its well-known key. */
  async ensureDevelopmentAccount(): Promise<void> {
    await this.create(DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY, newAccountKey());
  }
}
