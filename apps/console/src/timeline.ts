import { h, svg, when } from './dom';

/** One entry of Lease History (extension), as the audit API gives it. */
export interface LeaseHistoryEntry {
  at: string;
  path: string | null;
  action: string;
  leaseId: string;
  previousLeaseId?: string;
  epoch?: number;
  by: string | null;
}

interface Bar {
  leaseId: string;
  from: number;
  to?: number;
  end?: string;
}

/** Who held the lease when: a bar per holding, from acquire (or change to it) to release, break, expiry or change away. */
function holdings(entries: LeaseHistoryEntry[]): Bar[] {
  const bars: Bar[] = [];
  let current: Bar | undefined;
  const close = (at: number, end: string) => {
    if (current) Object.assign(current, { to: at, end });
    current = undefined;
  };
  for (const e of entries) {
    const at = Date.parse(e.at);
    if (e.action === 'acquired' && current?.leaseId === e.leaseId) continue;
    if (e.action === 'acquired' || e.action === 'changed') {
      close(at, e.action);
      current = { leaseId: e.leaseId, from: at };
      bars.push(current);
    } else if (e.action === 'released' || e.action === 'broken' || e.action === 'expired') close(at, e.action);
  }
  return bars;
}

const WIDTH = 800;
const LANE = 26;
const LEFT = 110;
const TOP = 8;
const MARKED = new Set(['acquired', 'changed', 'released', 'broken', 'expired', 'renamed']);

/**
 * The lease timeline as an SVG chart: one lane per holder (lease id), a bar while it held the lease
 * (still open at the right edge while it holds it now), and a mark at each acquire, change,
 * release, break, expiry and rename (a path different from the entry before). Beneath it, the same
 * entries as a list, for reading and for screen readers.
 */
export function timeline(entries: LeaseHistoryEntry[], now = Date.now()): HTMLElement {
  if (entries.length === 0) return h('p', { class: 'muted' }, 'No lease has been taken here.');
  const bars = holdings(entries);
  const lanes = [...new Set(bars.map((b) => b.leaseId))];
  const start = Date.parse(entries[0].at);
  const span = Math.max(now - start, 1000);
  const x = (t: number) => LEFT + ((t - start) / span) * (WIDTH - LEFT - 16);
  const height = TOP + Math.max(lanes.length, 1) * LANE + 30;
  const chart = svg('svg', { viewBox: `0 0 ${WIDTH} ${height}`, role: 'img', 'aria-label': 'Lease timeline' });
  lanes.forEach((id, i) =>
    chart.append(
      svg('text', { x: 4, y: TOP + i * LANE + 16, class: 'lane' }, `${id.slice(0, 8)}…`),
      svg('line', { x1: LEFT, x2: WIDTH - 16, y1: TOP + i * LANE + 12, y2: TOP + i * LANE + 12, class: 'lane-line' }),
    ),
  );
  for (const bar of bars) {
    const lane = lanes.indexOf(bar.leaseId);
    const to = bar.to ?? now;
    chart.append(
      svg(
        'rect',
        {
          x: x(bar.from),
          y: TOP + lane * LANE + 4,
          width: Math.max(x(to) - x(bar.from), 3),
          height: 16,
          rx: 3,
          class: `bar${bar.to === undefined ? ' holding' : ''}`,
          'data-lease-id': bar.leaseId,
        },
        svg(
          'title',
          {},
          `${bar.leaseId}: ${when(new Date(bar.from))} – ${bar.to ? `${when(new Date(bar.to))} (${bar.end})` : 'now'}`,
        ),
      ),
    );
  }
  let previousPath: string | null | undefined;
  const marks: { at: number; action: string; lane: number; label: string }[] = [];
  for (const e of entries) {
    const at = Date.parse(e.at);
    if (previousPath !== undefined && e.path !== previousPath)
      marks.push({ at, action: 'renamed', lane: -1, label: `renamed to ${e.path ?? '?'} (by then)` });
    previousPath = e.path;
    if (MARKED.has(e.action))
      marks.push({ at, action: e.action, lane: lanes.indexOf(e.leaseId), label: `${e.action} by ${e.by ?? '?'}` });
  }
  const axis = TOP + lanes.length * LANE + 6;
  for (const m of marks) {
    const cx = x(m.at);
    const y = m.lane < 0 ? axis : TOP + m.lane * LANE + 12;
    chart.append(
      svg(
        'g',
        { class: `mark mark-${m.action}`, 'data-action': m.action },
        m.action === 'acquired' || m.action === 'changed'
          ? svg('circle', { cx, cy: y, r: 5 })
          : svg('path', { d: `M${cx - 5} ${y - 5}L${cx + 5} ${y + 5}M${cx + 5} ${y - 5}L${cx - 5} ${y + 5}` }),
        svg('title', {}, `${when(new Date(m.at))}: ${m.label}`),
      ),
    );
  }
  chart.append(
    svg('text', { x: LEFT, y: height - 6, class: 'axis' }, when(new Date(start))),
    svg('text', { x: WIDTH - 16, y: height - 6, class: 'axis', 'text-anchor': 'end' }, 'now'),
  );
  const list = h(
    'ol',
    { class: 'entries' },
    ...entries.map((e) =>
      h(
        'li',
        { 'data-action': e.action },
        h('time', { datetime: e.at }, when(e.at)),
        ` ${e.action} `,
        h('code', {}, e.leaseId),
        e.epoch !== undefined ? ` epoch ${e.epoch}` : '',
        ` by ${e.by ?? '?'}`,
        e.path !== null ? ` at ${e.path}` : '',
      ),
    ),
  );
  return h('div', {}, chart, h('details', {}, h('summary', {}, `${entries.length} entries`), list));
}
