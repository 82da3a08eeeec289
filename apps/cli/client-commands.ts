import { ShareDirectoryClient } from '@azure/storage-file-share';
import { Command } from 'commander';
import { LeaseholdClient } from './client';
import { countHandles, getJob, Job, JobXml, toJob, watchJob } from './jobs';
import { Cell, print, printLine, printRecord } from './output';
import { cursorNow, follow } from './watch';

/** A JSON answer's entry (audit history, audit events), shown as table cells. */
type JsonEntry = Record<string, Cell>;

const client = () => LeaseholdClient.fromEnvironment();
const EPOCH = 'x-leasehold-lease-epoch';
const jobColumns: Array<[string, (j: Job) => Cell]> = [
  ['job id', (j) => j.jobId],
  ['state', (j) => j.state],
  ['path', (j) => `${j.share}/${j.path}`],
  ['recursive', (j) => j.recursive],
  ['closed', (j) => j.handlesClosed],
  ['chunks', (j) => j.chunksDone],
  ['created', (j) => j.createdTime],
  ['ended', (j) => j.endedTime],
];

/** `leases acquire|change|release|break|show`: Lease File through the SDK's ShareLeaseClient. */
function leases(program: Command): void {
  const leases = program
    .command('leases')
    .description('take, change, release, break and show file leases (Lease File)');
  leases
    .command('acquire <path>')
    .description('acquire an infinite lease on share/path/to/file')
    .option('--lease-id <guid>', 'the proposed lease id (default: a new one)')
    .option('--duration <seconds>', 'lease duration; Leasehold supports -1 (infinite)', '-1')
    .action(async (path: string, o: { leaseId?: string; duration: string }) => {
      const response = await client().file(path).getShareLeaseClient(o.leaseId).acquireLease(Number(o.duration));
      printRecord({ leaseId: response.leaseId, epoch: response._response.headers.get(EPOCH) }, {});
    });
  leases
    .command('change <path>')
    .description('change the lease id of a leased file')
    .requiredOption('--lease-id <guid>', 'the current lease id')
    .requiredOption('--to <guid>', 'the new lease id')
    .action(async (path: string, o: { leaseId: string; to: string }) => {
      const response = await client().file(path).getShareLeaseClient(o.leaseId).changeLease(o.to);
      printRecord({ leaseId: response.leaseId, epoch: response._response.headers.get(EPOCH) }, {});
    });
  leases
    .command('release <path>')
    .description('release a lease')
    .requiredOption('--lease-id <guid>', 'the current lease id')
    .action(async (path: string, o: { leaseId: string }) => {
      await client().file(path).getShareLeaseClient(o.leaseId).releaseLease();
      console.log(`released ${path}`);
    });
  leases
    .command('break <path>')
    .description('break the lease on a file, whoever holds it')
    .action(async (path: string) => {
      const response = await client().file(path).getShareLeaseClient().breakLease();
      printRecord({ broken: path, epoch: response._response.headers.get(EPOCH) }, {});
    });
  leases
    .command('wait <path>')
    .description(
      "return once share/path/to/file's lease is available: at once if it is, else after a release or break (on a watch, not by polling)",
    )
    .action(async (path: string) => {
      const c = client();
      const file = c.file(path);
      // The log's position first, then the state: a release committed in between comes after the cursor.
      const scope = { types: ['LeaseReleased', 'LeaseBroken', 'FileDeleted', 'NodeRenamed', 'NodeMoved'] };
      const cursor = await cursorNow(c, path, scope);
      const free = async (after?: string) => {
        const p = await file.getProperties();
        const available = p.leaseState !== 'leased' && p.leaseState !== 'breaking';
        if (available)
          printRecord({ path, state: p.leaseState, epoch: p._response.headers.get(EPOCH) ?? undefined, after }, {});
        return available;
      };
      if (await free()) return;
      // After each release or break, look again: the change may predate the state read, or another
      // client may have taken the lease since. A deleted or renamed file answers 404 there.
      const waiting = () => console.error(`waiting: ${path} is leased`);
      for await (const change of follow(c, path, scope, cursor, waiting)) if (await free(change.type)) return;
    });
  leases
    .command('show <path>')
    .description('lease state, status and duration of a file, and its fencing epoch')
    .option('--json', 'print JSON')
    .action(async (path: string, o: { json?: boolean }) => {
      const p = await client().file(path).getProperties();
      printRecord(
        {
          path,
          state: p.leaseState,
          status: p.leaseStatus,
          duration: p.leaseDuration,
          epoch: p._response.headers.get(EPOCH) ?? undefined,
        },
        o,
      );
    });
}

