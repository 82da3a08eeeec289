import { alertLine, h, problem } from './dom';
import { Credentials, forget, savedCredentials, Session } from './session';
import { auditView } from './views/audit';
import { fileView } from './views/file';
import { jobsView } from './views/jobs';
import { shareView } from './views/share';
import { treeView } from './views/tree';
import { route, View, ViewContext } from './views/view';
import { Watch } from './watch';

const ROUTES: Record<string, View> = {
  '': treeView,
  file: fileView,
  share: shareView,
  jobs: jobsView,
  audit: auditView,
};

const main = document.getElementById('main')!;
const header = document.getElementById('header')!;
let context: ViewContext | undefined;
let leave: (() => void) | void;

/** Shows the view the URL's fragment names (`#/file/{share}/{path}`). */
function render(): void {
  if (!context) return;
  leave?.();
  const [name = '', ...params] = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const view = ROUTES[name] ?? treeView;
  const root = h('div', { class: `view view-${name || 'tree'}` });
  main.replaceChildren(root);
  leave = view(root, context, params);
  for (const link of header.querySelectorAll('a[data-route]'))
    link.toggleAttribute('aria-current', (link as HTMLElement).dataset.route === name);
  main.focus();
}

function signedIn(session: Session): void {
  const live = h('span', { id: 'live', 'data-state': 'connecting', role: 'status' }, 'connecting…');
  const watch = new Watch(session, (state) => {
    live.dataset.state = state;
    live.textContent = state === 'live' ? '● live' : state;
  });
  context = { session, watch };
  header.replaceChildren(
    h('a', { href: route(''), class: 'brand' }, 'Leasehold'),
    h(
      'nav',
      { 'aria-label': 'Views' },
      h('a', { href: route(''), 'data-route': '' }, 'Shares'),
      h('a', { href: route('jobs'), 'data-route': 'jobs' }, 'Jobs'),
      h('a', { href: route('audit'), 'data-route': 'audit' }, 'Audit'),
    ),
    h('span', { class: 'who' }, `${session.account}${session.isOwner ? '' : ' (SAS)'}`),
    live,
    h(
      'button',
      {
        type: 'button',
        id: 'sign-out',
        onclick: () => {
          watch.close();
          forget();
          location.hash = '';
          location.reload();
        },
      },
      'Sign out',
    ),
  );
  render();
}

/** The sign-in form: account name and key, or a SAS URL. Nothing is stored but in this tab's session storage. */
function signIn(message?: string): void {
  const mode = (value: 'key' | 'sas') =>
    h('input', { type: 'radio', name: 'mode', value, checked: value === 'key', onchange: () => toggle() });
  const keyMode = mode('key');
  const sasMode = mode('sas');
  const endpoint = h('input', { id: 'endpoint', value: location.origin, required: true });
  const account = h('input', { id: 'account', autocomplete: 'username', required: true });
  const key = h('input', { id: 'key', type: 'password', autocomplete: 'current-password', required: true });
  const sas = h('input', { id: 'sas', placeholder: `${location.origin}/account?sv=…&sig=…` });
  const keyFields = h(
    'div',
    {},
    h('label', {}, 'Endpoint ', endpoint),
    h('label', {}, 'Account ', account),
    h('label', {}, 'Key ', key),
  );
  const sasFields = h('div', { hidden: true }, h('label', {}, 'SAS URL ', sas));
  const status = h('div', { 'aria-live': 'polite' }, message ? alertLine(message) : '');
  const toggle = () => {
    keyFields.hidden = !keyMode.checked;
    sasFields.hidden = keyMode.checked;
    for (const input of [endpoint, account, key]) input.required = keyMode.checked;
    sas.required = sasMode.checked;
  };
  const submit = async (event: Event) => {
    event.preventDefault();
    const credentials: Credentials = keyMode.checked
      ? { kind: 'key', endpoint: endpoint.value.trim(), account: account.value.trim(), key: key.value.trim() }
      : { kind: 'sas', url: sas.value.trim() };
    status.replaceChildren(h('p', {}, 'Signing in…'));
    try {
      signedIn(await Session.open(credentials));
    } catch (error) {
      status.replaceChildren(alertLine(`Sign-in failed: ${problem(error)}`));
    }
  };
  header.replaceChildren(h('span', { class: 'brand' }, 'Leasehold'));
  main.replaceChildren(
    h(
      'form',
      { id: 'sign-in', class: 'card', onsubmit: (e) => void submit(e) },
      h('h1', {}, 'Sign in'),
      h(
        'fieldset',
        {},
        h('legend', {}, 'With'),
        h('label', {}, keyMode, ' account key'),
        h('label', {}, sasMode, ' SAS URL'),
      ),
      keyFields,
      sasFields,
      h('button', { type: 'submit' }, 'Sign in'),
      status,
      h('p', { class: 'muted' }, 'Kept in this tab only (session storage); requests are signed here, in the browser.'),
    ),
  );
  account.focus();
}

window.addEventListener('hashchange', render);
const saved = savedCredentials();
if (saved) Session.open(saved).then(signedIn, (error: unknown) => signIn(`Signed out: ${problem(error)}`));
else signIn();
