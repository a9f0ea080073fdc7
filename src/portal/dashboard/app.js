// SPDX-License-Identifier: Apache-2.0
// The portal's dashboard: plain JavaScript over the JSON API (docs/api.yaml),
// with the admin bearer token kept in sessionStorage. Every value from the
// API is inserted as text, never as HTML: host names and reasons come from
// devices.
'use strict';

const KEY = 'livefix-token';
const PAGE = 100; // devices per page: a fleet of 100,000 is never fetched whole
let role = '';

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

// The answer's body and, for a list, its full length (X-Total-Count, or null).
async function call(method, path) {
  const token = sessionStorage.getItem(KEY);
  const r = await fetch(path, { method, headers: { Authorization: 'Bearer ' + token } });
  let body = null;
  try { body = await r.json(); } catch (e) { body = null; }
  if (r.status === 401) { logout('the token was refused (401)'); throw new Error('unauthorised'); }
  if (!r.ok) throw new Error((body && body.error) || (method + ' ' + path + ': ' + r.status));
  const total = r.headers.get('X-Total-Count');
  return { body, total: total === null ? null : Number(total) };
}

async function api(method, path) {
  return (await call(method, path)).body;
}

function ago(t) {
  if (!t) return 'never';
  const s = Math.max(0, Math.round(Date.now() / 1000 - t));
  if (s < 120) return s + ' s ago';
  if (s < 7200) return Math.round(s / 60) + ' min ago';
  if (s < 172800) return Math.round(s / 3600) + ' h ago';
  return Math.round(s / 86400) + ' d ago';
}

function table(headers, rows) {
  return el('table', {}, el('thead', {}, el('tr', {}, headers.map((h) => el('th', {}, h)))),
    el('tbody', {}, rows));
}

function status(msg) { document.getElementById('status').textContent = msg || ''; }

// ---- views ----

async function viewFleet() {
  const f = await api('GET', '/api/v1/reports/fleet');
  const card = (label, v) => el('div', { class: 'card' }, el('b', {}, v), label);
  return [
    el('h2', {}, 'Fleet'),
    el('div', { class: 'cards', id: 'fleet-cards' },
      card('devices', f.devices), card('seen recently', f.devices_seen_recently),
      card('bundles', f.bundles), card('open CVEs', f.cves_open),
      card('device × CVE exposures', f.device_cve_exposures)),
    el('h3', {}, 'Rollouts by state'),
    table(['state', 'rollouts'], (f.rollouts || []).map((r) =>
      el('tr', {}, el('td', { class: 'state-' + r.state }, r.state), el('td', {}, r.count)))),
    el('h3', {}, 'Groups'),
    table(['group', 'devices'], (f.groups || []).map((g) =>
      el('tr', {}, el('td', {}, g.group), el('td', {}, g.devices)))),
  ];
}

async function deviceDetail(id, into) {
  const d = await api('GET', '/api/v1/devices/' + encodeURIComponent(id));
  into.replaceChildren(
    el('h3', {}, 'Device ' + (d.hostname || d.id)),
    el('p', { class: 'muted' }, d.id + ' · ' + (d.distro || '') + ' · agent ' + (d.agent_version || '?')),
    el('h4', {}, 'Patches'),
    table(['kind', 'target', 'level', 'bundle', 'state', 'updated'], (d.patches || []).map((p) =>
      el('tr', {}, el('td', {}, p.kind), el('td', {}, p.target), el('td', {}, p.level),
        el('td', {}, p.bundle || ''), el('td', { class: 'state-' + p.state }, p.state),
        el('td', {}, ago(p.updated))))),
    el('h4', {}, 'Open CVEs'),
    table(['CVE', 'severity', 'fixed by'], (d.open_cves || []).map((c) =>
      el('tr', {}, el('td', { class: 'exposed' }, c.cve), el('td', {}, c.severity),
        el('td', {}, (c.fix_bundle || '') + (c.fix_level ? ' (level ' + c.fix_level + ')' : ''))))),
    el('h4', {}, 'Recent events'),
    table(['type', 'bundle', 'at'], (d.recent_events || []).map((e) =>
      el('tr', {}, el('td', { class: 'state-' + e.type }, e.type), el('td', {}, e.bundle || ''),
        el('td', {}, ago(e.at))))));
}

