// Settings, for admins: the tenant's configuration (checked with each problem shown at its
// line, then applied), users (make, disable, enable), teams, intake channels (make, with the
// token shown once; revoke), the asset register (find a machine; import a CSV file, all rows or
// none), and the webhook delivery log.

import { useEffect, useState } from 'preact/hooks';

import { api } from '../api.js';
import { dateTime } from '../format.js';
import { label, t } from '../i18n.js';
import { ErrorNote, html } from '../ui.js';

const ROLES = ['rider', 'merchant', 'technician', 'agent', 'dispatcher', 'supervisor', 'admin'];

/** The line a problem names ("line 3, …"), if it names one. */
export function problemLine(problem) {
  const found = /^line (\d+)/.exec(problem);
  return found ? Number(found[1]) : null;
}

function ConfigEditor() {
  const [text, setText] = useState('');
  const [problems, setProblems] = useState([]);
  const [note, setNote] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    api('/config').then((c) => setText(c.toml), (e) => (e.status === 404 ? setText('') : setError(e)));
  }, []);
  const check = async () => {
    setNote(null);
    try {
      const answer = await api('/config/check', { method: 'POST', body: { toml: text } });
      setProblems(answer.problems);
      if (answer.valid) setNote(t('config_ok'));
      return answer.valid;
    } catch (e) {
      setError(e);
      return false;
    }
  };
  const apply = async () => {
    if (!(await check())) return;
    try {
      const answer = await api('/config', { method: 'PUT', body: { toml: text } });
      setNote(t('config_applied', { n: answer.version }));
    } catch (e) {
      setError(e);
    }
  };
  const bad = new Set(problems.map(problemLine).filter(Boolean));
  const lines = text.split('\n');
  return html`<section class="card" aria-labelledby="config-title">
    <h2 id="config-title">${t('config')}</h2>
    <div class="editor">
      <ol class="gutter" aria-hidden="true">${lines.map((_, i) => html`<li class=${bad.has(i + 1) ? 'bad' : ''}>${i + 1}</li>`)}</ol>
      <label class="sr-only" for="config-text">${t('config')}</label>
      <textarea id="config-text" spellcheck="false" rows=${Math.max(12, lines.length + 1)} value=${text}
        onInput=${(e) => setText(e.target.value)} aria-describedby="config-problems"></textarea>
    </div>
    <div id="config-problems" role="status">
      ${problems.length > 0 && html`<ul class="problems">${problems.map((p) => html`<li class="error">${p}</li>`)}</ul>`}
      ${note && html`<p class="note">${note}</p>`}
    </div>
    <${ErrorNote} error=${error} />
    <button type="button" onClick=${check}>${t('check')}</button>
    <button type="button" onClick=${apply}>${t('apply_config')}</button>
  </section>`;
}

function Users() {
  const [users, setUsers] = useState([]);
  const [form, setForm] = useState({ name: '', role: 'technician', team: '', password: '' });
  const [note, setNote] = useState(null);
  const [error, setError] = useState(null);
  const load = () => api('/users').then((a) => setUsers(a.items), setError);
  useEffect(() => {
    load();
  }, []);
  const switchUser = async (user) => {
    try {
      await api(`/users/${encodeURIComponent(user.id)}/${user.disabled ? 'enable' : 'disable'}`, { method: 'POST' });
      load();
    } catch (e) {
      setError(e);
    }
  };
  const create = async (event) => {
    event.preventDefault();
    try {
      const body = { name: form.name, role: form.role, team: form.team || null, password: form.password || null };
      const made = await api('/users', { method: 'POST', body });
      setNote(t('token_once', { token: made.api_token }));
      setForm({ name: '', role: 'technician', team: '', password: '' });
      setError(null);
      load();
    } catch (e) {
      setError(e);
    }
  };
  const set = (key) => (e) => setForm({ ...form, [key]: e.target.value });
  return html`<section class="card" aria-labelledby="users-title">
    <h2 id="users-title">${t('users')}</h2>
    <table>
      <thead><tr><th scope="col">${t('user_name')}</th><th scope="col">${t('role')}</th><th scope="col">${t('team')}</th><th scope="col">${t('status')}</th><th scope="col"><span class="sr-only">${t('edit')}</span></th></tr></thead>
      <tbody>${users.map((u) => html`<tr>
        <td>${u.name}</td><td>${label('role', u.role)}</td><td>${u.team || t('none')}</td>
        <td>${u.disabled ? t('disabled') : ''}</td>
        <td><button type="button" onClick=${() => switchUser(u)}>${u.disabled ? t('enable') : t('disable')} <span class="sr-only">${u.name}</span></button></td>
      </tr>`)}</tbody>
    </table>
    <form class="filters" onSubmit=${create} aria-label=${t('new_user')}>
      <label>${t('user_name')}<input value=${form.name} onInput=${set('name')} required /></label>
      <label>${t('role')}<select value=${form.role} onChange=${set('role')}>${ROLES.map((r) => html`<option value=${r}>${label('role', r)}</option>`)}</select></label>
      <label>${t('team')}<input value=${form.team} onInput=${set('team')} /></label>
      <label>${t('password')}<input type="password" autocomplete="new-password" value=${form.password} onInput=${set('password')} minlength="8" /></label>
      <button type="submit">${t('create')}</button>
    </form>
    ${note && html`<p class="note" role="status">${note}</p>`}
    <${ErrorNote} error=${error} />
  </section>`;
}

