// The dashboard: reads the JSON API with the key kept in this tab and draws what it reads.
// Every element is built with DOM calls and text nodes (no HTML from data), every chart is SVG
// drawn here. A fragment `#key=...` signs in (and is removed from the address at once);
// `#action=rollback[&kind=K]` or `#action=promote&model=ID` runs that admin action once the
// page has loaded, as its buttons do.
'use strict';

const KEY_STORE = 'discount.apiKey';
const LIVE_EVERY_MS = 2000;
const SLOW_EVERY = 5; // registries and the log every 5th live refresh
const HISTORY = 150; // live samples kept for the charts (5 minutes)
const SVG_NS = 'http://www.w3.org/2000/svg';

const state = {
  key: null,
  samples: [], // {at (ms, service clock), decisions, buckets, errors}
  live: null,
  tick: 0,
  timer: null,
  pendingAction: null,
  busy: false,
};

// ---------- small DOM helpers ----------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  setAttrs(node, attrs);
  append(node, children);
  return node;
}

function svg(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  setAttrs(node, attrs);
  append(node, children);
  return node;
}

function setAttrs(node, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'onclick') node.addEventListener('click', v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
}

function append(node, children) {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

function fill(id, ...children) {
  const node = document.getElementById(id);
  node.replaceChildren();
  append(node, children);
  return node;
}

function text(id, value) {
  document.getElementById(id).textContent = value;
}

// ---------- formatting ----------

const fmtInt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const fmt1 = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });
const fmt2 = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

function pct(x, digits = 0) {
  return x === null || x === undefined ? '—' : (x * 100).toFixed(digits) + '%';
}

const moneyFormats = new Map();
function moneyFormat(currency) {
  if (!moneyFormats.has(currency)) {
    let f;
    try {
      f = new Intl.NumberFormat('en-US', { style: 'currency', currency });
    } catch (e) {
      f = null; // not an ISO code the browser knows: show minor units
    }
    moneyFormats.set(currency, f);
  }
  return moneyFormats.get(currency);
}

// Minor units to a readable amount of `currency`.
function money(minor, currency) {
  if (minor === null || minor === undefined || Number.isNaN(minor)) return '—';
  const f = moneyFormat(currency);
  if (!f) return fmt2.format(minor) + ' ' + currency + ' (minor)';
  const exponent = f.resolvedOptions().maximumFractionDigits;
  return f.format(minor / Math.pow(10, exponent));
}

function ms(x) {
  if (x === null || x === undefined) return '—';
  return x < 10 ? fmt2.format(x) + ' ms' : fmt1.format(x) + ' ms';
}

function currency() {
  const b = state.live && state.live.budgets && state.live.budgets[0];
  return b ? b.currency : 'USD';
}

function shortId(id) {
  return id.length > 22 ? id.slice(0, 10) + '…' + id.slice(-8) : id;
}

// ---------- the API ----------

class ApiFailure extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(method, path) {
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: { Authorization: 'Bearer ' + state.key },
      cache: 'no-store',
    });
  } catch (e) {
    throw new ApiFailure(0, 'the service does not answer (' + e.message + ')');
  }
  let body = null;
  try {
    body = await response.json();
  } catch (e) {
    body = null;
  }
  if (!response.ok) {
    const detail = body && body.error ? body.error.message : response.statusText;
    throw new ApiFailure(response.status, detail || 'HTTP ' + response.status);
  }
  return body;
}

// An admin-only read answers null (the card says why) rather than failing the page.
async function adminRead(path) {
  try {
    return await api('GET', path);
  } catch (e) {
    if (e.status === 403) return null;
    throw e;
  }
}

// The rows of a list endpoint, following `next_cursor` for a few pages; answers either shape
// (`{"items": [...]}` or `{"<name>": [...]}`). Null when the key may not read it.
async function listAll(path, name) {
  const rows = [];
  let cursor = null;
  for (let page = 0; page < 20; page++) {
    const sep = path.includes('?') ? '&' : '?';
    const body = await adminRead(cursor ? path + sep + 'cursor=' + encodeURIComponent(cursor) : path);
    if (body === null) return null;
    rows.push(...(body.items || body[name] || []));
    cursor = body.next_cursor;
    if (!cursor) break;
  }
  return rows;
}

