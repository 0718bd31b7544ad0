// The world the browser tests run in: a real `fieldwork serve` on loopback with a fresh data
// directory, seeded through the CLI as people would: an admin makes tenants and users, phones and
// desks log in, report, attach a photo and edit offline.

import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const PASSWORD = 'correct horse battery';

/** A 64×48 PNG (solid colour), the stand-in for a phone's photo. */
const PHOTO_PNG =
  'iVBORw0KGgoAAAANSUhEUgAAAoAAAAHgAQMAAAAPH06nAAAABlBMVEVgltLIeCgyZ4nLAAAAe0lEQVR42u3MoQEAAAjDsP3/NLhdAC6pbwIAAAAAAAAAAAAAAAAAAAAAAAC8meMMDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ0NDQ3bApEWXKyqIi2oAAAAAElFTkSuQmCC';

const TENANT_TOML = `
[[calendars]]
name = "shanghai"
time_zone = "Asia/Shanghai"
hours = { mon = "00:00-24:00", tue = "00:00-24:00", wed = "00:00-24:00", thu = "00:00-24:00", fri = "00:00-24:00", sat = "00:00-24:00", sun = "00:00-24:00" }

[[teams]]
name = "riders"
kinds = ["help_request"]

[[technicians]]
user = "zhang.min"
team = "riders"

[[technicians]]
user = "wang.fang"
team = "riders"

[[sla_policies]]
name = "riders"
calendar = "shanghai"
first_response_minutes = 15
resolution_minutes = 120
`;

export class World {
  constructor(bin) {
    this.bin = bin;
    this.dir = mkdtempSync(join(tmpdir(), 'fieldwork-console-'));
    this.data = join(this.dir, 'data');
    this.server = null;
    this.url = null;
  }

  /** Runs the CLI; its stdout (JSON when asked with --json). */
  run(...args) {
    return execFileSync(this.bin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }

  admin(...args) {
    return this.run('admin', '--data', this.data, ...args);
  }

  device(home, ...args) {
    return this.run('device', '--home', join(this.dir, home), ...args);
  }

  /** Starts `fieldwork serve` on a free loopback port and waits for its address. */
  async start() {
    this.server = spawn(this.bin, ['serve', '--data', this.data, '--listen', '127.0.0.1:0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'warn' },
    });
    this.log = '';
    this.server.stderr.on('data', (chunk) => {
      this.log += chunk;
    });
    this.url = await new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`the server did not start:\n${this.log}`)), 30000);
      this.server.stdout.on('data', (chunk) => {
        out += chunk;
        const found = out.match(/listening on (http:\/\/\S+)/);
        if (found) {
          clearTimeout(timer);
          resolve(found[1]);
        }
      });
      this.server.on('exit', (code) => reject(new Error(`the server exited (${code}):\n${this.log}`)));
    });
  }

  stop() {
    if (this.server) this.server.kill('SIGTERM');
    rmSync(this.dir, { recursive: true, force: true });
  }

  user(tenant, role, name, team) {
    const args = ['create-user', '--tenant', tenant, '--role', role, '--name', name, '--password', PASSWORD, '--json'];
    if (team) args.push('--team', team);
    return JSON.parse(this.admin(...args)).user_id;
  }

  login(home, tenant, name) {
    this.device(home, 'login', '--server', this.url, '--tenant', tenant, '--user', name, '--password', PASSWORD);
  }

  show(home, id) {
    return JSON.parse(this.device(home, '--json', 'show', id));
  }

  /**
   * Seeds two tenants. In acme: a rider's help request with a Chinese note, a position and a
   * photo, whose priority two dispatchers then change differently while offline (a conflict);
   * two technicians with positions; an agent and an admin. In globex: a ticket of its own.
   */
  seed() {
    this.admin('create-tenant', 'acme');
    this.admin('create-tenant', 'globex');
    const ids = {
      ops: this.user('acme', 'dispatcher', 'ops'),
      desk2: this.user('acme', 'dispatcher', 'lin.dispatch'),
      agent: this.user('acme', 'agent', 'agent.amy'),
      admin: this.user('acme', 'admin', 'root'),
      rider: this.user('acme', 'rider', 'li.wei'),
      zhang: this.user('acme', 'technician', 'zhang.min', 'riders'),
      wang: this.user('acme', 'technician', 'wang.fang', 'riders'),
      globex: this.user('globex', 'dispatcher', 'g.ops'),
    };
    const toml = join(this.dir, 'tenant.toml');
    writeFileSync(toml, TENANT_TOML);
    this.admin('configure', '--tenant', 'acme', '--file', toml);

    for (const [home, tenant, name] of [
      ['phone', 'acme', 'li.wei'],
      ['desk', 'acme', 'ops'],
      ['desk2', 'acme', 'lin.dispatch'],
      ['van', 'acme', 'zhang.min'],
      ['van2', 'acme', 'wang.fang'],
      ['gdesk', 'globex', 'g.ops'],
    ]) {
      this.login(home, tenant, name);
    }
    // The technicians report where they are.
    this.device('van', 'locate', '--lat', '31.2301', '--lon', '121.4702', '--accuracy', '8');
    this.device('van', 'sync');
    this.device('van2', 'locate', '--lat', '31.2450', '--lon', '121.5000', '--accuracy', '12');
    this.device('van2', 'sync');

    // The rider asks for help with a photo.
    this.device('phone', 'help', '--lat', '31.2304', '--lon', '121.4737', '--accuracy', '10', '--order', 'ORD-77',
      '--note', '冰柜压缩机噪音很大，温度上升 (freezer compressor noise)');
    this.device('phone', 'sync');
    const photo = join(this.dir, 'freezer.png');
    writeFileSync(photo, Buffer.from(PHOTO_PNG, 'base64'));
    this.device('phone', 'attach', 'FW-000001', photo);
    this.device('phone', 'sync');
    this.device('phone', 'sync');

    // Two dispatchers get it, then set its priority apart while offline: a conflict.
    this.device('desk', 'sync');
    this.device('desk2', 'sync');
    this.device('desk', 'update', 'FW-000001', '--priority', 'low');
    this.device('desk2', 'update', 'FW-000001', '--priority', 'urgent');
    this.device('desk', 'sync');
    this.device('desk2', 'sync');

    // More tickets for the queue.
    for (const [title, category] of [
      ['Printer jammed at till 3', 'printer'],
      ['冷柜门关不上', 'freezer'],
      ['Scale shows wrong weight', 'scale'],
    ]) {
      this.device('desk', 'create', '--title', title, '--category', category);
    }
    this.device('desk', 'sync');

    // Another tenant's ticket, whose id an acme user will try.
    this.device('gdesk', 'create', '--title', 'Globex secret 机密 ticket', '--description', 'globex only');
    this.device('gdesk', 'sync');
    const globexTicket = JSON.parse(this.device('gdesk', '--json', 'list'))[0].id;
    const helpTicket = this.show('desk', 'FW-000001').id;
    mkdirSync(join(this.dir, 'out'), { recursive: true });
    return { ids, globexTicket, helpTicket };
  }
}
