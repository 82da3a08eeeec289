import { Logger } from '@nestjs/common';
import {
  Checkpoint,
  compareCheckpoints,
  ConnectionExecutor,
  EventStore,
  RecordedEvent,
  SqlExecutor,
} from '@leasehold/event-store';
import type { Pool, PoolClient } from 'pg';

/**
 * A projection in two steps, so that the projector can turn one batch into its writes while the
 * batch before it is still being written (catching up a small read model, the two took about as
 * long each: bench/README.md, audit).
 */
export interface AsyncProjection<Prepared = unknown> {
  name: string;
  /**
   * Turns a batch into its writes, in a transaction of its own that writes nothing. The batch
   * before it may not be committed yet: `previous` is what that batch will write (undefined once it
   * has committed), and wins over anything read of the read model.
   */
  prepare(sql: ConnectionExecutor, events: RecordedEvent[], previous: Prepared | undefined): Promise<Prepared>;
  /** Writes a prepared batch in the caller's transaction; the checkpoint moves in the same transaction. */
  write(sql: ConnectionExecutor, prepared: Prepared): Promise<void>;
}

/** A batch read from the log and prepared. */
interface PreparedBatch {
  prepared: unknown;
  count: number;
  /** The checkpoint after it. */
  last: Checkpoint;
  /** Whether a bound cut it (more events may follow at once). */
  more: boolean;
}

/**
 * A batch: up to this many events, and no more than this many bytes of their data as stored (the
 * first event always comes). Catching up, 5,000 events a batch applied 9-13 % more events per
 * second than 1,000 (bench/README.md, audit); the size bound keeps a batch of force-close chunks,
 * each naming up to 5,000 handles, from holding millions of them in memory at once.
 */
export const BATCH_EVENTS = 5000;
export const BATCH_BYTES = 4 * 1024 * 1024;

export interface ProjectorLag {
  name: string;
  checkpoint?: Checkpoint;
  /** Events committed but not yet applied (counted up to a bound). */
  behind: number;
  /** How long ago the last applied batch was. */
  idleSeconds?: number;
  /** How old the oldest event not yet applied is (0 when caught up). */
  ageSeconds: number;
}

/**
 * Drives one asynchronous projection from the log. It follows the event store's readAll order, so
 * an event whose transaction committed late is never skipped; it applies each batch and moves its
 * checkpoint in one transaction, so a crash mid-batch loses nothing and applies nothing twice; and
 * it runs as one instance across all processes, holding a session advisory lock while it leads.
 */
export class AsyncProjector {
  private readonly logger: Logger;
  private leader?: { client: PoolClient; onError: () => void };
  /** The batch after the one being written, read and prepared meanwhile while catching up. */
  private next?: { after: Checkpoint; batch: Promise<PreparedBatch | undefined> };

  constructor(
    private readonly pool: Pool,
    private readonly store: EventStore,
    private readonly projection: AsyncProjection,
    private readonly batchSize = BATCH_EVENTS,
    private readonly batchBytes = BATCH_BYTES,
  ) {
    this.logger = new Logger(`Projector:${projection.name}`);
  }

  /** Tries to become the one instance; true when this process now leads. */
  async lead(): Promise<boolean> {
    if (this.leader) return true;
    const client = await this.pool.connect();
    // Dropping the connection releases the lock, so a crashed leader never blocks a successor.
    // Listening from the start: an error on a checked-out client with no listener ends the process.
    const onError = () => (this.leader?.client === client ? void this.resign(true) : undefined);
    client.on('error', onError);
    let rows: Array<{ ok: boolean }>;
    try {
      ({ rows } = await client.query<{ ok: boolean }>(`SELECT pg_try_advisory_lock(hashtext($1)) AS ok`, [
        this.lockKey,
      ]));
    } catch (error) {
      client.off('error', onError);
      client.release(true);
      throw error;
    }
    if (!rows[0].ok) {
      client.off('error', onError);
      client.release();
      return false;
    }
    this.leader = { client, onError };
    this.logger.log('leading');
    return true;
  }

  /**
   * Gives up the lead at once. The lock is a session lock, so a connection handed back to the pool
   * still holding it would keep every other process from leading, and let whoever in this process
   * checks it out next lead too; it is unlocked first, and a connection that cannot be is dropped.
   */
  async resign(broken = false): Promise<void> {
    const leader = this.leader;
    this.leader = undefined;
    this.next = undefined;
    if (!leader) return;
    const { client, onError } = leader;
    const unlocked =
      !broken &&
      (await client.query(`SELECT pg_advisory_unlock(hashtext($1))`, [this.lockKey]).then(
        () => true,
        () => false,
      ));
    // A dropped connection keeps its listener: an error while it closes must not end the process.
    if (unlocked) client.off('error', onError);
    client.release(!unlocked);
  }

