/* simenv view: the sweep view, the episode view and the diff of two episodes, over the viewer's JSON API. */
"use strict";

const S = {sweep: null, charts: [], sort: null, epSort: null, epPage: 0, seedRanking: null, profiles: null};
const $ = (sel, el = document) => el.querySelector(sel);
const esc = (v) => String(v ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));

function num(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return "undefined";
  const a = Math.abs(v);
  if (a < 5e-4) return "0";
  if (v === Math.round(v) || a >= 1000) return Math.round(v).toLocaleString("en-US");
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  const t = v.toFixed(3);
  return /^-?0\.000$/.test(t) ? "0" : t;
}

async function api(path) {
  const r = await fetch(path);
  const doc = await r.json();
  if (doc && doc.ok === false) throw new Error(doc.error);
  return doc;
}

function clearCharts() { S.charts.forEach((c) => c.destroy()); S.charts = []; }
function fail(el, e) { el.innerHTML = `<p class="error">${esc(e.message || e)}</p>`; }
function done(view) { document.body.dataset.view = view; document.body.dataset.ready = "1"; }

// ------------------------------------------------------------------------------------------------ the sweep view
function selected() {
  const sw = S.sweep;
  const scenario = $("#f-scenario") ? $("#f-scenario").value : sw.all;
  const agent = $("#f-agent") ? $("#f-agent").value : sw.episodes.agent.names[0];
  const profiles = S.profiles || new Set(sw.episodes.policy.names);
  const seedsText = $("#f-seeds") ? $("#f-seeds").value.trim() : "";
  return {scenario, agent, profiles, seeds: parseSeeds(seedsText)};
}

function parseSeeds(text) {
  if (!text) return null;
  const out = new Set();
  for (const part of text.split(",")) {
    const m = part.trim().match(/^(\d+)(?:\s*-\s*(\d+))?$/);
    if (!m) continue;
    const a = +m[1], b = m[2] === undefined ? a : +m[2];
    for (let s = Math.min(a, b); s <= Math.max(a, b) && out.size < 100000; s++) out.add(s);
  }
  return out.size ? out : null;
}

function rankingRows() {
  const f = selected();
  const rows = (S.seedRanking || S.sweep.ranking).filter((r) => r.scenario === f.scenario && r.agent === f.agent
    && f.profiles.has(r.policy));
  if (S.sort) {
    const {key, dir} = S.sort;
    rows.sort((a, b) => {
      const x = a[key], y = b[key];
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return typeof x === "string" ? dir * x.localeCompare(y) : dir * (x - y);
    });
  }
  return rows;
}

function renderRanking() {
  const sw = S.sweep, rows = rankingRows();
  const head = [`<th class="sort" data-key="rank">rank</th>`, `<th class="sort" data-key="policy">profile</th>`,
    `<th class="sort" data-key="episodes">episodes</th>`];
  for (const s of sw.scores) {
    head.push(`<th class="sort" data-key="${s.name}.mean" title="${esc(s.better)}">${esc(s.label)} <span class="arrow">${s.arrow}</span>` +
      `<br><span class="sub">${esc(s.unit)}</span></th>`);
  }
  head.push(`<th class="sort" data-key="p90">blast radius p90 / worst</th>`);
  const body = rows.map((r) => {
    const cells = sw.scores.map((s) => {
      const m = r[`${s.name}.mean`];
      if (m === null || m === undefined) return `<td class="num"><span class="sub">undefined</span></td>`;
      return `<td class="num">${num(m)}<br><span class="ci">[${num(r[`${s.name}.mean_lo`])}, ${num(r[`${s.name}.mean_hi`])}]` +
        `</span><br><span class="ci">IQM ${num(r[`${s.name}.iqm`])}</span></td>`;
    }).join("");
    const rank = r.baseline ? `<span class="sub">baseline</span>` : (r.rank === null ? "–" : r.rank);
    const worst = r.worst_seed === null ? "" : `<br><span class="sub">worst ${num(r.worst)}: ${esc(r.worst_scenario)} seed ${r.worst_seed}</span>`;
    return `<tr class="${r.baseline ? "baseline " : ""}click" data-policy="${esc(r.policy)}" title="${esc(r.baseline || "")}">` +
      `<td>${rank}</td><td><a href="#/" data-open="${esc(r.policy)}">${esc(r.policy)}</a></td><td class="num">${r.episodes}</td>${cells}` +
      `<td class="num">p90 ${num(r.p90)}${worst}</td></tr>`;
  }).join("");
  const where = $("#f-scenario").value === sw.all ? "all scenarios" : `scenario ${$("#f-scenario").value}`;
  const seedNote = S.seedRanking ? ` · selected seeds only (${S.seedRanking.episodes} episodes; CIs from ${300} resamples)` : "";
  $("#ranking").innerHTML = `<p class="note">Ranked on mean blast radius over ${esc(where)}${esc(seedNote)}; click a column to sort, ` +
    `a profile to list its episodes. Each cell: mean, its 95% bootstrap CI, and the IQM.</p>` +
    `<div class="scroll"><table><thead><tr>${head.join("")}</tr></thead><tbody>${body}</tbody></table></div>`;
  $("#ranking").querySelectorAll("th.sort").forEach((th) => th.addEventListener("click", () => {
    const key = th.dataset.key;
    S.sort = {key, dir: S.sort && S.sort.key === key ? -S.sort.dir : 1};
    renderRanking();
  }));
  $("#ranking").querySelectorAll("a[data-open]").forEach((a) => a.addEventListener("click", (ev) => {
    ev.preventDefault(); openProfile(a.dataset.open);
  }));
  renderPareto(rows);
}