function Teams() {
  const [teams, setTeams] = useState([]);
  useEffect(() => {
    api('/teams').then((a) => setTeams(a.items), () => setTeams([]));
  }, []);
  return html`<section class="card" aria-labelledby="teams-title">
    <h2 id="teams-title">${t('teams')}</h2>
    <table>
      <thead><tr><th scope="col">${t('team')}</th><th scope="col">${t('lead')}</th><th scope="col">${t('category')}</th><th scope="col">${t('chooser')}</th><th scope="col">${t('members')}</th></tr></thead>
      <tbody>${teams.map((team) => html`<tr>
        <td>${team.name}</td><td>${team.lead || t('none')}</td><td>${team.categories.join(', ') || t('none')}</td>
        <td>${team.chooser || t('none')}</td><td>${team.members.map((m) => m.name).join(', ')}</td>
      </tr>`)}</tbody>
    </table>
  </section>`;
}

const CHANNEL_KINDS = ['web', 'email', 'phone', 'iot'];

function Channels() {
  const [items, setItems] = useState([]);
  const [form, setForm] = useState({ kind: 'iot', name: '' });
  const [note, setNote] = useState(null);
  const [error, setError] = useState(null);
  const load = () => api('/channels').then((a) => setItems(a.items), setError);
  useEffect(() => {
    load();
  }, []);
  const create = async (e) => {
    e.preventDefault();
    try {
      const made = await api('/channels', { method: 'POST', body: { kind: form.kind, name: form.name || null } });
      setNote(t('channel_made', { token: made.token, secret: made.signing_secret }));
      setForm({ kind: form.kind, name: '' });
      setError(null);
      load();
    } catch (e) {
      setError(e);
    }
  };
  const revoke = async (channel) => {
    try {
      await api(`/channels/${encodeURIComponent(channel.channel_id)}`, { method: 'DELETE' });
      load();
    } catch (e) {
      setError(e);
    }
  };
  return html`<section class="card" aria-labelledby="channels-title">
    <h2 id="channels-title">${t('channels')}</h2>
    <table>
      <thead><tr><th scope="col">${t('channel_name')}</th><th scope="col">${t('channel_kind')}</th><th scope="col">${t('created')}</th><th scope="col">${t('status')}</th><th scope="col"><span class="sr-only">${t('edit')}</span></th></tr></thead>
      <tbody>${items.map((c) => html`<tr>
        <td>${c.name}</td><td>${label('channel', c.kind)}</td><td>${dateTime(c.created_at)}</td>
        <td>${c.revoked_at ? t('channel_revoked') : t('channel_live')}</td>
        <td>${!c.revoked_at && html`<button type="button" onClick=${() => revoke(c)}>${t('revoke')} <span class="sr-only">${c.name}</span></button>`}</td>
      </tr>`)}</tbody>
    </table>
    <form class="filters" onSubmit=${create} aria-label=${t('new_channel')}>
      <label>${t('channel_kind')}<select value=${form.kind} onChange=${(e) => setForm({ ...form, kind: e.target.value })}>${CHANNEL_KINDS.map((k) => html`<option value=${k}>${label('channel', k)}</option>`)}</select></label>
      <label>${t('channel_name')}<input value=${form.name} onInput=${(e) => setForm({ ...form, name: e.target.value })} /></label>
      <button type="submit">${t('create')}</button>
    </form>
    ${note && html`<p class="note mono" role="status">${note}</p>`}
    <${ErrorNote} error=${error} />
  </section>`;
}

