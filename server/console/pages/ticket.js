// One ticket: its timeline (notes, events with the brain's reasons, photos), details, SLA,
// location, asset, parts, checklist and rating; every edit the API allows; assignment from the
// brain's ranked suggestions; and conflicts from offline edits, settled by picking a value
// (an ordinary edit). Live: a change to the ticket rereads it.

import { useEffect, useState } from 'preact/hooks';

import { api, editTicket } from '../api.js';
import { dateTime, distance, personName } from '../format.js';
import { PRIORITIES, STATUSES, label, t } from '../i18n.js';
import * as live from '../live.js';
import { ErrorNote, Link, PriorityLabel, SlaBadge, StatusPill, href, html, useNow } from '../ui.js';
import { MiniMap } from './map.js';

/** The edit that sets a conflicting field to `value`, for the fields a dispatcher may pick. */
export function editForConflict(field, value) {
  switch (field) {
    case 'status':
      return typeof value === 'string' ? { type: 'set_status', status: value } : null;
    case 'priority':
      return typeof value === 'string' ? { type: 'set_priority', priority: value } : null;
    case 'category':
      return { type: 'set_category', category: value ?? null };
    case 'title':
      return typeof value === 'string' ? { type: 'set_title', title: value } : null;
    case 'description':
      return typeof value === 'string' ? { type: 'set_description', description: value } : null;
    case 'assignee':
      return { type: 'assign', assignee: value ?? null };
    case 'team':
      return { type: 'set_team', team: value ?? null };
    case 'order_ref':
      return { type: 'set_order_ref', order_ref: value ?? null };
    default:
      return null;
  }
}