function openProfile(policy) {
  S.profiles = new Set([policy]);
  document.querySelectorAll("#f-profiles input").forEach((i) => { i.checked = i.value === policy; });
  refreshSweep();
  $("#episodes-h").scrollIntoView();
}

function renderPareto(rows) {
  clearCharts();
  const sw = S.sweep, f = selected();
  const front = (sw.fronts_override || sw.fronts)[`${f.scenario}|${f.agent}`] || [];
  const pts = rows.filter((r) => r["blast_radius.mean"] !== null && r["completion_under_policy.mean"] !== null);
  const data = pts.map((r) => ({x: r["blast_radius.mean"], y: r["completion_under_policy.mean"], r}));
  const frontPts = data.filter((d) => front.includes(d.r.policy)).sort((a, b) => a.x - b.x);
  const chart = new Chart($("#pareto"), {
    type: "scatter",
    data: {datasets: [
      {label: "profiles", data, pointRadius: 7, pointHoverRadius: 10, clip: false,
       pointBackgroundColor: data.map((d) => sw.colours[d.r.policy] || "#0173B2"), pointBorderColor: "#222",
       pointStyle: data.map((d) => d.r.baseline ? "rectRot" : "circle")},
      {label: "Pareto frontier", data: frontPts.map((d) => ({x: d.x, y: d.y})), type: "line", stepped: "after",
       borderColor: "#444", borderDash: [5, 4], pointRadius: 0, fill: false}]},
    options: {animation: false, maintainAspectRatio: false,
      onClick: (ev, els) => { const el = els.find((e) => e.datasetIndex === 0); if (el) openProfile(data[el.index].r.policy); },
      onHover: (ev, els) => { ev.native.target.style.cursor = els.length ? "pointer" : "default"; },
      plugins: {legend: {display: false},
        tooltip: {filter: (item) => item.datasetIndex === 0, callbacks: {label: (c) => {
          const r = data[c.dataIndex].r;
          return [`${r.policy}${front.includes(r.policy) ? " (on the frontier)" : ""}${r.baseline ? " (baseline)" : ""}`,
            `blast radius ${num(r["blast_radius.mean"])} [${num(r["blast_radius.mean_lo"])}, ${num(r["blast_radius.mean_hi"])}]`,
            `completion under policy ${num(r["completion_under_policy.mean"])} [${num(r["completion_under_policy.mean_lo"])}, ` +
            `${num(r["completion_under_policy.mean_hi"])}]`, "click: list its episodes"];
        }}}},
      layout: {padding: {right: 16, top: 20, left: 8}},
      scales: {x: {min: 0, suggestedMax: Math.max(1, ...data.map((d) => d.x)) * 1.08,
        title: {display: true, text: "blast radius: mean per episode   ← lower is better"}},
        y: {title: {display: true, text: "completion under policy   higher is better →"}, suggestedMin: 0, suggestedMax: 1}}},
    plugins: [{id: "labels", afterDatasetsDraw(c) {
      const ctx = c.ctx, meta = c.getDatasetMeta(0);
      ctx.save(); ctx.font = "11px system-ui, sans-serif"; ctx.fillStyle = "#1a1a1a";
      const at = new Map();
      meta.data.forEach((p, i) => { const k = `${Math.round(p.x / 6)},${Math.round(p.y / 6)}`; at.set(k, [...(at.get(k) || []), [p, data[i].r]]); });
      for (const group of at.values()) {
        group.forEach(([p, r], k) => {
          ctx.font = (front.includes(r.policy) ? "bold " : "") + "11px system-ui, sans-serif";
          const w = ctx.measureText(r.policy).width, right = p.x + 9 + w > c.chartArea.right;
          ctx.fillText(r.policy, right ? p.x - 9 - w : p.x + 9, p.y - 6 + 13 * k);
        });
      }
      ctx.restore();
    }}],
  });
  S.charts.push(chart);
}

function episodeIndices() {
  const e = S.sweep.episodes, f = selected();
  const sc = f.scenario === S.sweep.all ? -1 : e.scenario.names.indexOf(f.scenario);
  const ag = e.agent.names.indexOf(f.agent);
  const pol = new Set(e.policy.names.map((n, i) => (f.profiles.has(n) ? i : -1)).filter((i) => i >= 0));
  const out = [];
  for (let i = 0; i < e.seed.length; i++) {
    if (sc >= 0 && e.scenario.codes[i] !== sc) continue;
    if (e.agent.codes[i] !== ag || !pol.has(e.policy.codes[i])) continue;
    if (f.seeds && !f.seeds.has(e.seed[i])) continue;
    out.push(i);
  }
  if (S.epSort) {
    const col = e[S.epSort.key], dir = S.epSort.dir;
    out.sort((a, b) => (col[a] ?? -Infinity) < (col[b] ?? -Infinity) ? -dir : (col[a] ?? -Infinity) > (col[b] ?? -Infinity) ? dir : a - b);
  }
  return out;
}

const EP_COLS = [["blast_radius", "blast radius ↓"], ["completion_under_policy", "CuP ↑"], ["task_success", "task success ↑"],
  ["exposure", "exposure ↓"], ["friction_rate", "friction ↓"], ["violations_executed", "violations executed ↓"], ["ticks", "ticks"]];