  /** The session advisory lock that makes one instance lead, across all processes. */
  private get lockKey(): string {
    return `projection:${this.projection.name}`;
  }

  async checkpoint(sql: SqlExecutor = this.store.db): Promise<Checkpoint | undefined> {
    const rows = await sql.query<{ transaction_id: string; position: string }>(
      `SELECT transaction_id::text, position::text FROM projection_checkpoints WHERE name = $1`,
      [this.projection.name],
    );
    return rows.length ? { transactionId: rows[0].transaction_id, position: rows[0].position } : undefined;
  }

  /**
   * Applies the next batch; returns how many events it applied (0: caught up). Only the leader may
   * call it. After a batch cut by a bound it reads and prepares the following one while this one is
   * written, so that catching up overlaps this process's work with PostgreSQL's; a batch prepared
   * ahead is used only if the checkpoint is where this batch left it, i.e. this batch committed.
   */
  async runBatch(): Promise<number> {
    if (!this.leader) throw new Error(`${this.projection.name}: not the leader`);
    const after = await this.checkpoint();
    const ahead = this.next;
    this.next = undefined;
    const batch =
      (ahead && after && compareCheckpoints(ahead.after, after) === 0 ? await ahead.batch : undefined) ??
      (await this.prepareAfter(after, undefined));
    if (!batch) return 0;
    // One prepared ahead that fails is prepared again by the next call.
    if (batch.more)
      this.next = { after: batch.last, batch: this.prepareAfter(batch.last, batch.prepared).catch(() => undefined) };
    try {
      await this.store.transaction(async (sql) => {
        await this.planEachStatement(sql);
        await this.projection.write(sql, batch.prepared);
        await sql.query(
          `INSERT INTO projection_checkpoints (name, transaction_id, position, events) VALUES ($1, $2::xid8, $3, $4)
           ON CONFLICT (name) DO UPDATE SET transaction_id = EXCLUDED.transaction_id, position = EXCLUDED.position,
             events = projection_checkpoints.events + EXCLUDED.events, updated_at = now()`,
          [this.projection.name, batch.last.transactionId, batch.last.position, batch.count],
        );
      });
    } catch (error) {
      // What was prepared over this batch's writes no longer holds.
      this.next = undefined;
      throw error;
    }
    return batch.count;
  }

  /** The batch after `after`, read and prepared over `previous` (the writes of a batch not committed yet). */
  private async prepareAfter(after: Checkpoint | undefined, previous: unknown): Promise<PreparedBatch | undefined> {
    const { events, more } = await this.store.readAll(after, this.batchSize, this.batchBytes);
    if (events.length === 0) return undefined;
    const prepared = await this.store.transaction(async (sql) => {
      await this.planEachStatement(sql);
      return this.projection.prepare(sql, events, previous);
    });
    const last = events[events.length - 1];
    return {
      prepared,
      count: events.length,
      more,
      last: { transactionId: last.transactionId, position: last.position },
    };
  }

  /**
   * Plans each statement of the transaction for its parameters, never from a cached generic plan:
   * catching up grows the read model from nothing faster than autovacuum's ANALYZE invalidates
   * plans, and a plan made when audit_streams was empty (a sequential scan per stream looked up)
   * took 9.8 s for one batch once the table held 200,000 streams.
   */
  private planEachStatement(sql: ConnectionExecutor) {
    return sql.query(`SET LOCAL plan_cache_mode = force_custom_plan`);
  }

  /** Runs until caught up (bounded by maxBatches); returns the events applied. */
  async catchUp(maxBatches = Number.MAX_SAFE_INTEGER): Promise<number> {
    let applied = 0;
    for (let i = 0; i < maxBatches; i++) {
      const n = await this.runBatch();
      if (n === 0) break;
      applied += n;
    }
    return applied;
  }

  async lag(bound = 100_000): Promise<ProjectorLag> {
    const checkpoint = await this.checkpoint();
    const rows = await this.store.db.query<{ behind: number; age: number }>(
      `SELECT count(*)::int AS behind, coalesce(extract(epoch FROM now() - min(recorded_at)), 0)::float AS age
       FROM (SELECT recorded_at FROM events WHERE (transaction_id, position) > ($1::xid8, $2::bigint) LIMIT $3) e`,
      [checkpoint?.transactionId ?? '0', checkpoint?.position ?? '0', bound],
    );
    const updated = await this.store.db.query<{ idle: number }>(
      `SELECT extract(epoch FROM now() - updated_at)::float AS idle FROM projection_checkpoints WHERE name = $1`,
      [this.projection.name],
    );
    return {
      name: this.projection.name,
      checkpoint,
      behind: rows[0].behind,
      ageSeconds: rows[0].age,
      idleSeconds: updated[0]?.idle,
    };
  }
}
