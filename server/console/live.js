// The tenant's news, live: one EventSource on /api/v1/events shared by every view. An event
// names the tickets that changed; views reread what they show through the API. The browser
// reconnects by itself when a stream ends and resumes after the last event it had.

const listeners = new Set();
const statusListeners = new Set();
let source = null;
let connected = false;

function setConnected(value) {
  if (connected === value) return;
  connected = value;
  for (const fn of statusListeners) fn(connected);
}

function open() {
  if (source) return;
  source = new EventSource('/api/v1/events?seconds=300');
  source.addEventListener('ready', () => setConnected(true));
  source.addEventListener('tickets', (event) => {
    setConnected(true);
    let data;
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    for (const fn of listeners) fn(data);
  });
  source.addEventListener('signed_out', () => {
    stop();
    window.dispatchEvent(new CustomEvent('fw-signed-out'));
  });
  source.addEventListener('error', () => setConnected(false));
}

/** Stops listening (signing out). */
export function stop() {
  if (source) source.close();
  source = null;
  setConnected(false);
}

/** Calls `fn({seq, tickets, more})` after each change; returns the unsubscribe. */
export function onTickets(fn) {
  listeners.add(fn);
  open();
  return () => listeners.delete(fn);
}

/** Calls `fn(connected)` when the stream connects or drops; returns the unsubscribe. */
export function onStatus(fn) {
  statusListeners.add(fn);
  fn(connected);
  return () => statusListeners.delete(fn);
}
