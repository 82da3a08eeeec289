import { Injectable } from '@nestjs/common';
import { EventStore, EventMetadata, isUniqueViolation } from '@leasehold/event-store';
import { AccountKeyLookup } from '@leasehold/wire';
import { randomBytes } from 'node:crypto';

/** The public development account of the Azure storage emulators: SDK samples work against it unchanged. */
export const DEVELOPMENT_ACCOUNT = 'devstoreaccount1';
export const DEVELOPMENT_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

const ACCOUNT_NAME = /^[a-z0-9]{3,24}$/;
/** Keys are looked up on every request; a short cache keeps that off the database without making rotation slow. */
const KEY_CACHE_MS = 5_000;

const SYSTEM: EventMetadata = { requestId: 'system', principal: 'system', authentication: 'System' };

export const newAccountKey = () => randomBytes(64).toString('base64');

/** Accounts are tenants: each has two keys, both valid, so a key can be rotated without downtime. */
@Injectable()
export class AccountsService implements AccountKeyLookup {
  private readonly cache = new Map<string, { keys: Buffer[] | undefined; until: number }>();

  constructor(private readonly store: EventStore) {}

  async keysOf(account: string): Promise<Buffer[] | undefined> {
    const cached = this.cache.get(account);
    if (cached && cached.until > Date.now()) return cached.keys;
    const rows = await this.store.db.query(
      `SELECT k.key1, k.key2 FROM accounts a JOIN account_keys k ON k.account = a.name WHERE a.name = $1 AND NOT a.disabled`,
      [account],
    );
    const keys = rows.length ? [Buffer.from(rows[0].key1, 'base64'), Buffer.from(rows[0].key2, 'base64')] : undefined;
    this.cache.set(account, { keys, until: Date.now() + KEY_CACHE_MS });
    return keys;
  }

  /** Creates an account; returns false when it exists already. */
  async create(name: string, key1: string, key2: string, metadata: EventMetadata = SYSTEM): Promise<boolean> {
    if (!ACCOUNT_NAME.test(name)) throw new Error(`account names are 3 to 24 lowercase letters and digits: ${name}`);
    const createdAt = new Date();
    try {
      return await this.store.transaction(async (sql) => {
        const inserted = await sql.query(
          `INSERT INTO accounts (name, created_at, version) VALUES ($1, $2, 1) ON CONFLICT DO NOTHING RETURNING 1`,
          [name, createdAt],
        );
        if (inserted.length === 0) return false;
        await sql.query(`INSERT INTO account_keys (account, key1, key2) VALUES ($1, $2, $3)`, [name, key1, key2]);
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

  /** Outside production the development account exists with its well-known key. */
  async ensureDevelopmentAccount(): Promise<void> {
    await this.create(DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY, newAccountKey());
  }
}
