/**
 * Configuration from the environment, validated once at start-up. A bad value stops the process
 * with one line naming the variable, instead of failing later on the first request.
 */
export interface LeaseholdConfig {
  databaseUrl: string;
  redisUrl: string;
  port: number;
  host: string;
  production: boolean;
  /** Open-handle limits (Azure: 2,000 per file or directory, 10,000 on the share root). */
  handleLimitPerNode: number;
  handleLimitShareRoot: number;
  /**
   * Handles closed by one Force Close Handles call or one job chunk. Each chunk also pays a fixed
   * cost (the job read and recorded, its own commit, the queue's round trips): a million handles
   * took 56.1-56.2 s in chunks of 1,000 and 39.7-48.3 s in chunks of 5,000 (bench/README.md);
   * chunks of 10,000 gained nothing more.
   */
  forceCloseChunkSize: number;
  /** Force-close chunks one worker process runs at once. */
  workerConcurrency: number;
  /** How long a worker holds a job's lock; a crashed worker's chunk is picked up again after about this long. */
  jobLockMs: number;
  /**
   * How long one queue entry runs its job's chunks one after another before it queues the next
   * (0: one chunk per entry). Longer saves a big job a queue round trip and a job read per chunk;
   * shorter gives a worker slot to the jobs waiting behind it sooner.
   */
  jobDeliveryMs: number;
  /** How long finished queue entries stay in Redis (their record stays in PostgreSQL). */
  jobRetentionSeconds: number;
  /** BullMQ key prefix in Redis: deployments (or test runs) sharing one Redis each get their own queue. */
  queuePrefix: string;
  /** Signs continuation markers so that they cannot be forged or reused for another account, path or query. */
  secretKey: string;
  /** Encrypts account keys at rest (AES-256-GCM with a key derived from it). */
  encryptionKey: string;
  /** The admin API's bearer token; undefined disables the admin API (there is no default in production). */
  adminToken?: string;
  /** Requests per second one tenant may make (0: no limit); over it, 503 ServerBusy with Retry-After. */
  rateLimitPerSecond: number;
  /** HTTP port of the worker's health and metrics endpoints (the API serves them on its own port). */
  workerPort: number;
  /** On SIGTERM, how long a process may take to finish what is in flight before it exits anyway. */
  shutdownTimeoutMs: number;
  /** pino level, and JSON lines (production, test) or pretty lines (development). */
  logLevel: string;
  logPretty: boolean;
  /** Tenants that get a label of their own on per-tenant metrics; the others count as `_other`. */
  metricsTenantLabels: number;
  /** Watchers one tenant may hold open on one API process. */
  watchLimitPerTenant: number;
  /** Events held for a watcher that has not taken them yet; beyond it the watcher is told to resume from its cursor. */
  watchBufferEvents: number;
  /** Seconds between heartbeats on an idle watch stream (they keep proxies from closing it and carry a resume cursor). */
  watchHeartbeatSeconds: number;
}

export class ConfigError extends Error {}

/** What a process prints when it cannot start: a configuration problem in one line, anything else with its stack. */
export function describeStartupFailure(error: unknown): string {
  if (error instanceof ConfigError) return error.message;
  return error instanceof Error ? (error.stack ?? String(error)) : String(error);
}

type Env = Record<string, string | undefined>;

function url(env: Env, name: string, fallback: string, protocols: string[]): string {
  const value = env[name] ?? fallback;
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new ConfigError(`${name} is not a URL: ${JSON.stringify(value)}`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(`${name} must use ${protocols.join(' or ')}, got ${parsed.protocol}`);
  }
  return value;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}

function oneOf(env: Env, name: string, fallback: string, values: string[]): string {
  const value = env[name] || fallback;
  if (!values.includes(value))
    throw new ConfigError(`${name} must be one of ${values.join(', ')}, got ${JSON.stringify(value)}`);
  return value;
}

