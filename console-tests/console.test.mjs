// The console in headless Chromium against a real `fieldwork serve` (world.mjs seeds it through
// the CLI). Every page is checked with axe-core (no serious or critical violation) and saved as a
// screenshot under $CONSOLE_OUT (default ../target/console-tests); a page that breaks the
// Content-Security-Policy or logs an error fails its test.
//
//   FIELDWORK_BIN=target/debug/fieldwork node --test console-tests/

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

import { PASSWORD, World } from './world.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const BIN = resolve(process.env.FIELDWORK_BIN || join(here, '..', 'target', 'debug', 'fieldwork'));
const OUT = resolve(process.env.CONSOLE_OUT || join(here, '..', 'target', 'console-tests'));
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

/** A 640x480 PNG (the README's stand-in photo). */
const PNG_640 =
  'iVBORw0KGgoAAAANSUhEUgAAAoAAAAHgAQMAAAAPH06nAAAABlBMVEVgltLIeCgyZ4nLAAAAe0lEQVR42u3MoQEAAAjDsP3/NLhdAC6pbwIAAAAAAAAAAAAAAAAAAAAAAAC8meMMDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ3bApEWXKyqIi2oAAAAAElFTkSuQmCC';

let world;
let seeded;
let browser;

before(async () => {
  mkdirSync(OUT, { recursive: true });
  world = new World(BIN);
  await world.start();
  seeded = world.seed();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
});

after(async () => {
  if (browser) await browser.close();
  if (world) world.stop();
});

