// The peer's side of `bench/peers/run.sh`: the workloads of `fieldwork bench sync`, run against
// automerge-repo's own websocket sync server (started by run.sh). Every client talks to the
// server through a byte-counting TCP relay in this process, so "bytes" are what crossed the
// wire, framing included, as the Fieldwork figures are HTTP bodies plus headers.
//
//   node peer.mjs --server ws://127.0.0.1:PORT --server-pid PID --tickets N --limit SECONDS --scratch DIR
//
// Prints one JSON object on stdout. A workload that does not finish within --limit seconds is
// reported with "finished": false and the time it was given.
//
// Workloads (each as a Fieldwork device would meet it):
// - status: client A changes one ticket's status; client B, which has the ticket open, sees it.
//   Latency from A's change to B's change event; bytes both clients moved meanwhile.
// - bootstrap: a writer creates N ticket documents (shaped like Fieldwork's) and an index
//   document listing their URLs, and waits until the server holds them all. A fresh client with
//   on-disk storage then opens the index and every ticket (250 requests in flight), and flushes
//   them to its disk — what a fresh device does before it can show the queue offline.
// - resync: another client changes the title of 1% of the tickets; the bootstrapped client
//   restarts from its disk, opens every ticket again and waits until each has the new heads.

import net from "node:net"
import fs from "node:fs"
import path from "node:path"
import { Repo } from "@automerge/automerge-repo"
import { WebSocketClientAdapter } from "@automerge/automerge-repo-network-websocket"
import { NodeFSStorageAdapter } from "@automerge/automerge-repo-storage-nodefs"

const args = Object.fromEntries(
  process.argv
    .slice(2)
    .reduce((pairs, a, i, all) => (a.startsWith("--") ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []),
)
const serverUrl = new URL(args.server ?? "ws://127.0.0.1:3030")
const tickets = Number(args.tickets ?? 1000)
const limitMs = Number(args.limit ?? 300) * 1000
const scratch = args.scratch ?? fs.mkdtempSync("/tmp/peer-")

/** A TCP relay to the sync server counting bytes each way; one per client. */
async function relay() {
  const counted = { up: 0, down: 0 }
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(serverUrl.port), serverUrl.hostname)
    client.on("data", (b) => {
      counted.up += b.length
      upstream.write(b)
    })
    upstream.on("data", (b) => {
      counted.down += b.length
      client.write(b)
    })
    const end = () => {
      client.destroy()
      upstream.destroy()
    }
    client.on("close", end)
    upstream.on("close", end)
    client.on("error", end)
    upstream.on("error", end)
  })
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve))
  return { url: `ws://127.0.0.1:${server.address().port}`, counted, server }
}

/** A client repo through its own relay, with on-disk storage if `dir` is given. */
async function client(name, dir) {
  const r = await relay()
  const repo = new Repo({
    network: [new WebSocketClientAdapter(r.url)],
    storage: dir ? new NodeFSStorageAdapter(dir) : undefined,
    peerId: `${name}-${process.pid}`,
  })
  // Wait until the server has said who it is (its storage id comes with it).
  const started = Date.now()
  while (!serverStorageId(repo)) {
    if (Date.now() - started > 10_000) throw new Error(`${name}: the sync server did not answer`)
    await sleep(10)
  }
  return { repo, counted: r.counted, relay: r.server }
}

function serverStorageId(repo) {
  return Object.values(repo.peerMetadataByPeerId).find((m) => m?.storageId)?.storageId
}

async function close(c) {
  await c.repo.shutdown()
  c.relay.close()
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** Runs `work` with a deadline; `{ finished, ms }` either way. */
async function timed(work) {
  const started = performance.now()
  let timer
  const deadline = new Promise((resolve) => {
    timer = setTimeout(() => resolve("late"), limitMs)
  })
  const outcome = await Promise.race([work().then(() => "done"), deadline])
  clearTimeout(timer)
  return { finished: outcome === "done", ms: Math.round(performance.now() - started) }
}

/** Documents created or requested at a time (see the setup below). */
const BATCH = 250
/** Documents one setup client writes. */
const PER_WRITER = 1000

/** Runs `work` on every item with at most BATCH at a time. */
async function inFlight(items, work) {
  let next = 0
  const worker = async () => {
    while (next < items.length) await work(items[next++])
  }
  await Promise.all(Array.from({ length: Math.min(BATCH, items.length) }, worker))
}

const PRIORITIES = ["low", "normal", "high", "urgent"]

/** A ticket document with the keys Fieldwork's has when a dispatcher creates one. */
function ticket(i) {
  const now = Date.now()
  return {
    v: 1,
    id: crypto.randomUUID(),
    tenant: "bench",
    kind: "repair",
    channel: "app",
    title: `Ticket ${i}: freezer alarm at store ${i % 97}`,
    category: "",
    priority: PRIORITIES[i % 4],
    status: "new",
    description: "Temperature above −12 °C for 20 minutes; customer moved stock.",
    reporter: { user_id: "dispatcher", role: "dispatcher", name: "ops" },
    assignee: null,
    team: null,
    sla: {},
    notes: [],
    attachments: {},
    events: [{ type: "created", by: "dispatcher", at_device: now, data: {} }],
    parts_used: [],
    checklist: {},
    tags: {},
    custom: {},
  }
}

/** Waits until the server has acknowledged every handle's current heads. */
async function untilServerHas(repo, handles) {
  const storageId = serverStorageId(repo)
  for (const h of handles) {
    for (;;) {
      const theirs = h.getSyncInfo(storageId)?.lastHeads
      const ours = h.heads()
      if (theirs && theirs.length === ours.length && ours.every((x) => theirs.includes(x))) break
      await sleep(5)
    }
  }
}

/** Resident memory of a process in MiB (Linux; `field` VmRSS or RssAnon), or null. */
function rssMib(pid, field = "VmRSS") {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8")
    const kb = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)[1]
    return Math.round((Number(kb) / 1024) * 10) / 10
  } catch {
    return null
  }
}

