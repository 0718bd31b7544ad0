// The console: which view the address names, who is signed in, and the frame around it.
// Every page only calls /api/v1; what a role may see is the API's to decide, and the pages a
// role cannot use are left out of the navigation besides.

import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';

import { api } from './api.js';
import { setZone } from './format.js';
import { t } from './i18n.js';
import * as live from './live.js';
import { html, href, Layout, navigate } from './ui.js';
import { SignIn } from './pages/sign_in.js';
import { Queue } from './pages/queue.js';
import { TicketPage } from './pages/ticket.js';
import { MapPage } from './pages/map.js';
import { SlaPage } from './pages/sla.js';
import { ReportsPage } from './pages/reports.js';
import { SettingsPage } from './pages/settings.js';
import { KnowledgePage } from './pages/knowledge.js';

const BACK_OFFICE = ['agent', 'dispatcher', 'supervisor', 'admin'];

/** Which roles may open each page (the API checks again on every call). */
const ROLES = {
  queue: BACK_OFFICE,
  ticket: BACK_OFFICE,
  sla: BACK_OFFICE,
  map: BACK_OFFICE,
  reports: ['dispatcher', 'supervisor', 'admin'],
  knowledge: BACK_OFFICE,
  settings: ['admin'],
};

/** The view an address names: `{page, id}`. */
function route(pathname) {
  const rest = pathname.replace(/^\/console\/?/, '').replace(/\/+$/, '');
  if (rest === '') return { page: 'queue' };
  if (rest === 'sign-in') return { page: 'sign-in' };
  const ticket = rest.match(/^tickets\/([^/]+)$/);
  if (ticket) return { page: 'ticket', id: decodeURIComponent(ticket[1]) };
  const article = rest.match(/^knowledge\/([^/]+)$/);
  if (article) return { page: 'knowledge', id: decodeURIComponent(article[1]) };
  if (ROLES[rest]) return { page: rest };
  return { page: 'missing' };
}

function App() {
  const [session, setSession] = useState(undefined);
  const [where, setWhere] = useState(() => route(location.pathname));
  const [, redraw] = useState(0);

  useEffect(() => {
    const onRoute = () => setWhere(route(location.pathname));
    const onSignedOut = () => {
      live.stop();
      setSession(null);
      const next = location.pathname + location.search;
      navigate(`${href('sign-in')}?next=${encodeURIComponent(next)}&ended=1`, { replace: true });
    };
    window.addEventListener('popstate', onRoute);
    window.addEventListener('fw-route', onRoute);
    window.addEventListener('fw-signed-out', onSignedOut);
    api('/session')
      .then((me) => {
        setZone(me.time_zone);
        setSession(me);
      })
      .catch(() => setSession(null));
    return () => {
      window.removeEventListener('popstate', onRoute);
      window.removeEventListener('fw-route', onRoute);
      window.removeEventListener('fw-signed-out', onSignedOut);
    };
  }, []);

  // A view opened: focus moves to its content, its title to the tab.
  useEffect(() => {
    const main = document.getElementById('main');
    if (main && document.activeElement === document.body) main.focus({ preventScroll: true });
  }, [where]);

  // Signed out on any view but the sign-in: the address becomes the sign-in's, and the view
  // asked for comes back after it.
  useEffect(() => {
    if (session === null && where.page !== 'sign-in') {
      const next = encodeURIComponent(location.pathname + location.search);
      navigate(`${href('sign-in')}?next=${next}`, { replace: true });
    }
  }, [session, where]);

  if (session === undefined) return html`<p class="loading">${t('loading')}</p>`;

  if (session === null || where.page === 'sign-in') {
    const onSignedIn = (me) => {
      setZone(me.time_zone);
      setSession(me);
      const next = new URLSearchParams(location.search).get('next');
      const safe = next && next.startsWith('/console/') && !next.startsWith('/console/sign-in') ? next : href('');
      navigate(safe, { replace: true });
    };
    return html`<${SignIn} onSignedIn=${onSignedIn} />`;
  }

  const allowed = (page) => (ROLES[page] || []).includes(session.user.role);
  const signOut = async () => {
    try {
      await api('/session', { method: 'DELETE' });
    } finally {
      live.stop();
      setSession(null);
      navigate(href('sign-in'), { replace: true });
    }
  };

  let content;
  if (where.page === 'missing') {
    content = html`<p>${t('not_found')}</p>`;
  } else if (!allowed(where.page)) {
    content = html`<p class="error" role="alert">${t('not_allowed')}</p>`;
  } else {
    const pages = {
      queue: Queue,
      ticket: TicketPage,
      map: MapPage,
      sla: SlaPage,
      reports: ReportsPage,
      knowledge: KnowledgePage,
      settings: SettingsPage,
    };
    const Page = pages[where.page];
    content = html`<${Page} key=${where.page + (where.id || '')} id=${where.id} session=${session} />`;
  }
  return html`<${Layout}
    session=${session}
    current=${where.page}
    allowed=${allowed}
    onSignOut=${signOut}
    onLanguage=${() => redraw((n) => n + 1)}
  >${content}<//>`;
}

render(html`<${App} />`, document.getElementById('app'));
