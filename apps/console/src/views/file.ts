import type { HandleItem } from '@azure/storage-file-share';
import { ago, alertLine, h, leaseBadge, problem, when } from '../dom';
import { LeaseHistoryEntry, timeline } from '../timeline';
import type { Change } from '../watch';
import { route, samePath, untilIncluded, View } from './view';

const HOLDING = new Set(['acquired', 'changed']);

/**
 * A file: its lease (state, holder, fencing epoch, since when) with a break button, its open
 * handles (force-close one or all), and its lease timeline. A change to the file on the watch
 * refreshes all three.
 */
export const fileView: View = (root, { session, watch }, [share, ...segments]) => {
  const path = segments.join('/');
  const file = session.share(share).rootDirectoryClient.getFileClient(path);
  const lease = h('dl', { class: 'facts', id: 'lease' });
  const leaseActions = h('div', { class: 'actions' });
  const handles = h('div', { id: 'handles' });
  const history = h('div', { id: 'timeline', class: 'timeline' });
  const status = h('div', { 'aria-live': 'polite' });
  root.append(
    h('nav', { class: 'crumbs' }, h('a', { href: route('') }, 'Shares'), ` / ${share} / ${path}`),
    h('h1', {}, path.split('/').pop()),
    status,
    h('section', {}, h('h2', {}, 'Lease'), lease, leaseActions),
    h('section', {}, h('h2', {}, 'Open handles'), handles),
    h('section', {}, h('h2', {}, 'Lease timeline'), history),
  );

  const fail = (error: unknown) => status.replaceChildren(alertLine(problem(error)));
  const readHistory = async () =>
    session.isOwner
      ? (
          await session.json<{ timeline: LeaseHistoryEntry[] }>(
            session.url(share, path, { comp: 'leasehistory', maxresults: '1000' }),
          )
        ).timeline
      : undefined;

  const show = async (awaiting?: Change) => {
    try {
      const [props, entries] = await Promise.all([
        file.getProperties(),
        awaiting
          ? untilIncluded(readHistory, (t) => !t || t.some((e) => Date.parse(e.at) >= Date.parse(awaiting.time)))
          : readHistory(),
      ]);
      const last = entries?.[entries.length - 1];
      const holding = props.leaseState === 'leased' && last && HOLDING.has(last.action) ? last : undefined;
      const fact = (term: string, id: string, value: Node | string) => [h('dt', {}, term), h('dd', { id }, value)];
      lease.replaceChildren(
        ...fact('State', 'lease-state', leaseBadge(props.leaseState)),
        ...fact('Holder', 'lease-holder', holding ? h('code', {}, holding.leaseId) : '—'),
        ...fact('Epoch', 'lease-epoch', props._response.headers.get('x-leasehold-lease-epoch') ?? '—'),
        ...fact(
          'Since',
          'lease-since',
          last ? h('time', { datetime: last.at, title: when(last.at) }, `${last.action} ${ago(last.at)}`) : '—',
        ),
      );
      leaseActions.replaceChildren(
        props.leaseState === 'leased'
          ? h('button', { id: 'break-lease', type: 'button', onclick: () => void breakLease() }, 'Break lease')
          : '',
      );
      history.replaceChildren(
        entries ? timeline(entries) : h('p', { class: 'muted' }, 'The lease timeline needs the account key.'),
      );
      await showHandles();
    } catch (error) {
      fail(error);
    }
  };

  const showHandles = async () => {
    if (!session.isOwner)
      return handles.replaceChildren(h('p', { class: 'muted' }, 'Listing handles needs the account key.'));
    const open: HandleItem[] = [];
    for await (const handle of file.listHandles()) open.push(handle);
    handles.replaceChildren(
      h('p', { id: 'handle-count' }, `${open.length} open`),
      open.length
        ? h(
            'table',
            {},
            h(
              'thead',
              {},
              h('tr', {}, ...['Handle', 'Client', 'Address', 'Access', 'Opened', ''].map((t) => h('th', {}, t))),
            ),
            h(
              'tbody',
              {},
              ...open.map((handle) =>
                h(
                  'tr',
                  { 'data-handle-id': handle.handleId },
                  h('td', {}, h('code', {}, handle.handleId)),
                  h('td', {}, handle.clientName || '—'),
                  h('td', {}, handle.clientIp),
                  h('td', {}, (handle.accessRightList ?? []).join(', ')),
                  h('td', {}, when(handle.openTime)),
                  h(
                    'td',
                    {},
                    h(
                      'button',
                      {
                        type: 'button',
                        class: 'close-handle',
                        'aria-label': `Close handle ${handle.handleId}`,
                        onclick: () => void act(() => file.forceCloseHandle(handle.handleId)),
                      },
                      'Close',
                    ),
                  ),
                ),
              ),
            ),
          )
        : '',
      open.length
        ? h(
            'button',
            { id: 'close-all', type: 'button', onclick: () => void act(() => file.forceCloseAllHandles()) },
            'Close all',
          )
        : '',
    );
  };

  const act = async (action: () => Promise<unknown>) => {
    try {
      await action();
      status.replaceChildren();
    } catch (error) {
      fail(error);
    }
  };
  const breakLease = () => act(() => file.getShareLeaseClient().breakLease());

  void show();
  return watch.subscribe((change) => {
    // A recursive force-close of a directory above the file closed its handles too.
    const reached =
      change.recursive === true &&
      `${path}/`.toLowerCase().startsWith(change.path ? `${change.path}/`.toLowerCase() : '');
    if (!samePath(change.share, share) || !(samePath(change.path, path) || reached)) return;
    if (/^Handle/.test(change.type)) void showHandles().catch(fail);
    else void show(/Lease/.test(change.type) ? change : undefined);
  });
};