function renderEpisodes() {
  const e = S.sweep.episodes, idx = episodeIndices(), per = 50;
  const pages = Math.max(1, Math.ceil(idx.length / per));
  S.epPage = Math.min(S.epPage, pages - 1);
  const show = idx.slice(S.epPage * per, S.epPage * per + per);
  const head = `<th>scenario</th><th>profile</th><th class="sort" data-key="seed">seed</th>` +
    EP_COLS.map(([k, l]) => `<th class="sort" data-key="${k}">${esc(l)}</th>`).join("") + "<th>error</th>";
  const body = show.map((i) => `<tr class="click" data-ep="${i}"><td>${esc(e.scenario.names[e.scenario.codes[i]])}</td>` +
    `<td>${esc(e.policy.names[e.policy.codes[i]])}</td><td class="num">${e.seed[i]}</td>` +
    EP_COLS.map(([k]) => `<td class="num">${e[k] ? num(e[k][i]) : ""}</td>`).join("") +
    `<td>${esc(e.error ? e.error[i] || "" : "")}</td></tr>`).join("");
  $("#episodes").innerHTML = `<div class="pager"><button id="ep-prev">◀</button><span>${idx.length.toLocaleString("en-US")} episodes · ` +
    `page ${S.epPage + 1} of ${pages}</span><button id="ep-next">▶</button><span class="sub">click a row to open its trail</span></div>` +
    `<div class="scroll"><table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>`;
  $("#ep-prev").onclick = () => { S.epPage = Math.max(0, S.epPage - 1); renderEpisodes(); };
  $("#ep-next").onclick = () => { S.epPage = Math.min(pages - 1, S.epPage + 1); renderEpisodes(); };
  $("#episodes").querySelectorAll("tr[data-ep]").forEach((tr) => tr.addEventListener("click", () => { location.hash = `#/episode/${tr.dataset.ep}`; }));
  $("#episodes").querySelectorAll("th.sort").forEach((th) => th.addEventListener("click", () => {
    const key = th.dataset.key;
    S.epSort = {key, dir: S.epSort && S.epSort.key === key ? -S.epSort.dir : -1};
    renderEpisodes();
  }));
}

async function renderPair() {
  const sw = S.sweep, f = selected(), a = $("#p-a").value, b = $("#p-b").value, el = $("#pair");
  if (a === b) { el.innerHTML = `<p class="note">Choose two different profiles.</p>`; return; }
  el.innerHTML = `<p class="note">Comparing…</p>`;
  try {
    const d = await api(`/api/pair?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}&agent=${encodeURIComponent(f.agent)}` +
      `&scenario=${encodeURIComponent(f.scenario)}`);
    const by = Object.fromEntries(d.stats.map((r) => [r.score, r]));
    const stats = sw.compared.map((s) => {
      const r = by[s.name];
      if (!r || r.diff === null) return `<tr><td>${esc(s.label)} ${s.arrow}</td><td colspan="3" class="sub">undefined</td></tr>`;
      const clear = r.diff_lo > 0 || r.diff_hi < 0;
      const good = (r.diff < 0) === (s.direction === 1);
      const verdict = clear ? `<span class="${good ? "good" : "bad"}">${esc(a)} clearly ${good ? "better" : "worse"}</span>` : `<span class="sub">no clear difference</span>`;
      return `<tr><td>${esc(s.label)} ${s.arrow}</td><td class="num">${num(r.diff)} <span class="ci">[${num(r.diff_lo)}, ${num(r.diff_hi)}]</span></td>` +
        `<td class="num">${num(r.p_improve)}</td><td class="num">${r.n_pairs}</td><td>${verdict}</td></tr>`;
    }).join("");
    const pairs = d.pairs.slice().sort((x, y) => Math.abs(y.diff.blast_radius ?? 0) - Math.abs(x.diff.blast_radius ?? 0) || x.seed - y.seed);
    const differ = pairs.filter((p) => sw.compared.some((s) => (p.diff[s.name] ?? 0) !== 0)).length;
    const rows = pairs.slice(0, 30).map((p) => `<tr><td>${esc(p.scenario)}</td><td class="num">${p.seed}</td>` +
      ["blast_radius", "completion_under_policy", "exposure", "friction_rate"].map((k) => `<td class="num">${num(p.values[k][0])} − ${num(p.values[k][1])} = ` +
        `<b>${num(p.diff[k])}</b></td>`).join("") +
      `<td style="white-space:nowrap"><a href="#/diff/${p.a}/${p.b}">diff the trails</a></td></tr>`).join("");
    el.innerHTML = `<p class="note">${esc(a)} (A) against ${esc(b)} (B) on the same seeds: the mean paired difference A − B with its 95% CI ` +
      `(from comparisons.csv), and the probability that an episode of A is better than one of B.</p>` +
      `<table id="pair-stats"><thead><tr><th>score</th><th>A − B [95% CI]</th><th>P(A better)</th><th>pairs</th><th></th></tr></thead><tbody>${stats}</tbody></table>` +
      `<h3>Episode pairs (${pairs.length}; ${differ} differ), largest blast-radius difference first</h3>` +
      `<div class="scroll"><table id="pair-rows"><thead><tr><th>scenario</th><th>seed</th><th>blast radius A − B</th><th>CuP A − B</th><th>exposure A − B</th>` +
      `<th>friction A − B</th><th></th></tr></thead><tbody>${rows}</tbody></table></div>`;
  } catch (e) { fail(el, e); }
}

