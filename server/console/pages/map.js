// The dispatch map: technicians' last known positions (with their age) and open tickets' sites.
// Leaflet draws it; the tile source is the server's setting (`--map-tiles`). Without one the
// map has no tiles at all: positions on a plain background with a grid of coordinates, as in
// tests and offline networks. Everything on the map is also listed beside it, for keyboards and
// screen readers.

import { useEffect, useRef, useState } from 'preact/hooks';

import { api } from '../api.js';
import { duration, personName } from '../format.js';
import { OPEN_STATUSES, t } from '../i18n.js';
import * as live from '../live.js';
import { ErrorNote, Link, href, html, useNow } from '../ui.js';

const STATIC = document.querySelector('meta[name="fieldwork-static"]')?.content || '';
const TILES = document.querySelector('meta[name="fieldwork-tiles"]')?.content || '';
const ATTRIBUTION = document.querySelector('meta[name="fieldwork-tiles-attribution"]')?.content || '';

/** Plain text as HTML (Leaflet shows an attribution as HTML). */
function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

let leaflet = null;

/** Loads Leaflet once (script and style), only for the pages that draw a map. */
function loadLeaflet() {
  if (!leaflet) {
    leaflet = new Promise((resolve, reject) => {
      const style = document.createElement('link');
      style.rel = 'stylesheet';
      style.href = `${STATIC}/vendor/leaflet.css`;
      document.head.append(style);
      const script = document.createElement('script');
      script.src = `${STATIC}/vendor/leaflet.js`;
      script.onload = () => resolve(window.L);
      script.onerror = () => reject(new Error('the map library did not load'));
      document.head.append(script);
    });
  }
  return leaflet;
}

/** Grid lines every `step` degrees over the map's view, drawn again as it moves. */
function drawGrid(L, map, layer) {
  layer.clearLayers();
  const b = map.getBounds();
  const span = Math.max(b.getEast() - b.getWest(), b.getNorth() - b.getSouth());
  const step = 10 ** Math.floor(Math.log10(span / 4 || 1));
  const style = { color: '#8a94a6', weight: 1, opacity: 0.5, interactive: false };
  for (let lat = Math.ceil(b.getSouth() / step) * step; lat < b.getNorth(); lat += step) {
    layer.addLayer(L.polyline([[lat, b.getWest()], [lat, b.getEast()]], style));
    layer.addLayer(L.marker([lat, b.getWest()], {
      interactive: false,
      icon: L.divIcon({ className: 'grid-label', html: lat.toFixed(Math.max(0, -Math.log10(step))), iconSize: null }),
    }));
  }
  for (let lon = Math.ceil(b.getWest() / step) * step; lon < b.getEast(); lon += step) {
    layer.addLayer(L.polyline([[b.getSouth(), lon], [b.getNorth(), lon]], style));
    layer.addLayer(L.marker([b.getSouth(), lon], {
      interactive: false,
      icon: L.divIcon({ className: 'grid-label', html: lon.toFixed(Math.max(0, -Math.log10(step))), iconSize: null }),
    }));
  }
}

/**
 * A map of `points` ({lat, lon, label, kind: 'site' | 'tech'}), fitted to them. Tiles when the
 * server has a tile source, else a plain background with a coordinate grid.
 */
