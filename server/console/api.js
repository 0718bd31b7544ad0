// The console's only way to the server: the back-office API under /api/v1, called as any
// client calls it (the session cookie, and the CSRF token with every write). Nothing here
// decides what a user may see or do; the API does.

const BASE = '/api/v1';

/** An answer that is not a success, with the API's error code and message. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** The CSRF token of this browser's session (the fw_csrf cookie). */
function csrfToken() {
  const found = document.cookie.match(/(?:^|;\s*)fw_csrf=([^;]*)/);
  return found ? decodeURIComponent(found[1]) : '';
}

/** `path` with `query` (empty values left out). */
export function withQuery(path, query) {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== '') params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}?${text}` : path;
}

/**
 * Calls the API; resolves to the JSON answer (null for 204), rejects with an ApiError.
 * A 401 on any call but the session's tells the app the session ended.
 */
export async function api(path, { method = 'GET', body, query, signal } = {}) {
  const headers = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET') headers['x-csrf-token'] = csrfToken();
  let response;
  try {
    response = await fetch(BASE + withQuery(path, query), {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      signal,
    });
  } catch (error) {
    if (error.name === 'AbortError') throw error;
    throw new ApiError(0, 'unreachable', 'The server cannot be reached.');
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = (data && data.error) || {};
    if (response.status === 401 && path !== '/session') {
      window.dispatchEvent(new CustomEvent('fw-signed-out'));
    }
    throw new ApiError(response.status, error.code || `http_${response.status}`, error.message || response.statusText);
  }
  return data;
}

/** Makes `edits` to ticket `id` (all or none); resolves to the ticket after them. */
export function editTicket(id, edits) {
  return api(`/tickets/${encodeURIComponent(id)}/edits`, { method: 'POST', body: { edits } });
}

