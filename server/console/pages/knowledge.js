// The knowledge base, for the back office (docs/knowledge-base.md): every article with where it
// stands (a draft, published, or published with a newer draft), and an editor. Every save is a
// new version; supervisors and admins publish, which sends it to the devices of the people it
// is for on their next sync, and unpublish, which takes it back.

import { useEffect, useState } from 'preact/hooks';

import { api } from '../api.js';
import { dateTime } from '../format.js';
import { label, t } from '../i18n.js';
import { markdown } from '../markdown.js';
import { ErrorNote, Link, href, html, navigate } from '../ui.js';

const PUBLISHERS = ['supervisor', 'admin'];
const LANGUAGES = ['zh', 'en'];
const AUDIENCES = ['everyone', 'staff'];

/** Where an article stands, in words. */
export function articleState(article) {
  const published = article.published;
  const latest = article.latest;
  if (!published) return t('kb_state_draft', { d: latest ? latest.version : 1 });
  if (latest && latest.version > published.version) {
    return t('kb_state_newer', { v: published.version, d: latest.version });
  }
  return t('kb_state_published', { v: published.version });
}

function ArticleList() {
  const [items, setItems] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    api('/kb/articles').then((a) => setItems(a.items), setError);
  }, []);
  return html`<section class="card" aria-labelledby="kb-list-title">
    <h2 id="kb-list-title">${t('kb_articles')}</h2>
    <${ErrorNote} error=${error} />
    ${items && items.length === 0 && html`<p class="muted">${t('kb_none')}</p>`}
    ${items && items.length > 0 && html`<table>
      <thead><tr>
        <th scope="col">${t('kb_field_title')}</th><th scope="col">${t('kb_language')}</th>
        <th scope="col">${t('kb_audience')}</th><th scope="col">${t('team')}</th>
        <th scope="col">${t('category')}</th><th scope="col">${t('status')}</th>
        <th scope="col">${t('kb_updated')}</th>
      </tr></thead>
      <tbody>${items.map((a) => {
        const text = a.latest || a.published;
        return html`<tr>
          <td><${Link} to=${href(`knowledge/${encodeURIComponent(a.id)}`)}>${text.title}<//></td>
          <td>${label('lang', a.language)}</td><td>${label('audience', a.audience)}</td>
          <td>${a.team || t('none')}</td><td>${a.category || t('none')}</td>
          <td>${articleState(a)}</td><td>${dateTime(text.written_at)}</td>
        </tr>`;
      })}</tbody>
    </table>`}
  </section>`;
}

const EMPTY = { title: '', body: '', language: 'zh', audience: 'staff', category: '', team: '', tags: '' };

/** The form's fields from an article's newest text and facts. */
function formOf(article) {
  const text = article.latest || article.published;
  return {
    title: text.title,
    body: text.body,
    language: article.language,
    audience: article.audience,
    category: article.category || '',
    team: article.team || '',
    tags: text.tags.join(', '),
  };
}