const sameHeads = (a, b) => a.length === b.length && a.every((x) => b.includes(x))

const result = { engine: "automerge-repo", tickets, limit_s: limitMs / 1000 }
// A lost connection (the sync server gone) is thrown from the websocket adapter's event
// handler: report what was measured so far, and the failure.
process.on("uncaughtException", (e) => {
  result.error = String(e?.message ?? e)
  result.server_rss_mib_end = rssMib(args["server-pid"])
  result.server_anon_mib_end = rssMib(args["server-pid"], "RssAnon")
  console.log(JSON.stringify(result))
  process.exit(0)
})

// 1. One status change to a second client.
{
  const a = await client("status-a")
  const b = await client("status-b")
  const handle = a.repo.create(ticket(0))
  await untilServerHas(a.repo, [handle])
  const seen = await b.repo.find(handle.url)
  const before = { up: a.counted.up + b.counted.up, down: a.counted.down + b.counted.down }
  const arrived = new Promise((resolve) => seen.on("change", resolve))
  const run = await timed(async () => {
    handle.change((d) => {
      d.status = "accepted"
      d.events.push({ type: "status", by: "tech", at_device: Date.now(), data: { to: "accepted" } })
    })
    await arrived
  })
  await sleep(200) // acknowledgements still in flight count too
  result.status_change = {
    ...run,
    bytes_up: a.counted.up + b.counted.up - before.up,
    bytes_down: a.counted.down + b.counted.down - before.down,
  }
  await close(a)
  await close(b)
}

// 2. Bootstrap.
// Setup, not timed. One client holding thousands of documents slows down with every one it
// holds (2,000 in 10 s, 4,000 in 43 s on this machine), and an unanswered request made the sync
// server give up on a document after 60 s and exit (its repo's `withTimeout`). So the tickets
// are written by one short-lived client per 1,000, in batches each acknowledged before the next.
const made = performance.now()
const urls = []
const heads = new Map()
for (let i = 0; i < tickets; i += PER_WRITER) {
  const writer = await client(`writer-${i}`)
  for (let j = i; j < Math.min(tickets, i + PER_WRITER); j += BATCH) {
    const batch = []
    for (let k = j; k < Math.min(tickets, i + PER_WRITER, j + BATCH); k++) {
      batch.push(writer.repo.create(ticket(k)))
    }
    await untilServerHas(writer.repo, batch)
    for (const h of batch) {
      urls.push(h.url)
      heads.set(h.url, h.heads())
    }
  }
  await close(writer)
}
const indexWriter = await client("index")
const index = indexWriter.repo.create({ tickets: urls })
await untilServerHas(indexWriter.repo, [index])
await close(indexWriter)
result.setup_ms = Math.round(performance.now() - made)

const deviceDir = path.join(scratch, "device")
fs.rmSync(deviceDir, { recursive: true, force: true })
{
  const fresh = await client("fresh", deviceDir)
  const run = await timed(async () => {
    const list = await fresh.repo.find(index.url)
    await inFlight(list.doc().tickets, (url) => fresh.repo.find(url))
    await fresh.repo.flush()
  })
  result.bootstrap = { ...run, bytes_up: fresh.counted.up, bytes_down: fresh.counted.down }
  await close(fresh)
}

// 3. Resync with 1% changed (only if the bootstrap finished: the disk must hold every ticket).
if (result.bootstrap.finished) {
  const changer = await client("changer")
  const changed = []
  for (const url of urls.slice(0, Math.max(1, Math.floor(tickets / 100)))) {
    const h = await changer.repo.find(url)
    h.change((d) => (d.title = `${d.title} (rechecked)`))
    changed.push(h)
  }
  await untilServerHas(changer.repo, changed)
  for (const h of changed) heads.set(h.url, h.heads())
  await close(changer)
  const again = await client("again", deviceDir)
  const run = await timed(async () => {
    const list = await again.repo.find(index.url)
    await inFlight(list.doc().tickets, async (url) => {
      const h = await again.repo.find(url)
      while (!sameHeads(h.heads(), heads.get(url))) await sleep(5)
    })
  })
  result.resync = {
    ...run,
    changed: changed.length,
    bytes_up: again.counted.up,
    bytes_down: again.counted.down,
  }
  await close(again)
}
result.server_rss_mib_end = rssMib(args["server-pid"])
result.server_anon_mib_end = rssMib(args["server-pid"], "RssAnon")

console.log(JSON.stringify(result))
process.exit(0)