// Previous / "1–100 of N" / Next; the page is in the URL (#devices?offset=100),
// so a reload or the back button keeps it.
function pager(offset, shown, total) {
  const more = total === null ? shown === PAGE : offset + shown < total;
  const go = (to) => () => { location.hash = 'devices?offset=' + to; };
  return el('p', { class: 'pager' },
    el('button', { type: 'button', id: 'devices-prev', disabled: offset === 0,
      onclick: go(Math.max(0, offset - PAGE)) }, 'Previous'),
    el('span', { id: 'devices-range' }, (shown ? offset + 1 : 0) + '–' + (offset + shown) +
      (total === null ? '' : ' of ' + total)),
    el('button', { type: 'button', id: 'devices-next', disabled: !more,
      onclick: go(offset + PAGE) }, 'Next'));
}

async function viewDevices(params) {
  let offset = Math.floor(Number(params.get('offset')) || 0);
  if (!(offset > 0 && offset <= 1e9)) offset = 0; // a link someone edited
  let page = await call('GET', '/api/v1/devices?limit=' + PAGE + '&offset=' + offset);
  if (page.body.length === 0 && offset > 0 && page.total) {
    // Past the end (devices went away, or an old link): show the last page.
    offset = Math.floor((page.total - 1) / PAGE) * PAGE;
    page = await call('GET', '/api/v1/devices?limit=' + PAGE + '&offset=' + offset);
  }
  const devs = page.body;
  const detail = el('div', { id: 'device-detail' });
  const rows = devs.map((d) => el('tr', {
    class: 'clickable', 'data-device': d.id,
    onclick: () => deviceDetail(d.id, detail).catch((e) => status(e.message)),
  },
  el('td', {}, d.hostname || ''), el('td', {}, d.group),
  el('td', { class: d.revoked ? 'state-halted' : '' }, d.revoked ? 'revoked' : 'active'),
  el('td', {}, d.kernel_release || ''), el('td', {}, d.kernel_level),
  el('td', { class: 'user-patches' }, d.user_patches),
  el('td', {}, d.agent_version || ''), el('td', {}, ago(d.last_seen))));
  return [el('h2', {}, 'Devices (' + (page.total === null ? devs.length : page.total) + ')'),
    pager(offset, devs.length, page.total),
    table(['host', 'group', 'state', 'kernel', 'kernel level', 'userspace patches', 'agent',
      'last check-in'], rows), detail];
}

async function viewPatches() {
  const feeds = await api('GET', '/api/v1/feeds');
  const out = [el('h2', {}, 'Patches')];
  for (const f of feeds) {
    const bundles = await api('GET', '/api/v1/feeds/' + encodeURIComponent(f.name) + '/bundles');
    out.push(el('h3', {}, 'Feed ' + f.name),
      table(['bundle', 'kind', 'level', 'target', 'CVEs', 'state'], bundles.map((b) =>
        el('tr', {}, el('td', {}, b.bundle_id), el('td', {}, b.kind), el('td', {}, b.level),
          el('td', {}, [b.target_arch, b.target_release, (b.target || '').slice(0, 16)].filter(Boolean).join(' ')),
          el('td', {}, (b.cves || []).map((c) => (c.cve || c.id) + ' (' + c.severity + ')').join(', ')),
          el('td', { class: b.withdrawn ? 'state-halted' : '' }, b.withdrawn ? 'withdrawn' : 'published')))));
  }
  return out;
}

async function rolloutAction(id, action) {
  status('');
  await api('POST', '/api/v1/rollouts/' + id + '/' + action);
  await show('rollouts');
}