function Editor({ id, session }) {
  const [article, setArticle] = useState(null);
  const [form, setForm] = useState(id ? null : EMPTY);
  const [note, setNote] = useState(null);
  const [error, setError] = useState(null);
  const publisher = PUBLISHERS.includes(session.user.role);

  useEffect(() => {
    if (!id) return;
    api(`/kb/articles/${encodeURIComponent(id)}`).then((a) => {
      setArticle(a);
      setForm(formOf(a));
    }, setError);
  }, [id]);

  if (!form) return html`<${ErrorNote} error=${error} />${!error && html`<p class="loading">${t('loading')}</p>`}`;

  const set = (key) => (e) => setForm({ ...form, [key]: e.target.value });
  const save = async (event) => {
    event.preventDefault();
    const body = {
      title: form.title,
      body: form.body,
      language: form.language,
      audience: form.audience,
      category: form.category || null,
      team: form.team || null,
      tags: form.tags.split(/[,，]/).map((tag) => tag.trim()).filter(Boolean),
    };
    try {
      const saved = id
        ? await api(`/kb/articles/${encodeURIComponent(id)}`, { method: 'PUT', body })
        : await api('/kb/articles', { method: 'POST', body });
      setArticle(saved);
      setError(null);
      setNote(t('kb_saved', { v: saved.latest.version }));
      if (!id) navigate(href(`knowledge/${encodeURIComponent(saved.id)}`), { replace: true });
    } catch (e) {
      setError(e);
    }
  };
  const publishing = async (what) => {
    try {
      const answer = await api(`/kb/articles/${encodeURIComponent(id)}/${what}`, { method: 'POST', body: {} });
      setArticle(answer);
      setError(null);
      setNote(what === 'publish' ? t('kb_published_note', { v: answer.published.version }) : t('kb_unpublished_note'));
    } catch (e) {
      setError(e);
    }
  };
  // A picture: stored through the API, then written into the text where it shows.
  const addPicture = async (event) => {
    const file = event.target.files && event.target.files[0];
    event.target.value = '';
    if (!file) return;
    try {
      const data = await new Promise((resolve, reject) => {
        const reader = new FileReader();
        reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ''));
        reader.onerror = () => reject(reader.error);
        reader.readAsDataURL(file);
      });
      const stored = await api('/kb/images', { method: 'POST', body: { name: file.name, data } });
      const alt = file.name.replace(/\.[^.]*$/, '').replace(/[[\]]/g, '');
      setForm((f) => ({ ...f, body: `${f.body}${f.body.endsWith('\n') || !f.body ? '' : '\n'}![${alt}](kb-image:${stored.sha256})\n` }));
      setError(null);
      setNote(t('kb_picture_added'));
    } catch (e) {
      setError(e);
    }
  };
  const upToDate = article && article.published && article.latest && article.latest.version === article.published.version;

  return html`<section class="card" aria-labelledby="kb-editor-title">
    <h2 id="kb-editor-title">${id ? t('kb_edit') : t('kb_new')}</h2>
    ${article && html`<p class="muted" role="status">${articleState(article)}${article.published_at ? ` · ${t('kb_published_at', { at: dateTime(article.published_at) })}` : ''}</p>`}
    <form class="stack" onSubmit=${save} aria-label=${id ? t('kb_edit') : t('kb_new')}>
      <label>${t('kb_field_title')}<input value=${form.title} onInput=${set('title')} required maxlength="200" /></label>
      <div class="filters">
        <label>${t('kb_language')}<select value=${form.language} onChange=${set('language')}>
          ${[...new Set([...LANGUAGES, form.language])].map((l) => html`<option value=${l}>${label('lang', l)}</option>`)}
        </select></label>
        <label>${t('kb_audience')}<select value=${form.audience} onChange=${set('audience')}>
          ${AUDIENCES.map((a) => html`<option value=${a}>${label('audience', a)}</option>`)}
        </select></label>
        <label>${t('category')}<input value=${form.category} onInput=${set('category')} maxlength="64" /></label>
        <label>${t('kb_team')}<input value=${form.team} onInput=${set('team')} maxlength="64" /></label>
        <label>${t('kb_tags')}<input value=${form.tags} onInput=${set('tags')} /></label>
      </div>
      <div class="kb-write">
        <label>${t('kb_body')}<textarea rows="14" value=${form.body} onInput=${set('body')} maxlength="50000"></textarea></label>
        <section class="kb-preview" aria-labelledby="kb-preview-title">
          <h3 id="kb-preview-title">${t('kb_preview')}</h3>
          <article class="article-body">${markdown(form.body)}</article>
        </section>
      </div>
      <label class="picture-pick">${t('kb_add_picture')}<input type="file" accept="image/jpeg,image/png,image/webp" onChange=${addPicture} /></label>
      <div>
        <button type="submit">${t('kb_save')}</button>
        ${id && publisher && html`<button type="button" disabled=${upToDate} onClick=${() => publishing('publish')}>${t('kb_publish')}</button>`}
        ${id && publisher && article && article.published && html`<button type="button" onClick=${() => publishing('unpublish')}>${t('kb_unpublish')}</button>`}
      </div>
      ${!publisher && html`<p class="muted">${t('kb_publish_hint')}</p>`}
    </form>
    ${note && html`<p class="note" role="status">${note}</p>`}
    <${ErrorNote} error=${error} />
    ${article && article.published && html`<details>
      <summary>${t('kb_readers_get', { v: article.published.version })}</summary>
      <h3>${article.published.title}</h3>
      <article class="article-body">${markdown(article.published.body)}</article>
    </details>`}
  </section>`;
}

export function KnowledgePage({ id, session }) {
  const editing = id !== undefined;
  return html`<section aria-labelledby="kb-title">
    <div class="page-head">
      <h1 id="kb-title">${t('kb_title')}</h1>
      ${editing
        ? html`<${Link} to=${href('knowledge')}>${t('kb_back')}<//>`
        : html`<button type="button" onClick=${() => navigate(href('knowledge/new'))}>${t('kb_new')}</button>`}
    </div>
    ${editing ? html`<${Editor} key=${id} id=${id === 'new' ? null : id} session=${session} />` : html`<${ArticleList} />`}
  </section>`;
}