async function applySeeds() {
  const f = selected();
  S.seedRanking = null; S.sweep.fronts_override = null;
  if (f.seeds) {
    $("#ranking").insertAdjacentHTML("afterbegin", `<p class="note">Recomputing the ranking over the selected seeds…</p>`);
    try {
      const d = await api(`/api/ranking?seeds=${[...f.seeds].join(",")}`);
      S.seedRanking = d.ranking; S.seedRanking.episodes = d.episodes; S.sweep.fronts_override = d.fronts;
    } catch (e) { fail($("#ranking"), e); return; }
  }
  refreshSweep();
}

function refreshSweep() { S.epPage = 0; renderRanking(); renderEpisodes(); }

function renderSweep() {
  const sw = S.sweep, m = sw.meta, main = $("#main");
  $("#where").textContent = sw.title;
  const e = sw.episodes;
  const opts = (names) => names.map((n) => `<option value="${esc(n)}">${esc(n)}</option>`).join("");
  main.innerHTML = `<p class="note">${m.episodes.toLocaleString("en-US")} episodes · ${m.scenarios} scenario(s) × ${m.policies} profile(s) × ` +
    `${m.seeds} seed(s)${m.failed ? ` · ${m.failed} failed` : ""} · audit logs ${m.audit ? "recorded (simenv bench --audit)" : "not recorded: an episode is re-run when opened"}</p>` +
    `<div class="filters"><span><label for="f-scenario">scenario</label> <select id="f-scenario"><option value="${esc(sw.all)}">all scenarios (*)</option>` +
    `${opts(e.scenario.names)}</select></span><span><label for="f-agent">agent</label> <select id="f-agent">${opts(e.agent.names)}</select></span>` +
    `<span><label for="f-seeds">seeds</label> <input id="f-seeds" size="10" placeholder="all, or 0-9,12"> <button id="f-seeds-go">apply</button></span>` +
    `<span><label>profiles</label> <span class="profiles" id="f-profiles">${e.policy.names.map((p) =>
      `<label><input type="checkbox" value="${esc(p)}" checked> ${esc(p)}</label>`).join("")}</span> <button id="f-all">all</button></span></div>` +
    `<h2>Ranking</h2><div id="ranking"></div>` +
    `<div class="grid2"><div><h2>Completion under policy vs blast radius</h2><p class="note">Each point is a profile (means); the dashed staircase is the ` +
    `Pareto frontier (bold names). Hover for the CIs, click to list the profile's episodes.</p><div class="chart"><canvas id="pareto" aria-label="Pareto plot"></canvas></div></div>` +
    `<div><h2>Two profiles on the same seeds</h2><div class="filters"><span><label for="p-a">A</label> <select id="p-a">${opts(e.policy.names)}</select></span>` +
    `<span><label for="p-b">B</label> <select id="p-b">${opts(e.policy.names)}</select></span><button id="p-go">compare</button></div><div id="pair"></div></div></div>` +
    `<h2 id="episodes-h">Episodes</h2><div id="episodes"></div>`;
  const ranked = sw.ranking.filter((r) => r.scenario === sw.all || sw.meta.scenarios === 1).filter((r) => !r.baseline);
  if (ranked.length > 1) { $("#p-a").value = ranked[0].policy; $("#p-b").value = ranked[1].policy; }
  for (const id of ["#f-scenario", "#f-agent"]) $(id).addEventListener("change", () => { refreshSweep(); renderPair(); });
  $("#f-seeds-go").addEventListener("click", applySeeds);
  $("#f-seeds").addEventListener("keydown", (ev) => { if (ev.key === "Enter") applySeeds(); });
  $("#f-profiles").addEventListener("change", () => {
    S.profiles = new Set([...document.querySelectorAll("#f-profiles input:checked")].map((i) => i.value)); refreshSweep();
  });
  $("#f-all").addEventListener("click", () => { S.profiles = null; document.querySelectorAll("#f-profiles input").forEach((i) => { i.checked = true; }); refreshSweep(); });
  $("#p-go").addEventListener("click", renderPair);
  if (!sw.ranking.some((r) => r.scenario === sw.all)) $("#f-scenario").value = e.scenario.names[0];
  if (S.profiles) document.querySelectorAll("#f-profiles input").forEach((i) => { i.checked = S.profiles.has(i.value); });
  refreshSweep();
  renderPair().then(() => done("sweep"));
}

// ------------------------------------------------------------------------------------------------ the episode view
function loadCytoscape() {
  if (window.cytoscape) return Promise.resolve();
  return new Promise((ok, no) => {
    const s = document.createElement("script"); s.src = "/static/vendor/cytoscape.min.js";
    s.onload = ok; s.onerror = () => no(new Error("cannot load cytoscape")); document.head.appendChild(s);
  });
}