function needsAdmin() {
  return el('p', { class: 'empty' }, 'This needs an admin key.');
}

// ---------- sign in ----------

function readFragment() {
  const params = new URLSearchParams(location.hash.slice(1));
  const key = params.get('key');
  if (key) sessionStorage.setItem(KEY_STORE, key);
  const action = params.get('action');
  if (action) state.pendingAction = { action, kind: params.get('kind'), model: params.get('model') };
  if (location.hash) history.replaceState(null, '', location.pathname + location.search);
}

function showLogin(message) {
  document.body.dataset.state = 'login';
  document.getElementById('board').hidden = true;
  document.getElementById('login').hidden = false;
  document.getElementById('sign-out').hidden = true;
  text('login-error', message || '');
  if (state.timer) clearInterval(state.timer);
  state.timer = null;
}

function start() {
  state.key = sessionStorage.getItem(KEY_STORE);
  if (!state.key) {
    showLogin('');
    return;
  }
  document.getElementById('login').hidden = true;
  document.getElementById('board').hidden = false;
  document.getElementById('sign-out').hidden = false;
  state.samples = [];
  state.tick = 0;
  refresh();
  state.timer = setInterval(refresh, LIVE_EVERY_MS);
}

// ---------- refresh ----------

async function refresh() {
  if (state.busy) return;
  state.busy = true;
  const slow = state.tick % SLOW_EVERY === 0;
  state.tick += 1;
  try {
    const live = await api('GET', '/v1/stats/live');
    state.live = live;
    record(live);
    drawLive(live);
    if (slow) await refreshSlow();
    document.getElementById('banner').hidden = true;
    text('chip-updated', 'updated ' + new Date().toLocaleTimeString());
    document.body.dataset.state = 'loaded';
    if (state.pendingAction) {
      const pending = state.pendingAction;
      state.pendingAction = null;
      await runAction(pending);
    }
  } catch (e) {
    if (e.status === 401) {
      sessionStorage.removeItem(KEY_STORE);
      showLogin('The service refused the key: ' + e.message);
    } else {
      const banner = document.getElementById('banner');
      banner.textContent = 'Refresh failed: ' + e.message;
      banner.hidden = false;
      document.body.dataset.state = 'error';
    }
  } finally {
    state.busy = false;
  }
}

async function refreshSlow() {
  const [recent, fraud, models, policies] = await Promise.all([
    api('GET', '/v1/stats/recent'),
    adminRead('/v1/fraud/alerts'),
    listAll('/v1/models', 'models'),
    listAll('/v1/policies', 'policies'),
  ]);
  text('key-role', models ? 'admin key' : 'decide key');
  drawOfferMix(recent, state.live);
  drawPolicyValue(recent);
  drawExperiment(recent);
  drawFraud(fraud);
  drawPolicies(policies, state.live);
  drawModels(models);
}

function record(live) {
  const at = Date.parse(live.at);
  const last = state.samples[state.samples.length - 1];
  if (last && at <= last.at) return;
  state.samples.push({
    at,
    decisions: live.decisions,
    buckets: live.latency.buckets,
    count: live.latency.count,
    errors: live.requests.client_errors + live.requests.server_errors,
  });
  if (state.samples.length > HISTORY) state.samples.shift();
}

// The q quantile of the answered decisions between two samples, from the difference of their
// cumulative histograms (linear inside the bucket, as the server computes it over all time);
// the largest finite bound when the quantile lies above every bound.
function intervalQuantile(before, after, q) {
  if (!after || !after.buckets.length) return null;
  const total = after.count - (before ? before.count : 0);
  if (total <= 0) return null;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (let i = 0; i < after.buckets.length; i++) {
    const le = after.buckets[i].le_ms;
    const n = after.buckets[i].count - (before && before.buckets[i] ? before.buckets[i].count : 0);
    if (n >= rank) {
      if (n === below) return le;
      return lower + (le - lower) * ((rank - below) / (n - below));
    }
    lower = le;
    below = n;
  }
  return lower;
}

function rates() {
  const points = [];
  for (let i = 1; i < state.samples.length; i++) {
    const a = state.samples[i - 1];
    const b = state.samples[i];
    const seconds = (b.at - a.at) / 1000;
    if (seconds <= 0) continue;
    points.push({
      at: b.at,
      rate: Math.max(0, (b.decisions - a.decisions) / seconds),
      p50: intervalQuantile(a, b, 0.5),
      p99: intervalQuantile(a, b, 0.99),
    });
  }
  return points;
}