function queuePrefix(env: Env): string {
  const value = env.QUEUE_PREFIX || 'leasehold';
  // BullMQ joins prefix, queue name and key with ':'; keep the prefix one plain segment.
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(value)) {
    throw new ConfigError(
      `QUEUE_PREFIX must be 1 to 64 letters, digits, '_', '.' or '-', got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

export function loadConfig(env: Env = process.env): LeaseholdConfig {
  const nodeEnv = env.NODE_ENV ?? 'development';
  if (!['development', 'production', 'test'].includes(nodeEnv)) {
    throw new ConfigError(`NODE_ENV must be development, production or test, got ${JSON.stringify(nodeEnv)}`);
  }
  const production = nodeEnv === 'production';
  const secretKey = env.SECRET_KEY ?? (production ? undefined : 'leasehold-development-secret-not-for-production');
  if (!secretKey || secretKey.length < 32) {
    throw new ConfigError(
      'SECRET_KEY must be set to at least 32 characters in production (it signs continuation markers)',
    );
  }
  const encryptionKey =
    env.ENCRYPTION_KEY ?? (production ? undefined : 'leasehold-development-encryption-key-not-for-production');
  if (!encryptionKey || encryptionKey.length < 32) {
    throw new ConfigError(
      'ENCRYPTION_KEY must be set to at least 32 characters in production (it encrypts account keys at rest)',
    );
  }
  const adminToken = env.ADMIN_TOKEN ?? (production ? undefined : 'leasehold-development-admin-token');
  if (adminToken !== undefined && adminToken.length < 16)
    throw new ConfigError('ADMIN_TOKEN must be at least 16 characters');
  return {
    databaseUrl: url(env, 'DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/leasehold', ['postgres:', 'postgresql:']),
    redisUrl: url(env, 'REDIS_URL', 'redis://127.0.0.1:6379', ['redis:', 'rediss:']),
    port: integer(env, 'PORT', 10004, 0, 65535),
    host: env.HOST || '127.0.0.1',
    production,
    handleLimitPerNode: integer(env, 'HANDLE_LIMIT_PER_NODE', 2000, 1, 1_000_000),
    handleLimitShareRoot: integer(env, 'HANDLE_LIMIT_SHARE_ROOT', 10000, 1, 1_000_000),
    forceCloseChunkSize: integer(env, 'FORCE_CLOSE_CHUNK_SIZE', 5000, 1, 100_000),
    workerConcurrency: integer(env, 'WORKER_CONCURRENCY', 2, 1, 64),
    jobLockMs: integer(env, 'JOB_LOCK_MS', 30_000, 1_000, 600_000),
    jobDeliveryMs: integer(env, 'JOB_DELIVERY_MS', 1_000, 0, 600_000),
    jobRetentionSeconds: integer(env, 'JOB_RETENTION_SECONDS', 3600, 0, 30 * 24 * 3600),
    queuePrefix: queuePrefix(env),
    secretKey,
    encryptionKey,
    adminToken,
    rateLimitPerSecond: integer(env, 'RATE_LIMIT_PER_SECOND', 5000, 0, 1_000_000),
    workerPort: integer(env, 'WORKER_PORT', 10005, 0, 65535),
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', 25_000, 0, 600_000),
    logLevel: oneOf(env, 'LOG_LEVEL', 'info', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    logPretty: oneOf(env, 'LOG_FORMAT', nodeEnv === 'development' ? 'pretty' : 'json', ['json', 'pretty']) === 'pretty',
    metricsTenantLabels: integer(env, 'METRICS_TENANT_LABELS', 20, 0, 10_000),
    watchLimitPerTenant: integer(env, 'WATCH_LIMIT_PER_TENANT', 1000, 1, 1_000_000),
    watchBufferEvents: integer(env, 'WATCH_BUFFER_EVENTS', 1000, 1, 1_000_000),
    watchHeartbeatSeconds: integer(env, 'WATCH_HEARTBEAT_SECONDS', 15, 1, 300),
  };
}

export const LEASEHOLD_CONFIG = Symbol('LEASEHOLD_CONFIG');