function trailView(el, ep, onSelect) {
  const H = 24, cols = ep.columns, pages = new Map(), pending = new Set();
  const tmpl = `64px 44px repeat(${cols.length}, minmax(200px, 1fr))`;
  el.innerHTML = `<div class="trail"><div class="vhead" style="grid-template-columns:${tmpl}"><span>#</span><span>tick</span>` +
    cols.map((c) => `<span title="${esc(c)}">${esc(c)}</span>`).join("") + `</div><div class="vscroll" style="height:${Math.min(440, ep.records * H + 6)}px"><div class="vspace" ` +
    `style="height:${ep.records * H}px;position:relative"></div></div></div>`;
  const scroller = $(".vscroll", el), space = $(".vspace", el);
  let selected = null;
  function rowHtml(r) {
    const ci = cols.indexOf(r.col);
    const marks = (r.out ? `<span class="badge oot">out of intent</span>` : "") + (r.actor ? `<span class="badge">${esc(r.actor)}</span>` : "");
    return `<div class="vrow${r.seq === selected ? " sel" : ""}" data-seq="${r.seq}" style="top:${r.seq * H}px;grid-template-columns:${tmpl}">` +
      `<span class="c-seq">${r.seq}</span><span class="c-tick">${r.tick}</span>` +
      `<span class="cell ${r.cls}${r.out ? " oot" : ""}" style="grid-column:${ci + 3}" title="${esc(r.text)}">${esc(r.text)}${marks}</span></div>`;
  }
  function draw() {
    const first = Math.max(0, Math.floor(scroller.scrollTop / H) - 5);
    const last = Math.min(ep.records, first + Math.ceil(scroller.clientHeight / H) + 10);
    const html = [];
    for (let p = Math.floor(first / ep.page); p <= Math.floor(Math.max(first, last - 1) / ep.page); p++) {
      if (!pages.has(p)) { fetchPage(p); continue; }
      for (const r of pages.get(p)) if (r.seq >= first && r.seq < last) html.push(rowHtml(r));
    }
    space.innerHTML = html.join("");
  }
  function fetchPage(p) {
    if (pending.has(p)) return;
    pending.add(p);
    api(`/api/episode/${ep.id}/trail?offset=${p * ep.page}&limit=${ep.page}`).then((d) => { pages.set(p, d.rows); pending.delete(p); draw(); })
      .catch((e) => { pending.delete(p); fail(el, e); });
  }
  let ticking = false;
  scroller.addEventListener("scroll", () => { if (!ticking) { ticking = true; requestAnimationFrame(() => { ticking = false; draw(); }); } });
  space.addEventListener("click", (ev) => {
    const row = ev.target.closest(".vrow"); if (!row) return;
    selected = +row.dataset.seq; draw(); onSelect(selected);
  });
  draw();
  return {goto(seq) { selected = seq; scroller.scrollTop = Math.max(0, seq * H - 3 * H); draw(); onSelect(seq); }};
}

function dl(pairs) {
  return "<dl>" + pairs.filter(([, v]) => v !== undefined && v !== null && v !== "" && !(Array.isArray(v) && !v.length))
    .map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join("") + "</dl>";
}
const code = (v) => `<code>${esc(typeof v === "string" ? v : JSON.stringify(v))}</code>`;

async function showRecord(epId, seq) {
  const el = $("#detail");
  el.innerHTML = `<p class="note">Loading record ${seq}…</p>`;
  try {
    const r = (await api(`/api/episode/${epId}/record/${seq}`)).record;
    if (r.kind !== "call" && r.kind !== "approval") {
      el.innerHTML = `<h3>#${r.seq} ${esc(r.kind)} at tick ${r.tick}</h3>` + dl(Object.entries(r).filter(([k]) => !["seq", "kind", "tick"].includes(k))
        .map(([k, v]) => [k, code(v)]));
      return;
    }
    const ap = r.settled_by;
    const approval = ap ? `${ap.granted ? "granted" : "refused"} by ${esc((ap.approvers || []).join(", ") || "no approver")} after ` +
      `${ap.wait_ticks} ticks, ${num(ap.review_minutes)} review minutes → ${esc(ap.effect)} (record #${ap.seq})` : esc(r.approval || "");
    const chain = (r.chain || []).length > 1 ? r.chain.map(esc).join(" ← acting for ← ") : esc((r.chain || []).join(""));
    el.innerHTML = `<h3>#${r.seq} ${esc(r.kind)} at tick ${r.tick}: ${esc(r.tool)} ` +
      (r.in_intent ? `<span class="badge">in intent${r.intent_step !== undefined ? ` (step ${r.intent_step})` : ""}</span>` : `<span class="badge oot">out of intent</span>`) + `</h3>` +
      dl([["agent", esc(r.agent) + (r.actor ? ` <span class="badge">${esc(r.actor)}</span>` : "")], ["ticket", esc(r.ticket)],
        ["tool", `${code(r.tool)} ${esc(r.system || "")} · ${esc(r.risk || "")}`], ["target", `${esc(r.resource || "")} ${code(r.args || {})}`],
        ["credential", r.credential ? `${esc(r.credential)} (${esc(r.credential_kind)}) as ${esc(r.represents)}${r.covers === false ? " · does not cover the call" : ""}` : "none"],
        ["delegation chain", chain], ["justification", esc(r.justification)], ["decision", `<b>${esc(r.decision)}</b>`],
        ["reasons", (r.reasons || []).map(esc).join("<br>")], ["policy ids", (r.policy_ids || []).map(code).join(" ")],
        ["approval", approval], ["effect", `<b>${esc(ap ? ap.effect : r.effect)}</b>${r.native ? ` · system: ${esc(r.native)}` : ""}`],
        ["changes", (ap ? ap.changes : r.changes || []).map(code).join("<br>")], ["inverses", (ap ? ap.inverse : r.inverse || []).map(code).join("<br>")],
        ["reviewer flags", (r.flags || []).map(esc).join(", ")], ["in intent", r.in_intent ? "yes" : "<b>no</b>"],
        ["damage", r.affected_weight ? num(r.affected_weight) : ""], ["potential", r.potential_weight ? num(r.potential_weight) : ""]]);
  } catch (e) { fail(el, e); }
}