// ---------- live figures ----------

function drawLive(live) {
  const policy = live.policy;
  text('chip-policy', policy ? 'policy ' + policy.version + (policy.apprentice ? ' (apprentice)' : '') : 'no active policy');
  const modelChip = document.getElementById('chip-model');
  if (live.refused_model) {
    modelChip.textContent = 'model refused: ' + shortId(live.refused_model.model_id);
    modelChip.className = 'chip warn';
    modelChip.title = live.refused_model.reason || '';
  } else {
    modelChip.textContent = live.serving_model ? 'model ' + shortId(live.serving_model) : "policy's own models";
    modelChip.className = 'chip';
  }

  const points = rates();
  const lastMinute = points.filter((p) => p.at >= (points.length ? points[points.length - 1].at : 0) - 60000);
  const first = state.samples[0];
  const last = state.samples[state.samples.length - 1];
  if (lastMinute.length) {
    const a = state.samples.find((s) => s.at >= lastMinute[0].at - LIVE_EVERY_MS * 2) || first;
    const seconds = (last.at - a.at) / 1000;
    text('kpi-rate', seconds > 0 ? fmt1.format((last.decisions - a.decisions) / seconds) : '—');
    text('kpi-rate-sub', 'over the last ' + Math.round(seconds) + ' s');
    const p50 = intervalQuantile(a, last, 0.5);
    const p99 = intervalQuantile(a, last, 0.99);
    text('kpi-p50', p50 === null ? ms(live.latency.p50_ms) : ms(p50));
    text('kpi-p99', p99 === null ? ms(live.latency.p99_ms) : ms(p99));
    const window = p50 === null ? 'since start (no decisions lately)' : 'over the last ' + Math.round(seconds) + ' s';
    text('kpi-p50-sub', window);
    text('kpi-p99-sub', window);
  } else {
    text('kpi-rate', '—');
    text('kpi-rate-sub', 'needs two refreshes');
    text('kpi-p50', ms(live.latency.p50_ms));
    text('kpi-p99', ms(live.latency.p99_ms));
    text('kpi-p50-sub', 'since start');
    text('kpi-p99-sub', 'since start');
  }
  text('kpi-total', fmtInt.format(live.decisions));
  const errors = live.requests.client_errors + live.requests.server_errors;
  const all = errors + live.requests.ok;
  text('kpi-errors', fmtInt.format(errors) + (all ? ' · ' + pct(errors / all, 1) : ''));

  lineChart(
    'rate-chart',
    [{ name: 'decisions / s', points: points.map((p) => [p.at, p.rate]) }],
    { unit: '/s', area: true },
  );
  lineChart(
    'latency-chart',
    [
      { name: 'p50', points: points.filter((p) => p.p50 !== null).map((p) => [p.at, p.p50]) },
      { name: 'p99', points: points.filter((p) => p.p99 !== null).map((p) => [p.at, p.p99]) },
    ],
    { unit: 'ms', legend: true },
  );
  drawBudgets(live.budgets);
}

