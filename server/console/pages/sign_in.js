// Sign in with an organisation, a name and a password: POST /api/v1/session opens a cookie
// session (the same rate limits as a device's sign-in apply).

import { useState } from 'preact/hooks';

import { api } from '../api.js';
import { t } from '../i18n.js';
import { html } from '../ui.js';

export function SignIn({ onSignedIn }) {
  const [form, setForm] = useState({ tenant: localStorage.getItem('fw-tenant') || '', name: '', password: '' });
  const [error, setError] = useState(() =>
    new URLSearchParams(location.search).get('ended') ? t('session_ended') : null,
  );
  const [busy, setBusy] = useState(false);
  const set = (key) => (event) => setForm({ ...form, [key]: event.target.value });

  const submit = async (event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api('/session', { method: 'POST', body: form });
      localStorage.setItem('fw-tenant', form.tenant);
      onSignedIn(await api('/session'));
    } catch (e) {
      if (e.status === 401) setError(t('bad_credentials'));
      else if (e.status === 429 || e.status === 503) setError(t('too_many'));
      else if (e.code === 'unreachable') setError(t('unreachable'));
      else setError(e.message);
      setForm({ ...form, password: '' });
    } finally {
      setBusy(false);
    }
  };

  return html`
    <main id="main" class="sign-in">
      <h1>${t('app_name')} <span class="muted">${t('console')}</span></h1>
      <form onSubmit=${submit} aria-describedby=${error ? 'sign-in-error' : undefined}>
        <label>${t('tenant')}
          <input name="tenant" autocomplete="organization" required value=${form.tenant} onInput=${set('tenant')} />
        </label>
        <label>${t('user_name')}
          <input name="name" autocomplete="username" required value=${form.name} onInput=${set('name')} />
        </label>
        <label>${t('password')}
          <input name="password" type="password" autocomplete="current-password" required value=${form.password} onInput=${set('password')} />
        </label>
        ${error && html`<p id="sign-in-error" class="error" role="alert">${error}</p>`}
        <button type="submit" disabled=${busy}>${t('sign_in')}</button>
      </form>
    </main>
  `;
}
