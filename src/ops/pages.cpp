#include "ops/pages.hpp"

#include <string_view>

namespace wps::ops {

namespace {
constexpr std::string_view kStyle = R"css(
body{font:14px system-ui,sans-serif;margin:0;color:#1b1b1b;background:#f6f7f9}
header{background:#20344d;color:#fff;padding:10px 18px;display:flex;gap:18px;align-items:center}
header a{color:#cfe3ff;text-decoration:none}header a.on{color:#fff;font-weight:600}
h1{font-size:16px;margin:0 12px 0 0}main{padding:14px 18px}
table{border-collapse:collapse;background:#fff;width:100%;font-variant-numeric:tabular-nums}
th,td{border-bottom:1px solid #e3e6ea;padding:5px 8px;text-align:left}th{background:#eef1f5}
td.n{text-align:right}.bar{display:flex;gap:8px;align-items:center;margin-bottom:10px;flex-wrap:wrap}
input{padding:4px 6px;border:1px solid #b9c0c9;border-radius:3px}button{padding:4px 10px}
.muted{color:#6b7480}.k-connected{color:#17702e}.k-disconnected{color:#a4262c}
.k-rest{color:#4b3ab0}.k-event-handler{color:#8a5300}
)css";

std::string page(std::string_view head, std::string_view body) {
  std::string out;
  out.reserve(head.size() + kStyle.size() + body.size());
  out += head;
  out += kStyle;
  out += body;
  return out;
}

constexpr std::string_view kOverviewHead = R"html(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>webpubsub-server: overview</title>
<style>)html";
constexpr std::string_view kOverviewBody = R"html(</style></head><body>
<header><h1>webpubsub-server</h1><a class="on" id="nav-overview" href="/">Overview</a>
<a id="nav-trace" href="/trace">Live trace</a><span class="muted" id="updated"></span></header>
<main>
<table id="hubs"><thead><tr><th>Hub</th><th>Connections</th><th>Groups</th><th>Users</th>
<th>Received/s</th><th>Delivered/s</th><th>Received</th><th>Delivered</th></tr></thead>
<tbody></tbody></table>
<p class="muted">Counts refresh every second. Prometheus metrics: <a id="metrics" href="/metrics">/metrics</a>.</p>
</main>
<script>
const token = new URLSearchParams(location.search).get('access_token');
const withToken = (u) => token ? u + (u.includes('?') ? '&' : '?') + 'access_token=' + encodeURIComponent(token) : u;
for (const id of ['nav-overview', 'nav-trace', 'metrics']) {
  const a = document.getElementById(id); a.href = withToken(a.getAttribute('href'));
}
let last = null;
function cell(row, text, numeric) {
  const td = row.insertCell(); td.textContent = text; if (numeric) td.className = 'n'; return td;
}
async function refresh() {
  try {
    const res = await fetch(withToken('/overview.json'), {cache: 'no-store'});
    const now = await res.json();
    const body = document.querySelector('#hubs tbody');
    body.replaceChildren();
    const before = new Map((last ? last.hubs : []).map((h) => [h.name, h]));
    const dt = last ? (now.time - last.time) / 1000 : 0;
    for (const h of now.hubs) {
      const row = body.insertRow(); row.dataset.hub = h.name;
      cell(row, h.name);
      cell(row, h.connections, true).dataset.field = 'connections';
      cell(row, h.groups, true).dataset.field = 'groups';
      cell(row, h.users, true).dataset.field = 'users';
      const b = before.get(h.name);
      const rate = (x, y) => (b && dt > 0 ? ((x - y) / dt).toFixed(1) : '-');
      cell(row, rate(h.received, b && b.received), true).dataset.field = 'received-rate';
      cell(row, rate(h.delivered, b && b.delivered), true).dataset.field = 'delivered-rate';
      cell(row, h.received, true).dataset.field = 'received';
      cell(row, h.delivered, true).dataset.field = 'delivered';
    }
    document.getElementById('updated').textContent = 'updated ' + new Date(now.time).toLocaleTimeString();
    last = now;
  } catch (e) {
    document.getElementById('updated').textContent = 'not reachable: ' + e;
  }
}
refresh(); setInterval(refresh, 1000);
</script></body></html>
)html";

constexpr std::string_view kTraceHead = R"html(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>webpubsub-server: live trace</title>
<style>)html";
constexpr std::string_view kTraceBody = R"html(</style></head><body>
<header><h1>webpubsub-server</h1><a id="nav-overview" href="/">Overview</a>
<a class="on" id="nav-trace" href="/trace">Live trace</a><span class="muted" id="status">connecting</span></header>
<main>
<div class="bar">
<input id="f-hub" placeholder="hub"><input id="f-user" placeholder="user"><input id="f-connection" placeholder="connection">
<button id="pause">Pause</button><button id="clear">Clear</button>
<span class="muted" id="count">0 events</span></div>
<table id="trace"><thead><tr><th>Time</th><th>Kind</th><th>Hub</th><th>User</th><th>Connection</th><th>Detail</th></tr></thead>
<tbody></tbody></table>
</main>
<script>
const token = new URLSearchParams(location.search).get('access_token');
const withToken = (u) => token ? u + (u.includes('?') ? '&' : '?') + 'access_token=' + encodeURIComponent(token) : u;
for (const id of ['nav-overview', 'nav-trace']) {
  const a = document.getElementById(id); a.href = withToken(a.getAttribute('href'));
}
const MAX_ROWS = 1000;
const body = document.querySelector('#trace tbody');
const filters = {hub: document.getElementById('f-hub'), user: document.getElementById('f-user'),
                 connection: document.getElementById('f-connection')};
let paused = false, received = 0;
function matches(row) {
  const f = (k) => filters[k].value.trim();
  return (!f('hub') || row.dataset.hub === f('hub')) && (!f('user') || row.dataset.user === f('user')) &&
         (!f('connection') || row.dataset.connection === f('connection'));
}
function applyFilters() { for (const row of body.rows) row.hidden = !matches(row); }
for (const input of Object.values(filters)) input.addEventListener('input', applyFilters);
document.getElementById('pause').onclick = (e) => {
  paused = !paused; e.target.textContent = paused ? 'Resume' : 'Pause';
};
document.getElementById('clear').onclick = () => { body.replaceChildren(); };
function add(ev) {
  received++;
  document.getElementById('count').textContent = received + ' events';
  if (paused) return;
  const row = body.insertRow(0);
  row.dataset.hub = ev.hub; row.dataset.user = ev.userId; row.dataset.connection = ev.connectionId;
  row.dataset.kind = ev.kind; row.className = 'k-' + ev.kind;
  for (const text of [new Date(ev.time).toISOString().slice(11, 23), ev.kind, ev.hub, ev.userId,
                      ev.connectionId, ev.detail]) row.insertCell().textContent = text;
  row.hidden = !matches(row);
  while (body.rows.length > MAX_ROWS) body.deleteRow(-1);
}
const source = new EventSource(withToken('/trace/events'));
source.onopen = () => { document.getElementById('status').textContent = 'live'; };
source.onerror = () => { document.getElementById('status').textContent = 'reconnecting'; };
source.onmessage = (m) => add(JSON.parse(m.data));
</script></body></html>
)html";

}  // namespace

const std::string& overview_page() {
  static const std::string text = page(kOverviewHead, kOverviewBody);
  return text;
}

const std::string& trace_page() {
  static const std::string text = page(kTraceHead, kTraceBody);
  return text;
}

}  // namespace wps::ops
