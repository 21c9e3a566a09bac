/**
 * The status page at `/`: one HTML document with inline style and script, no build step and no
 * external assets. It polls `/status` every 2 s (the supervision tree with each actor's state,
 * incarnation, restarts, heartbeat age and data freshness; jobs and backups when `/status` has
 * them); it reads the latest prices (`/prices/btc|eth/latest`) and the BTC strike table once and
 * then takes them live from `GET /market/stream` (`EventSource`) as they are committed, polling
 * them every 5 s only while that stream is down; and it shows supervision events live from `GET /events/stream` (`EventSource`, which reconnects and
 * replays by itself), newest first, after loading the recent ones from `/events`; the model's
 * reliability diagram and the first user's P&L curve come from `status_page_journal.ts`.
 *
 * Everything shown is escaped; the page never sends the status token and has no control buttons.
 *
 * @module
 */
import { JOURNAL_HTML, JOURNAL_SCRIPT, JOURNAL_STYLE } from "./status_page_journal.ts";

const STYLE = `
:root{--ok:#0a7a28;--warn:#b36200;--bad:#c0182b;--mute:#6b7280;--line:#e5e7eb}
*{box-sizing:border-box}
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#111;background:#f8fafc}
header{display:flex;flex-wrap:wrap;gap:.4rem 1.2rem;align-items:baseline;padding:.8rem 1.2rem;background:#0f172a;color:#f8fafc}
header h1{font-size:1.15rem;margin:0 .6rem 0 0}header small{color:#cbd5e1}
main{display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:1rem;padding:1rem 1.2rem}
section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:.6rem .9rem;overflow:auto}
section.wide{grid-column:1/-1}
h2{font-size:1rem;margin:.2rem 0 .5rem}
table{border-collapse:collapse;width:100%}td,th{padding:.22rem .5rem;border-bottom:1px solid var(--line);text-align:left;white-space:nowrap}
th{font-weight:600;color:#374151;font-size:.85rem}td.num{text-align:right;font-variant-numeric:tabular-nums}
.tree{color:var(--mute);font-family:ui-monospace,monospace}
.running,.yes,.fresh,.ok{color:var(--ok)}.degraded,.backoff,.starting,.stopping,.warn{color:var(--warn)}.failed,.stopped,.no,.stale,.bad{color:var(--bad)}
.pill{display:inline-block;padding:0 .45rem;border-radius:999px;font-size:.8rem;border:1px solid currentColor}
.prices{display:flex;gap:1rem;flex-wrap:wrap}.price{flex:1;min-width:200px;border:1px solid var(--line);border-radius:6px;padding:.5rem .7rem}
.price b{font-size:1.3rem;font-variant-numeric:tabular-nums}.mute{color:var(--mute)}
tr.new td{animation:flash 2s ease-out}@keyframes flash{from{background:#fef3c7}to{background:transparent}}
`;