/** `handles list|close`: List Handles and Force Close Handles through the SDK. */
function handles(program: Command): void {
  const handles = program
    .command('handles')
    .description('list and force-close open handles (List Handles, Force Close Handles)');
  handles
    .command('list <target>')
    .description('handles open on share[/path] (a file, a directory or the share root)')
    .option('-r, --recursive', 'include everything under a directory')
    .option('--json', 'print JSON')
    .action(async (target: string, o: { recursive?: boolean; json?: boolean }) => {
      const at = await client().fileOrDirectory(target);
      const rows = [];
      const pages =
        at instanceof ShareDirectoryClient
          ? at.listHandles({ recursive: o.recursive }).byPage({ maxPageSize: 5000 })
          : at.listHandles().byPage({ maxPageSize: 5000 });
      for await (const page of pages) rows.push(...(page.handleList ?? []));
      print(
        rows,
        [
          ['handle id', (h) => h.handleId],
          ['path', (h) => h.path],
          ['client', (h) => h.clientIp],
          ['name', (h) => h.clientName],
          ['session', (h) => h.sessionId],
          ['access', (h) => h.accessRightList?.join(',')],
          ['opened', (h) => h.openTime?.toISOString()],
        ],
        o,
      );
    });
  handles
    .command('close <target>')
    .description('force-close handles on share[/path]: one (--handle) or all')
    .option('--handle <id>', 'close only this handle')
    .option('-r, --recursive', 'include everything under a directory')
    .action(async (target: string, o: { handle?: string; recursive?: boolean }) => {
      const at = await client().fileOrDirectory(target);
      const result = o.handle
        ? await at.forceCloseHandle(o.handle)
        : at instanceof ShareDirectoryClient
          ? await at.forceCloseAllHandles({ recursive: o.recursive })
          : await at.forceCloseAllHandles();
      printRecord({ closed: result.closedHandlesCount, failed: result.closeFailureCount ?? 0 }, {});
    });
}

/** `jobs submit|watch|cancel|list|show`: the queued force-close extension, signed through the SDK pipeline. */
function jobs(program: Command): void {
  const jobs = program.command('jobs').description('queued force-close jobs (extension)');
  const follow = async (c: LeaseholdClient, job: Job, total: number) => {
    const ended = await watchJob(c, job.jobId, total);
    const seconds = (Date.parse(ended.endedTime) - Date.parse(ended.startedTime || ended.createdTime)) / 1000;
    console.log(
      `job ${ended.jobId} ${ended.state}: ${ended.handlesClosed} handle(s) closed, ${ended.chunksDone} chunk(s)` +
        (seconds > 0 ? ` in ${seconds.toFixed(1)} s (${Math.round(ended.handlesClosed / seconds)} handles/s)` : '') +
        (ended.error ? `: ${ended.error}` : ''),
    );
    if (ended.state !== 'completed') process.exitCode = 1;
  };
  jobs
    .command('submit <target>')
    .description('queue a force-close of the handles on share[/path]')
    .option('-r, --recursive', 'include everything under a directory')
    .option('--handle <id>', 'one handle instead of all', '*')
    .option('--idempotency-key <key>', 'the same key gives the same job')
    .option('-w, --watch', 'then follow it with a progress bar until it ends')
    .action(
      async (target: string, o: { recursive?: boolean; handle: string; idempotencyKey?: string; watch?: boolean }) => {
        const c = client();
        const total = o.watch ? await countHandles(await c.fileOrDirectory(target), Boolean(o.recursive)) : 0;
        const job = toJob(
          await c.sendXml<JobXml>(
            'PUT',
            target,
            { comp: 'forceclosejob' },
            {
              'x-ms-handle-id': o.handle,
              'x-ms-recursive': String(Boolean(o.recursive)),
              'x-leasehold-idempotency-key': o.idempotencyKey,
            },
          ),
        );
        console.log(`job ${job.jobId} ${job.state}`);
        if (o.watch) await follow(c, job, total);
      },
    );
  jobs
    .command('watch <jobId>')
    .description('follow a job until it ends: handles closed, rate, ETA')
    .action(async (jobId: string) => {
      const c = client();
      const job = await getJob(c, jobId);
      const open =
        job.state === 'completed'
          ? 0
          : await countHandles(await c.fileOrDirectory(`${job.share}/${job.path}`), job.recursive);
      await follow(c, job, job.handlesClosed + open);
    });
  jobs
    .command('show <jobId>')
    .description('one job')
    .option('--json', 'print JSON')
    .action(async (jobId: string, o: { json?: boolean }) => printRecord({ ...(await getJob(client(), jobId)) }, o));
  jobs
    .command('cancel <jobId>')
    .description('cancel a job: it stops after the chunk in hand')
    .action(async (jobId: string) => {
      const job = toJob(await client().sendXml<JobXml>('DELETE', undefined, { comp: 'forceclosejob', jobid: jobId }));
      console.log(`job ${job.jobId} ${job.state}${job.cancelRequested ? ', cancel requested' : ''}`);
    });
  jobs
    .command('list')
    .description("the account's jobs, newest first")
    .option('--max <n>', 'at most this many', '50')
    .option('--json', 'print JSON')
    .action(async (o: { max: string; json?: boolean }) => {
      const c = client();
      const found: Job[] = [];
      let marker: string | undefined;
      do {
        const page = await c.sendXml<{ Jobs?: { ForceCloseJob?: JobXml | JobXml[] }; NextMarker?: string }>(
          'GET',
          undefined,
          { comp: 'forceclosejobs', maxresults: String(Math.min(1000, Number(o.max) - found.length)), marker },
        );
        found.push(...[page.Jobs?.ForceCloseJob ?? []].flat().map(toJob));
        marker = page.NextMarker || undefined;
      } while (marker && found.length < Number(o.max));
      print(found, jobColumns, o);
    });
}