// A time series chart: x is time (ms), one path per series, 4 grid lines.
function lineChart(id, series, options) {
  const node = document.getElementById(id);
  const W = 560;
  const H = 200;
  const left = 48;
  const right = 12;
  const top = 12;
  const bottom = 26;
  const all = series.flatMap((s) => s.points);
  node.replaceChildren();
  if (all.length < 1) {
    node.appendChild(svg('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle' }, 'collecting… (a point every ' + LIVE_EVERY_MS / 1000 + ' s)'));
    return;
  }
  let x0 = Math.min(...all.map((p) => p[0]));
  const x1 = Math.max(...all.map((p) => p[0]));
  if (x1 - x0 < 60000) x0 = x1 - 60000; // at least a minute wide
  const highest = Math.max(...all.map((p) => p[1]));
  const yMax = highest > 0 ? niceCeil(highest) : 1;
  const x = (t) => left + ((t - x0) / (x1 - x0)) * (W - left - right);
  const y = (v) => top + (1 - v / yMax) * (H - top - bottom);
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    node.appendChild(svg('line', { class: i === 0 ? 'axis' : 'grid-line', x1: left, x2: W - right, y1: y(v), y2: y(v) }));
    node.appendChild(svg('text', { x: left - 6, y: y(v) + 4, 'text-anchor': 'end' }, tick(v) + (i === 4 ? ' ' + options.unit : '')));
  }
  for (const t of [x0, (x0 + x1) / 2, x1]) {
    node.appendChild(svg('text', { x: x(t), y: H - 8, 'text-anchor': t === x0 ? 'start' : t === x1 ? 'end' : 'middle' }, new Date(t).toLocaleTimeString()));
  }
  series.forEach((s, i) => {
    if (!s.points.length) return;
    const d = s.points.map((p, j) => (j ? 'L' : 'M') + x(p[0]).toFixed(1) + ' ' + y(p[1]).toFixed(1)).join(' ');
    if (options.area && s.points.length > 1) {
      const first = s.points[0];
      const last = s.points[s.points.length - 1];
      node.appendChild(svg('path', { class: 'area-' + i, d: d + ` L${x(last[0]).toFixed(1)} ${y(0)} L${x(first[0]).toFixed(1)} ${y(0)} Z` }));
    }
    node.appendChild(svg('path', { class: 'series-' + i, d, 'data-series': s.name }));
    const last = s.points[s.points.length - 1];
    node.appendChild(svg('circle', { cx: x(last[0]), cy: y(last[1]), r: 3, class: 'series-' + i }));
  });
  if (options.legend) {
    series.forEach((s, i) => {
      const lx = W - right - 110 + i * 55;
      node.appendChild(svg('line', { class: 'series-' + i, x1: lx, x2: lx + 14, y1: top + 4, y2: top + 4 }));
      node.appendChild(svg('text', { x: lx + 18, y: top + 8, class: 'label-strong' }, s.name));
    });
  }
}