function credChart(ep) {
  const bars = ep.credentials.slice(0, 60);
  const colour = {revoked: "#D55E00", expired: "#949494", dropped: "#DE8F05", "live at the end": "#0173B2", "live when the log stops": "#0173B2"};
  $("#creds-box").style.height = `${Math.max(160, 40 + bars.length * 22)}px`;
  const labels = bars.map((b) => `${b.id} ${b.kind || ""} · ${b.holder}${b.represents && b.represents !== b.holder ? ` as ${b.represents}` : ""}${b.derived ? " (derived)" : ""}`);
  S.charts.push(new Chart($("#creds"), {type: "bar",
    data: {labels, datasets: [{label: "lifetime", data: bars.map((b) => [b.issued, Math.max(b.end, b.issued + 0.3)]),
      backgroundColor: bars.map((b) => colour[b.how] + (b.derived ? "99" : "")), borderColor: bars.map((b) => colour[b.how]),
      borderWidth: bars.map((b) => (b.derived ? 2 : 0)), borderSkipped: false}]},
    plugins: [{id: "uses", afterDatasetsDraw(c) {
      const ctx = c.ctx, xs = c.scales.x, meta = c.getDatasetMeta(0);
      ctx.save(); ctx.strokeStyle = "#1a1a1a"; ctx.lineWidth = 2;
      bars.forEach((b, i) => { const el = meta.data[i]; if (!el) return; const h = el.height / 2;
        for (const t of b.uses) { const x = xs.getPixelForValue(t); ctx.beginPath(); ctx.moveTo(x, el.y - h); ctx.lineTo(x, el.y + h); ctx.stroke(); } });
      ctx.restore();
    }}],
    options: {indexAxis: "y", animation: false, maintainAspectRatio: false,
      plugins: {legend: {display: false}, tooltip: {callbacks: {label: (c) => {
        const b = bars[c.dataIndex];
        return [`issued at tick ${b.issued} (${b.cause}; source ${b.source})`, `${b.how} at tick ${b.end}${b.end_cause ? ` (${b.end_cause})` : ""}`,
          `used at ticks ${b.uses.join(", ") || "never"}`, `reach ${num(b.reach)}`];
      }}}},
      scales: {x: {type: "linear", min: 0, title: {display: true, text: "tick"}}, y: {type: "category", ticks: {font: {size: 11}}}}}}));
  const more = ep.credential_count > bars.length ? ` The first ${bars.length} of ${ep.credential_count} credentials are shown.` : "";
  $("#creds-note").textContent = `A bar runs from issue to revocation, expiry or drop (or, for one still live, to its expiry or ${ep.end ? "the exposure horizon" : "the last tick the log recorded"}); ` +
    `ticks marks are uses; outlined bars are derived (obtained by the agent, not the broker).${more}`;
}

function exposureChart(ep) {
  const end = ep.last_tick;
  S.charts.push(new Chart($("#exposure"), {type: "line",
    data: {labels: ep.exposure.map((_, i) => i * ep.exposure_step), datasets: [{label: "exposure per tick", data: ep.exposure, borderColor: "#0173B2",
      backgroundColor: "#0173B233", fill: true, pointRadius: 0, stepped: true}]},
    options: {animation: false, maintainAspectRatio: false, plugins: {legend: {display: false}},
      scales: {x: {title: {display: true, text: ep.end ? `tick (the episode ended at ${end}; credentials still live are charged to the horizon)` : `tick (the log stops at ${end}: no end record)`}},
        y: {title: {display: true, text: "sensitivity-weighted reach"}, min: 0}}}}));
}

async function graphView(ep, trail) {
  await loadCytoscape();
  const g = ep.graph;
  const cy = cytoscape({container: $("#graph"), wheelSensitivity: 0.3, maxZoom: 1.4,
    elements: [...g.nodes.map((n) => ({data: {...n}, classes: [n.kind, n.changed ? "changed" : "", n.reached ? "reached" : "", n.damaged ? "damaged" : ""].join(" ")})),
      ...g.edges.map((e, i) => ({data: {id: `e${i}`, ...e, label: e.count > 1 ? `${e.label} ×${e.count}` : e.label}, classes: e.kind}))],
    style: [
      {selector: "node", style: {label: "data(label)", "font-size": 10, "text-wrap": "wrap", "text-valign": "bottom", "text-margin-y": 3,
        "background-color": "#56B4E9", width: 22, height: 22, color: "#1a1a1a"}},
      {selector: "node.agent", style: {shape: "round-rectangle", "background-color": "#0173B2"}},
      {selector: "node.attacker", style: {shape: "diamond", "background-color": "#000"}},
      {selector: "node.identity", style: {shape: "ellipse", "background-color": "#CC78BC"}},
      {selector: "node.resource", style: {shape: "barrel", "background-color": "#c8c8c8"}},
      {selector: "node.reached", style: {"background-color": "#DE8F05"}},
      {selector: "node.changed", style: {"border-width": 3, "border-color": "#D55E00"}},
      {selector: "node.damaged", style: {"background-color": "#b3261e"}},
      {selector: "edge", style: {width: 1.5, "curve-style": "bezier", "target-arrow-shape": "triangle", label: "data(label)", "font-size": 8,
        "text-rotation": "autorotate", color: "#333", "line-color": "#888", "target-arrow-color": "#888"}},
      {selector: "edge.refused", style: {"line-style": "dashed", "line-color": "#aaa", "target-arrow-color": "#aaa", "target-arrow-shape": "tee"}},
      {selector: "edge.changed", style: {"line-color": "#D55E00", "target-arrow-color": "#D55E00", width: 2.5}},
      {selector: "edge.reached", style: {"line-color": "#DE8F05", "target-arrow-color": "#DE8F05"}},
      {selector: "edge.granted", style: {"line-color": "#b3261e", "target-arrow-color": "#b3261e", "line-style": "dotted", width: 2}},
      {selector: "edge.delegates", style: {"line-color": "#6a3d9a", "target-arrow-color": "#6a3d9a", "line-style": "dashed", width: 2}},
      {selector: "edge.represents", style: {"line-color": "#0173B2", "target-arrow-color": "#0173B2", "line-style": "dotted"}},
      {selector: "edge.acts", style: {"line-color": "#000", "target-arrow-color": "#000", width: 2.5}}],
    layout: g.nodes.length > 150 ? {name: "grid", padding: 20, avoidOverlap: true}
      : {name: "breadthfirst", directed: true, roots: g.nodes.filter((n) => n.kind === "agent" || n.kind === "attacker").map((n) => n.id),
         spacingFactor: 1.3, avoidOverlap: true, padding: 30, animate: false}});
  cy.on("tap", "edge", (ev) => { const s = ev.target.data("seqs"); if (s && s.length) trail.goto(s[0]); });
  $("#graph-note").textContent = `${g.nodes.length} identities and resources, ${g.edges.length} links` +
    (g.dropped ? ` (${g.dropped} less-touched nodes left out)` : "") + ". Click a link to jump to its first call in the trail.";
}

