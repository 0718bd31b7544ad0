// The SLA board: per team, the open tickets that breached, that come due soon, and that are
// paused, kept live by the event stream.

import { useEffect, useState } from 'preact/hooks';

import { api } from '../api.js';
import { personName } from '../format.js';
import { t } from '../i18n.js';
import * as live from '../live.js';
import { ErrorNote, Link, PriorityLabel, SlaBadge, href, html, useNow } from '../ui.js';

function Column({ title, tickets, now, people }) {
  return html`<div class="board-col">
    <h3>${title} <span class="muted">(${tickets.length})</span></h3>
    ${tickets.length === 0 ? html`<p class="muted">${t('none')}</p>` : html`
      <ul class="plain">
        ${tickets.map((ticket) => html`<li>
          <${Link} to=${href(`tickets/${encodeURIComponent(ticket.id)}`)}>${ticket.number ? `${ticket.number} · ` : ''}${ticket.title}<//>
          <div><${SlaBadge} ticket=${ticket} now=${now} /> <${PriorityLabel} priority=${ticket.priority} />
            ${ticket.assignee ? ` · ${personName(people, ticket.assignee)}` : ` · ${t('nobody')}`}</div>
        </li>`)}
      </ul>`}
  </div>`;
}

export function SlaPage() {
  const [board, setBoard] = useState(null);
  const [within, setWithin] = useState(60);
  const [people, setPeople] = useState({});
  const [error, setError] = useState(null);
  const now = useNow(15000);

  const load = async (minutes = within) => {
    try {
      const answer = await api('/sla/board', { query: { within: minutes } });
      setBoard(answer);
      setError(null);
      // Names of the assignees on the board.
      const teams = await api('/teams');
      const names = {};
      for (const team of teams.items) for (const m of team.members) names[m.id] = { name: m.name, role: m.role };
      setPeople(names);
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => {
    load(within);
  }, [within]);
  useEffect(() => {
    let timer = null;
    return live.onTickets(() => {
      clearTimeout(timer);
      timer = setTimeout(() => load(), 500);
    });
  }, [within]);

  return html`
    <section aria-labelledby="sla-title">
      <div class="page-head">
        <h1 id="sla-title">${t('sla_title')}</h1>
        <label>${t('within')}
          <select value=${within} onChange=${(e) => setWithin(Number(e.target.value))}>
            ${[30, 60, 120, 240, 480].map((m) => html`<option value=${m}>${t('minutes', { n: m })}</option>`)}
          </select>
        </label>
      </div>
      <${ErrorNote} error=${error} />
      ${board && board.columns.map((column) => html`
        <section class="card" aria-label=${column.team || t('no_team')}>
          <h2>${column.team || t('no_team')}</h2>
          <div class="board">
            <${Column} title=${t('breached_col')} tickets=${column.breached} now=${now} people=${people} />
            <${Column} title=${t('due_soon_col')} tickets=${column.due_soon} now=${now} people=${people} />
            <${Column} title=${t('paused_col')} tickets=${column.paused} now=${now} people=${people} />
          </div>
        </section>`)}
      ${board && board.columns.length === 0 && html`<p>${t('none')}</p>`}
    </section>`;
}
