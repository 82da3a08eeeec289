import { ago, alertLine, h, leaseBadge, problem, when } from '../dom';
import { LeaseHistoryEntry, timeline } from '../timeline';
import { route, samePath, untilIncluded, View } from './view';

interface AuditEvent {
  type: string;
  recordedAt: string;
  leaseId: string | null;
  principal: string | null;
  data: { expiresAt?: string; brokenAt?: string; duration?: number; snapshot?: string };
}

/** An event of the share's own lease (a snapshot's lease events, on the same stream, name the snapshot). */
const ofShareLease = (e: AuditEvent) => e.type.startsWith('ShareLease') && e.data.snapshot === undefined;

/** The share lease's instants, read off its newest event: when a fixed lease expires, when a break ends. */
function deadline(events: AuditEvent[]): { until: number; what: string } | undefined {
  const last = events.find(ofShareLease);
  if (!last) return undefined;
  if ((last.type === 'ShareLeaseAcquired' || last.type === 'ShareLeaseRenewed') && last.data.expiresAt)
    return { until: Date.parse(last.data.expiresAt), what: 'expires' };
  if (last.type === 'ShareLeaseBroken' && last.data.brokenAt)
    return { until: Date.parse(last.data.brokenAt), what: 'breaks' };
  return undefined;
}

/** The newest timeline entry a lease state follows from: until the audit projection has it, the timeline lags the state. */
const LAST_ACTION: Record<string, string[] | undefined> = {
  leased: ['acquired', 'renewed', 'changed'],
  breaking: ['broken'],
  broken: ['broken'],
  expired: ['expired'],
};

/**
 * A share's lease: state, duration, epoch, a countdown to its expiry or the end of its break, and its
 * lease timeline (where expiries happen: a file's lease never expires), kept live by the watch.
 */
export const shareView: View = (root, { session, watch }, [share]) => {
  const client = session.share(share);
  const facts = h('dl', { class: 'facts', id: 'share-lease' });
  const countdown = h('p', { id: 'share-countdown', class: 'countdown', 'aria-live': 'off' });
  const actions = h('div', { class: 'actions' });
  const history = h('div', { id: 'share-timeline', class: 'timeline' });
  const status = h('div', { 'aria-live': 'polite' });
  root.append(
    h('nav', { class: 'crumbs' }, h('a', { href: route('') }, 'Shares'), ` / ${share}`),
    h('h1', {}, `Share ${share}`),
    status,
    h('section', {}, h('h2', {}, 'Share lease'), facts, countdown, actions),
    h('section', {}, h('h2', {}, 'Lease timeline'), history),
  );
  let until: { until: number; what: string } | undefined;
  let state: string | undefined;
  const tick = () => {
    if (state !== 'leased' && state !== 'breaking') return countdown.replaceChildren();
    if (!until) return countdown.replaceChildren(h('span', { 'data-infinite': true }, 'held until released or broken'));
    const seconds = Math.max(0, Math.ceil((until.until - Date.now()) / 1000));
    countdown.replaceChildren(
      h('span', { 'data-seconds': seconds }, `${until.what} in ${seconds} s`),
      ` (${when(new Date(until.until))})`,
    );
  };
  const timer = setInterval(tick, 1000);

  const readEvents = async () =>
    session.isOwner
      ? (
          await session.json<{ events: AuditEvent[] }>(
            session.url(share, '', { comp: 'auditevents', order: 'desc', maxresults: '50' }),
          )
        ).events
      : [];
  // The share root's Lease History holds its snapshots' leases too; the timeline is the share's own.
  const readHistory = async () =>
    session.isOwner
      ? (
          await session.json<{ timeline: (LeaseHistoryEntry & { snapshot?: string })[] }>(
            session.url(share, '', { comp: 'leasehistory', maxresults: '1000' }),
          )
        ).timeline.filter((e) => e.snapshot === undefined)
      : undefined;
  const show = async (after?: string) => {
    try {
      // Get Share Properties by hand: the SDK's answer for a share drops the response headers, and
      // with them the fencing epoch (x-leasehold-lease-epoch).
      const props = await session.send('GET', session.url(share, '', { restype: 'share' })).then((r) => ({
        leaseState: r.headers.get('x-ms-lease-state') ?? undefined,
        leaseDuration: r.headers.get('x-ms-lease-duration') ?? undefined,
        epoch: r.headers.get('x-leasehold-lease-epoch'),
      }));
      const timed = props.leaseDuration === 'fixed' || props.leaseState === 'breaking';
      const [events, entries] = await Promise.all([
        untilIncluded(
          readEvents,
          (list) =>
            (!after || list.some((e) => Date.parse(e.recordedAt) >= Date.parse(after))) &&
            (!timed || !session.isOwner || deadline(list) !== undefined),
        ),
        untilIncluded(
          readHistory,
          (t) =>
            !t ||
            ((!after || t.some((e) => Date.parse(e.at) >= Date.parse(after))) &&
              (LAST_ACTION[props.leaseState ?? '']?.includes(t[t.length - 1]?.action) ?? true)),
        ),
      ]);
      state = props.leaseState;
      const latest = events.find(ofShareLease);
      until = timed ? deadline(events) : undefined;
      const fact = (term: string, id: string, value: Node | string) => [h('dt', {}, term), h('dd', { id }, value)];
      facts.replaceChildren(
        ...fact('State', 'share-lease-state', leaseBadge(props.leaseState)),
        ...fact('Duration', 'share-lease-duration', props.leaseDuration ?? '—'),
        ...fact('Epoch', 'share-lease-epoch', props.epoch ?? '—'),
        ...fact(
          'Holder',
          'share-lease-holder',
          state === 'leased' && latest?.leaseId ? h('code', {}, latest.leaseId) : '—',
        ),
        ...fact(
          'Last change',
          'share-lease-since',
          latest
            ? `${latest.type.replace('ShareLease', '').toLowerCase()} ${ago(latest.recordedAt)} by ${latest.principal ?? '?'}`
            : '—',
        ),
      );
      actions.replaceChildren(
        state === 'leased' || state === 'breaking'
          ? h(
              'button',
              {
                type: 'button',
                id: 'break-share-lease',
                onclick: () => void client.getShareLeaseClient().breakLease().catch(fail),
              },
              'Break lease',
            )
          : '',
      );
      history.replaceChildren(
        entries ? timeline(entries) : h('p', { class: 'muted' }, 'The lease timeline needs the account key.'),
      );
      tick();
    } catch (error) {
      fail(error);
    }
  };
  const fail = (error: unknown) => status.replaceChildren(alertLine(problem(error)));
  void show();
  const unsubscribe = watch.subscribe((change) => {
    if (samePath(change.share, share) && change.path === '' && change.type.startsWith('ShareLease'))
      void show(change.time);
  });
  return () => {
    clearInterval(timer);
    unsubscribe();
  };
};
