import { Inject, Injectable, Logger, Module, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { LEASEHOLD_CONFIG, LeaseholdConfig } from '@leasehold/config';
import { EventStore, OutageLog } from '@leasehold/event-store';
import { Pool } from 'pg';
import { AsyncProjector, ProjectorLag } from './async-projector';
import { auditProjection } from './audit.projection';
import { AuditEventsHandler, ExportAuditHandler, LeaseHistoryHandler, StateAsOfHandler } from './audit.queries';
import { AuditRepository } from './audit.repository';

/** The audit queries. */
@Module({ providers: [AuditRepository, AuditEventsHandler, LeaseHistoryHandler, StateAsOfHandler, ExportAuditHandler] })
export class AuditModule {}

const IDLE_POLL_MS = 250;
const STANDBY_POLL_MS = 5_000;
const LAG_REPORT_MS = 30_000;

/** Runs the audit projector in the worker: one leader across all workers, the others on standby. */
@Injectable()
export class AuditProjectorService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('AuditProjector');
  private readonly pool: Pool;
  private readonly projector: AsyncProjector;
  private stopped = false;
  private loop?: Promise<void>;
  private lastReport = 0;
  private readonly outage = new OutageLog(this.logger, 'PostgreSQL', 'the audit projector stands by and retries');

  constructor(store: EventStore, @Inject(LEASEHOLD_CONFIG) config: LeaseholdConfig) {
    this.pool = new Pool({ connectionString: config.databaseUrl, max: 2, application_name: 'leasehold-projector' });
    this.pool.on('error', () => undefined);
    this.projector = new AsyncProjector(this.pool, store, auditProjection);
  }

  onApplicationBootstrap(): void {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      let wait = IDLE_POLL_MS;
      try {
        if (!(await this.projector.lead())) wait = STANDBY_POLL_MS;
        else if ((await this.projector.runBatch()) > 0) wait = 0;
        await this.report();
        this.outage.succeeded();
      } catch (error) {
        // Lost the database for a while: give up the lead (another worker may take it) and retry.
        this.outage.failed(error);
        await this.projector.resign(true);
        wait = STANDBY_POLL_MS;
      }
      if (wait) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  private async report(): Promise<void> {
    if (Date.now() - this.lastReport < LAG_REPORT_MS) return;
    this.lastReport = Date.now();
    const lag = await this.projector.lag();
    this.logger.log(`lag: ${lag.behind} event(s) behind, last batch ${lag.idleSeconds?.toFixed(1) ?? '-'} s ago`);
  }

  /** How far behind the log the audit read model is, for the metrics. */
  lag(): Promise<ProjectorLag> {
    return this.projector.lag();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    await this.loop;
    await this.projector.resign();
    await this.pool.end();
  }
}

@Module({ providers: [AuditProjectorService], exports: [AuditProjectorService] })
export class AuditProjectorModule {}