/** `audit history|query`: the audit extension (JSON answers), as tables. */
function audit(program: Command): void {
  const audit = program.command('audit').description('the audit trail (extension)');
  audit
    .command('history <path>')
    .description('who acquired, changed, broke and released the lease of share/path/to/file')
    .option('--json', 'print JSON')
    .action(async (path: string, o: { json?: boolean }) => {
      const { timeline } = await client().sendJson<{ timeline: JsonEntry[] }>('GET', path, { comp: 'leasehistory' });
      print(
        timeline,
        [
          ['at', (e) => e.at],
          ['action', (e) => e.action],
          ['lease id', (e) => e.leaseId],
          ['epoch', (e) => e.epoch],
          ['by', (e) => e.by],
          ['request id', (e) => e.requestId],
          ['client request id', (e) => e.clientRequestId],
        ],
        o,
      );
    });
  audit
    .command('query [target]')
    .description('audit events of the account, or of share[/path]')
    .option('-r, --recursive', 'a directory and everything under it')
    .option('--type <type>', 'event type, e.g. LeaseAcquired')
    .option('--lease-id <guid>')
    .option('--handle-id <id>')
    .option('--job-id <uuid>')
    .option('--client-request-id <id>')
    .option('--principal <who>')
    .option('--from <iso time>')
    .option('--to <iso time>')
    .option('--order <asc|desc>', 'by apply order', 'desc')
    .option('--max <n>', 'at most this many (1 to 1000)', '100')
    .option('--marker <marker>', 'continue from a previous answer')
    .option('--json', 'print JSON')
    .action(async (target: string | undefined, o: Record<string, string | boolean | undefined>) => {
      const answer = await client().sendJson<{ events: JsonEntry[]; nextMarker?: string }>('GET', target, {
        comp: 'auditevents',
        recursive: o.recursive ? 'true' : undefined,
        type: o.type as string,
        leaseid: o.leaseId as string,
        handleid: o.handleId as string,
        jobid: o.jobId as string,
        clientrequestid: o.clientRequestId as string,
        principal: o.principal as string,
        from: o.from as string,
        to: o.to as string,
        order: o.order as string,
        maxresults: o.max as string,
        marker: o.marker as string,
      });
      if (o.json) return console.log(JSON.stringify(answer, null, 2));
      print(
        answer.events,
        [
          ['seq', (e) => e.seq],
          ['recorded', (e) => e.recordedAt],
          ['type', (e) => e.type],
          ['path', (e) => (e.share ? `${e.share}/${e.path ?? ''}` : '')],
          ['principal', (e) => e.principal],
          ['request id', (e) => e.requestId],
        ],
        {},
      );
      if (answer.nextMarker) console.log(`more: --marker ${answer.nextMarker}`);
    });
}

/** `watch`: the watch extension's changes as they commit, one line each. */
function watch(program: Command): void {
  program
    .command('watch [target]')
    .description(
      'follow the lease, handle, file, directory and job changes on share[/path] (the whole account without one) as they commit, until stopped',
    )
    .option('-r, --recursive', 'everything under a directory, not only its direct children')
    .option('--type <types>', 'only these event types, comma-separated (e.g. LeaseAcquired,LeaseReleased)')
    .option('--cursor <cursor>', 'start after this cursor (a change printed with --json carries its own)')
    .option('--json', 'print each change as one line of JSON')
    .action(
      async (
        target: string | undefined,
        o: { recursive?: boolean; type?: string; cursor?: string; json?: boolean },
      ) => {
        const scope = { recursive: o.recursive, types: o.type?.split(',') };
        let said = false;
        // On stderr, once: the watch is in place (what happens from now on is printed).
        const opened = () => {
          if (!said) console.error(`watching ${target ?? 'the account'}`);
          said = true;
        };
        for await (const c of follow(client(), target, scope, o.cursor, opened)) {
          // For a person: when, what and where first, then what is known of it.
          const line = {
            time: c.time,
            type: c.type,
            path: `${c.share}/${c.path}`,
            from: c.from === undefined ? undefined : `${c.share}/${c.from}`,
            leaseId: c.leaseId,
            epoch: c.epoch,
            handleId: c.handleId,
            // A force-close chunk lists up to thousands of ids: --json has them.
            handles: c.handleIds?.length,
            recursive: c.recursive || undefined,
            job: c.job?.id,
            chunks: c.job?.chunks,
            closed: c.job?.closed,
            by: c.principal,
          };
          printLine(o.json ? c : line, o, 3);
        }
      },
    );
}

/** The commands that talk to a running service as a client, with the account's connection string. */
export function clientCommands(program: Command): void {
  for (const add of [leases, handles, jobs, audit, watch]) add(program);
}
