import 'reflect-metadata';
import { Global, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CqrsModule } from '@nestjs/cqrs';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { ConfigModule, loadConfig } from '@leasehold/config';
import { DomainError, LeaseCommand, ShareLeaseCommand } from '@leasehold/domain';
import { EventStoreModule } from '@leasehold/event-store';
import { FilesystemModule, OPEN_HANDLES } from '@leasehold/filesystem';
import { HandleRepository, HandlesModule } from '@leasehold/handles';
import {
  LeaseFileCommand,
  LeaseFileHandler,
  LeaseShareCommand,
  LeaseShareHandler,
  LeasesModule,
} from '@leasehold/leases';

/**
 * Baseline (c) of `bench:lease`: the service's own Lease File and Lease Share handlers (the same
 * deciders, caches, repositories and statements) behind a bare `node:http` server, with none of
 * the wire layer: no Fastify or Nest request pipeline, no Shared Key verification, no access log,
 * no metrics, no rate limit, no XML. The API's CPU per op minus this process's is what the wire
 * layer costs; this process's is what the capability, node-postgres and Node's HTTP cost at best.
 *
 * It understands only what the lease and heartbeat load processes send (a file lease's acquire with
 * a proposed id and release; a share lease's acquire and renew) and answers the status and error
 * code they count. Bench use only: it trusts every request.
 *
 * Usage: DATABASE_URL=… PORT=… node dist/bench/lease/bare-server.js
 */

/** The one port the handlers' modules need that none of them provides (Delete Share's open handles). */
@Global()
@Module({
  imports: [HandlesModule, FilesystemModule],
  providers: [{ provide: OPEN_HANDLES, useExisting: HandleRepository }],
  exports: [OPEN_HANDLES],
})
class PortsModule {}

@Module({
  imports: [
    ConfigModule.forRoot(loadConfig(process.env)),
    CqrsModule.forRoot(),
    EventStoreModule,
    PortsModule,
    LeasesModule,
  ],
})
class BareModule {}

const SUCCESS: Record<string, number> = { acquire: 201, release: 200, renew: 200 };
type Headers = Record<string, string | string[] | undefined>;

function fileCommand(headers: Headers): LeaseCommand | undefined {
  const action = headers['x-ms-lease-action'];
  if (action === 'acquire')
    return { action, proposedLeaseId: headers['x-ms-proposed-lease-id'] as string, generatedLeaseId: randomUUID() };
  if (action === 'release') return { action, leaseId: headers['x-ms-lease-id'] as string };
  return undefined;
}

function shareCommand(headers: Headers): ShareLeaseCommand | undefined {
  const action = headers['x-ms-lease-action'];
  if (action === 'acquire')
    return {
      action,
      duration: Number(headers['x-ms-lease-duration']),
      proposedLeaseId: headers['x-ms-proposed-lease-id'] as string,
      generatedLeaseId: randomUUID(),
    };
  if (action === 'renew') return { action, leaseId: headers['x-ms-lease-id'] as string };
  return undefined;
}

async function main(): Promise<void> {
  const app = await NestFactory.createApplicationContext(BareModule, { logger: ['error'], abortOnError: false });
  const files = app.get(LeaseFileHandler, { strict: false });
  const shares = app.get(LeaseShareHandler, { strict: false });
  const server = createServer((req, res) => {
    req.resume();
    const requestId = randomUUID();
    const answer = (status: number, headers: Record<string, string | number>) => {
      res.writeHead(status, { 'x-ms-request-id': requestId, 'content-length': 0, ...headers });
      res.end();
    };
    if (req.method === 'GET') return answer(200, {}); // readiness
    // /{account}/{share}/{file}?comp=lease, or /{account}/{share}?restype=share&comp=lease
    const [, account, share, file] = (req.url ?? '').split('?')[0].split('/');
    const context = {
      principal: account,
      authentication: 'SharedKey' as const,
      requestId,
      tenant: account,
      now: new Date(),
    };
    const action = req.headers['x-ms-lease-action'] as string;
    const fileLease = file ? fileCommand(req.headers) : undefined;
    const shareLease = file ? undefined : shareCommand(req.headers);
    const done: Promise<{ leaseId?: string; etag: string; lastModified: string | Date }> | undefined = fileLease
      ? files
          .execute(new LeaseFileCommand(context, share, [file], fileLease))
          .then(({ leaseId, node }) => ({ leaseId, etag: node.etag, lastModified: node.lastModified }))
      : shareLease && shares.execute(new LeaseShareCommand(context, share, shareLease));
    if (!done) return answer(400, { 'x-ms-error-code': 'UnsupportedHttpVerb' });
    done.then(
      ({ leaseId, etag, lastModified }) =>
        answer(SUCCESS[action], {
          etag,
          'last-modified': new Date(lastModified).toUTCString(),
          ...(leaseId ? { 'x-ms-lease-id': leaseId } : {}),
        }),
      (error: unknown) =>
        answer(error instanceof DomainError ? 409 : 500, {
          'x-ms-error-code': error instanceof DomainError ? error.reason : 'InternalError',
        }),
    );
  });
  server.listen(Number(process.env.PORT), '127.0.0.1');
  process.on('SIGTERM', () => server.close(() => void app.close().then(() => process.exit(0))));
}

main().catch((error) => {
  process.stderr.write(`bare-server: ${(error as Error).stack ?? error}\n`);
  process.exit(1);
});
