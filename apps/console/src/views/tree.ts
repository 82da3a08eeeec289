import type { ShareClient } from '@azure/storage-file-share';
import { alertLine, h, leaseBadge, problem } from '../dom';
import type { Session } from '../session';
import type { Change } from '../watch';
import { route, samePath, View } from './view';

/** The directory a path is in ('' for the share root). */
const parentOf = (path: string) => path.split('/').slice(0, -1).join('/');

/** How many handles are open on each path under a directory (account owner only: undefined for a SAS). */
async function handleCounts(
  session: Session,
  share: ShareClient,
  dir: string,
): Promise<Map<string, number> | undefined> {
  if (!session.isOwner) return undefined;
  const counts = new Map<string, number>();
  const directory = dir ? share.getDirectoryClient(dir) : share.rootDirectoryClient;
  for await (const handle of directory.listHandles({ recursive: true })) {
    const key = handle.path.replace(/^\/+/, '').toLowerCase();
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** Loaded directories, by `share/path` (lowercased), so a change can refresh the one it touched. */
type Loaded = Map<string, () => Promise<void>>;

/** A directory's entries: subdirectories as nested disclosure widgets (loaded when opened), files with their lease state and open handles. */
function directoryList(session: Session, share: string, dir: string, loaded: Loaded): HTMLElement {
  const list = h('ul', { class: 'tree', role: 'group' });
  const client = session.share(share);
  const load = async () => {
    try {
      const entries: { kind: 'file' | 'directory'; name: string }[] = [];
      const directory = dir ? client.getDirectoryClient(dir) : client.rootDirectoryClient;
      for await (const entry of directory.listFilesAndDirectories()) entries.push(entry);
      const counts = await handleCounts(session, client, dir).catch(() => undefined);
      const states = await Promise.all(
        entries.map((e) =>
          e.kind === 'file'
            ? client.rootDirectoryClient
                .getFileClient(dir ? `${dir}/${e.name}` : e.name)
                .getProperties()
                .then((p) => p.leaseState as string | undefined)
                .catch(() => undefined)
            : Promise.resolve(undefined),
        ),
      );
      // A refresh keeps the subdirectories already shown (open or not, with what they hold) as they are.
      const shown = new Map(
        [...list.querySelectorAll(':scope > li > details[data-path]')].map((d) => [
          d.getAttribute('data-path'),
          d.parentElement!,
        ]),
      );
      list.replaceChildren(
        ...entries.map((entry, i) => {
          const path = dir ? `${dir}/${entry.name}` : entry.name;
          if (entry.kind === 'directory') {
            const kept = shown.get(path);
            if (kept) return kept;
            const details = h(
              'details',
              { 'data-path': path },
              h('summary', {}, h('span', { class: 'dir' }, `${entry.name}/`)),
            );
            details.addEventListener(
              'toggle',
              () => {
                if (details.open) details.append(directoryList(session, share, path, loaded));
              },
              { once: true },
            );
            return h('li', {}, details);
          }
          const open = counts?.get(path.toLowerCase()) ?? 0;
          return h(
            'li',
            { class: 'file', 'data-path': path },
            h('a', { href: route('file', share, path) }, entry.name),
            ' ',
            leaseBadge(states[i]),
            ' ',
            counts
              ? h('span', { class: 'handles', 'data-handles': open, title: 'open handles' }, `${open} open`)
              : null,
          );
        }),
      );
      if (entries.length === 0) list.replaceChildren(h('li', { class: 'empty' }, 'empty'));
    } catch (error) {
      list.replaceChildren(h('li', {}, alertLine(problem(error))));
    }
  };
  loaded.set(`${share}/${dir}`.toLowerCase(), load);
  list.append(h('li', { class: 'loading' }, 'loading…'));
  void load();
  return list;
}

/** Shares and their directories as a tree; each file with its lease state and open-handle count, kept live by the watch. */
export const treeView: View = (root, { session, watch }) => {
  const loaded: Loaded = new Map();
  const shares = h('ul', { class: 'tree', id: 'tree', role: 'tree' });
  root.append(h('h1', {}, 'Shares'), shares);
  void session.shareNames().then(
    (names) =>
      shares.replaceChildren(
        ...names.map((name) => {
          const details = h(
            'details',
            { 'data-share': name },
            h(
              'summary',
              {},
              h('strong', {}, name),
              ' ',
              h('a', { href: route('share', name), class: 'aside' }, 'share lease'),
            ),
          );
          details.addEventListener(
            'toggle',
            () => {
              if (details.open) details.append(directoryList(session, name, '', loaded));
            },
            { once: true },
          );
          return h('li', {}, details);
        }),
      ),
    (error) => shares.replaceChildren(alertLine(problem(error))),
  );
  // A change refreshes the directory it happened in: its listing, states and counts in one go.
  return watch.subscribe((change: Change) => {
    if (!change.share) return;
    const refresh = loaded.get(`${change.share}/${parentOf(change.path)}`.toLowerCase());
    if (refresh) void refresh();
    if (/^Handle/.test(change.type))
      for (const [key, reload] of loaded) {
        const [share, ...dir] = key.split('/');
        const under = dir.join('/');
        // Its ancestors' counts change; a recursive force-close's directories below it change too.
        const reached =
          change.path.toLowerCase().startsWith(under) ||
          (change.recursive && under.startsWith(change.path.toLowerCase()));
        if (samePath(share, change.share) && reached && reload !== refresh) void reload();
      }
  });
};
