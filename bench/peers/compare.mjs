// Sets `fieldwork bench sync --json` beside peer.mjs's figures, as run.sh collected them:
//
//   node compare.mjs RESULTS_DIR [--json FILE]
//
// RESULTS_DIR holds fieldwork-N.json and peer-N.json for each ticket count N. Prints a Markdown
// table with the ratio peer / Fieldwork (above 1: Fieldwork takes less), and with --json writes
// { runs: [{ tickets, fieldwork, peer, ratios }] } to FILE.

import fs from "node:fs"
import path from "node:path"

const dir = process.argv[2]
const jsonAt = process.argv.indexOf("--json")
const jsonOut = jsonAt > 0 ? process.argv[jsonAt + 1] : null

const counts = fs
  .readdirSync(dir)
  .map((f) => /^fieldwork-(\d+)\.json$/.exec(f)?.[1])
  .filter(Boolean)
  .map(Number)
  .sort((a, b) => a - b)

const read = (f) => JSON.parse(fs.readFileSync(path.join(dir, f), "utf8").trim().split("\n").pop())

/** The rows: a name, how to read each side, and the unit. */
const ROWS = [
  ["1 status change to a second client: latency", (r) => r.status_change, (w) => w.ms, "ms"],
  ["1 status change: bytes up + down", (r) => r.status_change, (w) => w.bytes_up + w.bytes_down, "B"],
  ["fresh client bootstrap: time", (r) => r.bootstrap, (w) => w.ms, "ms"],
  // Fieldwork lists new tickets from the server's summaries and loads each document afterwards
  // (docs/adr/0018-list-first-check-later.md); an automerge-repo client has loaded every
  // document when its bootstrap ends. This row is both sides with every document loaded.
  ["fresh client bootstrap, every document loaded: time", (r) => r.bootstrap, (w) => w.checked_ms ?? w.ms, "ms"],
  ["fresh client bootstrap: bytes down", (r) => r.bootstrap, (w) => w.bytes_down, "B"],
  ["resync, 1% changed: time", (r) => r.resync, (w) => w.ms, "ms"],
  ["resync, 1% changed: bytes up + down", (r) => r.resync, (w) => w.bytes_up + w.bytes_down, "B"],
  ["server memory at the end (RSS)", (r) => r, (w) => w.server_rss_mib_end, "MiB"],
  ["server memory at the end (anonymous: heap and stacks)", (r) => r, (w) => w.server_anon_mib_end, "MiB"],
]

function shown(workload, value, unit, limit, error) {
  if (!workload) return error ? `failed: ${error}` : "not run (bootstrap did not finish)"
  if (workload.finished === false) return `did not finish in ${limit} s`
  if (value === null || value === undefined) return "—"
  if (unit === "B") return value >= 10240 ? `${(value / 1024).toFixed(1)} KiB` : `${value} B`
  return `${(Math.round(value * 10) / 10).toLocaleString("en")} ${unit}`
}

const runs = []
console.log("| workload | tickets | Fieldwork | automerge-repo | ratio (automerge-repo / Fieldwork) |")
console.log("| --- | --- | --- | --- | --- |")
for (const n of counts) {
  const fieldwork = read(`fieldwork-${n}.json`)
  const peer = read(`peer-${n}.json`)
  const ratios = {}
  for (const [name, pick, value, unit] of ROWS) {
    const ours = value(pick(fieldwork))
    const theirWorkload = pick(peer)
    const theirs = theirWorkload && theirWorkload.finished !== false ? value(theirWorkload) : null
    let ratio = "—"
    if (theirs !== null && theirs !== undefined && ours > 0) {
      ratios[name] = theirs / ours
      ratio = `${(theirs / ours).toFixed(1)}×`
    } else if (theirWorkload?.finished === false && ours > 0) {
      ratios[name] = `> ${((peer.limit_s * 1000) / ours).toFixed(0)}`
      ratio = `> ${((peer.limit_s * 1000) / ours).toFixed(0)}×`
    }
    console.log(
      `| ${name} | ${n.toLocaleString("en")} | ${shown(pick(fieldwork), ours, unit)} | ${shown(theirWorkload, theirs, unit, peer.limit_s, peer.error)} | ${ratio} |`,
    )
  }
  runs.push({ tickets: n, fieldwork, peer, ratios })
}
if (jsonOut) fs.writeFileSync(jsonOut, JSON.stringify({ runs }, null, 2) + "\n")