function valueText(field, value) {
  if (value === null || value === undefined) return t('none');
  if (field === 'status') return label('status', value);
  if (field === 'priority') return label('priority', value);
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Notes, events and photos in the order they happened. */
function timelineOf(ticket) {
  const items = [
    ...ticket.notes.map((note) => ({ at: note.at, kind: 'note', note })),
    ...ticket.events.map((event) => ({ at: event.at, kind: 'event', event })),
    ...ticket.attachments.map((photo, i) => ({ at: photo.at, kind: 'photo', photo, n: i + 1 })),
  ];
  return items.sort((a, b) => a.at - b.at);
}

function Conflicts({ ticket, people, onPick, busy }) {
  if (!ticket.conflicts.length) return null;
  return html`
    <section class="card conflicts" aria-labelledby="conflicts-title">
      <h2 id="conflicts-title">${t('conflicts')}</h2>
      <p>${t('conflict_help')}</p>
      ${ticket.conflicts.map((conflict) => html`
        <div class="conflict">
          <h3>${t(conflict.field) !== conflict.field ? t(conflict.field) : conflict.field}</h3>
          <ul>
            ${conflict.values.map((value) => {
              const edit = editForConflict(conflict.field, value);
              const text = conflict.field === 'assignee' && value ? personName(people, value) : valueText(conflict.field, value);
              return html`<li>
                ${edit
                  ? html`<button type="button" disabled=${busy} onClick=${() => onPick(edit)}>${t('keep_value', { value: text })}</button>`
                  : html`<span>${text}</span>`}
              </li>`;
            })}
          </ul>
          ${!editForConflict(conflict.field, conflict.values[0]) && html`<p class="hint">${t('conflict_no_pick')}</p>`}
        </div>`)}
    </section>`;
}

function EditForm({ ticket, onSave, busy }) {
  const [form, setForm] = useState({
    title: ticket.title,
    status: ticket.status,
    priority: ticket.priority,
    category: ticket.category || '',
    team: ticket.team || '',
  });
  useEffect(() => {
    setForm({
      title: ticket.title,
      status: ticket.status,
      priority: ticket.priority,
      category: ticket.category || '',
      team: ticket.team || '',
    });
  }, [ticket]);
  const set = (key) => (event) => setForm({ ...form, [key]: event.target.value });
  const submit = (event) => {
    event.preventDefault();
    const edits = [];
    if (form.title !== ticket.title) edits.push({ type: 'set_title', title: form.title });
    if (form.priority !== ticket.priority) edits.push({ type: 'set_priority', priority: form.priority });
    if (form.category !== (ticket.category || '')) edits.push({ type: 'set_category', category: form.category || null });
    if (form.team !== (ticket.team || '')) edits.push({ type: 'set_team', team: form.team || null });
    if (form.status !== ticket.status) edits.push({ type: 'set_status', status: form.status });
    if (edits.length) onSave(edits);
  };
  return html`
    <form class="card edit" onSubmit=${submit} aria-labelledby="edit-title">
      <h2 id="edit-title">${t('edit')}</h2>
      <label>${t('title')}<input value=${form.title} onInput=${set('title')} required maxlength="200" /></label>
      <label>${t('status')}
        <select value=${form.status} onChange=${set('status')}>
          ${STATUSES.map((s) => html`<option value=${s}>${label('status', s)}</option>`)}
        </select>
      </label>
      <label>${t('priority')}
        <select value=${form.priority} onChange=${set('priority')}>
          ${PRIORITIES.map((p) => html`<option value=${p}>${label('priority', p)}</option>`)}
        </select>
      </label>
      <label>${t('category')}<input value=${form.category} onInput=${set('category')} /></label>
      <label>${t('team')}<input value=${form.team} onInput=${set('team')} /></label>
      <button type="submit" disabled=${busy}>${t('save')}</button>
    </form>`;
}

function Assign({ ticket, people, onEdit, busy }) {
  const [suggested, setSuggested] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    api(`/tickets/${encodeURIComponent(ticket.id)}/suggestions`).then(setSuggested, setError);
  }, [ticket.id, ticket.assignee]);
  return html`
    <section class="card assign" aria-labelledby="assign-title">
      <h2 id="assign-title">${t('assign')}</h2>
      <p>${t('assignee')}: <strong>${ticket.assignee ? personName(people, ticket.assignee) : t('nobody')}</strong></p>
      ${ticket.assignee && html`<button type="button" disabled=${busy} onClick=${() => onEdit([{ type: 'assign', assignee: null }])}>${t('release')}</button>`}
      <${ErrorNote} error=${error} />
      ${suggested && !suggested.candidates.length && html`<p>${t('no_suggestions', { reason: suggested.reason })}</p>`}
      ${suggested && suggested.candidates.length > 0 && html`
        <h3>${t('suggestions')}</h3>
        <ol class="suggestions">
          ${suggested.candidates.map((c) => html`
            <li class=${c.eligible ? 'eligible' : 'ineligible'}>
              <span class="name">${c.name}</span>
              <span>${t('distance')}: ${distance(c.distance_m)}</span>
              <span>${t('load')}: ${c.load}/${c.capacity}</span>
              <span class="reason">${c.reason}</span>
              ${c.user_id && c.eligible && c.user_id !== ticket.assignee && html`
                <button type="button" disabled=${busy} onClick=${() => onEdit([{ type: 'assign', assignee: c.user_id }])}>
                  ${t('assign_to', { name: c.name })}
                </button>`}
            </li>`)}
        </ol>`}
    </section>`;
}

function NoteForm({ onEdit, busy }) {
  const [text, setText] = useState('');
  const [internal, setInternal] = useState(false);
  const submit = async (event) => {
    event.preventDefault();
    if (!text.trim()) return;
    if (await onEdit([{ type: 'add_note', text, internal }])) setText('');
  };
  return html`
    <form class="card note-form" onSubmit=${submit} aria-labelledby="note-title">
      <h2 id="note-title">${t('add_note')}</h2>
      <label>${t('note_text')}<textarea rows="3" value=${text} onInput=${(e) => setText(e.target.value)} /></label>
      <label class="inline"><input type="checkbox" checked=${internal} onChange=${(e) => setInternal(e.target.checked)} /> ${t('internal_note')}</label>
      <button type="submit" disabled=${busy || !text.trim()}>${t('post_note')}</button>
    </form>`;
}

