// The console's speed in headless Chromium (docs/benchmarks.md, "Console"), against a server
// whose data directory `fieldwork bench seed` filled:
//
//   target/release/fieldwork bench seed --tickets 100000 --data /tmp/fw-bench
//   node console-tests/bench.mjs /tmp/fw-bench            # FIELDWORK_BIN, CHROMIUM as in the tests
//
// Measured, each in a fresh browser context (nothing cached) unless it says warm:
// - the queue's first render: from navigation start to the first row in the table;
// - a ticket page: from navigation start to its timeline drawn;
// - a live update: from the moment a phone's `fieldwork device sync` returns to the new ticket's
//   row in an open queue;
// - the bytes of script and style a page loads, compressed as sent.

import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { chromium } from 'playwright-core';

const data = resolve(process.argv[2] || '');
const seed = JSON.parse(readFileSync(join(data, 'bench-seed.json'), 'utf8'));
const BIN = resolve(process.env.FIELDWORK_BIN || 'target/release/fieldwork');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const RUNS = Number(process.env.RUNS || 10);

function percentile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}
const ms = (v) => `${v.toFixed(0)} ms`;
const line = (what, values) =>
  console.log(`| ${what} | ${values.length} runs: p50 ${ms(percentile(values, 0.5))}, max ${ms(Math.max(...values))} |`);

async function serve() {
  const server = spawn(BIN, ['serve', '--data', data, '--listen', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'warn' },
  });
  const url = await new Promise((done, fail) => {
    let out = '';
    server.stdout.on('data', (chunk) => {
      out += chunk;
      const found = out.match(/listening on (http:\/\/\S+)/);
      if (found) done(found[1]);
    });
    server.on('exit', (code) => fail(new Error(`the server exited (${code})`)));
  });
  return { server, url };
}

/** A fresh context signed in as the seeded dispatcher, with a first-row watcher in every page. */
async function context(browser, url) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const answer = await ctx.request.post(`${url}/api/v1/session`, {
    data: { tenant: seed.tenant, name: seed.name, password: seed.password },
  });
  if (answer.status() !== 201) throw new Error(`sign-in: ${answer.status()}`);
  await ctx.addInitScript(() => {
    const seen = (selector, key) => {
      const check = () => {
        if (!window[key] && document.querySelector(selector)) window[key] = performance.now();
      };
      new MutationObserver(check).observe(document, { childList: true, subtree: true });
    };
    seen('table.tickets tbody tr', '__firstRow');
    seen('.timeline li', '__timeline');
  });
  return ctx;
}

async function timed(browser, url, path, key) {
  const ctx = await context(browser, url);
  const page = await ctx.newPage();
  const bytes = { script: 0 };
  page.on('response', async (response) => {
    const u = new URL(response.url());
    if (u.pathname.startsWith('/console/static/') && /\.(m?js|css)$/.test(u.pathname)) {
      bytes.script += Number(response.headers()['content-length'] || 0);
    }
  });
  await page.goto(`${url}${path}`);
  await page.waitForFunction((k) => window[k] !== undefined, key, { timeout: 30000 });
  const took = await page.evaluate((k) => window[k], key);
  await ctx.close();
  return { took, bytes: bytes.script };
}

const { server, url } = await serve();
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
try {
  console.log(`(${seed.tickets} tickets stored; ${url})`);
  const queue = [];
  let sent = 0;
  for (let i = 0; i < RUNS; i += 1) {
    const run = await timed(browser, url, '/console/', '__firstRow');
    queue.push(run.took);
    sent = Math.max(sent, run.bytes);
  }
  line(`the queue's first render (${seed.tickets} tickets, a fresh browser each time)`, queue);
  const ticket = [];
  for (let i = 0; i < RUNS; i += 1) {
    ticket.push((await timed(browser, url, `/console/tickets/${seed.ticket}`, '__timeline')).took);
  }
  line('a ticket page (fresh browser)', ticket);
  console.log(`| script and style the queue loads, compressed as sent | ${(sent / 1024).toFixed(1)} KB |`);

  // A live update: a phone's new ticket, from its sync's return to its row in the open queue.
  const home = mkdtempSync(join(tmpdir(), 'fw-bench-phone-'));
  const device = (...args) => execFileSync(BIN, ['device', '--home', home, ...args], { encoding: 'utf8' });
  device('login', '--server', url, '--tenant', seed.tenant, '--user', seed.rider, '--password', seed.password);
  const ctx = await context(browser, url);
  const page = await ctx.newPage();
  await page.goto(`${url}/console/?status=&sort=created`);
  await page.waitForFunction(() => window.__firstRow !== undefined);
  await page.locator('.live.on').waitFor();
  const live = [];
  for (let i = 0; i < RUNS; i += 1) {
    const title = `Live bench ${i} ${Date.now()}`;
    const row = page.getByRole('row').filter({ hasText: title });
    device('create', '--title', title);
    device('sync');
    const synced = Date.now();
    await row.waitFor({ timeout: 10000 });
    live.push(Date.now() - synced);
  }
  line('a live update: a phone syncs a new ticket until its row shows in an open queue', live);
  await ctx.close();
  rmSync(home, { recursive: true, force: true });
} finally {
  await browser.close();
  server.kill('SIGTERM');
}
