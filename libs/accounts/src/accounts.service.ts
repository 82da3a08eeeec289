import { Injectable, Logger } from '@nestjs/common';
import { Caller, SYSTEM_CALLER } from '@leasehold/domain';
import {
  EventStore,
  eventMetadata,
  expiringCache,
  isUniqueViolation,
  retryOnConcurrency,
  SqlExecutor,
} from '@leasehold/event-store';
import { randomBytes } from 'node:crypto';
import { AccountEvent, accountRow, accountStream } from './account.events';
import { KeyCipher } from './key-cipher';

/** The public development account of the Azure storage emulators: SDK samples work against it unchanged. */
export const DEVELOPMENT_ACCOUNT = 'devstoreaccount1';
export const DEVELOPMENT_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export const ACCOUNT_NAME = /^[a-z0-9]{3,24}$/;
/** Keys are looked up on every request; a short cache keeps that off the database, and bounds how long a disabled account or a rotated key lingers. */
const KEY_CACHE_MS = 5_000;
/** Entries per cache (known accounts, unknown names): a flood of made-up names costs bounded memory and cannot evict real tenants. */
const KEY_CACHE_ENTRIES = 10_000;

export const newAccountKey = () => randomBytes(64).toString('base64');

export interface AccountSummary {
  name: string;
  disabled: boolean;
  createdAt: string;
}

export type KeyName = 'key1' | 'key2';