function Timeline({ ticket, people }) {
  return html`
    <section class="card" aria-labelledby="timeline-title">
      <h2 id="timeline-title">${t('timeline')}</h2>
      <ol class="timeline">
        ${timelineOf(ticket).map((item) => {
          if (item.kind === 'note') {
            const n = item.note;
            const text = n.erased ? t('erased') : n.redacted ? t('redacted') : n.text;
            return html`<li class=${n.internal ? 'note internal' : 'note'}>
              <div class="meta">${t('note_by', { name: personName(people, n.author) })} · <time>${dateTime(n.at)}</time>
                ${n.internal && html` · <span class="badge internal-badge">${t('internal')}</span>`}</div>
              <p>${text}</p>
            </li>`;
          }
          if (item.kind === 'photo') {
            const p = item.photo;
            return html`<li class="photo-item">
              <div class="meta">${p.mime === 'image/jpeg' ? t('photos') : t('attachment_file')} · ${personName(people, p.by)} · <time>${dateTime(p.at)}</time></div>
              ${p.erased ? html`<p>${t('erased')}</p>` : p.mime !== 'image/jpeg' ? html`
                <p><a href=${p.url} download=${p.name || ''}>${t('file_download', { name: p.name || p.sha256.slice(0, 12), kb: Math.ceil(p.bytes / 1024) })}</a>
                  <span class="muted"> · ${p.mime}</span></p>` : html`
                <a href=${p.url} target="_blank" rel="noopener">
                  <img src=${p.thumb_url || p.url} alt=${t('photo_of', { n: item.n, at: dateTime(p.captured_at ?? p.at) })} loading="lazy" />
                </a>`}
            </li>`;
          }
          const e = item.event;
          const what = (e.type || '').replace(/[_.]/g, ' ');
          return html`<li class="event">
            <div class="meta">${t('event_by', { what, name: personName(people, e.by) })} · <time>${dateTime(e.at)}</time></div>
            ${Object.keys(e.data).length > 0 && html`<dl class="data">
              ${Object.entries(e.data).map(([k, v]) => html`<dt>${k.replace(/_/g, ' ')}</dt><dd>${people[v] ? people[v].name : v}</dd>`)}
            </dl>`}
          </li>`;
        })}
      </ol>
    </section>`;
}

function Details({ ticket, people }) {
  const sla = ticket.sla;
  const row = (key, value) => html`<dt>${t(key)}</dt><dd>${value ?? t('none')}</dd>`;
  return html`
    <section class="card" aria-labelledby="details-title">
      <h2 id="details-title">${t('details')}</h2>
      <dl class="facts">
        ${row('reporter', ticket.reporter.name || personName(people, ticket.reporter.user_id))}
        ${row('channel', label('channel', ticket.channel))}
        ${row('category', ticket.category)}
        ${row('team', ticket.team)}
        ${row('created', dateTime(ticket.created_at))}
        ${ticket.customer && row('customer', [ticket.customer.name, ticket.customer.phone].filter(Boolean).join(' · '))}
        ${ticket.order_ref && row('order', ticket.order_ref)}
      </dl>
      ${ticket.description && html`<h3>${t('description')}</h3><p class="description">${ticket.description}</p>`}
      ${sla && html`
        <h3>${t('sla')}</h3>
        <dl class="facts">
          ${row('sla_policy', sla.policy)}
          ${sla.first_response_due && row('sla_due_first', dateTime(sla.first_response_due))}
          ${sla.update_due && row('sla_due_update', dateTime(sla.update_due))}
          ${sla.resolution_due && row('sla_due_resolution', dateTime(sla.resolution_due))}
          ${sla.paused && row('status', t('sla_paused'))}
          ${sla.breaches.length > 0 && row('sla_breaches', sla.breaches.join(', '))}
        </dl>`}
      ${ticket.alert && html`
        <h3>${t('alarms')}</h3>
        <p>${t('alarm_count', { count: ticket.alert.count, metric: ticket.alert.metric })} · ${label('severity', ticket.alert.severity)}</p>
        <p>${t('alarm_values', { last: ticket.alert.last_value, worst: ticket.alert.worst_value, threshold: ticket.alert.threshold })}</p>
        <p class="hint"><time>${dateTime(ticket.alert.first_at)}</time> – <time>${dateTime(ticket.alert.last_at)}</time></p>
        ${ticket.alert.resolved_at && html`<p>${t('alarm_cleared', { at: dateTime(ticket.alert.resolved_at) })}</p>`}`}
      ${ticket.asset && html`
        <h3>${t('asset')}</h3>
        <dl class="facts">
          ${row('serial', ticket.asset.serial)}
          ${row('model', ticket.asset.model)}
          ${row('warranty', ticket.asset.warranty_until)}
        </dl>
        <${AssetHistory} ticket=${ticket} />`}
    </section>`;
}