function Assets() {
  const [items, setItems] = useState([]);
  const [q, setQ] = useState('');
  const [csv, setCsv] = useState('');
  const [problems, setProblems] = useState([]);
  const [note, setNote] = useState(null);
  const [error, setError] = useState(null);
  const load = (text = q) => api('/assets', { query: { q: text, limit: 50 } }).then((a) => setItems(a.items), setError);
  useEffect(() => {
    load('');
  }, []);
  const pick = async (e) => {
    const file = e.target.files && e.target.files[0];
    if (file) setCsv(await file.text());
  };
  const upload = async (e) => {
    e.preventDefault();
    setNote(null);
    try {
      const answer = await api('/assets/import', { method: 'POST', body: { csv } });
      setProblems(answer.problems);
      if (answer.problems.length === 0) {
        setNote(t('assets_imported', { n: answer.imported }));
        setCsv('');
        load();
      }
      setError(null);
    } catch (e) {
      setError(e);
    }
  };
  return html`<section class="card" aria-labelledby="assets-title">
    <h2 id="assets-title">${t('assets')}</h2>
    <form class="filters" role="search" aria-label=${t('assets_find')} onSubmit=${(e) => { e.preventDefault(); load(); }}>
      <label class="grow">${t('assets_find')}<input type="search" value=${q} onInput=${(e) => setQ(e.target.value)} /></label>
      <button type="submit">${t('search')}</button>
    </form>
    <table>
      <thead><tr><th scope="col">${t('asset_serial')}</th><th scope="col">${t('asset_model')}</th><th scope="col">${t('asset_site')}</th><th scope="col">${t('asset_warranty')}</th><th scope="col">${t('asset_owner')}</th></tr></thead>
      <tbody>${items.map((a) => html`<tr>
        <td class="mono">${a.serial}</td><td>${a.model || t('none')}</td><td>${a.site_address || t('none')}</td>
        <td>${a.warranty_until || t('none')}</td><td>${a.owner_name || t('none')}</td>
      </tr>`)}</tbody>
    </table>
    ${items.length === 0 && html`<p class="muted">${t('assets_none')}</p>`}
    <form class="stack" onSubmit=${upload} aria-label=${t('assets_import')}>
      <label>${t('assets_file')}<input type="file" accept=".csv,text/csv" onChange=${pick} /></label>
      <label>${t('assets_csv')}<textarea rows="5" spellcheck="false" value=${csv} onInput=${(e) => setCsv(e.target.value)} required></textarea></label>
      <div><button type="submit">${t('assets_import')}</button></div>
    </form>
    <div role="status">
      ${problems.length > 0 && html`<p class="error">${t('assets_refused')}</p><ul class="problems">${problems.map((p) => html`<li class="error">${p}</li>`)}</ul>`}
      ${note && html`<p class="note">${note}</p>`}
    </div>
    <${ErrorNote} error=${error} />
  </section>`;
}

function Deliveries() {
  const [items, setItems] = useState([]);
  const [error, setError] = useState(null);
  useEffect(() => {
    api('/webhooks/deliveries').then((a) => setItems(a.items), setError);
  }, []);
  return html`<section class="card" aria-labelledby="deliveries-title">
    <h2 id="deliveries-title">${t('webhooks')}</h2>
    <${ErrorNote} error=${error} />
    <table>
      <thead><tr><th scope="col">URL</th><th scope="col">${t('delivery_event')}</th><th scope="col">${t('delivery_state')}</th><th scope="col">${t('attempts')}</th><th scope="col">${t('created')}</th><th scope="col">HTTP</th></tr></thead>
      <tbody>${items.map((d) => html`<tr>
        <td class="mono">${d.url}</td><td>${d.source}</td><td>${d.state}</td><td>${d.attempts}</td>
        <td>${dateTime(d.created_at)}</td><td>${d.last_status ?? d.last_error ?? ''}</td>
      </tr>`)}</tbody>
    </table>
  </section>`;
}

export function SettingsPage() {
  return html`<section aria-labelledby="settings-title">
    <h1 id="settings-title">${t('settings_title')}</h1>
    <${ConfigEditor} />
    <${Users} />
    <${Teams} />
    <${Channels} />
    <${Assets} />
    <${Deliveries} />
  </section>`;
}
