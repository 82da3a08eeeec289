import {
  Controller,
  DynamicModule,
  Get,
  Inject,
  Injectable,
  InjectionToken,
  Module,
  ModuleMetadata,
  OnApplicationShutdown,
  OnModuleDestroy,
  OnModuleInit,
} from '@nestjs/common';
import {
  HealthCheck,
  HealthCheckService,
  HealthIndicatorResult,
  HealthIndicatorService,
  TerminusModule,
} from '@nestjs/terminus';
import { LEASEHOLD_CONFIG, LeaseholdConfig } from '@leasehold/config';
import Redis from 'ioredis';
import type { Pool } from 'pg';
import { DataSource } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';
import { poolConnections } from './metrics';

/** One dependency's answer to "are you there?"; what each process waits for differs. */
export type ReadinessCheck = () => Promise<HealthIndicatorResult>;

export const READINESS_CHECKS = Symbol('READINESS_CHECKS');

/** A probe must answer while a dependency hangs (a pool waiting for a connection, say). */
const PROBE_TIMEOUT_MS = 2000;

function within<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const timeout = new Promise<never>(
    (_, fail) =>
      (timer = setTimeout(() => fail(new Error(`${what}: no answer within ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS)),
  );
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

const message = (error: unknown) => (error as Error)?.message ?? String(error);

/** PostgreSQL: reachable, and the schema has every migration this build knows. */
@Injectable()
export class DatabaseHealth {
  constructor(
    private readonly db: DataSource,
    private readonly health: HealthIndicatorService,
  ) {}

  async reachable(): Promise<HealthIndicatorResult> {
    const indicator = this.health.check('postgres');
    try {
      await within(this.db.query('SELECT 1'), 'PostgreSQL');
      return indicator.up();
    } catch (error) {
      return indicator.down({ message: message(error) });
    }
  }

  /**
   * A process started against an old schema (migrations not yet run) is not ready: it would fail
   * on the first request that needs a missing table or column. Migrations this build does not
   * know (a newer release migrated first, as in a rolling deploy) are listed but do not block.
   */
  async migrations(): Promise<HealthIndicatorResult> {
    const indicator = this.health.check('migrations');
    try {
      const table = this.db.options.migrationsTableName ?? 'migrations';
      const rows: Array<{ name: string }> = await within(this.db.query(`SELECT name FROM "${table}"`), 'PostgreSQL');
      const applied = new Set(rows.map((r) => r.name));
      const known = this.db.migrations.map((m) => m.name ?? m.constructor.name);
      const pending = known.filter((name) => !applied.has(name));
      const unknown = [...applied].filter((name) => !known.includes(name));
      if (pending.length)
        return indicator.down({ message: `the schema is behind this build: run \`npm run migrate\``, pending });
      return indicator.up({ applied: known.length, ...(unknown.length ? { newer: unknown } : {}) });
    } catch (error) {
      return indicator.down({ message: message(error) });
    }
  }
}

/**
 * Redis as the API uses it: the rate limiter lets requests through without it and leases never
 * touch it, so its absence makes the API degraded (jobs cannot be queued), not unready.
 */
@Injectable()
export class RedisHealth implements OnApplicationShutdown {
  private readonly redis: Redis;

  constructor(
    @Inject(LEASEHOLD_CONFIG) config: LeaseholdConfig,
    private readonly health: HealthIndicatorService,
  ) {
    // No offline queue: a ping while disconnected fails at once instead of waiting for Redis.
    this.redis = new Redis(config.redisUrl, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      connectionName: 'leasehold-health',
    });
    this.redis.on('error', () => undefined);
  }

  async degradedWithout(): Promise<HealthIndicatorResult> {
    const indicator = this.health.check('redis');
    try {
      if (this.redis.status === 'wait') await within(this.redis.connect(), 'Redis');
      await within(this.redis.ping(), 'Redis');
      return indicator.up();
    } catch (error) {
      return indicator.up({
        degraded: true,
        message: `${message(error)}; leases work, force-close jobs cannot be queued`,
      });
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.redis.disconnect();
  }
}

@Controller('_health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    @Inject(READINESS_CHECKS) private readonly checks: ReadinessCheck[],
  ) {}

  /** The process runs and answers; nothing else (a restart would not fix a dependency). */
  @Get('live')
  @HealthCheck()
  live() {
    return this.health.check([]);
  }

  /** 200 when it can serve, 503 with what is missing otherwise. */
  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check(this.checks);
  }
}

export interface ReadinessOptions {
  imports?: ModuleMetadata['imports'];
  inject: InjectionToken[];
  useFactory: (...deps: never[]) => ReadinessCheck[];
}

/** Every pool of this process (an application's, or several in a test process), summed when scraped. */
const pools = new Set<Pool>();
poolConnections.source = async () => {
  const sum = (count: (pool: Pool) => number) => [...pools].reduce((n, pool) => n + count(pool), 0);
  return [
    { labels: { state: 'total' }, value: sum((p) => p.totalCount) },
    { labels: { state: 'idle' }, value: sum((p) => p.idleCount) },
    { labels: { state: 'waiting' }, value: sum((p) => p.waitingCount) },
  ];
};

/** The PostgreSQL pool's use, read when scraped. */
@Injectable()
export class PoolMetrics implements OnModuleInit, OnModuleDestroy {
  private readonly pool: Pool;

  constructor(db: DataSource) {
    this.pool = (db.driver as PostgresDriver).master as Pool;
  }

  onModuleInit(): void {
    pools.add(this.pool);
  }

  onModuleDestroy(): void {
    pools.delete(this.pool);
  }
}

/** `/_health/live` and `/_health/ready` (terminus) with the checks each process names, and the pool's metrics. */
@Module({})
export class ObservabilityModule {
  static forRoot(readiness: ReadinessOptions): DynamicModule {
    return {
      module: ObservabilityModule,
      imports: [TerminusModule.forRoot({ logger: false }), ...(readiness.imports ?? [])],
      controllers: [HealthController],
      providers: [
        DatabaseHealth,
        RedisHealth,
        PoolMetrics,
        { provide: READINESS_CHECKS, inject: readiness.inject, useFactory: readiness.useFactory },
      ],
    };
  }
}
