/**
 * The journal's part of the status page (`status_page.ts` includes it): a reliability diagram
 * of the model (predicted YES probability against the realized frequency per 5-point bin, one
 * series per horizon, the 95 % Wilson interval as a bar, the diagonal as perfect calibration; one
 * diagram per model mode) with its Brier scores and log losses, from `GET /calibration`, and the
 * P&L curve of the first configured user (the first `kalshi_account_sync:<user>` actor of
 * `/status`: the children follow `KALSHI_USERS`), the running total of the realized P&L of the
 * closed live trades by closing time, from `GET /users/:user/pnl`. Inline SVG, no assets; both
 * refresh every 30 s. The script runs in the page's script scope (`$`, `esc`, `num`, `when`,
 * `getJson`).
 *
 * @module
 */

/** Extra style rules. */
export const JOURNAL_STYLE = `
svg.chart{display:block;max-width:100%;height:auto;font:11px system-ui,sans-serif}
svg.chart .axis{stroke:#9ca3af;stroke-width:1}svg.chart .grid{stroke:#e5e7eb;stroke-width:1}
svg.chart .diag{stroke:#9ca3af;stroke-dasharray:4 3}svg.chart text{fill:#6b7280}
.legend span{display:inline-block;margin-right:.8rem}.legend i{display:inline-block;width:.8rem;height:.8rem;border-radius:50%;margin-right:.25rem;vertical-align:-1px}
`;

/** The two sections. */
export const JOURNAL_HTML = `
<section><h2>Model calibration <small class="mute">(settled markets)</small></h2><div id="calibration" class="mute">…</div></section>
<section><h2>P&amp;L <small class="mute" id="pnl-user"></small></h2><div id="pnl" class="mute">…</div></section>`;