/** The ticket's SLA clocks as timelines of running, paused and closed stretches on the
 * business calendar: a bar per clock (its kinds also told in words below it, and in a list of
 * every stretch), so a supervisor sees why the ticket is due when it is. */
function SlaTimeline({ ticket }) {
  const [sla, setSla] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    api(`/tickets/${encodeURIComponent(ticket.id)}/sla`).then(setSla, setError);
  }, [ticket.id, ticket.status, ticket.updated_at, ticket.events.length]);
  if (error) return html`<${ErrorNote} error=${error} />`;
  if (!sla || !sla.policy) return null;
  return html`
    <section class="card sla-timeline" aria-labelledby="sla-timeline-title">
      <h2 id="sla-timeline-title">${t('sla_timeline')}</h2>
      <p>${t('sla_calendar', { calendar: sla.calendar, zone: sla.time_zone, policy: sla.policy })}</p>
      ${sla.clocks.map((clock) => html`<${ClockBar} clock=${clock} now=${sla.now} />`)}
    </section>`;
}

function ClockBar({ clock, now }) {
  const first = clock.stretches[0];
  const last = clock.stretches[clock.stretches.length - 1];
  if (!first) return null;
  const span = Math.max(1, last.until - first.from);
  const at = (ms) => `${(((ms - first.from) / span) * 100).toFixed(3)}%`;
  const state = [
    clock.met_at ? t('sla_clock_met', { at: dateTime(clock.met_at) }) : clock.due ? t('sla_clock_due', { at: dateTime(clock.due) }) : null,
    clock.breached ? t('sla_clock_breached') : null,
    clock.stopped ? t('sla_clock_stopped') : null,
  ].filter(Boolean).join(' · ');
  const kinds = [...new Set(clock.stretches.map((s) => s.kind))];
  return html`
    <div class=${`clock ${clock.breached ? 'breached' : ''}`}>
      <h3>${t('sla_timeline_of', { clock: label('clock', clock.target), state })}</h3>
      <div class="bar" aria-hidden="true">
        ${clock.stretches.map((s) => html`<span class=${`stretch ${s.kind}`}
          style=${`left:${at(s.from)};width:${(((s.until - s.from) / span) * 100).toFixed(3)}%`}
          title=${`${dateTime(s.from)} – ${dateTime(s.until)}: ${label('stretch', s.kind)}`}></span>`)}
        ${now > first.from && now < last.until && html`<span class="now" style=${`left:${at(now)}`} title=${t('sla_now')}></span>`}
        ${clock.due && clock.due >= first.from && clock.due <= last.until && html`<span class="due" style=${`left:${at(clock.due)}`}></span>`}
      </div>
      <ul class="legend">${kinds.map((k) => html`<li><span class=${`swatch ${k}`} aria-hidden="true"></span>${label('stretch', k)}</li>`)}</ul>
      <details>
        <summary>${t('sla_stretches')}</summary>
        <ol class="stretches">
          ${clock.stretches.map((s) => html`<li class=${s.kind}>${t('sla_stretch', { from: dateTime(s.from), until: dateTime(s.until), kind: label('stretch', s.kind) })}</li>`)}
        </ol>
        ${clock.truncated && html`<p>${t('sla_truncated')}</p>`}
      </details>
    </div>`;
}

