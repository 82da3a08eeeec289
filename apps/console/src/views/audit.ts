import { alertLine, h, problem, when } from '../dom';
import { View } from './view';

interface AuditEvent {
  type: string;
  share: string | null;
  path: string | null;
  leaseId: string | null;
  handleId: string | null;
  jobId: string | null;
  requestId: string | null;
  clientRequestId: string | null;
  principal: string | null;
  recordedAt: string;
}

/** The audit API's filters (README "Projections and the audit trail"), as form fields. */
const FILTERS = ['type', 'leaseid', 'handleid', 'jobid', 'clientrequestid', 'principal'] as const;

/** Audit search with the audit API's filters, a table of results (paged), and an NDJSON export of the same filters. */
export const auditView: View = (root, { session }) => {
  if (!session.isOwner) {
    root.append(
      h('h1', {}, 'Audit'),
      h('p', { class: 'muted' }, 'The audit trail is for the account owner: sign in with the account key.'),
    );
    return;
  }
  const field = (name: string, label: string, attributes: Record<string, string> = {}) => {
    const input = h('input', { id: `audit-${name}`, name, autocomplete: 'off', ...attributes });
    return { input, label: h('label', {}, `${label} `, input) };
  };
  const share = field('share', 'Share');
  const path = field('path', 'Path');
  const recursive = h('input', { id: 'audit-recursive', type: 'checkbox' });
  const filters = FILTERS.map((name) => field(name, name));
  const from = field('from', 'From', { type: 'datetime-local', step: '1' });
  const to = field('to', 'To', { type: 'datetime-local', step: '1' });
  const order = h(
    'select',
    { id: 'audit-order' },
    h('option', { value: 'desc' }, 'newest first'),
    h('option', { value: 'asc' }, 'oldest first'),
  );
  const rows = h('tbody', {});
  const status = h('div', { 'aria-live': 'polite' });
  const more = h('div', {});
  const exported = h('div', {});

  const iso = (input: HTMLInputElement) => (input.value ? new Date(input.value).toISOString() : undefined);
  const query = (extra: Record<string, string | undefined>) => {
    const q: Record<string, string | undefined> = { ...extra, from: iso(from.input), to: iso(to.input) };
    if (recursive.checked) q.recursive = 'true';
    for (const f of filters) q[f.input.name] = f.input.value.trim() || undefined;
    return session.url(share.input.value.trim() || undefined, path.input.value.trim(), q);
  };

  const search = async (marker?: string) => {
    try {
      const page = await session.json<{ events: AuditEvent[]; nextMarker: string }>(
        query({ comp: 'auditevents', order: order.value, maxresults: '100', marker }),
      );
      if (!marker) rows.replaceChildren();
      rows.append(
        ...page.events.map((e) =>
          h(
            'tr',
            { 'data-type': e.type },
            h('td', {}, h('time', { datetime: e.recordedAt }, when(e.recordedAt))),
            h('td', {}, e.type),
            h('td', {}, [e.share, e.path].filter((s) => s !== null && s !== '').join('/')),
            h('td', {}, e.principal ?? ''),
            h('td', {}, h('code', {}, e.leaseId ?? e.handleId ?? e.jobId ?? '')),
            h('td', {}, h('code', {}, e.clientRequestId ?? '')),
          ),
        ),
      );
      status.replaceChildren(
        h('p', { id: 'audit-count' }, `${rows.childElementCount} ${rows.childElementCount === 1 ? 'event' : 'events'}`),
      );
      more.replaceChildren(
        page.nextMarker ? h('button', { type: 'button', onclick: () => void search(page.nextMarker) }, 'More') : '',
      );
    } catch (error) {
      status.replaceChildren(alertLine(problem(error)));
    }
  };

  // The export is signed like any request, so it is fetched here and handed to the browser as a file.
  const exportEvents = async () => {
    try {
      const blob = await (await session.send('GET', query({ comp: 'auditexport' }))).blob();
      const link = h(
        'a',
        { href: URL.createObjectURL(blob), download: 'audit.ndjson', id: 'audit-download' },
        `Download audit.ndjson (${blob.size} bytes)`,
      );
      exported.replaceChildren(link);
      link.click();
    } catch (error) {
      status.replaceChildren(alertLine(problem(error)));
    }
  };

  root.append(
    h('h1', {}, 'Audit'),
    h(
      'form',
      {
        class: 'filters',
        id: 'audit-form',
        onsubmit: (e) => {
          e.preventDefault();
          void search();
        },
      },
      share.label,
      path.label,
      h('label', {}, recursive, ' recursive'),
      ...filters.map((f) => f.label),
      from.label,
      to.label,
      h('label', {}, 'Order ', order),
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'submit', id: 'audit-search' }, 'Search'),
        h('button', { type: 'button', id: 'audit-export', onclick: () => void exportEvents() }, 'Export NDJSON'),
      ),
    ),
    status,
    exported,
    h(
      'table',
      { id: 'audit-results' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['Time', 'Type', 'Where', 'Principal', 'Lease / handle / job', 'Client request id'].map((t) =>
            h('th', {}, t),
          ),
        ),
      ),
      rows,
    ),
    more,
  );
};