export function MiniMap({ points, tall = false }) {
  const box = useRef(null);
  const state = useRef(null);
  const [error, setError] = useState(null);
  // The newest points, for a draw that runs when Leaflet has loaded.
  const latest = useRef(points);
  latest.current = points;

  useEffect(() => {
    let gone = false;
    loadLeaflet().then((L) => {
      if (gone || !box.current) return;
      const map = L.map(box.current, { zoomControl: true, attributionControl: Boolean(TILES && ATTRIBUTION), keyboard: true });
      const grid = L.layerGroup().addTo(map);
      if (TILES) {
        L.tileLayer(TILES, { maxZoom: 19, attribution: escapeHtml(ATTRIBUTION) }).addTo(map);
      } else {
        map.on('moveend', () => drawGrid(L, map, grid));
      }
      state.current = { L, map, marks: L.layerGroup().addTo(map) };
      draw();
    }, setError);
    return () => {
      gone = true;
      if (state.current) state.current.map.remove();
      state.current = null;
    };
  }, []);

  const draw = () => {
    const s = state.current;
    if (!s) return;
    s.marks.clearLayers();
    const { L, map, marks } = s;
    const points = latest.current;
    for (const p of points) {
      const mark = L.circleMarker([p.lat, p.lon], {
        radius: p.kind === 'tech' ? 7 : 6,
        color: p.kind === 'tech' ? '#1d4ed8' : '#b91c1c',
        fillOpacity: 0.8,
      });
      mark.bindTooltip(`${p.label} (${p.lat.toFixed(4)}, ${p.lon.toFixed(4)})`);
      marks.addLayer(mark);
    }
    if (points.length === 1) map.setView([points[0].lat, points[0].lon], 15);
    else if (points.length > 1) map.fitBounds(points.map((p) => [p.lat, p.lon]), { padding: [24, 24], maxZoom: 16 });
    else map.setView([0, 0], 2);
  };
  useEffect(draw, [points]);

  return html`<div>
    <div ref=${box} class=${tall ? "map tall" : "map"} role="region" aria-label=${t("location")}></div>
    ${!TILES && html`<p class="hint">${t('map_plain')}</p>`}
    <${ErrorNote} error=${error} />
  </div>`;
}

export function MapPage() {
  const [workers, setWorkers] = useState(null);
  const [sites, setSites] = useState([]);
  const [error, setError] = useState(null);
  const now = useNow(30000);

  const load = async () => {
    try {
      const [team, open] = await Promise.all([
        api('/technicians'),
        api('/tickets', { query: { status: OPEN_STATUSES.join(','), sort: 'due', limit: 200 } }),
      ]);
      setWorkers(team.items);
      // A list's summaries carry no site: the open tickets are read whole, the most urgent first.
      const whole = await Promise.all(open.items.slice(0, 50).map((s) => api(`/tickets/${encodeURIComponent(s.id)}`).catch(() => null)));
      setSites(whole.filter((w) => w && w.site));
      setError(null);
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => {
    load();
    let timer = null;
    return live.onTickets(() => {
      clearTimeout(timer);
      timer = setTimeout(load, 1000);
    });
  }, []);

  const points = [
    ...(workers || []).filter((w) => w.position).map((w) => ({ lat: w.position.lat, lon: w.position.lon, label: w.name, kind: 'tech' })),
    ...sites.map((s) => ({ lat: s.site.lat, lon: s.site.lon, label: s.title, kind: 'site' })),
  ];
  return html`
    <section aria-labelledby="map-title">
      <h1 id="map-title">${t('map_title')}</h1>
      <${ErrorNote} error=${error} />
      <div class="columns map-columns">
        <${MiniMap} points=${points} tall=${true} />
        <div>
          <h2>${t('technicians')}</h2>
          <ul class="plain">
            ${(workers || []).map((w) => html`<li>
              <span aria-hidden="true" class="dot tech"></span> <strong>${w.name}</strong> ${w.team ? `· ${w.team}` : ''}
              · ${w.position ? t('position_age', { ago: duration(now - w.position.received_at) }) : t('no_position')}
              · ${t('open_load', { n: w.open_tickets })}
              ${w.on_shift === true ? ` · ${t('on_shift')}` : w.on_shift === false ? ` · ${t('off_shift')}` : ''}
              ${w.position && html`<span class="muted"> (${w.position.lat.toFixed(4)}, ${w.position.lon.toFixed(4)})</span>`}
            </li>`)}
          </ul>
          <h2>${t('open_sites')}</h2>
          <ul class="plain">
            ${sites.map((s) => html`<li>
              <span aria-hidden="true" class="dot site"></span>
              <${Link} to=${href(`tickets/${encodeURIComponent(s.id)}`)}>${s.title}<//>
              ${s.assignee ? ` · ${personName(s.people, s.assignee)}` : ''}
              <span class="muted"> (${s.site.lat.toFixed(4)}, ${s.site.lon.toFixed(4)})</span>
            </li>`)}
          </ul>
        </div>
      </div>
    </section>`;
}