/** The other tickets about the same asset (by serial number), newest first: its history. */
/** The parts an earlier ticket about the asset used, from the ticket's own asset history (staff). */
function partsOf(ticket, id) {
  const entry = (ticket.asset_history || []).find((e) => e.ticket_id === id);
  return entry && entry.parts ? entry.parts : '';
}

function AssetHistory({ ticket }) {
  const [page, setPage] = useState(null);
  const [error, setError] = useState(null);
  const serial = ticket.asset.serial;
  useEffect(() => {
    api(`/tickets?asset=${encodeURIComponent(serial)}&sort=created&order=desc&limit=20`).then(setPage, setError);
  }, [ticket.id, serial]);
  if (error) return html`<${ErrorNote} error=${error} />`;
  if (!page) return null;
  const others = page.items.filter((other) => other.id !== ticket.id);
  return html`
    <h3>${t('asset_history')}</h3>
    ${others.length === 0
      ? html`<p>${t('asset_history_none')}</p>`
      : html`<ul class="asset-history">
          ${others.map((other) => html`<li>
            <${Link} to=${href(`tickets/${encodeURIComponent(other.id)}`)}>${other.number ? `${other.number} · ` : ''}${other.title}<//>
            <${StatusPill} status=${other.status} /> <time>${dateTime(other.created_at)}</time>
            ${partsOf(ticket, other.id) && html`<span class="hint"> · ${t('asset_parts', { parts: partsOf(ticket, other.id) })}</span>`}
          </li>`)}
        </ul>
        ${page.total > page.items.length && html`<p class="hint">${t('asset_history_more', { count: page.total })}</p>`}`}`;
}

/** Published knowledge-base articles about the ticket (its category and words), best first. */
function Articles({ ticket }) {
  const [items, setItems] = useState(null);
  useEffect(() => {
    api(`/tickets/${encodeURIComponent(ticket.id)}/articles`).then((a) => setItems(a.items), () => setItems([]));
  }, [ticket.id, ticket.title, ticket.category]);
  if (!items) return null;
  return html`<section class="card" aria-labelledby="articles-title">
    <h2 id="articles-title">${t('kb_for_ticket')}</h2>
    ${items.length === 0
      ? html`<p class="muted">${t('kb_for_ticket_none')}</p>`
      : html`<ul class="plain">${items.map((a) => html`<li>
          <${Link} to=${href(`knowledge/${encodeURIComponent(a.id)}`)}>${a.title}<//>
          <div class="hint">${[a.same_category ? t('kb_same_category') : null, a.shared_keywords.length ? t('kb_shared_words', { words: a.shared_keywords.join(', ') }) : null].filter(Boolean).join(' · ')}</div>
        </li>`)}</ul>`}
  </section>`;
}