/** A new browser (its own cookies) in `locale`, with every console error collected. */
async function open(locale = 'en-GB') {
  const context = await browser.newContext({ locale, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.problems = [];
  page.on('console', (message) => {
    if (message.type() === 'error') page.problems.push(message.text());
  });
  page.on('pageerror', (error) => page.problems.push(String(error)));
  // Failed answers by address (the console's own line for them names none).
  page.failures = [];
  page.on('response', (response) => {
    const probe = response.status() === 401 && new URL(response.url()).pathname === '/api/v1/session';
    if (response.status() >= 400 && !probe) page.failures.push(`${response.status()} ${response.url()}`);
  });
  return page;
}

async function signIn(page, name, tenant = 'acme') {
  await page.goto(`${world.url}/`);
  await page.getByLabel(/Organisation|机构/).fill(tenant);
  await page.getByLabel(/User name|用户名/).fill(name);
  await page.getByLabel(/^Password|^密码/).fill(PASSWORD);
  await page.getByRole('button', { name: /Sign in|登录/ }).click();
  await page.getByRole('navigation').waitFor();
}

/** axe-core on the page as it stands: no serious or critical violation. */
async function accessible(page, what) {
  await page.evaluate(`${AXE}\n;true`);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join('; ')})`),
    [],
    `${what}: accessibility violations`,
  );
}

async function shot(page, name) {
  await page.screenshot({ path: join(OUT, `${name}.png`), fullPage: true });
}

/**
 * No error in the browser's console (a policy violation, a script error) and no failed answer.
 * The one expected: the first `GET /api/v1/session` of a browser not signed in yet is a 401
 * (the session cookie is HttpOnly; asking is how to know).
 */
function clean(page, what) {
  const problems = page.problems.filter((p) => !p.startsWith('Failed to load resource'));
  assert.deepEqual([...problems, ...page.failures], [], `${what}: errors in the browser`);
}

test('a browser opening the server lands on the sign-in, and a wrong password is said plainly', async () => {
  const page = await open();
  await page.goto(`${world.url}/`);
  await page.waitForURL(/\/console\/sign-in/);
  await page.getByLabel('Organisation').fill('acme');
  await page.getByLabel('User name').fill('ops');
  await page.getByLabel(/^Password/).fill('not the password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('alert').getByText('That name and password do not match.').waitFor();
  await accessible(page, 'sign-in');
  await shot(page, '01-sign-in');
  await page.context().close();
});

test('a dispatcher finds a ticket by a Chinese search, sees its photo and conflict, settles it and assigns from the suggestions', async () => {
  const page = await open();
  await signIn(page, 'ops');
  await page.getByRole('heading', { name: 'Tickets' }).waitFor();
  await accessible(page, 'queue');
  await shot(page, '02-queue');
  clean(page, 'queue');

  await page.getByRole('searchbox', { name: 'Search' }).fill('压缩机');
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  await page.getByText('1 ticket', { exact: true }).waitFor();
  const row = page.getByRole('row').filter({ hasText: 'FW-000001' });
  await row.waitFor();
  await shot(page, '03-queue-search');
  await row.getByRole('link').click();

  await page.waitForURL(new RegExp(`/console/tickets/${seeded.helpTicket}`));
  await page.getByRole('heading', { name: /Conflicting offline edits/ }).waitFor();
  const photo = page.getByRole('img', { name: /Photo 1 of the ticket/ });
  await photo.waitFor();
  assert.ok(await photo.evaluate((img) => img.complete && img.naturalWidth > 0), 'the photo thumbnail loads');
  await page.getByText('冰柜压缩机噪音很大').waitFor();
  // The SLA as a timeline on the business calendar, told in words as well as drawn.
  const sla = page.getByRole('region', { name: 'SLA timeline' });
  await sla.getByRole('heading', { name: /^First response: due / }).waitFor();
  await sla.getByRole('heading', { name: /^Resolution: due / }).waitFor();
  await sla.getByText('Calendar shanghai (Asia/Shanghai); policy riders').waitFor();
  await sla.getByText('Each stretch').first().click();
  await sla.getByRole('listitem').filter({ hasText: /– .*: running$/ }).first().waitFor();
  await accessible(page, 'ticket');
  await shot(page, '04-ticket-conflict');

  // The conflict: both values offered; keeping "Urgent" is an ordinary edit that ends it.
  await page.getByRole('button', { name: 'Keep “Low”' }).waitFor();
  await page.getByRole('button', { name: 'Keep “Urgent”' }).click();
  await page.getByRole('heading', { name: /Conflicting offline edits/ }).waitFor({ state: 'detached' });
  const ticket = await page.evaluate((id) => fetch(`/api/v1/tickets/${id}`).then((r) => r.json()), seeded.helpTicket);
  assert.equal(ticket.priority, 'urgent');
  assert.deepEqual(ticket.conflicts, []);

  // Assign from the brain's suggestions, by name.
  const assign = page.getByRole('button', { name: /Assign to wang\.fang|Assign to zhang\.min/ }).first();
  const label = await assign.textContent();
  const name = label.replace('Assign to ', '').trim();
  await assign.click();
  await page.getByText(new RegExp(`Assignee: ${name.replace('.', '\\.')}`)).waitFor();
  await shot(page, '05-ticket-assigned');
  const after = await page.evaluate((id) => fetch(`/api/v1/tickets/${id}`).then((r) => r.json()), seeded.helpTicket);
  assert.equal(after.people[after.assignee].name, name);
  // People by name, never a bare user id.
  const text = await page.locator('main').innerText();
  for (const id of Object.values(seeded.ids)) assert.ok(!text.includes(id), `a bare user id is shown: ${id}`);
  clean(page, 'ticket');
  await page.context().close();
});

test("a ticket about an asset lists the asset's other tickets, and one click opens them", async () => {
  const page = await open();
  await signIn(page, 'ops');
  await page.getByRole('heading', { name: 'Tickets' }).waitFor();
  // Two tickets about the same fridge, made through the API as the console would make them.
  const made = await page.evaluate(async () => {
    const csrf = decodeURIComponent(document.cookie.match(/(?:^|;\s*)fw_csrf=([^;]*)/)[1]);
    const create = (body) =>
      fetch('/api/v1/tickets', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
        body: JSON.stringify(body),
      }).then((r) => r.json());
    const asset = { serial: 'FR-2231', model: 'Haier SC-340' };
    const first = await create({ title: 'Fridge warm in aisle 3', asset });
    const second = await create({ title: 'Fridge warm again', asset });
    return { first: first.id, second: second.id };
  });
  await page.goto(`${world.url}/console/tickets/${made.second}`);
  await page.getByRole('heading', { name: 'Tickets about this asset' }).waitFor();
  const earlier = page.getByRole('link', { name: /Fridge warm in aisle 3/ });
  await earlier.waitFor();
  await accessible(page, 'ticket-asset');
  await shot(page, '05b-ticket-asset');
  await earlier.click();
  await page.waitForURL(new RegExp(`/console/tickets/${made.first}`));
  await page.getByRole('link', { name: /Fridge warm again/ }).waitFor();
  clean(page, 'ticket-asset');
  await page.context().close();
});

test("an admin makes an IoT channel in settings, and a machine's alarms fold into one ticket the console shows", async () => {
  const page = await open();
  await signIn(page, 'root');
  await page.goto(`${world.url}/console/settings`);
  await page.getByRole('heading', { name: 'Intake channels' }).waitFor();
  const form = page.getByRole('form', { name: 'New channel' });
  await form.getByLabel('Kind').selectOption('iot');
  await form.getByLabel('Name').fill('Freezer alarms');
  await form.getByRole('button', { name: 'Create' }).click();
  const made = page.getByRole('status').filter({ hasText: 'Token (shown once)' });
  await made.waitFor();
  const token = /fwc_[0-9a-f]+/.exec(await made.textContent())[0];
  await page.getByRole('cell', { name: 'Freezer alarms', exact: true }).waitFor();
  await accessible(page, 'settings-channels');
  await shot(page, '13b-settings-channels');
  // The machine posts three alarms (as an IoT platform would, with the token).
  const answers = await page.evaluate(async (token) => {
    const out = [];
    for (const [value, minute] of [[-6, 10], [-3, 11], [-4, 12]]) {
      const r = await fetch('/intake/iot', {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ asset: 'FR-77', metric: 'temperature_c', value, threshold: -12, severity: 'warning', at: `2026-12-01T08:${minute}:00Z` }),
      });
      out.push(await r.json());
    }
    return out;
  }, token);
  assert.deepEqual(answers.map((a) => a.outcome), ['created', 'folded', 'folded']);
  await page.goto(`${world.url}/console/tickets/${answers[0].ticket_id}`);
  await page.getByRole('heading', { name: 'Alarms' }).waitFor();
  await page.getByText('3 alarms of temperature_c').waitFor({ timeout: 10_000 }).catch(async () => {
    // The fold is written within a second or two; look again.
    await page.reload();
    await page.getByText('3 alarms of temperature_c').waitFor();
  });
  await page.getByText('Last -4, worst -3, threshold -12').waitFor();
  await page.getByText('Freezer alarms').first().waitFor();
  await accessible(page, 'ticket-alarms');
  await shot(page, '05c-ticket-alarms');
  clean(page, 'ticket-alarms');
  await page.context().close();
});

test("an agent drafts an article, an admin's publish sends it to a technician's device, and the rider's never gets it", async () => {
  const page = await open();
  await signIn(page, 'agent.amy');
  await page.getByRole('link', { name: 'Knowledge base' }).click();
  await page.getByRole('button', { name: 'New article' }).click();
  const form = page.getByRole('form', { name: 'New article' });
  await form.getByLabel('Title').fill('冷柜温度报警怎么办');
  await form.getByLabel('Readers').selectOption('staff');
  await form.getByLabel('Category').fill('refrigeration');
  await form.getByLabel(/^Tags/).fill('冷柜, alarm');
  await form.getByLabel(/^Text/).fill('# 步骤\n1. 检查门封。\n2. Clean the **condenser** coil.\n\n<img src=x onerror="alert(1)"> [guide](javascript:alert(1))');
  // The preview draws the Markdown as it is typed; markup in the text stays text.
  const preview = page.getByRole('region', { name: 'Preview' });
  await preview.getByRole('heading', { name: '步骤' }).waitFor();
  assert.equal(await preview.getByRole('listitem').count(), 2);
  assert.equal(await preview.locator('strong').textContent(), 'condenser');
  await preview.getByText('<img src=x onerror="alert(1)">', { exact: false }).waitFor();
  assert.equal(await preview.locator('img, a').count(), 0, 'no element from the text, no javascript: link');
  // A picture goes through the API into the text, and the preview shows it.
  await form.getByLabel(/^Add a picture/).setInputFiles({ name: 'door seal.png', mimeType: 'image/png', buffer: Buffer.from(PNG_640, 'base64') });
  await page.getByText('Picture added to the text.').waitFor();
  assert.match(await form.getByLabel(/^Text/).inputValue(), /!\[door seal\]\(kb-image:[0-9a-f]{64}\)/);
  await preview.getByRole('img', { name: 'door seal' }).waitFor();
  await page.waitForFunction(() => [...document.querySelectorAll('.kb-preview img')].every((i) => i.complete && i.naturalWidth > 0));
  await form.getByRole('button', { name: 'Save as a new version' }).click();
  await page.getByText('Draft (v1), not published').waitFor();
  assert.match(page.url(), /\/console\/knowledge\/[0-9a-f-]+$/);
  await page.getByText('Supervisors and admins publish.').waitFor();
  assert.equal(await page.getByRole('button', { name: 'Publish' }).count(), 0, 'agents write, supervisors publish');
  const articleUrl = page.url();
  await page.context().close();

  const boss = await open();
  await signIn(boss, 'root');
  await boss.goto(`${world.url}/console/knowledge`);
  await boss.getByRole('link', { name: '冷柜温度报警怎么办' }).click();
  await boss.getByRole('button', { name: 'Publish' }).click();
  await boss.getByText('Published: readers get version 1 on their next sync.').waitFor();
  await boss.getByText('Published (v1)').waitFor();
  world.device('van', 'sync');
  world.device('phone', 'sync');
  const found = JSON.parse(world.device('van', '--json', 'kb', 'search', '冷柜'));
  assert.deepEqual(found.map((h) => h.title), ['冷柜温度报警怎么办']);
  assert.deepEqual(JSON.parse(world.device('phone', '--json', 'kb', 'search', '冷柜')), [], 'internal: never on the rider\'s phone');
  // A ticket about a warm fridge is offered the article, with why.
  const fridge = await boss.evaluate(async () => {
    const csrf = decodeURIComponent(document.cookie.match(/(?:^|;\s*)fw_csrf=([^;]*)/)[1]);
    const r = await fetch('/api/v1/tickets', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
      body: JSON.stringify({ title: '冷柜温度报警', description: 'Freezer alarm at the back door', category: 'refrigeration' }),
    });
    return r.json();
  });
  await boss.goto(`${world.url}/console/tickets/${fridge.id}`);
  const offered = boss.getByRole('region', { name: 'Articles about this ticket' });
  await offered.getByRole('link', { name: '冷柜温度报警怎么办' }).waitFor();
  await offered.getByText(/same category · shares: .*冷柜/).waitFor();
  await offered.scrollIntoViewIfNeeded();
  await shot(boss, '05e-ticket-articles');
  await boss.goBack();
  // A later save is a draft beside what readers have.
  await boss.getByLabel('Title').fill('冷柜温度报警：先查门封');
  await boss.getByRole('button', { name: 'Save as a new version' }).click();
  await boss.getByText('Published v1; draft v2 not published yet').waitFor();
  await boss.getByText('What readers get (version 1)').click();
  await boss.locator('details strong').filter({ hasText: 'condenser' }).waitFor();
  await accessible(boss, 'knowledge-editor');
  await shot(boss, '15-knowledge-editor');
  await boss.goto(`${world.url}/console/knowledge`);
  await boss.getByRole('cell', { name: 'Published v1; draft v2 not published yet' }).waitFor();
  await accessible(boss, 'knowledge-list');
  await shot(boss, '15b-knowledge-list');
  clean(boss, 'knowledge');
  assert.ok(articleUrl.includes('/console/knowledge/'));
  await boss.context().close();
});

test('an admin imports the asset register: a bad line imports nothing and says where, a good file imports every row', async () => {
  const page = await open();
  await signIn(page, 'root');
  await page.goto(`${world.url}/console/settings`);
  await page.getByRole('heading', { name: 'Asset register' }).waitFor();
  const form = page.getByRole('form', { name: 'Import' });
  const header = 'serial,model,site_address,warranty_until,owner_name';
  await form.getByLabel(/^Or paste it/).fill(`${header}\nPOS-901,Sunmi T2,Nanjing Rd 1,2027-06-30,Chen\nPOS-902,Sunmi T2,Nanjing Rd 3,next year,Chen`);
  await form.getByRole('button', { name: 'Import' }).click();
  await page.getByText('Nothing was imported.', { exact: false }).waitFor();
  await page.getByText(/line 3: .*warranty_until/).waitFor();
  assert.equal(await page.getByRole('cell', { name: 'POS-901' }).count(), 0, 'all rows or none');
  await form.getByLabel(/^Or paste it/).fill(`${header}\nPOS-901,Sunmi T2,Nanjing Rd 1,2027-06-30,Chen\nPOS-902,Sunmi T2,Nanjing Rd 3,2027-12-31,Chen`);
  await form.getByRole('button', { name: 'Import' }).click();
  await page.getByText('Imported 2 machines.').waitFor();
  await page.getByRole('cell', { name: 'POS-902' }).waitFor();
  const search = page.getByRole('search', { name: /Find a machine/ });
  await search.getByLabel(/Find a machine/).fill('Rd 3');
  await search.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('cell', { name: 'POS-901' }).waitFor({ state: 'detached' });
  await page.getByRole('cell', { name: 'POS-902' }).waitFor();
  await accessible(page, 'settings-assets');
  await page.getByRole('heading', { name: 'Asset register' }).scrollIntoViewIfNeeded();
  await shot(page, '13c-settings-assets');
  clean(page, 'settings-assets');
  await page.context().close();
});

test("an email's PDF shows on its ticket as a file to download, its photo as a picture", async () => {
  const page = await open();
  await signIn(page, 'root');
  const raw = readFileSync(join(here, '..', 'server', 'tests', 'fixtures', 'email', 'photo-and-pdf.eml'), 'utf8');
  const delivered = await page.evaluate(async (raw) => {
    const csrf = decodeURIComponent(document.cookie.match(/(?:^|;\s*)fw_csrf=([^;]*)/)[1]);
    const made = await fetch('/api/v1/channels', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
      body: JSON.stringify({ kind: 'email', name: 'Support mailbox' }),
    }).then((r) => r.json());
    const r = await fetch('/intake/email', {
      method: 'POST',
      headers: { authorization: `Bearer ${made.token}`, 'content-type': 'message/rfc822' },
      body: raw,
    });
    return r.json();
  }, raw);
  assert.equal(delivered.outcome, 'created');
  await page.goto(`${world.url}/console/tickets/${delivered.ticket_id}`);
  const link = page.getByRole('link', { name: /Download invoice\.pdf/ });
  await link.waitFor();
  assert.equal(await link.getAttribute('download'), 'invoice.pdf');
  const answer = await page.evaluate(async (href) => {
    const r = await fetch(href);
    return { type: r.headers.get('content-type'), disposition: r.headers.get('content-disposition'), start: (await r.text()).slice(0, 8) };
  }, await link.getAttribute('href'));
  assert.deepEqual(answer, { type: 'application/pdf', disposition: 'attachment', start: '%PDF-1.4' });
  await page.locator('.photo-item img').first().waitFor();
  await accessible(page, 'ticket-email-files');
  await shot(page, '05d-ticket-email-files');
  clean(page, 'ticket-email-files');
  await page.context().close();
});

test('a saved view keeps its filters and follows the person to another browser', async () => {
  const page = await open();
  await signIn(page, 'ops');
  await page.getByRole('heading', { name: 'Tickets' }).waitFor();
  await page.getByRole('search').getByLabel('Priority', { exact: true }).selectOption('urgent');
  await page.getByText('1 ticket', { exact: true }).waitFor();
  await page.getByLabel('Name of the view').fill('紧急工单');
  await page.getByRole('button', { name: 'Save this view' }).click();
  await page.getByRole('button', { name: 'Delete view 紧急工单' }).waitFor();
  await page.context().close();

  const elsewhere = await open();
  await signIn(elsewhere, 'ops');
  await elsewhere.getByRole('heading', { name: 'Tickets' }).waitFor();
  await elsewhere.getByRole('combobox', { name: 'Saved views' }).selectOption({ label: '紧急工单' });
  await elsewhere.waitForURL(/priority=urgent/);
  await elsewhere.getByText('1 ticket', { exact: true }).waitFor();
  assert.equal(await elsewhere.getByRole('row').filter({ hasText: 'FW-000001' }).count(), 1);
  await accessible(elsewhere, 'queue with a saved view');
  clean(elsewhere, 'saved views');
  await elsewhere.context().close();
});

test('a change a device makes appears in the open queue without a reload', async () => {
  const page = await open();
  await signIn(page, 'ops');
  await page.getByRole('heading', { name: 'Tickets' }).waitFor();
  // The event stream is connected.
  await page.locator('.live.on').waitFor();
  await page.evaluate(() => {
    window.stillThisPage = true;
  });
  world.device('phone', 'create', '--title', 'Live: 电动车链条断了');
  world.device('phone', 'sync');
  const row = page.getByRole('row').filter({ hasText: 'Live: 电动车链条断了' });
  await row.waitFor({ timeout: 10000 });
  assert.equal(await page.evaluate(() => window.stillThisPage), true, 'the page was not reloaded');
  await shot(page, '06-queue-live');
  clean(page, 'live queue');
  await page.context().close();
});

test('the queue is usable by keyboard: j moves to a row, Enter opens it', async () => {
  const page = await open();
  await signIn(page, 'ops');
  await page.getByRole('heading', { name: 'Tickets' }).waitFor();
  await page.getByRole('row').nth(1).waitFor();
  await page.locator('main').click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('j');
  const focused = await page.evaluate(() => document.activeElement.getAttribute('data-row-link'));
  assert.equal(focused, '1');
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/console\/tickets\//);
  await page.getByRole('heading', { name: 'Timeline', exact: true }).waitFor();
  await page.context().close();
});

test('an agent sees no settings, and the server refuses them anyway', async () => {
  const page = await open();
  await signIn(page, 'agent.amy');
  const nav = page.getByRole('navigation');
  assert.equal(await nav.getByRole('link', { name: 'Settings' }).count(), 0);
  await page.goto(`${world.url}/console/settings`);
  await page.getByText('Your role may not open this page.').waitFor();
  const status = await page.evaluate(() => fetch('/api/v1/config').then((r) => r.status));
  assert.equal(status, 403);
  await shot(page, '07-agent-settings-refused');
  await page.context().close();
});

test("another tenant's ticket id in the address shows nothing of it", async () => {
  const page = await open();
  await signIn(page, 'ops');
  await page.goto(`${world.url}/console/tickets/${seeded.globexTicket}`);
  await page.getByText(/Nothing here/).waitFor();
  const text = await page.content();
  assert.ok(!text.includes('Globex secret'), 'the other tenant’s title leaked');
  assert.ok(!text.includes('globex only'), 'the other tenant’s description leaked');
  await shot(page, '08-other-tenant');
  await page.context().close();
});

test('every page passes axe, in Chinese too, and is saved as a screenshot', async () => {
  const page = await open('zh-CN');
  await signIn(page, 'root');
  await page.getByRole('heading', { name: '工单' }).waitFor();
  await accessible(page, 'queue (zh)');
  await shot(page, '09-queue-zh');
  for (const [path, heading, name] of [
    ['sla', 'SLA 看板', '10-sla'],
    ['map', '调度地图', '11-map'],
    ['reports', '报表', '12-reports'],
    ['knowledge', '知识库', '12b-knowledge'],
    ['settings', '设置', '13-settings'],
    [`tickets/${seeded.helpTicket}`, '时间线', '14-ticket-zh'],
  ]) {
    await page.getByRole('navigation').waitFor();
    await page.goto(`${world.url}/console/${path}`);
    await page.getByRole('heading', { name: heading }).first().waitFor();
    await page.waitForLoadState('networkidle');
    await accessible(page, path);
    await shot(page, name);
  }
  clean(page, 'pages');
  await page.context().close();
});