/** The script: fetches, draws, refreshes. */
export const JOURNAL_SCRIPT = `
const HORIZON_COLORS = { 60: "#94a3b8", 30: "#0ea5e9", 15: "#2563eb", 5: "#f59e0b", 1: "#dc2626" };
const f1 = (v) => Number(v).toFixed(1);
const money = (v) => (Number(v) < 0 ? "−$" : "$") + num(Math.abs(Number(v)), 2);

/** One reliability diagram (an SVG) for the bins of one model mode. */
function reliabilitySvg(bins) {
  const S = 300, P = 34; // plot size and padding
  const x = (p) => P + p * S, y = (p) => P + S - p * S;
  let g = "";
  for (let t = 0; t <= 1.0001; t += 0.25) {
    g += "<line class='grid' x1='" + x(t) + "' y1='" + y(0) + "' x2='" + x(t) + "' y2='" + y(1) + "'/>" +
      "<line class='grid' x1='" + x(0) + "' y1='" + y(t) + "' x2='" + x(1) + "' y2='" + y(t) + "'/>" +
      "<text x='" + x(t) + "' y='" + (y(0) + 14) + "' text-anchor='middle'>" + Math.round(t * 100) + "</text>" +
      "<text x='" + (x(0) - 5) + "' y='" + (y(t) + 4) + "' text-anchor='end'>" + Math.round(t * 100) + "</text>";
  }
  g += "<line class='diag' x1='" + x(0) + "' y1='" + y(0) + "' x2='" + x(1) + "' y2='" + y(1) + "'/>";
  const maxN = Math.max(1, ...bins.map((b) => b.n));
  for (const h of Object.keys(HORIZON_COLORS).map(Number)) {
    const series = bins.filter((b) => b.horizon_min === h).sort((a, b) => a.bin_lo - b.bin_lo);
    if (series.length === 0) continue;
    const color = HORIZON_COLORS[h];
    g += "<polyline fill='none' stroke='" + color + "' stroke-opacity='.5' points='" +
      series.map((b) => f1(x(b.mean_predicted)) + "," + f1(y(b.realized))).join(" ") + "'/>";
    for (const b of series) {
      const cx = f1(x(b.mean_predicted));
      g += "<line stroke='" + color + "' stroke-opacity='.35' x1='" + cx + "' y1='" + f1(y(b.wilson_lo)) + "' x2='" + cx + "' y2='" + f1(y(b.wilson_hi)) + "'/>" +
        "<circle data-horizon='" + h + "' data-bin='" + b.bin_lo + "' data-n='" + b.n + "' cx='" + cx + "' cy='" + f1(y(b.realized)) +
        "' r='" + f1(2.5 + 4.5 * Math.sqrt(b.n / maxN)) + "' fill='" + color + "'><title>" + h + " min, bin " + b.bin_lo + "-" + b.bin_hi +
        ": predicted " + f1(b.mean_predicted * 100) + " %, realized " + f1(b.realized * 100) + " % (" + b.yes_count + " of " + b.n +
        "), 95 % CI " + f1(b.wilson_lo * 100) + "-" + f1(b.wilson_hi * 100) + "</title></circle>";
    }
  }
  return "<svg class='chart' viewBox='0 0 " + (S + 2 * P) + " " + (S + 2 * P) + "' width='" + (S + 2 * P) + "'>" + g +
    "<text x='" + x(0.5) + "' y='" + (y(0) + 28) + "' text-anchor='middle'>predicted YES %</text>" +
    "<text x='10' y='" + y(0.5) + "' text-anchor='middle' transform='rotate(-90 10 " + y(0.5) + ")'>realized %</text></svg>";
}

function renderCalibration(cal) {
  const el = $("calibration");
  const modes = [...new Set((cal.reliability || []).map((b) => b.model_mode))];
  if (modes.length === 0) { el.dataset.state = "none"; el.innerHTML = "<span class='mute'>no settled market with a model probability yet</span>"; return; }
  el.dataset.state = "data";
  const legend = "<div class='legend'>" + Object.entries(HORIZON_COLORS).reverse().map(([h, c]) => "<span><i style='background:" + c + "'></i>" + h + " min</span>").join("") + "</div>";
  el.innerHTML = modes.map((m) => "<div data-mode='" + esc(m) + "'><div>mode <b>" + esc(m) + "</b></div>" +
    reliabilitySvg(cal.reliability.filter((b) => b.model_mode === m)) + "</div>").join("") + legend +
    "<table><thead><tr><th>mode</th><th>horizon</th><th>n</th><th>Brier</th><th>log loss</th><th>left out</th></tr></thead><tbody id='calibration-scores'>" +
    (cal.scores || []).map((s) => "<tr data-mode='" + esc(s.model_mode) + "' data-horizon='" + esc(s.horizon_min) + "'><td>" + esc(s.model_mode) +
      "</td><td class='num'>" + esc(s.horizon_min) + " min</td><td class='num'>" + esc(s.n) + "</td><td class='num'>" + num(s.brier, 4) +
      "</td><td class='num'>" + num(s.log_loss, 4) + "</td><td class='num'>" + esc(s.bad_probability) + "</td></tr>").join("") + "</tbody></table>";
}

/** The running total as a line over closing time, from zero before the first trade. */
function pnlSvg(points) {
  const W = 560, H = 200, P = 44;
  const ts = points.map((p) => Date.parse(p.closed_at)), vs = points.map((p) => Number(p.cumulative_dollars));
  const t0 = ts[0], t1 = Math.max(ts[ts.length - 1], t0 + 1);
  const lo = Math.min(0, ...vs), hi = Math.max(0, ...vs), span = hi - lo || 1;
  const x = (t) => P + (t - t0) / (t1 - t0) * (W - 2 * P), y = (v) => H - P + -(v - lo) / span * (H - 2 * P);
  const pts = [f1(x(t0)) + "," + f1(y(0))].concat(points.map((p, i) => f1(x(ts[i])) + "," + f1(y(vs[i]))));
  const last = vs[vs.length - 1];
  return "<svg class='chart' viewBox='0 0 " + W + " " + H + "' width='" + W + "'>" +
    "<line class='axis' x1='" + P + "' y1='" + f1(y(0)) + "' x2='" + (W - P) + "' y2='" + f1(y(0)) + "'/>" +
    "<text x='" + (P - 5) + "' y='" + f1(y(hi) + 4) + "' text-anchor='end'>" + money(hi) + "</text>" +
    "<text x='" + (P - 5) + "' y='" + f1(y(lo) + 4) + "' text-anchor='end'>" + money(lo) + "</text>" +
    "<text x='" + P + "' y='" + (H - P + 28) + "'>" + esc(when(t0)) + "</text>" +
    "<text x='" + (W - P) + "' y='" + (H - P + 28) + "' text-anchor='end'>" + esc(when(t1)) + "</text>" +
    "<polyline data-points='" + points.length + "' fill='none' stroke='" + (last >= 0 ? "#0a7a28" : "#c0182b") + "' stroke-width='2' points='" + pts.join(" ") + "'/></svg>";
}

function renderPnl(user, pnl) {
  const el = $("pnl");
  $("pnl-user").textContent = user ? "(" + user + ", closed live trades)" : "";
  if (!user) { el.dataset.state = "none"; el.innerHTML = "<span class='mute'>no Kalshi user configured</span>"; return; }
  if (!pnl || !pnl.points || pnl.points.length === 0) { el.dataset.state = "none"; el.innerHTML = "<span class='mute'>no closed live trade yet</span>"; return; }
  el.dataset.state = "data";
  el.innerHTML = "<div id='pnl-total'>total <b class='" + (Number(pnl.total_dollars) >= 0 ? "ok" : "bad") + "'>" + money(pnl.total_dollars) +
    "</b> over " + esc(pnl.trades) + " trades" + (pnl.truncated ? " (the newest " + esc(pnl.points.length) + " shown)" : "") + "</div>" + pnlSvg(pnl.points);
}

async function refreshJournal() {
  try { renderCalibration(await getJson("/calibration") || {}); }
  catch (e) { $("calibration").dataset.state = "error"; $("calibration").innerHTML = "<span class='bad'>unavailable</span>"; }
  try {
    const st = await getJson("/status");
    const sync = ((st && st.actors) || []).find((a) => /^kalshi_account_sync:user_[0-9]{4}$/.test(a.id));
    const user = sync ? sync.id.split(":")[1] : null;
    renderPnl(user, user ? await getJson("/users/" + user + "/pnl") : null);
  } catch (e) { $("pnl").dataset.state = "error"; $("pnl").innerHTML = "<span class='bad'>unavailable</span>"; }
}
refreshJournal().catch(() => {});
setInterval(() => refreshJournal().catch(() => {}), 30000);
`;