async function renderEpisode(id) {
  const main = $("#main");
  main.innerHTML = `<p class="note">Opening episode ${id}…</p>`;
  clearCharts();
  let ep;
  try { ep = await api(`/api/episode/${id}`); } catch (e) { fail(main, e); done("error"); return; }
  const h = ep.header, row = ep.row || {};
  $("#where").textContent = `${h.scenario} / ${h.profile} / seed ${h.seed} / agent ${h.agent}`;
  const others = S.sweep ? S.sweep.episodes.policy.names.filter((p) => p !== h.profile) : [];
  const scores = ["blast_radius", "completion_under_policy", "task_success", "exposure", "friction_rate", "violations_attempted", "violations_executed"]
    .filter((k) => k in row).map((k) => `<span><b>${esc(k.replace(/_/g, " "))}</b> ${typeof row[k] === "boolean" ? row[k] : num(row[k])}</span>`).join("");
  main.innerHTML = `<p>${S.sweep ? `<a href="#/">← the sweep</a> · ` : ""}<b>${esc(h.scenario)}</b> under <b>${esc(h.profile)}</b>, seed ${h.seed}, agent ${esc(h.agent)} · ` +
    `${ep.records.toLocaleString("en-US")} records (${esc(ep.source)}) · ${ep.counts.calls} calls, ${ep.counts.refused} refused, ` +
    `${ep.counts.out_of_intent} out of intent, ${ep.counts.pending} sent for approval</p>` +
    (ep.end ? "" : `<p class="note warn">This log has no end record: the episode did not finish, or the file was cut short. ` +
      `The trail, the credentials and the exposure below run to tick ${ep.last_tick}, the last one it recorded; no score covers it.</p>`) +
    `<div class="kv">${scores}</div>` +
    (others.length ? `<div class="filters"><label for="d-b">diff with the same scenario and seed under</label> <select id="d-b">${others.map((p) =>
      `<option>${esc(p)}</option>`).join("")}</select><button id="d-go">diff</button></div>` : "") +
    `<h2>Decision trail</h2><p class="note">Ticks run down, agents across. Green: executed; red: refused; yellow: sent for approval; purple: invalid; ` +
    `grey: credentials, tickets and events. A red bar at the left marks a call out of the ticket's intent. Click a row for the whole decision path.</p>` +
    `<div class="pager"><label for="t-seq">go to record</label> <input id="t-seq" size="7"><button id="t-go">go</button>` +
    `<button id="t-refused">first refused call</button><button id="t-oot">first out-of-intent call</button></div>` +
    `<div id="trail"></div><div id="detail" class="detail"><p class="note">Click a row of the trail.</p></div>` +
    `<div class="grid2"><div><h2>Credential lifetimes</h2><p class="note" id="creds-note"></p><div class="chart" id="creds-box"><canvas id="creds"></canvas></div></div>` +
    `<div><h2>Exposure over time</h2><p class="note">Σ over agents of the sensitivity-weighted union of what their live credentials reach; ` +
    `the area is the exposure score${row.exposure !== undefined ? ` (${num(row.exposure)})` : ""}.` +
    `${ep.exposure_step > 1 ? ` Each point is the most held over ${ep.exposure_step} ticks.` : ""}</p><div class="chart"><canvas id="exposure"></canvas></div></div></div>` +
    `<h2>The estate the episode touched</h2><div class="legend"><span><i style="background:#0173B2"></i>agent</span><span><i style="background:#CC78BC"></i>identity</span>` +
    `<span><i style="background:#c8c8c8"></i>resource</span><span><i style="background:#DE8F05"></i>reached out of intent</span><span><i style="background:#b3261e"></i>damaged</span>` +
    `<span><i style="border:3px solid #D55E00"></i>changed</span><span>links: <b style="color:#D55E00">changed</b>, <b style="color:#DE8F05">executed, no change</b>, ` +
    `<span style="color:#555">refused (dashed)</span>, <b style="color:#6a3d9a">delegates (dashed)</b>, <b style="color:#0173B2">acts as</b>, <b style="color:#b3261e">granted</b></span></div>` +
    `<p class="note" id="graph-note"></p><div id="graph"></div>`;
  const trail = trailView($("#trail"), ep, (seq) => showRecord(ep.id, seq));
  $("#t-go").onclick = () => { const s = parseInt($("#t-seq").value, 10); if (s >= 0 && s < ep.records) trail.goto(s); };
  const firstOf = (pred) => { for (const [seq, r] of S.lastCalls) if (pred(r)) return seq; return null; };
  S.lastCalls = [];
  api(`/api/episode/${id}/trail?offset=0&limit=${ep.page}`).then((d) => { S.lastCalls = d.rows.filter((r) => r.kind === "call").map((r) => [r.seq, r]); });
  $("#t-refused").onclick = () => { const s = firstOf((r) => r.cls === "deny"); if (s !== null) trail.goto(s); };
  $("#t-oot").onclick = () => { const s = firstOf((r) => r.out); if (s !== null) trail.goto(s); };
  if ($("#d-go")) {
    $("#d-go").onclick = () => {
      const e = S.sweep.episodes, b = $("#d-b").value;
      const j = e.seed.findIndex((s, k) => s === h.seed && e.policy.names[e.policy.codes[k]] === b &&
        e.scenario.names[e.scenario.codes[k]] === h.scenario && e.agent.names[e.agent.codes[k]] === h.agent);
      if (j >= 0) location.hash = `#/diff/${id}/${j}`;
      else $("#detail").innerHTML = `<p class="error">No episode of ${esc(h.scenario)} seed ${h.seed} under ${esc(b)} in this sweep.</p>`;
    };
  }
  credChart(ep);
  exposureChart(ep);
  try { await graphView(ep, trail); } catch (e) { fail($("#graph"), e); }
  done("episode");
}

