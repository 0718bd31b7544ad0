// Pieces every page uses: the html template tag, navigation without reloads, the frame around
// each page, SLA badges and error notes.

import { h } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import htm from 'htm';

import { label, language, setLanguage, t } from './i18n.js';
import { duration } from './format.js';

export const html = htm.bind(h);

/** The console's address for `path` (`tickets/1` → `/console/tickets/1`). */
export function href(path) {
  return `/console/${path.replace(/^\/+/, '')}`;
}

/** Opens another view without reloading the page. */
export function navigate(to, { replace = false } = {}) {
  if (replace) history.replaceState({}, '', to);
  else history.pushState({}, '', to);
  window.dispatchEvent(new CustomEvent('fw-route'));
}

/** A link that opens its view without a reload (a new tab still works as usual). */
export function Link({ to, children, ...rest }) {
  const onClick = (event) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(to);
  };
  return html`<a href=${to} onClick=${onClick} ...${rest}>${children}</a>`;
}

/** The current time, redrawn every `everyMs` (for countdowns). */
export function useNow(everyMs = 30000) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}

/** An error from the API or the network, said in words. */
export function ErrorNote({ error }) {
  if (!error) return null;
  const text = error.code === 'unreachable' ? t('unreachable') : error.message || String(error);
  return html`<p class="error" role="alert">${text}</p>`;
}

/**
 * A ticket's SLA as a badge: colour and words together, never colour alone. `ticket` has
 * `breached`, `sla_paused`, `first_response_due` and `resolution_due` (a list's summary).
 */
export function SlaBadge({ ticket, now }) {
  const dues = [ticket.first_response_due, ticket.resolution_due].filter((d) => d !== null && d !== undefined);
  if (ticket.breached) {
    const missed = dues.filter((d) => d <= now);
    const since = missed.length ? now - Math.max(...missed) : 0;
    const text = missed.length ? t('sla_breached', { ago: duration(since) }) : t('breached_only');
    return html`<span class="badge sla-breached">${text}</span>`;
  }
  if (ticket.sla_paused) {
    return html`<span class="badge sla-paused">${t('sla_paused')}</span>`;
  }
  const next = dues.filter((d) => d > now).sort((a, b) => a - b)[0];
  if (next === undefined) {
    return html`<span class="badge sla-none">${t('sla_none')}</span>`;
  }
  const left = next - now;
  const soon = left <= 60 * 60 * 1000;
  return html`<span class=${soon ? 'badge sla-soon' : 'badge sla-ok'}>${t('sla_due_in', { left: duration(left) })}</span>`;
}

/** A status as a pill with its name. */
export function StatusPill({ status }) {
  return html`<span class=${`pill status-${status}`}>${label('status', status)}</span>`;
}

/** A priority with its name. */
export function PriorityLabel({ priority }) {
  return html`<span class=${`priority priority-${priority}`}>${label('priority', priority)}</span>`;
}

const NAV = [
  { path: '', key: 'nav_queue', page: 'queue' },
  { path: 'sla', key: 'nav_sla', page: 'sla' },
  { path: 'map', key: 'nav_map', page: 'map' },
  { path: 'reports', key: 'nav_reports', page: 'reports' },
  { path: 'knowledge', key: 'nav_knowledge', page: 'knowledge' },
  { path: 'settings', key: 'nav_settings', page: 'settings' },
];

/** The frame around every page once signed in: the header, the navigation and the main area. */
export function Layout({ session, current, allowed, onSignOut, onLanguage, children }) {
  const links = NAV.filter((item) => allowed(item.page));
  const switchLanguage = (event) => {
    setLanguage(event.target.value);
    onLanguage();
  };
  return html`
    <a class="skip" href="#main">${language() === 'zh-CN' ? '跳到主要内容' : 'Skip to the content'}</a>
    <header class="top">
      <span class="brand">${t('app_name')} <span class="muted">${t('console')}</span></span>
      <nav aria-label=${t('main_nav')}>
        <ul>
          ${links.map(
            (item) => html`<li><${Link} to=${href(item.path)} aria-current=${current === item.page ? 'page' : undefined}>${t(item.key)}<//></li>`,
          )}
        </ul>
      </nav>
      <span class="who">${session.user.name} · ${label('role', session.user.role)}</span>
      <label class="lang">
        <span class="sr-only">${t('language')}</span>
        <select onChange=${switchLanguage} value=${language()}>
          <option value="en">English</option>
          <option value="zh-CN">简体中文</option>
        </select>
      </label>
      <button type="button" class="link-button" onClick=${onSignOut}>${t('sign_out')}</button>
    </header>
    <main id="main" tabindex="-1">${children}</main>
  `;
}
