// Reports: the API's report for a date range, time zone and grouping, as a table and charts
// (volume by group, handling times, top categories), with a CSV download of the same report.

import { useEffect, useRef, useState } from 'preact/hooks';

import { api, withQuery } from '../api.js';
import { isoDay, timeZone } from '../format.js';
import { t } from '../i18n.js';
import { ErrorNote, html } from '../ui.js';

const STATIC = document.querySelector('meta[name="fieldwork-static"]')?.content || '';
let uplot = null;

/** Loads uPlot once, only for this page. */
function loadUplot() {
  if (!uplot) {
    uplot = new Promise((resolve, reject) => {
      const style = document.createElement('link');
      style.rel = 'stylesheet';
      style.href = `${STATIC}/vendor/uplot.css`;
      document.head.append(style);
      const script = document.createElement('script');
      script.src = `${STATIC}/vendor/uplot.js`;
      script.onload = () => resolve(window.uPlot);
      script.onerror = () => reject(new Error('the chart library did not load'));
      document.head.append(script);
    });
  }
  return uplot;
}

const pct = (rate) => (rate === null || rate === undefined ? '—' : `${(rate * 100).toFixed(1)}%`);
const mins = (stats) => (stats ? `${stats.p50} / ${stats.p90}` : '—');

/** A bar chart of `values` by `labels` (uPlot), with the numbers also in the table beside it. */
function Bars({ title, labels, series }) {
  const box = useRef(null);
  useEffect(() => {
    let chart = null;
    let gone = false;
    loadUplot().then((UPlot) => {
      if (gone || !box.current || labels.length === 0) return;
      const xs = labels.map((_, i) => i);
      const bars = UPlot.paths.bars({ size: [0.6, 64] });
      const colours = ['#1d4ed8', '#b45309', '#047857'];
      chart = new UPlot({
        width: Math.min(720, box.current.clientWidth || 720),
        height: 220,
        title,
        scales: { x: { time: false } },
        axes: [{ values: (u, splits) => splits.map((i) => labels[i] ?? '') }, {}],
        series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: colours[i], fill: `${colours[i]}99`, paths: bars }))],
      }, [xs, ...series.map((s) => s.values)], box.current);
    });
    return () => {
      gone = true;
      if (chart) chart.destroy();
    };
  }, [labels.join('\u0000'), JSON.stringify(series)]);
  return html`<figure class="chart"><div ref=${box} role="img" aria-label=${title}></div></figure>`;
}

export function ReportsPage() {
  const today = isoDay(Date.now());
  const [form, setForm] = useState({ from: `${today.slice(0, 8)}01`, to: today, tz: timeZone(), by: 'category' });
  const [report, setReport] = useState(null);
  const [error, setError] = useState(null);
  const set = (key) => (e) => setForm({ ...form, [key]: e.target.value });

  const run = async (event) => {
    if (event) event.preventDefault();
    try {
      setReport(await api('/reports', { query: form }));
      setError(null);
    } catch (e) {
      setError(e);
    }
  };
  useEffect(() => {
    run();
  }, []);

  const rows = report ? report.rows : [];
  return html`
    <section aria-labelledby="reports-title">
      <h1 id="reports-title">${t('reports_title')}</h1>
      <form class="filters" onSubmit=${run}>
        <label>${t('from')}<input type="date" value=${form.from} onInput=${set('from')} required /></label>
        <label>${t('to')}<input type="date" value=${form.to} onInput=${set('to')} required /></label>
        <label>${t('time_zone')}<input value=${form.tz} onInput=${set('tz')} size="16" /></label>
        <label>${t('group_by')}
          <select value=${form.by} onChange=${set('by')}>
            ${['category', 'channel', 'team', 'assignee', 'day'].map((b) => html`<option value=${b}>${t(`by_${b}`)}</option>`)}
          </select>
        </label>
        <button type="submit">${t('run_report')}</button>
        <a class="button" href=${withQuery('/api/v1/reports', { ...form, format: 'csv' })} download="report.csv">${t('download_csv')}</a>
      </form>
      <${ErrorNote} error=${error} />
      ${report && html`
        <div class="stats">
          <p><strong>${report.total.created}</strong> ${t('created_count')} (${t('previous_period', { n: report.previous_period_created })})</p>
          <p><strong>${pct(report.total.sla_breach_rate)}</strong> ${t('sla_breaches')}</p>
          <p><strong>${report.total.csat_mean ?? '—'}</strong> ${t('csat')}</p>
          <p><strong>${report.total.backlog}</strong> ${t('open_tickets')}</p>
        </div>
        <${Bars} title=${t('count', { n: report.total.created })} labels=${rows.map((r) => r.key)}
          series=${[{ label: t('created_count'), values: rows.map((r) => r.created) }, { label: t('status.resolved'), values: rows.map((r) => r.resolved) }]} />
        <${Bars} title=${t('category')} labels=${report.top_categories.map((c) => c.category)}
          series=${[{ label: t('created_count'), values: report.top_categories.map((c) => c.created) }]} />
        <table class="report">
          <caption>${t('reports_title')} ${report.from} – ${report.to} (${report.time_zone})</caption>
          <thead><tr>
            <th scope="col">${t(`by_${form.by}`)}</th>
            <th scope="col">${t('created_count')}</th>
            <th scope="col">${t('status.resolved')}</th>
            <th scope="col">${t('open_tickets')}</th>
            <th scope="col">${t('first_response_col')}</th>
            <th scope="col">${t('resolution_col')}</th>
            <th scope="col">${t('sla_breaches')}</th>
            <th scope="col">${t('fcr')}</th>
            <th scope="col">${t('reopen_rate')}</th>
            <th scope="col">${t('csat')}</th>
          </tr></thead>
          <tbody>
            ${[...rows, { ...report.total, key: t('report_total') }].map((r) => html`<tr>
              <th scope="row">${r.key}</th>
              <td>${r.created}</td><td>${r.resolved}</td><td>${r.backlog}</td>
              <td>${mins(r.first_response.business || r.first_response.wall)}</td>
              <td>${mins(r.resolution.business || r.resolution.wall)}</td>
              <td>${pct(r.sla_breach_rate)}</td>
              <td>${pct(r.first_contact_resolution_rate)}</td>
              <td>${pct(r.reopen_rate)}</td>
              <td>${r.csat_mean ?? '—'}</td>
            </tr>`)}
          </tbody>
        </table>`}
    </section>`;
}
