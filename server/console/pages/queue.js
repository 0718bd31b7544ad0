// The queue: the tenant's tickets with filters, sort, counts, keyboard navigation, SLA badges
// and bulk edits, kept live by the event stream. The filters live in the address, so a view
// can be bookmarked or shared.

import { useEffect, useRef, useState } from 'preact/hooks';

import { api, editTicket } from '../api.js';
import { dateTime, personName } from '../format.js';
import { CHANNELS, OPEN_STATUSES, PRIORITIES, STATUSES, label, t } from '../i18n.js';
import * as live from '../live.js';
import { ErrorNote, Link, PriorityLabel, SlaBadge, StatusPill, href, html, navigate, useNow } from '../ui.js';

const FILTERS = ['status', 'priority', 'category', 'channel', 'team', 'assignee', 'due', 'q', 'sort'];
const PAGE = 50;

/** The filters the address holds (`?status=open&q=…`). */
function filtersOf(search) {
  const params = new URLSearchParams(search);
  const out = {};
  for (const key of FILTERS) out[key] = params.get(key) || '';
  if (!params.has('status')) out.status = 'open';
  return out;
}

/** The API query for `filters` (the sort's natural order; `due` relative to `now`). */
export function queryOf(filters, now) {
  const query = {
    q: filters.q.trim(),
    priority: filters.priority,
    category: filters.category.trim(),
    channel: filters.channel,
    team: filters.team,
    assignee: filters.assignee,
    limit: PAGE,
  };
  if (filters.status === 'open') query.status = OPEN_STATUSES.join(',');
  else query.status = filters.status;
  switch (filters.due) {
    case 'breached':
      query.breached = 'true';
      break;
    case 'not_breached':
      query.breached = 'false';
      break;
    case 'hour':
      query.breached = 'false';
      query.due_before = now + 60 * 60 * 1000;
      break;
    case 'paused':
      query.paused = 'true';
      break;
    default:
  }
  const sort = filters.sort || 'created';
  query.sort = sort;
  query.order = sort === 'due' ? 'asc' : 'desc';
  return query;
}

function Select({ name, value, onChange, options, labelText }) {
  return html`<label>${labelText}
    <select name=${name} aria-label=${labelText} value=${value} onChange=${(e) => onChange(name, e.target.value)}>
      ${options.map(([v, text]) => html`<option value=${v}>${text}</option>`)}
    </select>
  </label>`;
}