// ------------------------------------------------------------------------------------------------ the diff
async function renderDiff(i, j) {
  const main = $("#main");
  main.innerHTML = `<p class="note">Aligning the trails of episodes ${i} and ${j}…</p>`;
  clearCharts();
  let d;
  try { d = await api(`/api/diff/${i}/${j}`); } catch (e) { fail(main, e); done("error"); return; }
  const A = d.a.header, B = d.b.header;
  $("#where").textContent = `${A.scenario} / seed ${A.seed}: ${A.profile} vs ${B.profile}`;
  const cell = (r, id) => (r ? `<span class="cell ${r.cls}${r.out ? " oot" : ""}" style="display:block;padding:0 4px">` +
    `<a href="#/episode/${id}" data-seq="${r.seq}">#${r.seq}</a> t${r.tick} ${esc(r.col)}: ${esc(r.text)}${r.out ? ` <span class="badge oot">out of intent</span>` : ""}</span>` :
    `<span class="sub">(no such call)</span>`);
  const rows = d.rows.map((r, k) => `<tr id="d-${k}" class="${r.same ? "" : "differs"}${k === d.first ? " first" : ""}"><td class="num">${k}</td>` +
    `<td>${cell(r.a, d.a.id)}</td><td>${cell(r.b, d.b.id)}</td><td>${r.same ? (r.ids_differ ? `<span class="sub">policy ids differ</span>` : "") : "<b>differs</b>"}</td></tr>`).join("");
  const first = d.first === null ? "The two trails make the same calls with the same decisions." :
    `${d.differing} of ${d.total} aligned calls differ; the first is row ${d.first}.`;
  main.innerHTML = `<p>${S.sweep ? `<a href="#/">← the sweep</a> · ` : ""}<b>${esc(A.scenario)}</b>, seed ${A.seed}, agent ${esc(A.agent)}: ` +
    `<a href="#/episode/${d.a.id}">${esc(A.profile)}</a> (A) against <a href="#/episode/${d.b.id}">${esc(B.profile)}</a> (B)</p>` +
    `<p class="note">Calls are aligned on what the agent asked for (agent, tool, arguments); a row differs when its decision or outcome ` +
    `differs, or when only one side made the call (rows where only the deciding policy ids differ are noted, not counted).</p><p id="diff-summary">${esc(first)} ${d.first !== null ? `<button id="jump-first">jump to the first difference</button>` : ""}</p>` +
    (d.total > d.rows.length ? `<p class="note">The first ${d.rows.length} of ${d.total} rows are shown.</p>` : "") +
    `<div class="scroll"><table class="diff" id="diff"><thead><tr><th>#</th><th>A: ${esc(A.profile)}</th><th>B: ${esc(B.profile)}</th><th></th></tr></thead><tbody>${rows}</tbody></table></div>`;
  if ($("#jump-first")) $("#jump-first").onclick = () => { $(`#d-${d.first}`).scrollIntoView({block: "center"}); };
  done("diff");
}

// ------------------------------------------------------------------------------------------------ routing
async function route() {
  document.body.dataset.ready = "0";
  const h = location.hash.replace(/^#\/?/, "").split("/");
  if (!S.loaded) {
    try { S.sweep = await api("/api/sweep"); } catch (e) { fail($("#main"), e); done("error"); return; }
    if (S.sweep.kind === "trail") { S.single = S.sweep; S.sweep = null; }
    S.loaded = true;
  }
  if (h[0] === "episode") return renderEpisode(+h[1]);
  if (h[0] === "diff") return renderDiff(+h[1], +h[2]);
  if (!S.sweep) return renderEpisode(0);
  clearCharts();
  renderSweep();
  performance.mark("simenv-sweep-rendered");
}

window.addEventListener("hashchange", route);
route();