function niceCeil(v) {
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

function tick(v) {
  return v >= 100 ? fmtInt.format(v) : fmt2.format(v);
}

// ---------- budgets ----------

function drawBudgets(list) {
  if (!list.length) {
    fill('budgets', el('p', { class: 'empty' }, 'No budgets. A policy\'s [[budgets]] create them when it is registered.'));
    return;
  }
  fill('budgets', list.map(budgetRow));
}

function budgetRow(b) {
  const W = 540;
  const H = 44;
  const barY = 8;
  const barH = 16;
  const scale = (v) => (b.total > 0 ? Math.min(1, Math.max(0, v / b.total)) : 0) * W;
  const spentW = scale(b.spent);
  const reservedW = Math.min(W - spentW, scale(b.reserved));
  const chart = svg('svg', { class: 'chart budget-chart', viewBox: `0 0 ${W + 10} ${H}`, role: 'img', 'aria-label': 'budget ' + b.id, 'data-budget': b.id },
    svg('rect', { class: 'bar-track', x: 0, y: barY, width: W, height: barH, rx: 4 }),
    svg('rect', { class: 'bar-spent', x: 0, y: barY, width: spentW, height: barH, rx: 4 }),
    svg('rect', { class: 'bar-reserved', x: spentW, y: barY, width: reservedW, height: barH }),
  );
  let pace = null;
  if (b.plan_share !== null && b.plan_share !== undefined) {
    const px = b.plan_share * W;
    chart.appendChild(svg('line', { class: 'plan-marker', x1: px, x2: px, y1: barY - 5, y2: barY + barH + 5 }));
    chart.appendChild(svg('text', { class: 'plan-label', x: Math.min(Math.max(px, 14), W - 14), y: H - 2, 'text-anchor': 'middle' }, 'plan ' + pct(b.plan_share)));
    const used = (b.spent + b.reserved) / Math.max(1, b.total);
    const gap = used - b.plan_share;
    pace = el('span', { class: gap > 0.02 ? 'ahead' : gap < -0.02 ? 'behind' : '' },
      gap > 0.02 ? 'ahead of plan by ' + pct(gap) : gap < -0.02 ? 'behind plan by ' + pct(-gap) : 'on plan');
  } else {
    chart.appendChild(svg('text', { x: 0, y: H - 2 }, 'no pacing period: spend against the total'));
  }
  const used = (b.spent + b.reserved) / Math.max(1, b.total);
  return el('div', { class: 'budget' },
    el('div', { class: 'budget-head' },
      el('b', {}, b.id),
      el('span', {}, money(b.spent, b.currency), ' spent + ', money(b.reserved, b.currency), ' held of ', money(b.total, b.currency), ' (', pct(used), ')')),
    chart,
    el('div', { class: 'figures' },
      pace, pace ? ' · ' : '',
      'remaining ', money(b.remaining, b.currency),
      b.shadow_price !== null && b.shadow_price !== undefined ? ' · shadow price ' + fmt2.format(b.shadow_price) : '',
      b.period_end ? ' · period ends ' + new Date(b.period_end).toLocaleString() : ''),
  );
}

// ---------- offer mix ----------

function drawOfferMix(recent, live) {
  const control = live && live.policy ? live.policy.control_offer : 'none';
  const labels = new Map(((live && live.policy && live.policy.offers) || []).map((o) => [o.offer_id, o.label]));
  if (!recent.decisions) {
    text('mix-window', 'no decisions logged yet');
    fill('offer-mix', el('p', { class: 'empty' }, 'No decisions yet: POST /v1/decisions.'));
    return;
  }
  text('mix-window', 'latest ' + fmtInt.format(recent.decisions) + ' decisions' + (recent.from ? ', since ' + new Date(recent.from).toLocaleString() : ''));
  const rowH = 30;
  const W = 560;
  const labelW = 165;
  const barW = 190;
  const chart = svg('svg', { id: 'offer-mix-chart', class: 'chart', viewBox: `0 0 ${W} ${recent.offers.length * rowH + 22}`, role: 'img', 'aria-label': 'offer mix' });
  chart.appendChild(svg('text', { x: labelW + barW + 12, y: 12 }, 'share · converted · profit each'));
  recent.offers.forEach((o, i) => {
    const y = 20 + i * rowH;
    const name = labels.has(o.offer_id) ? o.offer_id + ' (' + labels.get(o.offer_id) + ')' : o.offer_id || '?';
    chart.appendChild(svg('text', { x: 0, y: y + 15, class: 'label-strong' }, name.length > 24 ? name.slice(0, 23) + '…' : name));
    chart.appendChild(svg('rect', { class: 'bar-track', x: labelW, y: y + 3, width: barW, height: 16, rx: 3 }));
    chart.appendChild(svg('rect', { class: 'mix-bar' + (o.offer_id === control ? ' control' : ''), x: labelW, y: y + 3, width: Math.max(1, o.share * barW), height: 16, rx: 3, 'data-offer': o.offer_id }));
    chart.appendChild(svg('text', { x: labelW + barW + 12, y: y + 15 },
      pct(o.share, 1) + ' · ' + (o.conversion_rate === null ? '—' : pct(o.conversion_rate)) + ' · ' + money(o.mean_profit, currency())));
  });
  const since = live ? live.offers.map((o) => o.offer_id + ' ' + fmtInt.format(o.decisions)).join(', ') : '';
  fill('offer-mix', chart,
    el('p', { class: 'note' }, fmtInt.format(recent.settled) + ' settled, ' + fmtInt.format(recent.explored) + ' explored. Served by this process since it started: ' + (since || 'none') + '.'));
}

// ---------- intervals ----------

// Horizontal interval rows on one axis: [{label, value, lower, upper, tone, note}].
function forest(id, rows, zeroLine) {
  const W = 560;
  const rowH = 28;
  const labelW = 170;
  const noteW = 120;
  const H = rows.length * rowH + 30;
  const lo = Math.min(...rows.map((r) => r.lower), zeroLine ? 0 : Infinity);
  const hi = Math.max(...rows.map((r) => r.upper), zeroLine ? 0 : -Infinity);
  const pad = (hi - lo) * 0.08 || 1;
  const a = lo - pad;
  const b = hi + pad;
  const x = (v) => labelW + ((v - a) / (b - a)) * (W - labelW - noteW);
  const chart = svg('svg', { id, class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'img' });
  if (zeroLine) chart.appendChild(svg('line', { class: 'zero', x1: x(0), x2: x(0), y1: 4, y2: H - 22 }));
  rows.forEach((r, i) => {
    const y = 16 + i * rowH;
    chart.appendChild(svg('text', { x: 0, y: y + 4, class: 'label-strong' }, r.label));
    chart.appendChild(svg('line', { class: 'interval ' + r.tone, x1: x(r.lower), x2: x(r.upper), y1: y, y2: y }));
    chart.appendChild(svg('circle', { class: 'dot ' + r.tone, cx: x(r.value), cy: y, r: 4.5 }));
    chart.appendChild(svg('text', { x: W - noteW + 8, y: y + 4 }, r.note));
  });
  for (const v of [a + pad, (a + b) / 2, b - pad]) {
    chart.appendChild(svg('text', { x: x(v), y: H - 6, 'text-anchor': 'middle' }, money(v, currency())));
  }
  return chart;
}

function tone(lower, upper) {
  return lower > 0 ? 'up' : upper < 0 ? 'down' : 'flat';
}

// ---------- policy value ----------

function drawPolicyValue(recent) {
  const active = state.live && state.live.policy ? state.live.policy.version : null;
  const policies = recent.policies.slice().sort((p, q) => (p.version === active ? -1 : q.version === active ? 1 : 0));
  const rows = [];
  for (const p of policies) {
    const tag = policies.length > 1 ? p.version + ': ' : '';
    const add = (label, e, kind) => {
      if (e) rows.push({ label: tag + label, value: e.value, lower: e.lower, upper: e.upper, tone: kind, note: money(e.value, currency()) + ' (n ' + fmtInt.format(e.n) + ')' });
    };
    add('as logged', p.logged, 'info');
    add('greedy (no exploring)', p.greedy, 'up');
    add('no offer', p.control, 'flat');
  }
  if (!rows.length) {
    fill('policy-value', el('p', { class: 'empty' }, 'No settled decisions yet: values appear once outcomes are joined (POST /v1/outcomes, orders, or closed windows).'));
    return;
  }
  const table = el('table', {},
    el('tr', {}, el('th', {}, 'policy'), el('th', { class: 'num' }, 'decisions'), el('th', { class: 'num' }, 'settled')),
    policies.map((p) => el('tr', {}, el('td', {}, el('code', {}, p.version), p.version === active ? ' ' : '', p.version === active ? el('span', { class: 'badge active' }, 'active') : ''),
      el('td', { class: 'num' }, fmtInt.format(p.decisions)), el('td', { class: 'num' }, fmtInt.format(p.settled)))));
  fill('policy-value', forest('policy-value-chart', rows, false), table,
    el('p', { class: 'note' }, 'Greedy and no-offer values are self-normalised IPS estimates from the logged propensities, on the latest decisions.'));
}

// ---------- experiment ----------

function drawExperiment(recent) {
  const e = recent.experiment;
  if (!e || !e.arms.length) {
    fill('experiment', el('p', { class: 'empty' }, 'No settled decisions yet.'));
    return;
  }
  const compared = e.arms.filter((a) => a.difference);
  const pValue = (p) => (p === null || p === undefined ? '' : p < 0.001 ? 'p < 0.001' : 'p = ' + p.toFixed(3));
  const chart = compared.length
    ? forest('experiment-chart', compared.map((a) => ({
      label: a.offer_id + ' − ' + e.control,
      value: a.difference.value,
      lower: a.difference.lower,
      upper: a.difference.upper,
      tone: tone(a.difference.lower, a.difference.upper),
      note: pValue(a.difference.p_value),
    })), true)
    : el('p', { class: 'empty' }, 'Control "' + e.control + '" and each offer need two settled decisions before a difference is shown.');
  const interval = (v) => (v ? money(v.value, currency()) + ' [' + money(v.lower, currency()) + ', ' + money(v.upper, currency()) + ']' : '—');
  const table = el('table', {},
    el('tr', {}, el('th', {}, 'offer'), el('th', { class: 'num' }, 'settled'), el('th', { class: 'num' }, 'converted'), el('th', { class: 'num' }, 'profit / decision (95%)'), el('th', { class: 'num' }, 'vs control (95%)')),
    e.arms.map((a) => el('tr', {},
      el('td', {}, el('code', {}, a.offer_id), a.offer_id === e.control ? ' (control)' : ''),
      el('td', { class: 'num' }, fmtInt.format(a.settled)),
      el('td', { class: 'num' }, pct(a.conversion_rate, 1)),
      el('td', { class: 'num' }, interval(a.value)),
      el('td', { class: 'num' }, interval(a.difference)))));
  fill('experiment', chart, table,
    el('p', { class: 'note' }, 'Each decision drew its offer with a logged probability; every offer\'s value is weighted by its inverse (self-normalised IPS).'));
}

// ---------- fraud ----------

function drawFraud(fraud) {
  if (!fraud) {
    fill('fraud', needsAdmin());
    return;
  }
  const counts = el('div', { class: 'counts' },
    el('div', { class: 'count' }, el('b', {}, fmtInt.format(fraud.withheld)), el('span', {}, 'withheld')),
    el('div', { class: 'count' }, el('b', {}, fmtInt.format(fraud.capped)), el('span', {}, 'capped')),
    el('div', { class: 'count' }, el('b', {}, fmtInt.format(fraud.flagged)), el('span', {}, 'flagged')),
    el('div', { class: 'count' }, el('b', {}, fmtInt.format(fraud.scanned)), el('span', {}, 'decisions read')));
  if (!fraud.alerts.length) {
    fill('fraud', counts, el('p', { class: 'empty' }, 'No alerts among the latest decisions.'));
    return;
  }
  const table = el('table', { id: 'fraud-table' },
    el('tr', {}, el('th', {}, 'when'), el('th', {}, 'customer'), el('th', {}, 'action'), el('th', { class: 'num' }, 'score'), el('th', {}, 'reasons')),
    fraud.alerts.slice(0, 8).map((a) => el('tr', {},
      el('td', {}, new Date(a.at).toLocaleString()),
      el('td', {}, el('code', {}, shortId(a.customer_id))),
      el('td', {}, el('span', { class: 'badge ' + a.action }, a.action)),
      el('td', { class: 'num' }, fmt2.format(a.score)),
      el('td', {}, a.reasons.join(', ')))));
  fill('fraud', counts, table);
}

// ---------- policies ----------

function drawPolicies(policies, live) {
  if (!policies) {
    const p = live && live.policy;
    fill('policies', p ? el('p', {}, 'Active: ', el('code', {}, p.version), ' (', p.engine_version, ')') : el('p', { class: 'empty' }, 'No active policy.'), needsAdmin());
    return;
  }
  if (!policies.length) {
    fill('policies', el('p', { class: 'empty' }, 'No policy registered: discount serve --engine FILE, or POST /v1/policies.'));
    return;
  }
  const table = el('table', {},
    el('tr', {}, el('th', {}, 'version'), el('th', {}, 'state'), el('th', {}, 'engine'), el('th', {}, 'registered')),
    policies.map((p) => el('tr', {},
      el('td', {}, el('code', {}, p.version)),
      el('td', {}, p.active ? el('span', { class: 'badge active' }, 'active') : el('span', { class: 'badge' }, 'inactive'), p.apprentice ? el('span', { class: 'badge apprentice' }, 'apprentice') : ''),
      el('td', {}, p.engine_version || '—'),
      el('td', {}, new Date(p.created_at).toLocaleString()))));
  const offers = live && live.policy ? live.policy.offers.map((o) => o.offer_id + ' = ' + o.label).join(' · ') : '';
  fill('policies', table, offers ? el('p', { class: 'note' }, 'Ladder of the active policy: ' + offers) : '');
}

// ---------- models ----------

function metric(m, name) {
  const v = m.metrics && typeof m.metrics === 'object' ? m.metrics[name] : undefined;
  return typeof v === 'number' ? v : null;
}

function drawModels(models) {
  if (!models) {
    fill('models', needsAdmin());
    return;
  }
  if (!models.length) {
    fill('models', el('p', { class: 'empty' }, 'No models registered. Fit one with: discount train uplift'));
    return;
  }
  const live = state.live || {};
  const kinds = [...new Set(models.map((m) => m.kind))].sort();
  const parts = [];
  for (const kind of kinds) {
    const rows = models.filter((m) => m.kind === kind).sort((a, b) => b.created_at.localeCompare(a.created_at));
    parts.push(el('div', { class: 'kind-head' },
      el('h3', {}, kind + ' models'),
      el('button', { type: 'button', class: 'danger', 'data-action': 'rollback', 'data-kind': kind, onclick: () => confirmed('Roll back the active ' + kind + ' model to the one before it?', () => rollback(kind)) }, 'Roll back ' + kind)));
    parts.push(el('table', { class: 'models' },
      el('tr', {}, el('th', {}, 'model'), el('th', {}, 'status'), el('th', { class: 'num' }, 'rows'), el('th', { class: 'num' }, 'AUC'), el('th', { class: 'num' }, 'greedy value (SNIPS)'), el('th', { class: 'num' }, 'logged value'), el('th', {}, 'registered'), el('th', {}, '')),
      rows.map((m) => {
        const serving = live.serving_model === m.id;
        const refused = live.refused_model && live.refused_model.model_id === m.id;
        return el('tr', { 'data-model': m.id },
          el('td', {}, el('code', { title: m.id }, shortId(m.id))),
          el('td', {}, el('span', { class: 'badge ' + (refused ? 'refused' : m.status) }, refused ? 'refused' : m.status), serving ? ' scoring' : ''),
          el('td', { class: 'num' }, fmtInt.format(m.training_rows)),
          el('td', { class: 'num' }, metric(m, 'auc') === null ? '—' : metric(m, 'auc').toFixed(3)),
          el('td', { class: 'num' }, metric(m, 'greedy_value_snips') === null ? '—' : money(metric(m, 'greedy_value_snips'), currency())),
          el('td', { class: 'num' }, metric(m, 'logged_value') === null ? '—' : money(metric(m, 'logged_value'), currency())),
          el('td', {}, new Date(m.created_at).toLocaleString()),
          el('td', {}, m.status === 'active' ? '' : el('button', { type: 'button', class: 'secondary', 'data-action': 'promote', 'data-model': m.id, onclick: () => confirmed('Promote ' + m.id + '? It becomes the active ' + kind + ' model in every process within a second.', () => promote(m.id)) }, 'Promote')));
      })));
  }
  if (live.refused_model) parts.push(el('p', { class: 'error' }, 'Refused ' + live.refused_model.model_id + ': ' + (live.refused_model.reason || '')));
  fill('models', parts);
}

// ---------- admin actions ----------

function confirmed(question, action) {
  if (window.confirm(question)) action();
}

function report(ok, message) {
  const node = document.getElementById('action-result');
  node.textContent = message;
  node.className = 'status ' + (ok ? 'ok' : 'failed');
  node.dataset.outcome = ok ? 'ok' : 'failed';
}

// The registries and the live figures again, so that the tables show the action's effect.
async function refreshAfterAction() {
  try {
    state.live = await api('GET', '/v1/stats/live');
    drawLive(state.live);
    await refreshSlow();
  } catch (e) {
    report(false, document.getElementById('action-result').textContent + ' (reading the result failed: ' + e.message + ')');
  }
}

async function promote(id) {
  try {
    const r = await api('POST', '/v1/models/' + encodeURIComponent(id) + '/promote');
    report(!r.refused || r.refused.model_id !== id, 'Promoted ' + r.active + (r.serving ? '; scoring with ' + r.serving : '') + (r.refused ? '; refused: ' + r.refused.reason : '') + '.');
  } catch (e) {
    report(false, 'Promote failed: ' + e.message);
  }
  await refreshAfterAction();
}

async function rollback(kind) {
  try {
    const r = await api('POST', '/v1/models/rollback?kind=' + encodeURIComponent(kind));
    report(true, 'Rolled back ' + kind + ': ' + r.active + ' is active again' + (r.serving ? '; scoring with ' + r.serving : '') + '.');
  } catch (e) {
    report(false, 'Roll-back failed: ' + e.message);
  }
  await refreshAfterAction();
}

async function runAction(pending) {
  if (pending.action === 'rollback') await rollback(pending.kind || 'uplift');
  else if (pending.action === 'promote' && pending.model) await promote(pending.model);
  else report(false, 'Unknown action "' + pending.action + '" in the address (rollback, or promote with model=ID).');
}

// ---------- wiring ----------

document.addEventListener('DOMContentLoaded', () => {
  readFragment();
  document.getElementById('login-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const key = document.getElementById('login-key').value.trim();
    if (!key) return;
    sessionStorage.setItem(KEY_STORE, key);
    start();
  });
  document.getElementById('sign-out').addEventListener('click', () => {
    sessionStorage.removeItem(KEY_STORE);
    showLogin('');
  });
  window.addEventListener('hashchange', () => {
    readFragment();
    if (!state.timer) start();
  });
  start();
});