export function Queue() {
  const [filters, setFilters] = useState(() => filtersOf(location.search));
  const [page, setPage] = useState(null);
  const [extra, setExtra] = useState([]);
  const [error, setError] = useState(null);
  const [teams, setTeams] = useState([]);
  const [selected, setSelected] = useState(new Set());
  const [changed, setChanged] = useState(new Set());
  const [connected, setConnected] = useState(false);
  const [bulk, setBulk] = useState({ assignee: '', status: '', note: null });
  const [searchText, setSearchText] = useState(filters.q);
  const now = useNow(30000);
  const searchRef = useRef(null);
  const loadSeq = useRef(0);
  const [views, setViews] = useState([]);
  const [viewName, setViewName] = useState('');
  const [viewNote, setViewNote] = useState(null);

  const load = async (wanted = filters) => {
    const mine = ++loadSeq.current;
    try {
      const answer = await api('/tickets', { query: queryOf(wanted, Date.now()) });
      if (mine !== loadSeq.current) return;
      setPage(answer);
      setExtra([]);
      setError(null);
    } catch (e) {
      if (mine === loadSeq.current) setError(e);
    }
  };

  useEffect(() => {
    load(filters);
  }, [filters]);

  useEffect(() => {
    api('/teams').then((answer) => setTeams(answer.items), () => setTeams([]));
    api('/views').then((answer) => setViews(answer.items), () => setViews([]));
  }, []);

  // Live: a change rereads the page (gathered for a moment) and marks the rows it names.
  const latest = useRef(filters);
  latest.current = filters;
  useEffect(() => {
    let timer = null;
    const offTickets = live.onTickets((event) => {
      setChanged((old) => new Set([...old, ...event.tickets]));
      clearTimeout(timer);
      timer = setTimeout(() => load(latest.current), 50);
      setTimeout(() => setChanged((old) => {
        const next = new Set(old);
        for (const id of event.tickets) next.delete(id);
        return next;
      }), 5000);
    });
    const offStatus = live.onStatus(setConnected);
    return () => {
      clearTimeout(timer);
      offTickets();
      offStatus();
    };
  }, []);

  /** The address's query for `wanted` (what a saved view keeps). */
  const queryText = (wanted) => {
    const params = new URLSearchParams();
    for (const k of FILTERS) if (wanted[k]) params.set(k, wanted[k]);
    if (!wanted.status) params.set('status', '');
    return params.toString();
  };
  const show = (next) => {
    setFilters(next);
    setSelected(new Set());
    history.replaceState({}, '', `${location.pathname}?${queryText(next)}`);
  };
  const setFilter = (key, value) => show({ ...filters, [key]: value });

  // Saved views: the filters by name, kept on the server for this person.
  const openView = (id) => {
    const view = views.find((v) => v.id === id);
    if (!view) return;
    const next = filtersOf(view.query);
    setSearchText(next.q);
    show(next);
  };
  const saveView = async (event) => {
    event.preventDefault();
    try {
      const saved = await api('/views', { method: 'POST', body: { name: viewName, query: queryText(filters) } });
      setViews([...views.filter((v) => v.id !== saved.id), saved].sort((a, b) => a.name.localeCompare(b.name)));
      setViewName('');
      setViewNote(null);
    } catch (e) {
      setViewNote(e.message);
    }
  };
  const deleteView = async (view) => {
    try {
      await api(`/views/${encodeURIComponent(view.id)}`, { method: 'DELETE' });
      setViews(views.filter((v) => v.id !== view.id));
    } catch (e) {
      setViewNote(e.message);
    }
  };
  const currentView = views.find((v) => v.query === queryText(filters));

  const onSearch = (event) => {
    event.preventDefault();
    setFilter('q', searchText);
  };

  const more = async () => {
    const cursor = extra.length ? extra[extra.length - 1].next_cursor : page.next_cursor;
    try {
      const answer = await api('/tickets', { query: { ...queryOf(filters, Date.now()), cursor } });
      setExtra([...extra, answer]);
    } catch (e) {
      setError(e);
    }
  };

  const people = Object.assign({}, page?.people, ...extra.map((p) => p.people));
  const rows = page ? [page, ...extra].flatMap((p) => p.items) : [];
  const last = extra.length ? extra[extra.length - 1] : page;

  // Keyboard: j/k or arrows move between rows, x selects, / searches (Enter follows the link).
  const onKey = (event) => {
    const target = event.target;
    if (target.matches('input, select, textarea')) return;
    const links = [...document.querySelectorAll('[data-row-link]')];
    const at = links.indexOf(document.activeElement);
    const go = (i) => {
      const link = links[Math.max(0, Math.min(links.length - 1, i))];
      if (link) link.focus();
    };
    if (event.key === 'j' || event.key === 'ArrowDown') {
      event.preventDefault();
      go(at + 1);
    } else if (event.key === 'k' || event.key === 'ArrowUp') {
      event.preventDefault();
      go(at < 0 ? 0 : at - 1);
    } else if (event.key === 'x' && at >= 0) {
      event.preventDefault();
      toggle(rows[at].id);
    } else if (event.key === '/') {
      event.preventDefault();
      searchRef.current?.focus();
    }
  };
  useEffect(() => {
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  });

  const toggle = (id) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
  };
  const allShown = rows.length > 0 && rows.every((r) => selected.has(r.id));
  const toggleAll = () => setSelected(allShown ? new Set() : new Set(rows.map((r) => r.id)));

  const applyBulk = async (edit) => {
    const ids = [...selected];
    const results = [];
    for (let i = 0; i < ids.length; i += 5) {
      const batch = ids.slice(i, i + 5).map((id) => editTicket(id, [edit]));
      results.push(...(await Promise.allSettled(batch)));
    }
    const failed = results.filter((r) => r.status === 'rejected');
    const note = failed.length
      ? t('failed_for', { n: failed.length, reason: failed[0].reason.message })
      : t('applied', { n: ids.length });
    setBulk({ assignee: '', status: '', note });
    setSelected(new Set());
    load(filters);
  };

  const members = new Map();
  for (const team of teams) for (const m of team.members) if (!m.disabled) members.set(m.id, m);
  const assignable = [...members.values()].sort((a, b) => a.name.localeCompare(b.name));

  const total = page ? page.total : 0;
  return html`
    <section class="queue" aria-labelledby="queue-title">
      <div class="page-head">
        <h1 id="queue-title">${t('queue_title')}</h1>
        <p class="count" aria-live="polite">${!page ? t('loading') : page.total_exact === false ? t('count_more', { n: total.toLocaleString() }) : total === 1 ? t('count_one') : t('count', { n: total })}</p>
        <p class=${connected ? 'live on' : 'live off'}><span aria-hidden="true">● </span>${connected ? t('live') : t('live_off')}</p>
      </div>
      <form class="filters views" aria-label=${t('saved_views')} onSubmit=${saveView}>
        <label>${t('saved_views')}
          <select aria-label=${t('saved_views')} value=${currentView ? currentView.id : ''} onChange=${(e) => openView(e.target.value)}>
            <option value="">${t('none')}</option>
            ${views.map((v) => html`<option value=${v.id}>${v.name}</option>`)}
          </select>
        </label>
        ${currentView && html`<button type="button" class="secondary" onClick=${() => deleteView(currentView)}>${t('delete_view', { name: currentView.name })}</button>`}
        <label>${t('view_name')}
          <input value=${viewName} maxlength="60" onInput=${(e) => setViewName(e.target.value)} />
        </label>
        <button type="submit" disabled=${!viewName.trim()}>${t('save_view')}</button>
        ${viewNote && html`<span class="error" role="alert">${viewNote}</span>`}
      </form>
      <form class="filters" role="search" aria-label=${t('filters')} onSubmit=${onSearch}>
        <label class="grow">${t('search')}
          <input ref=${searchRef} name="q" type="search" value=${searchText} placeholder=${t('search_hint')}
            onInput=${(e) => setSearchText(e.target.value)} />
        </label>
        <${Select} name="status" value=${filters.status} onChange=${setFilter} labelText=${t('status')}
          options=${[['', t('any')], ['open', t('open_tickets')], ...STATUSES.map((s) => [s, label('status', s)])]} />
        <${Select} name="priority" value=${filters.priority} onChange=${setFilter} labelText=${t('priority')}
          options=${[['', t('any')], ...PRIORITIES.map((p) => [p, label('priority', p)])]} />
        <label>${t('category')}
          <input name="category" value=${filters.category} size="10" onChange=${(e) => setFilter('category', e.target.value)} />
        </label>
        <${Select} name="channel" value=${filters.channel} onChange=${setFilter} labelText=${t('channel')}
          options=${[['', t('any')], ...CHANNELS.map((c) => [c, label('channel', c)])]} />
        <${Select} name="team" value=${filters.team} onChange=${setFilter} labelText=${t('team')}
          options=${[['', t('any')], ...teams.map((team) => [team.name, team.name])]} />
        <${Select} name="assignee" value=${filters.assignee} onChange=${setFilter} labelText=${t('assignee')}
          options=${[['', t('any')], ['none', t('nobody')], ...assignable.map((m) => [m.id, m.name])]} />
        <${Select} name="due" value=${filters.due} onChange=${setFilter} labelText=${t('due')}
          options=${[['', t('any')], ['breached', t('breached_only')], ['not_breached', t('not_breached')], ['hour', t('due_hour')], ['paused', t('paused_only')]]} />
        <${Select} name="sort" value=${filters.sort || 'created'} onChange=${setFilter} labelText=${t('sort')}
          options=${[['created', t('sort_created')], ['updated', t('sort_updated')], ['priority', t('sort_priority')], ['due', t('sort_due')]]} />
        <button type="submit">${t('search')}</button>
      </form>
      <p class="hint">${t('keys_hint')}</p>
      ${selected.size > 0 && html`
        <div class="bulk" role="group" aria-label=${t('selected', { n: selected.size })}>
          <strong>${t('selected', { n: selected.size })}</strong>
          <label>${t('bulk_assign')}
            <select value=${bulk.assignee} onChange=${(e) => setBulk({ ...bulk, assignee: e.target.value })}>
              <option value="">${t('none')}</option>
              ${assignable.map((m) => html`<option value=${m.id}>${m.name}</option>`)}
            </select>
          </label>
          <button type="button" disabled=${!bulk.assignee} onClick=${() => applyBulk({ type: 'assign', assignee: bulk.assignee })}>${t('apply')}</button>
          <label>${t('bulk_status')}
            <select value=${bulk.status} onChange=${(e) => setBulk({ ...bulk, status: e.target.value })}>
              <option value="">${t('none')}</option>
              ${STATUSES.map((s) => html`<option value=${s}>${label('status', s)}</option>`)}
            </select>
          </label>
          <button type="button" disabled=${!bulk.status} onClick=${() => applyBulk({ type: 'set_status', status: bulk.status })}>${t('apply')}</button>
        </div>`}
      ${bulk.note && html`<p class="note" role="status">${bulk.note}</p>`}
      <${ErrorNote} error=${error} />
      ${page && rows.length === 0 && html`<p>${t('no_tickets')}</p>`}
      ${rows.length > 0 && html`
        <table class="tickets">
          <caption class="sr-only">${t('queue_title')}</caption>
          <thead>
            <tr>
              <th scope="col"><input type="checkbox" aria-label=${t('select_all')} checked=${allShown} onChange=${toggleAll} /></th>
              <th scope="col">${t('number')}</th>
              <th scope="col">${t('title')}</th>
              <th scope="col">${t('status')}</th>
              <th scope="col">${t('priority')}</th>
              <th scope="col">${t('category')}</th>
              <th scope="col">${t('team')}</th>
              <th scope="col">${t('assignee')}</th>
              <th scope="col">${t('sla')}</th>
              <th scope="col">${t('updated')}</th>
            </tr>
          </thead>
          <tbody>
            ${rows.map((ticket) => html`
              <tr key=${ticket.id} class=${changed.has(ticket.id) ? 'changed' : ''} aria-selected=${selected.has(ticket.id)}>
                <td><input type="checkbox" aria-label=${t('select_ticket', { title: ticket.title })}
                  checked=${selected.has(ticket.id)} onChange=${() => toggle(ticket.id)} /></td>
                <td class="mono">${ticket.number || ''}</td>
                <td><${Link} to=${href(`tickets/${encodeURIComponent(ticket.id)}`)} data-row-link="1">${ticket.title}<//>
                  ${changed.has(ticket.id) && html` <span class="badge changed-badge">${t('changed_now')}</span>`}</td>
                <td><${StatusPill} status=${ticket.status} /></td>
                <td><${PriorityLabel} priority=${ticket.priority} /></td>
                <td>${ticket.category || t('none')}</td>
                <td>${ticket.team || t('none')}</td>
                <td>${ticket.assignee ? personName(people, ticket.assignee) : t('nobody')}</td>
                <td><${SlaBadge} ticket=${ticket} now=${now} /></td>
                <td>${dateTime(ticket.updated_at)}</td>
              </tr>`)}
          </tbody>
        </table>`}
      ${last && last.next_cursor && html`<button type="button" onClick=${more}>${t('more')}</button>`}
    </section>
  `;
}

export { navigate };