/** Why an account change was refused; the message says it to an operator. */
export class AccountError extends Error {
  constructor(
    readonly reason: 'InvalidName' | 'NotFound' | 'AlreadyExists',
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
export class AccountsService {
  private readonly logger = new Logger('Accounts');
  private readonly known = expiringCache<string, Buffer[]>({ max: KEY_CACHE_ENTRIES, ttl: KEY_CACHE_MS });
  private readonly unknown = expiringCache<string, true>({ max: KEY_CACHE_ENTRIES, ttl: KEY_CACHE_MS });
  /** Concurrent requests for one account share one query. */
  private readonly loading = new Map<string, Promise<Buffer[] | undefined>>();
  private readonly warnedDevelopmentKey = new Set<string>();

  constructor(
    private readonly store: EventStore,
    private readonly cipher: KeyCipher,
    /** In production the Azure emulator's public key opens nothing. */
    private readonly options: { production: boolean } = { production: false },
  ) {}

  /** The decoded keys of an enabled account, or undefined when there is no such (enabled) account. */
  async keysOf(account: string): Promise<Buffer[] | undefined> {
    // A name no account can have is refused without a query or a cache entry.
    if (!ACCOUNT_NAME.test(account) || this.unknown.has(account)) return undefined;
    const cached = this.known.get(account);
    if (cached) return cached;
    let loading = this.loading.get(account);
    if (!loading) {
      loading = this.load(account).finally(() => this.loading.delete(account));
      this.loading.set(account, loading);
    }
    return loading;
  }

  private async load(account: string): Promise<Buffer[] | undefined> {
    const rows = await this.store.db.query<{ key1: string; key2: string }>(
      `SELECT k.key1, k.key2 FROM accounts a JOIN account_keys k ON k.account = a.name WHERE a.name = $1 AND NOT a.disabled`,
      [account],
    );
    const keys = rows.length ? this.usableKeys(account, [rows[0].key1, rows[0].key2]) : [];
    if (keys.length === 0) {
      this.unknown.set(account, true);
      return undefined;
    }
    this.known.set(account, keys);
    return keys;
  }

  /** The keys that may sign: ones that do not open (sealed for another account, say) or the public emulator key in production do not. */
  private usableKeys(account: string, sealed: string[]): Buffer[] {
    const keys: Buffer[] = [];
    for (const value of sealed) {
      let key: string;
      try {
        key = this.cipher.decrypt(value, account);
      } catch {
        this.logger.error(
          `a stored key of account ${account} does not open with ENCRYPTION_KEY for this account; it is refused`,
        );
        continue;
      }
      if (this.options.production && key === DEVELOPMENT_KEY) {
        if (!this.warnedDevelopmentKey.has(account)) {
          this.warnedDevelopmentKey.add(account);
          this.logger.warn(
            `account ${account} has the public Azure emulator key; production refuses it: rotate that key`,
          );
        }
        continue;
      }
      keys.push(Buffer.from(key, 'base64'));
    }
    return keys;
  }

  private forget(name: string): void {
    this.known.delete(name);
    this.unknown.delete(name);
  }

  /** Creates an account with the given keys; false when it exists already. */
  async create(name: string, key1: string, key2: string, by: Caller = SYSTEM_CALLER): Promise<boolean> {
    if (!ACCOUNT_NAME.test(name))
      throw new AccountError('InvalidName', 'account names are 3 to 24 lowercase letters and digits');
    const createdAt = new Date();
    const created: AccountEvent = { type: 'AccountCreated', data: { name, createdAt } };
    try {
      return await this.store.transaction(async (sql) => {
        const inserted = await sql.query(
          `INSERT INTO accounts SELECT * FROM jsonb_populate_record(NULL::accounts, $1::jsonb) ON CONFLICT DO NOTHING RETURNING 1`,
          [JSON.stringify(accountRow({ name, createdAt }, false, 1))],
        );
        if (inserted.length === 0) return false;
        await sql.query(`INSERT INTO account_keys (account, key1, key2) VALUES ($1, $2, $3)`, [
          name,
          this.cipher.encrypt(key1, name),
          this.cipher.encrypt(key2, name),
        ]);
        await this.store.append(
          {
            tenant: name,
            streamId: accountStream(name),
            expectedVersion: 0,
            events: [created],
            metadata: eventMetadata(by),
          },
          sql,
        );
        this.forget(name);
        return true;
      });
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }

  async list(): Promise<AccountSummary[]> {
    const rows = await this.store.db.query<{ name: string; disabled: boolean; created_at: Date }>(
      `SELECT name, disabled, created_at FROM accounts ORDER BY name`,
    );
    return rows.map((r) => ({ name: r.name, disabled: r.disabled, createdAt: new Date(r.created_at).toISOString() }));
  }

  /** Appends one event to the account's stream with its projection, guarded by the version read. */
  private async change(
    name: string,
    event: Exclude<AccountEvent, { type: 'AccountCreated' }>,
    by: Caller,
    alsoInTransaction?: (sql: SqlExecutor) => Promise<void>,
  ): Promise<void> {
    await retryOnConcurrency(() =>
      this.store.transaction(async (sql) => {
        const rows = await sql.query<{ version: number; disabled: boolean }>(
          `SELECT version, disabled FROM accounts WHERE name = $1`,
          [name],
        );
        if (!rows.length) throw new AccountError('NotFound', `no account named ${name}`);
        const { version } = rows[0];
        const disabled =
          event.type === 'AccountDisabled' ? true : event.type === 'AccountEnabled' ? false : rows[0].disabled;
        await alsoInTransaction?.(sql);
        await this.store.append(
          {
            tenant: name,
            streamId: accountStream(name),
            expectedVersion: version,
            events: [event],
            metadata: eventMetadata(by),
            projection: {
              sql: `UPDATE accounts SET disabled = $2, version = $3 WHERE name = $1 AND version = $4 RETURNING 1`,
              params: [name, disabled, version + 1, version],
            },
          },
          sql,
        );
      }),
    );
    this.forget(name);
  }

  disable(name: string, by: Caller = SYSTEM_CALLER): Promise<void> {
    return this.change(name, { type: 'AccountDisabled', data: { name } }, by);
  }

  enable(name: string, by: Caller = SYSTEM_CALLER): Promise<void> {
    return this.change(name, { type: 'AccountEnabled', data: { name } }, by);
  }

  /** Replaces one key; the other stays valid, so clients move over without downtime. Returns the new key. */
  async rotate(name: string, which: KeyName, by: Caller = SYSTEM_CALLER): Promise<string> {
    const key = newAccountKey();
    await this.change(name, { type: 'AccountKeyRotated', data: { name, key: which } }, by, async (sql) => {
      await sql.query(`UPDATE account_keys SET ${which} = $2 WHERE account = $1`, [
        name,
        this.cipher.encrypt(key, name),
      ]);
    });
    return key;
  }

  /**
   * Re-seals, bound to their account, keys stored before encryption at rest (plain) or before the
   * account name was the associated data (v1). Runs with the migrations (`npm run migrate`,
   * `npm start`); keysOf opens only current values. Returns how many accounts it changed.
   */
  async resealKeys(): Promise<number> {
    const rows = await this.store.db.query<{ account: string; key1: string; key2: string }>(
      `SELECT account, key1, key2 FROM account_keys`,
    );
    let resealed = 0;
    for (const r of rows) {
      const key1 = this.cipher.reseal(r.key1, r.account);
      const key2 = this.cipher.reseal(r.key2, r.account);
      if (key1 === undefined && key2 === undefined) continue;
      // Guarded by the values read, so a rotation meanwhile is not overwritten.
      await this.store.db.query(
        `UPDATE account_keys SET key1 = $2, key2 = $3 WHERE account = $1 AND key1 = $4 AND key2 = $5`,
        [r.account, key1 ?? r.key1, key2 ?? r.key2, r.key1, r.key2],
      );
      resealed++;
    }
    return resealed;
  }

  /** Outside production the development account exists with its well-known key. */
  async ensureDevelopmentAccount(): Promise<void> {
    await this.create(DEVELOPMENT_ACCOUNT, DEVELOPMENT_KEY, newAccountKey());
  }
}
