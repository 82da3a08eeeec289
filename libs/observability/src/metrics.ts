import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every metric the processes export, on one registry per process. The Grafana dashboard
 * (deploy/grafana-dashboard.json) is built on exactly these names; a test checks it.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'leasehold_' });

const seconds = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export const httpRequests = new Counter({
  name: 'leasehold_http_requests_total',
  help: 'Requests answered, by Azure operation (or service endpoint) and status.',
  labelNames: ['operation', 'status'] as const,
  registers: [registry],
});

export const httpRequestDuration = new Histogram({
  name: 'leasehold_http_request_duration_seconds',
  help: 'Time from request to the end of the answer, by Azure operation.',
  labelNames: ['operation'] as const,
  buckets: seconds,
  registers: [registry],
});

export const leaseActions = new Counter({
  name: 'leasehold_lease_actions_total',
  help: 'Lease File requests by action (acquire, change, release, break) and outcome (success or the Azure error code).',
  labelNames: ['action', 'outcome'] as const,
  registers: [registry],
});

export const concurrencyConflicts = new Counter({
  name: 'leasehold_concurrency_conflicts_total',
  help: 'Appends refused by optimistic concurrency (a stream version taken, or a projection guard that did not apply).',
  registers: [registry],
});

export const concurrencyRetries = new Counter({
  name: 'leasehold_concurrency_retries_total',
  help: 'Read-decide-append cycles run again after a conflict.',
  registers: [registry],
});

export const writeBatchSize = new Histogram({
  name: 'leasehold_write_batch_size',
  help: 'Node updates committed per batched statement.',
  buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
  registers: [registry],
});

export const shareLeaseBatchSize = new Histogram({
  name: 'leasehold_share_lease_batch_size',
  help: 'Share lease reads (statement=read) or writes (statement=write) per batched statement.',
  labelNames: ['statement'],
  buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
  registers: [registry],
});

export const eventAppendDuration = new Histogram({
  name: 'leasehold_event_append_duration_seconds',
  help: 'Time of one append statement to the event log (with its inline projection).',
  buckets: seconds,
  registers: [registry],
});

export const rateLimitRefusals = new Counter({
  name: 'leasehold_rate_limit_refusals_total',
  help: 'Requests refused with 503 ServerBusy over the tenant rate limit, by tenant (bounded: METRICS_TENANT_LABELS tenants, then _other).',
  labelNames: ['tenant'] as const,
  registers: [registry],
});

export const jobChunks = new Counter({
  name: 'leasehold_job_chunks_total',
  help: 'Force-close job chunks committed by this worker.',
  registers: [registry],
});

export const jobHandlesClosed = new Counter({
  name: 'leasehold_job_handles_closed_total',
  help: 'Handles closed by force-close job chunks on this worker.',
  registers: [registry],
});

/** A gauge read when scraped; `source` is set by whichever process can answer it. */
function sampledGauge<L extends string>(name: string, help: string, labelNames: readonly L[]) {
  const holder: { source?: () => Promise<Array<{ labels: Partial<Record<L, string>>; value: number }>> } = {};
  const gauge: Gauge<L> = new Gauge<L>({
    name,
    help,
    labelNames,
    registers: [registry],
    async collect() {
      if (!holder.source) return;
      // A dependency that is down leaves the gauge empty rather than failing the whole scrape.
      const samples = await holder.source().catch(() => []);
      gauge.reset();
      for (const { labels, value } of samples) gauge.set(labels as never, value);
    },
  });
  return holder;
}

export const openHandles = sampledGauge('leasehold_open_handles', 'Handles open, all tenants.', []);
export const jobsByState = sampledGauge('leasehold_jobs', 'Force-close jobs by state.', ['state']);
export const queueDepth = sampledGauge(
  'leasehold_queue_jobs',
  'Force-close queue entries (each runs one or more chunks of a job) by BullMQ state.',
  ['state'],
);
export const projectorLagEvents = sampledGauge(
  'leasehold_audit_projector_lag_events',
  'Events committed but not yet applied by the audit projector (counted up to 100,000).',
  [],
);
export const projectorLagSeconds = sampledGauge(
  'leasehold_audit_projector_lag_seconds',
  'Age of the oldest event the audit projector has not applied (0 when caught up).',
  [],
);
export const poolConnections = sampledGauge(
  'leasehold_db_pool_connections',
  'PostgreSQL pool connections of this process: total, idle, waiting (requests queued for one).',
  ['state'],
);

/**
 * Per-tenant labels with bounded cardinality: the first `limit` tenants seen get their own label,
 * every later one counts as `_other`, so a flood of tenants cannot blow up the series count.
 */
export class TenantLabels {
  private readonly named = new Set<string>();

  constructor(private readonly limit: number) {}

  label(tenant: string): string {
    if (this.named.has(tenant)) return tenant;
    if (this.named.size >= this.limit) return '_other';
    this.named.add(tenant);
    return tenant;
  }
}