function Work({ ticket, people, onEdit, busy }) {
  const items = Object.entries(ticket.checklist);
  return html`
    <section class="card" aria-labelledby="work-title">
      <h2 id="work-title">${t('parts')}</h2>
      ${ticket.parts_used.length ? html`<ul>${ticket.parts_used.map((p) => html`<li>${p.sku} × ${p.qty} (${personName(people, p.by)})</li>`)}</ul>` : html`<p>${t('none')}</p>`}
      <h2>${t('checklist')}</h2>
      ${items.length ? html`<ul class="checklist">${items.map(([item, c]) => html`<li>
        <label class="inline"><input type="checkbox" checked=${c.done} disabled=${busy}
          onChange=${(e) => onEdit([{ type: 'tick_checklist', item, done: e.target.checked }])} /> ${item}</label>
      </li>`)}</ul>` : html`<p>${t('none')}</p>`}
      <h2>${t('csat')}</h2>
      <p>${ticket.csat ? `${t('rating', { score: ticket.csat.score })}${ticket.csat.comment ? ` — ${ticket.csat.comment}` : ''}` : t('none')}</p>
    </section>`;
}

export function TicketPage({ id }) {
  const [ticket, setTicket] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState(null);
  const now = useNow(30000);

  const load = () =>
    api(`/tickets/${encodeURIComponent(id)}`).then(
      (answer) => {
        setTicket(answer);
        setError(null);
        document.title = `${answer.number ? `${answer.number} · ` : ''}${answer.title} — Fieldwork`;
      },
      (e) => setError(e),
    );

  useEffect(() => {
    load();
    return live.onTickets((event) => {
      if (event.more || event.tickets.includes(id)) load();
    });
  }, [id]);

  const onEdit = async (edits) => {
    setBusy(true);
    setNote(null);
    try {
      setTicket(await editTicket(id, edits));
      setNote(t('saved'));
      return true;
    } catch (e) {
      setNote(e.message);
      return false;
    } finally {
      setBusy(false);
    }
  };

  if (error && error.status === 404) {
    return html`<section><h1>${t('ticket')}</h1><p>${t('not_found')}</p><${Link} to=${href('')}>${t('back_to_queue')}<//></section>`;
  }
  if (error) return html`<${ErrorNote} error=${error} />`;
  if (!ticket) return html`<p class="loading">${t('loading')}</p>`;
  const people = ticket.people || {};
  const summary = {
    breached: (ticket.sla?.breaches || []).length > 0,
    sla_paused: ticket.sla?.paused,
    first_response_due: ticket.sla?.first_response_due,
    resolution_due: ticket.sla?.resolution_due,
  };
  return html`
    <article class="ticket">
      <div class="page-head">
        <h1>${ticket.number ? html`<span class="mono">${ticket.number}</span> ` : ''}${ticket.title}</h1>
        <${StatusPill} status=${ticket.status} />
        <${PriorityLabel} priority=${ticket.priority} />
        <${SlaBadge} ticket=${summary} now=${now} />
      </div>
      ${note && html`<p class="note" role="status">${note}</p>`}
      <${Conflicts} ticket=${ticket} people=${people} onPick=${(edit) => onEdit([edit])} busy=${busy} />
      <div class="columns">
        <div>
          <${Timeline} ticket=${ticket} people=${people} />
          <${NoteForm} onEdit=${onEdit} busy=${busy} />
        </div>
        <div>
          <${Assign} ticket=${ticket} people=${people} onEdit=${onEdit} busy=${busy} />
          <${EditForm} ticket=${ticket} onSave=${onEdit} busy=${busy} />
          <${Details} ticket=${ticket} people=${people} />
          <${Articles} ticket=${ticket} />
          <${SlaTimeline} ticket=${ticket} />
          <section class="card" aria-labelledby="location-title">
            <h2 id="location-title">${t('location')}</h2>
            ${ticket.site
              ? html`<p>${ticket.site.address || ''} (${ticket.site.lat.toFixed(5)}, ${ticket.site.lon.toFixed(5)})</p>
                  <${MiniMap} points=${[{ lat: ticket.site.lat, lon: ticket.site.lon, label: ticket.title, kind: 'site' }]} />`
              : html`<p>${t('no_location')}</p>`}
          </section>
          <${Work} ticket=${ticket} people=${people} onEdit=${onEdit} busy=${busy} />
        </div>
      </div>
    </article>`;
}