const SCRIPT = `
"use strict";
const $ = (id) => document.getElementById(id);
const esc = (v) => String(v ?? "").replace(/[&<>"']/g, (c) => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;","'":"&#39;"}[c]));
const secs = (ms) => ms == null ? "–" : ms < 60000 ? (ms / 1000).toFixed(1) + " s" : ms < 3600000 ? (ms / 60000).toFixed(1) + " min" : (ms / 3600000).toFixed(1) + " h";
const num = (v, d) => v == null || v === "" || isNaN(Number(v)) ? "–" : Number(v).toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
const pct = (v) => v == null ? "–" : (Number(v) >= 0 ? "+" : "") + Number(v).toFixed(3) + "%";
const when = (t) => t == null ? "–" : new Date(t).toISOString().replace("T", " ").replace(/\\.\\d+Z$/, "Z");
/** The first line of an error without its stack frames (the full text is in the title). */
const brief = (err) => err ? String(err).split("\\n")[0].split(/\\s+at\\s/)[0].slice(0, 160) : "";
async function getJson(path) {
  const r = await fetch(path, { cache: "no-store" });
  if (r.status === 404) return null;
  if (!r.ok) throw new Error(path + ": HTTP " + r.status);
  return r.json();
}

/** Orders actors as a tree: each child under the first actor it depends on. */
function tree(actors) {
  const ids = new Set(actors.map((a) => a.id));
  const kids = new Map();
  const roots = [];
  for (const a of actors) {
    const parent = (a.dependsOn || []).find((d) => ids.has(d));
    if (parent) { if (!kids.has(parent)) kids.set(parent, []); kids.get(parent).push(a); } else roots.push(a);
  }
  const out = [];
  const walk = (a, prefix, last, depth) => {
    out.push({ a, lead: depth === 0 ? "" : prefix + (last ? "└─ " : "├─ ") });
    const ks = kids.get(a.id) || [];
    ks.forEach((k, i) => walk(k, depth === 0 ? "" : prefix + (last ? "   " : "│  "), i === ks.length - 1, depth + 1));
  };
  roots.forEach((r, i) => walk(r, "", i === roots.length - 1, 0));
  return out;
}

function renderStatus(st) {
  $("node").textContent = st.node + " · " + (st.version || "");
  const r = st.readiness || { ready: false, reasons: [] };
  $("ready").innerHTML = r.ready ? "<span class='pill yes'>ready</span>" : "<span class='pill no'>not ready</span> " + esc((r.reasons || []).join("; "));
  $("uptime").textContent = secs(st.uptimeMs);
  $("db").innerHTML = st.database && st.database.reachable ? "<span class='ok'>up</span> " + esc(st.database.latencyMs) + " ms" : "<span class='bad'>DOWN</span>";
  $("zombies").textContent = String(st.zombies ?? 0);
  $("rejected").textContent = String(st.rejectedInputs ? st.rejectedInputs.total : 0);
  $("actors").innerHTML = tree(st.actors || []).map(({ a, lead }) => {
    const fresh = a.freshnessMs == null ? "<span class='mute'>n/a</span>" :
      "<span class='" + (a.stale ? "stale" : "fresh") + "'>" + secs(a.freshnessLagMs) + " / " + secs(a.freshnessMs) + (a.stale ? " stale" : "") + "</span>";
    return "<tr data-actor='" + esc(a.id) + "' data-state='" + esc(a.state) + "' data-incarnation='" + esc(a.incarnation) + "'>" +
      "<td><span class='tree'>" + esc(lead) + "</span>" + esc(a.id) + (a.critical ? " <span class='pill warn' title='critical'>critical</span>" : "") + "</td>" +
      "<td class='" + esc(a.state) + "'>" + esc(a.state) + "</td><td class='num'>" + esc(a.incarnation) + "</td><td class='num'>" + esc(a.restarts) +
      "</td><td class='num'>" + secs(a.heartbeatAgeMs) + "</td><td>" + fresh + "</td><td title='" + esc(a.lastError || "") + "'>" + esc(a.reason || brief(a.lastError)) + "</td></tr>";
  }).join("") || "<tr><td colspan='7' class='mute'>no actors</td></tr>";
  renderList("jobs", st.jobs, ["job", "name", "id"], ["state", "status", "lastStatus"], ["lastRunAt", "lastRun", "startedAt", "lastStartedAt"], ["nextRunAt", "nextRun", "schedule"]);
  renderCluster(st.cluster);
  renderList("backups", st.backups, ["kind", "path", "file"], ["status", "state"], ["finishedAt", "finished_at", "startedAt", "started_at", "at"], ["sizeBytes", "size_bytes", "size"]);
}

/** Cluster mode: the nodes (alive or not) and who holds each singleton's lease. */
function renderCluster(c) {
  const el = $("cluster");
  if (!c) { el.innerHTML = "<tr><td class='mute'>not reported by this system</td></tr>"; return; }
  const nodes = (c.nodes || []).map((n) => "<tr data-node='" + esc(n.node) + "'><td>" + esc(n.node) + (n.node === c.node ? " <span class='pill'>this node</span>" : "") +
    "</td><td class='" + (n.alive ? "ok" : "bad") + "'>" + (n.alive ? "alive" : "gone") + "</td><td>" + when(n.lastSeenAt) + "</td></tr>");
  const leases = (c.leases || []).map((l) => "<tr data-lease='" + esc(l.name) + "'><td>" + esc(l.name) + "</td><td class='" + (l.holder === c.node ? "ok" : "") + "'>" +
    esc(l.holder || "none") + "</td><td class='num'>epoch " + esc(l.epoch) + "</td></tr>");
  el.innerHTML = nodes.join("") + (leases.length ? "<tr><td colspan='3' class='mute'>leases</td></tr>" + leases.join("") : "");
}

/** Jobs and backups: arrays or maps of objects, shown with whichever fields they carry. */
function renderList(id, data, nameKeys, statusKeys, timeKeys, extraKeys) {
  const el = $(id);
  if (data == null) { el.innerHTML = "<tr><td class='mute'>not reported by this system</td></tr>"; return; }
  let items = Array.isArray(data) ? data : typeof data === "object" ? (Array.isArray(data.items) ? data.items : Array.isArray(data.last) ? data.last : data.last ? [data.last] : Object.entries(data).map(([k, v]) => (v && typeof v === "object" ? { name: k, ...v } : { name: k, value: v }))) : [{ value: data }];
  const pick = (o, ks) => { for (const k of ks) if (o && o[k] != null) return o[k]; return null; };
  el.innerHTML = items.length === 0 ? "<tr><td class='mute'>none yet</td></tr>" : items.slice(0, 12).map((o) => {
    const status = pick(o, statusKeys);
    const cls = /fail|error/i.test(String(status)) ? "bad" : /ok|succe|done|verif|running/i.test(String(status)) ? "ok" : "";
    const t = pick(o, timeKeys);
    return "<tr><td>" + esc(pick(o, nameKeys) ?? "") + "</td><td class='" + cls + "'>" + esc(status ?? "") + "</td><td>" +
      esc(typeof t === "number" || /^\\d{4}-/.test(String(t)) ? when(t) : t ?? "") + "</td><td>" + esc(pick(o, extraKeys) ?? "") + "</td></tr>";
  }).join("");
}

async function refreshStatus() {
  try {
    renderStatus(await getJson("/status"));
    $("status-error").textContent = "";
  } catch (e) { $("status-error").textContent = "status unavailable: " + e.message; }
}

function renderPrice(sym, p, via) {
  const el = $("price-" + sym);
  if (!el) return;
  el.dataset.state = p ? "data" : "none";
  el.dataset.via = via;
  el.innerHTML = "<div class='mute'>" + sym.toUpperCase() + "</div>" + (p ?
    "<b>$" + num(p.price, 2) + "</b> <span class='" + (Number(p.momentum) >= 0 ? "ok" : "bad") + "'>momentum " + pct(p.momentum) + "</span>" +
    "<div class='mute'>1m " + pct(p.delta_1m) + " · 15m " + pct(p.delta_15m) + " · 30m " + pct(p.delta_30m) + "</div>" +
    "<div class='mute'>" + when(p.timestamp) + " (" + secs(p.ageMs) + " ago)</div>" : "<b class='mute'>no data</b>");
}

function renderStrikes(t, via) {
  const st = $("strikes");
  st.dataset.via = via;
  if (!t) { st.dataset.state = "none"; $("strike-head").innerHTML = "<span class='mute'>no data</span>"; st.innerHTML = ""; return; }
  const h = t.header || {};
  st.dataset.state = t.stale ? "stale" : "fresh";
  $("strike-head").innerHTML = (t.stale ? "<span class='pill stale'>stale</span> " + esc(t.stale_reason || "") : "<span class='pill fresh'>fresh</span>") +
    " · " + esc(h.event_ticker || "") + " · price $" + num(h.current_price, 2) + " · closes in " + secs(h.ttc_seconds == null ? null : h.ttc_seconds * 1000) +
    " · updated " + when(h.last_updated);
  st.innerHTML = (t.strikes || []).map((r) => "<tr><td class='num'>" + num(r.strike, 0) + "</td><td class='num'>" + num(r.buffer_pct, 2) + "</td><td class='num'>" +
    num(r.probability, 2) + "</td><td class='num'>" + num(r.yes_ask, 0) + "</td><td class='num'>" + num(r.no_ask, 0) + "</td><td>" + esc(r.active_side || "") +
    "</td><td>" + esc(r.ticker || "") + "</td></tr>").join("") || "<tr><td colspan='7' class='mute'>no strikes</td></tr>";
}

/** Polls prices and the BTC strike table: at load, and while the market stream is down. */
async function refreshMarket() {
  for (const sym of ["btc", "eth"]) {
    try { renderPrice(sym, await getJson("/prices/" + sym + "/latest"), "poll"); }
    catch (e) { const el = $("price-" + sym); el.dataset.state = "error"; el.innerHTML = "<div class='mute'>" + sym.toUpperCase() + "</div><b class='bad'>unavailable</b>"; }
  }
  try { renderStrikes(await getJson("/strike-table/BTC"), "poll"); }
  catch (e) { $("strikes").dataset.state = "error"; $("strike-head").innerHTML = "<span class='bad'>unavailable</span>"; }
}

/**
 * Prices and the BTC strike table pushed over GET /market/stream as they are committed. While it
 * is open the page does not poll them; when it fails (EventSource retries by itself, or gives up
 * on an answer that is not a stream) the 5 s poll takes over, and a closed one is reopened.
 */
let marketLive = false;
function connectMarket() {
  const pill = $("market-live");
  const es = new EventSource("/market/stream");
  es.addEventListener("open", () => { marketLive = true; pill.className = "pill ok"; pill.textContent = "live"; });
  es.addEventListener("error", () => {
    marketLive = false; pill.className = "pill warn"; pill.textContent = "polling";
    if (es.readyState === EventSource.CLOSED) setTimeout(connectMarket, 10000);
  });
  es.addEventListener("price", (m) => { try { const p = JSON.parse(m.data); renderPrice(String(p.symbol), p, "stream"); } catch (_) { /* malformed: ignore */ } });
  es.addEventListener("strike_table", (m) => {
    try { const t = JSON.parse(m.data); if (String(t.symbol).toLowerCase() === "btc") renderStrikes(t, "stream"); } catch (_) { /* malformed: ignore */ }
  });
}

const seen = new Set();
const MAX_EVENTS = 100;
function addEvent(e, live) {
  const key = e.at + "|" + e.actor_id + "|" + e.event + "|" + e.incarnation;
  if (seen.has(key)) return;
  seen.add(key);
  const tr = document.createElement("tr");
  tr.dataset.actor = e.actor_id ?? "";
  tr.dataset.event = e.event;
  tr.dataset.at = e.at;
  if (live) { tr.dataset.live = "1"; tr.className = "new"; }
  const cls = /fail|exit|hang|stale|zombie|escalate/.test(e.event) ? "bad" : /restart|degraded|stop/.test(e.event) ? "warn" : "ok";
  tr.innerHTML = "<td>" + esc(when(e.at)) + "</td><td>" + esc(e.actor_id ?? "supervisor") + "</td><td class='" + cls + "'>" + esc(e.event) +
    "</td><td class='num'>" + esc(e.incarnation ?? "") + "</td><td>" + esc(e.reason || e.error || "") + "</td>";
  const body = $("events");
  // Newest first, by time (a replayed backlog can arrive out of order with the initial load).
  let before = body.firstChild;
  while (before && before.dataset && before.dataset.at > e.at) before = before.nextSibling;
  body.insertBefore(tr, before);
  while (body.children.length > MAX_EVENTS) body.removeChild(body.lastChild);
}

function connectEvents() {
  const es = new EventSource("/events/stream");
  es.addEventListener("open", () => { $("live").className = "pill ok"; $("live").textContent = "live"; });
  es.addEventListener("error", () => { $("live").className = "pill bad"; $("live").textContent = "reconnecting"; });
  es.addEventListener("supervision", (m) => { try { addEvent(JSON.parse(m.data), true); } catch (_) { /* malformed: ignore */ } });
}

(async () => {
  try { connectEvents(); } catch (_) { $("live").className = "pill bad"; $("live").textContent = "unavailable"; }
  try { connectMarket(); } catch (_) { $("market-live").className = "pill bad"; $("market-live").textContent = "polling"; }
  const quietly = (fn) => () => fn().catch(() => {}); // a render error must not stop the polling
  quietly(refreshStatus)(); quietly(refreshMarket)();
  setInterval(quietly(refreshStatus), 2000);
  setInterval(() => { if (!marketLive) quietly(refreshMarket)(); }, 5000);
  try { for (const e of ((await getJson("/events?limit=50")) || []).reverse()) addEvent(e, false); } catch (_) { /* the stream still works */ }
})();
`;