async function viewRollouts() {
  const rs = await api('GET', '/api/v1/rollouts');
  const steer = role === 'admin' || role === 'operator';
  const button = (r, action, label) => el('button', {
    type: 'button', 'data-action': action, 'data-rollout': r.id,
    onclick: () => rolloutAction(r.id, action).catch((e) => status(e.message)),
  }, label);
  const rows = rs.map((r) => el('tr', { 'data-rollout': r.id },
    el('td', {}, r.id), el('td', {}, r.bundle), el('td', {}, r.feed), el('td', {}, r.group),
    el('td', {}, r.stage), el('td', { class: 'state-' + r.state, 'data-state': r.state }, r.state),
    el('td', {}, r.reason || ''), el('td', {}, r.canary_percent + '% / ' + r.error_threshold + '%'),
    el('td', {}, !steer ? '' : [
      r.state === 'paused' || r.state === 'halted' ? button(r, 'approve', 'Approve') : null,
      r.state === 'paused' || r.state === 'halted' ? button(r, 'resume', 'Resume') : null,
      r.state === 'running' ? button(r, 'pause', 'Pause') : null])));
  return [el('h2', {}, 'Rollouts'),
    table(['id', 'bundle', 'feed', 'group', 'stage', 'state', 'reason', 'canary / threshold', ''], rows)];
}

async function cveDetail(cve, into) {
  const c = await api('GET', '/api/v1/reports/cves/' + encodeURIComponent(cve));
  into.replaceChildren(el('h3', {}, cve),
    el('h4', {}, 'Exposed devices'),
    table(['device', 'kind', 'level', 'fix'], (c.exposed || []).map((e) =>
      el('tr', {}, el('td', { class: 'exposed' }, e.device), el('td', {}, e.kind), el('td', {}, e.level),
        el('td', {}, e.fix_bundle + ' (level ' + e.fix_level + ')')))),
    el('h4', {}, 'Fixed devices'),
    table(['device', 'fixed by', 'level'], (c.fixed || []).map((e) =>
      el('tr', {}, el('td', {}, e.device), el('td', {}, e.fixed_by), el('td', {}, e.level)))));
}

async function viewCves() {
  const cves = await api('GET', '/api/v1/reports/cves');
  const detail = el('div', { id: 'cve-detail' });
  cves.sort((a, b) => b.exposed - a.exposed || a.cve.localeCompare(b.cve));
  return [el('h2', {}, 'CVEs'),
    table(['CVE', 'severity', 'exposed devices', 'fixed devices'], cves.map((c) => el('tr', {
      class: 'clickable', onclick: () => cveDetail(c.cve, detail).catch((e) => status(e.message)),
    }, el('td', {}, c.cve), el('td', {}, c.severity),
    el('td', { class: c.exposed ? 'exposed' : '' }, c.exposed), el('td', {}, c.fixed)))), detail];
}

const views = { fleet: viewFleet, devices: viewDevices, patches: viewPatches, rollouts: viewRollouts, cves: viewCves };

// hash: "name" or "name?key=value&…" (the devices page keeps its offset there).
async function show(hash) {
  const q = hash.indexOf('?');
  let name = q < 0 ? hash : hash.slice(0, q);
  const params = new URLSearchParams(q < 0 ? '' : hash.slice(q + 1));
  if (!Object.hasOwn(views, name)) name = 'fleet';
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.view === name);
  const v = document.getElementById('view');
  v.setAttribute('aria-busy', 'true');
  try {
    v.replaceChildren(...await views[name](params));
    v.dataset.loaded = name;
  } catch (e) {
    status(e.message);
  }
  v.removeAttribute('aria-busy');
}

async function start() {
  const s = await api('GET', '/api/v1/session');
  role = s.role;
  document.getElementById('who').textContent = 'role: ' + role;
  document.getElementById('login').hidden = true;
  document.getElementById('nav').hidden = false;
  document.getElementById('logout').hidden = false;
  await show(location.hash.slice(1));
}

function logout(msg) {
  sessionStorage.removeItem(KEY);
  role = '';
  document.getElementById('login').hidden = false;
  document.getElementById('nav').hidden = true;
  document.getElementById('logout').hidden = true;
  document.getElementById('who').textContent = '';
  document.getElementById('view').replaceChildren();
  document.getElementById('login-error').textContent = msg || '';
}

document.getElementById('login').addEventListener('submit', (ev) => {
  ev.preventDefault();
  sessionStorage.setItem(KEY, document.getElementById('token').value.trim());
  document.getElementById('token').value = '';
  start().catch((e) => logout(e.message === 'unauthorised' ? 'the token was refused' : e.message));
});
document.getElementById('logout').addEventListener('click', () => logout(''));
window.addEventListener('hashchange', () => { if (role) show(location.hash.slice(1)); });
if (sessionStorage.getItem(KEY)) start().catch((e) => logout(e.message));
