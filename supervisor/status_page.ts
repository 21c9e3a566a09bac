/**
 * The status page at `/`: plain HTML and a little script that polls `/status` and `/events`.
 * No build step, no external assets.
 *
 * @module
 */

/** The page. */
export const STATUS_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rec.io runtime</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px system-ui,sans-serif;margin:1.5rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{padding:.25rem .6rem;border-bottom:1px solid #ddd;text-align:left}
.running{color:#080}.degraded,.backoff,.starting{color:#b60}.failed,.stopped{color:#c00}
#ready{font-weight:bold}
</style></head><body>
<h1>rec.io runtime <small id="node"></small></h1>
<p>Ready: <span id="ready">…</span> · uptime <span id="uptime"></span> · database <span id="db"></span> · zombies <span id="zombies"></span> · rejected inputs <span id="rejected"></span></p>
<h2>Actors</h2>
<table><thead><tr><th>actor</th><th>state</th><th>incarnation</th><th>restarts</th><th>heartbeat age</th><th>freshness lag</th><th>reason</th></tr></thead><tbody id="actors"></tbody></table>
<h2>Recent events</h2>
<table><thead><tr><th>time</th><th>actor</th><th>event</th><th>reason</th></tr></thead><tbody id="events"></tbody></table>
<script>
const s = (ms) => ms == null ? "–" : (ms / 1000).toFixed(1) + " s";
const esc = (v) => String(v ?? "").replace(/[&<>"']/g, (c) => ({"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;","'":"&#39;"}[c]));
async function refresh() {
  try {
    const st = await (await fetch("/status")).json();
    document.getElementById("node").textContent = st.node;
    document.getElementById("ready").textContent = st.readiness.ready ? "yes" : "no: " + st.readiness.reasons.join(", ");
    document.getElementById("uptime").textContent = s(st.uptimeMs);
    document.getElementById("db").textContent = st.database.reachable ? "up (" + st.database.latencyMs + " ms)" : "DOWN";
    document.getElementById("zombies").textContent = String(st.zombies);
    document.getElementById("rejected").textContent = String(st.rejectedInputs.total);
    document.getElementById("actors").innerHTML = st.actors.map((a) =>
      "<tr data-actor='" + esc(a.id) + "'><td>" + esc(a.id) + "</td><td class='" + esc(a.state) + "'>" + esc(a.state) +
      "</td><td>" + esc(a.incarnation) + "</td><td>" + esc(a.restarts) + "</td><td>" + s(a.heartbeatAgeMs) +
      "</td><td>" + s(a.freshnessLagMs) + "</td><td>" + esc(a.reason) + "</td></tr>").join("");
    const ev = await (await fetch("/events?limit=20")).json();
    document.getElementById("events").innerHTML = ev.map((e) =>
      "<tr><td>" + esc(new Date(e.at).toISOString()) + "</td><td>" + esc(e.actor_id) + "</td><td>" + esc(e.event) +
      "</td><td>" + esc(e.reason) + "</td></tr>").join("");
  } catch (e) { document.getElementById("ready").textContent = "status unavailable"; }
}
refresh(); setInterval(refresh, 2000);
</script></body></html>`;