/** The page. */
export const STATUS_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rec.io runtime</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${STYLE}${JOURNAL_STYLE}</style></head><body>
<header><h1>rec.io runtime</h1><small id="node"></small>
<span id="ready">…</span><span>uptime <b id="uptime">–</b></span><span>database <b id="db">–</b></span>
<span>zombies <b id="zombies">–</b></span><span>rejected inputs <b id="rejected">–</b></span>
<span>events <span id="live" class="pill warn">connecting</span></span><span id="status-error" class="bad"></span></header>
<main>
<section class="wide"><h2>Supervision tree</h2>
<table><thead><tr><th>actor</th><th>state</th><th>incarnation</th><th>restarts</th><th>heartbeat age</th><th>data freshness (lag / limit)</th><th>reason</th></tr></thead>
<tbody id="actors"></tbody></table></section>
<section><h2>Latest prices <small id="market-live" class="pill warn">connecting</small></h2><div class="prices"><div class="price" id="price-btc">BTC …</div><div class="price" id="price-eth">ETH …</div></div></section>
<section><h2>Strike table BTC</h2><p id="strike-head" class="mute">…</p>
<table><thead><tr><th>strike</th><th>buffer %</th><th>prob.</th><th>yes ask</th><th>no ask</th><th>side</th><th>ticker</th></tr></thead><tbody id="strikes"></tbody></table></section>
${JOURNAL_HTML}
<section><h2>Cluster</h2><table><tbody id="cluster"></tbody></table></section>
<section><h2>Jobs</h2><table><tbody id="jobs"></tbody></table></section>
<section><h2>Backups</h2><table><tbody id="backups"></tbody></table></section>
<section class="wide"><h2>Supervision events <small class="mute">(live, newest first)</small></h2>
<table><thead><tr><th>time</th><th>actor</th><th>event</th><th>incarnation</th><th>reason</th></tr></thead><tbody id="events"></tbody></table></section>
</main>
<script>${SCRIPT}${JOURNAL_SCRIPT}</script></body></html>`;
