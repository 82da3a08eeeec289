import { alertLine, h, problem, when } from '../dom';
import type { Session } from '../session';
import { View } from './view';

interface Job {
  id: string;
  state: string;
  share: string;
  path: string;
  closed: number;
  requestedBy: string;
  created: string;
}

const FINISHED = new Set(['completed', 'failed', 'cancelled']);
const progress = (job: { state: string }) => (FINISHED.has(job.state) ? 2 : job.state === 'running' ? 1 : 0);

function parseJob(element: Element): Job {
  const text = (name: string) => element.getElementsByTagName(name)[0]?.textContent ?? '';
  return {
    id: text('JobId'),
    state: text('State'),
    share: text('Share'),
    path: text('Path'),
    closed: Number(text('HandlesClosed')),
    requestedBy: text('RequestedBy'),
    created: text('CreatedTime'),
  };
}

/**
 * How many handles a job has to close, as far as the console can tell: it counts the open handles
 * under the job's path when it first sees the job (before submitting one itself), and the job's
 * progress is what it has closed of those plus the ones it had closed already. Kept for the tab's life.
 */
const totals = new Map<string, number>();

async function openUnder(session: Session, share: string, path: string): Promise<number> {
  const client = session.share(share);
  let count = 0;
  const handles = path
    ? await client
        .getDirectoryClient(path)
        .getProperties()
        .then(
          () => client.getDirectoryClient(path).listHandles({ recursive: true }),
          () => client.rootDirectoryClient.getFileClient(path).listHandles(),
        )
    : client.rootDirectoryClient.listHandles({ recursive: true });
  for await (const page of handles.byPage({ maxPageSize: 5000 })) count += page.handleList?.length ?? 0;
  return count;
}

/** Force-close jobs: submit one, and each job's progress as a bar that the watch moves. */
export const jobsView: View = (root, { session, watch }) => {
  if (!session.isOwner) {
    root.append(
      h('h1', {}, 'Jobs'),
      h('p', { class: 'muted' }, 'Force-close jobs are for the account owner: sign in with the account key.'),
    );
    return;
  }
  const rows = h('tbody', {});
  const status = h('div', { 'aria-live': 'polite' });
  const shareInput = h('input', { id: 'job-share', name: 'share', required: true, autocomplete: 'off' });
  const pathInput = h('input', { id: 'job-path', name: 'path', placeholder: '(the share root)', autocomplete: 'off' });
  const recursive = h('input', { id: 'job-recursive', type: 'checkbox', checked: true });
  const submit = async (event: Event) => {
    event.preventDefault();
    try {
      const share = shareInput.value.trim();
      const path = pathInput.value.trim().replace(/^\/+|\/+$/g, '');
      const open = await openUnder(session, share, path);
      const doc = await session.xml('PUT', session.url(share, path, { comp: 'forceclosejob' }), {
        'x-ms-handle-id': '*',
        'x-ms-recursive': String(recursive.checked),
      });
      const job = parseJob(doc.documentElement);
      totals.set(job.id, open + job.closed);
      upsert(job);
      status.replaceChildren();
    } catch (error) {
      status.replaceChildren(alertLine(problem(error)));
    }
  };
  root.append(
    h('h1', {}, 'Force-close jobs'),
    h(
      'form',
      { class: 'inline', id: 'job-form', onsubmit: (e) => void submit(e) },
      h('label', {}, 'Share ', shareInput),
      h('label', {}, 'Path ', pathInput),
      h('label', {}, recursive, ' recursive'),
      h('button', { type: 'submit', id: 'submit-job' }, 'Close all handles (queued job)'),
    ),
    status,
    h(
      'table',
      { id: 'jobs' },
      h(
        'thead',
        {},
        h('tr', {}, ...['Job', 'Where', 'State', 'Progress', 'Requested by', 'Created', ''].map((t) => h('th', {}, t))),
      ),
      rows,
    ),
  );

  const rowOf = new Map<string, HTMLTableRowElement>();
  /** The newest state seen of each job: a count that finishes late must not show an older one. */
  const latest = new Map<string, Job>();
  const upsert = (job: Job) => {
    // Reads answered out of order: a job only moves forward (queued, running, finished; more closed).
    const seen = latest.get(job.id);
    if (seen && seen !== job && (progress(job) < progress(seen) || job.closed < seen.closed)) return;
    latest.set(job.id, job);
    const total = totals.get(job.id);
    const done = job.state === 'completed';
    const percent = done ? 100 : total ? Math.min(99, Math.floor((job.closed / total) * 100)) : 0;
    const row = h(
      'tr',
      { 'data-job-id': job.id, 'data-state': job.state, 'data-percent': percent },
      h('td', {}, h('code', { title: job.id }, job.id.slice(0, 8))),
      h('td', {}, `${job.share}/${job.path}`),
      h('td', {}, h('span', { class: `badge job-${job.state}` }, job.state)),
      h(
        'td',
        { class: 'progress' },
        h('progress', { max: 100, value: percent, 'aria-label': `job ${job.id.slice(0, 8)} progress` }),
        ` ${percent}% · ${job.closed}${total !== undefined ? ` of ${Math.max(total, job.closed)}` : ''} closed`,
      ),
      h('td', {}, job.requestedBy),
      h('td', {}, when(job.created)),
      h(
        'td',
        {},
        FINISHED.has(job.state)
          ? ''
          : h(
              'button',
              {
                type: 'button',
                onclick: () =>
                  void session
                    .send('DELETE', session.url(undefined, '', { comp: 'forceclosejob', jobid: job.id }))
                    .catch((e) => status.replaceChildren(alertLine(problem(e)))),
              },
              'Cancel',
            ),
      ),
    );
    const existing = rowOf.get(job.id);
    if (existing) existing.replaceWith(row);
    else rows.prepend(row);
    rowOf.set(job.id, row);
    if (total === undefined && !FINISHED.has(job.state))
      void openUnder(session, job.share, job.path).then(
        (open) => {
          if (totals.has(job.id)) return;
          totals.set(job.id, open + job.closed);
          upsert(latest.get(job.id)!);
        },
        () => undefined,
      );
  };
  const refresh = async (id: string) => {
    const doc = await session.xml('GET', session.url(undefined, '', { comp: 'forceclosejob', jobid: id }));
    upsert(parseJob(doc.documentElement));
  };

  void session.xml('GET', session.url(undefined, '', { comp: 'forceclosejobs', maxresults: '50' })).then(
    (doc) => [...doc.getElementsByTagName('ForceCloseJob')].reverse().forEach((e) => upsert(parseJob(e))),
    (error) => status.replaceChildren(alertLine(problem(error))),
  );
  return watch.subscribe((change) => {
    if (change.job) void refresh(change.job.id).catch(() => undefined);
  });
};
