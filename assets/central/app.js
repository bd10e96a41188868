// The officers' console: plain JS, no build step. Talks to central serve's JSON API and SSE feed.
'use strict';
const $ = (s) => document.querySelector(s);
const state = { me: null, alerts: new Map(), feed: null };
const PERMS = { officer: ['alerts', 'records'], supervisor: ['alerts', 'units', 'records', 'audit'], auditor: ['records', 'audit'] };

function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v; else if (k.startsWith('on')) e.addEventListener(k.slice(2), v); else if (v !== undefined && v !== null) e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k ?? '')));
  return e;
}

async function api(path, opts = {}) {
  const headers = { ...(opts.headers || {}) };
  if (opts.method && opts.method !== 'GET' && state.me) headers['X-CSRF-Token'] = state.me.csrf;
  if (opts.json !== undefined) { headers['Content-Type'] = 'application/json'; opts.body = JSON.stringify(opts.json); }
  const res = await fetch(path, { ...opts, headers, credentials: 'same-origin' });
  const type = res.headers.get('content-type') || '';
  const body = type.includes('json') ? await res.json() : await res.text();
  if (!res.ok) { const err = new Error((body && body.error) || res.statusText); err.status = res.status; throw err; }
  return body;
}

const time = (iso) => (iso ? new Date(iso).toLocaleString() : '-');

function showSignIn(msg) {
  state.me = null;
  $('#nav').hidden = true; $('#who').hidden = true;
  document.querySelectorAll('.view').forEach((v) => (v.hidden = true));
  $('#signin').hidden = false;
  $('#signin-error').textContent = msg || '';
}

async function start() {
  try {
    state.me = await api('/api/me');
  } catch {
    return showSignIn();
  }
  $('#signin').hidden = true;
  $('#nav').hidden = false; $('#who').hidden = false;
  $('#user').textContent = `${state.me.user} (${state.me.role})`;
  $('#link').textContent = state.me.connected ? 'broker connected' : 'broker DISCONNECTED';
  $('#link').className = 'pill ' + (state.me.connected ? 'ok' : 'bad');
  const mine = PERMS[state.me.role] || [];
  document.querySelectorAll('#nav a').forEach((a) => (a.hidden = !mine.includes(a.dataset.perm)));
  if (mine.includes('alerts')) openFeed();
  if (!location.hash || !mine.includes(location.hash.slice(1).split('/')[0])) location.hash = '#' + mine[0];
  route();
}

$('#signin-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  try {
    await api('/api/login', { method: 'POST', json: { name: f.get('name'), password: f.get('password') } });
    ev.target.reset();
    start();
  } catch (err) {
    $('#signin-error').textContent = err.message;
  }
});

$('#signout').addEventListener('click', async () => {
  await api('/api/logout', { method: 'POST' }).catch(() => undefined);
  if (state.feed) state.feed.close();
  showSignIn('signed out');
});

window.addEventListener('hashchange', route);

function route() {
  if (!state.me) return;
  const [view, ...rest] = location.hash.slice(1).split('/');
  document.querySelectorAll('.view').forEach((v) => (v.hidden = v.id !== view));
  document.querySelectorAll('#nav a').forEach((a) => a.classList.toggle('active', a.getAttribute('href') === '#' + view || (view === 'record' && a.dataset.perm === 'records')));
  if (view === 'alerts') loadAlerts();
  if (view === 'units') loadUnits();
  if (view === 'records') loadRecords();
  if (view === 'record') loadRecord(decodeURIComponent(rest[0] || ''), decodeURIComponent(rest[1] || ''));
  if (view === 'audit') loadAudit();
}

// ---- alerts
async function loadAlerts() {
  const list = await api('/api/alerts');
  state.alerts.clear();
  for (const a of list) state.alerts.set(a.alertId, a);
  renderAlerts();
}

function openFeed() {
  if (state.feed) state.feed.close();
  const es = new EventSource('/api/events');
  state.feed = es;
  es.addEventListener('open', () => ($('#feed').textContent = 'live: new alerts appear here as units raise them'));
  es.addEventListener('error', () => ($('#feed').textContent = 'live feed interrupted: reconnecting…'));
  es.addEventListener('alert', (ev) => {
    const a = JSON.parse(ev.data);
    state.alerts.set(a.alertId, a);
    renderAlerts();
  });
}

function renderAlerts() {
  const list = [...state.alerts.values()].sort((x, y) => (x.receivedAt < y.receivedAt ? 1 : -1));
  const open = list.filter((a) => !a.verdict).length;
  $('#alert-count').textContent = `${list.length} (${open} to adjudicate)`;
  const box = $('#alert-list');
  // keep what the officer is typing: update cards in place
  const existing = new Map([...box.children].map((c) => [c.dataset.id, c]));
  box.replaceChildren(...list.map((a) => {
    const old = existing.get(a.alertId);
    if (old && old.dataset.rev === String(a.rev)) return old;
    const note = old ? old.querySelector('input').value : '';
    return alertCard(a, note);
  }));
}

function alertCard(a, note) {
  const crop = a.crop && !a.cropProblem
    ? el('img', { src: `/api/alerts/${encodeURIComponent(a.alertId)}/crop?rev=${a.rev}`, alt: 'live face crop', class: 'crop' })
    : el('div', { class: 'none' }, a.cropProblem || 'no crop');
  const photo = a.photo ? el('img', { src: a.photo, alt: `watchlist photo of ${a.subjectRef}` }) : el('div', { class: 'none' }, 'no enrolment photo in photosDir');
  const q = a.quality || {};
  const input = el('input', { placeholder: 'note (optional)', maxlength: '500' });
  input.value = note || '';
  const act = (verdict) => async () => {
    buttons.forEach((b) => (b.disabled = true));
    try {
      const updated = await api(`/api/alerts/${encodeURIComponent(a.alertId)}/adjudicate`, { method: 'POST', json: { verdict, note: input.value } });
      state.alerts.set(updated.alertId, updated);
      renderAlerts();
    } catch (err) {
      buttons.forEach((b) => (b.disabled = false));
      outcome.textContent = 'refused: ' + err.message;
    }
  };
  const buttons = [
    el('button', { class: 'confirm', type: 'button', onclick: act('confirmed') }, 'Confirm'),
    el('button', { class: 'false', type: 'button', onclick: act('false-alert') }, 'False alert'),
  ];
  if (a.verdict) buttons.forEach((b) => (b.disabled = true));
  const outcome = el('div', { class: 'outcome' });
  if (a.verdict) {
    const unit = a.unitResult ? (a.unitResult.accepted ? 'unit: accepted' : `unit: REFUSED ${a.unitResult.reason}: ${a.unitResult.message || ''}`) : 'waiting for the unit…';
    outcome.textContent = `${a.verdict === 'confirmed' ? 'Confirmed' : 'False alert'} by ${a.officer} ${time(a.adjudicatedAt)}${a.note ? ` (“${a.note}”)` : ''} · ${unit}`;
  }
  const card = el('article', { class: 'alert ' + (a.verdict || 'open'), 'data-id': a.alertId, 'data-rev': String(a.rev) },
    el('figure', {}, crop, el('figcaption', {}, a.crop ? `live crop ${a.crop.width}×${a.crop.height}` : 'live crop')),
    el('figure', {}, photo, el('figcaption', {}, 'watchlist photo')),
    el('div', {},
      el('h3', {}, `${a.subjectRef} `, el('span', { class: 'muted' }, a.category)),
      el('div', { class: 'score' }, `score ${a.score.toFixed(3)} ≥ threshold ${a.threshold.toFixed(3)} · ${a.evidenceFrames} frames`),
      el('div', {}, `quality: eyes ${Math.round(q.interOcularPx)} px apart, sharpness ${Math.round(q.sharpness)}, yaw ${q.yawDeg}°, pitch ${q.pitchDeg}°, detector ${q.detScore}`),
      el('div', { class: 'muted' }, `unit ${a.unitId} · ${time(a.at)} · alert ${a.alertId}`),
      el('div', { class: 'actions' }, input, ...buttons),
      outcome));
  return card;
}

// ---- units
async function loadUnits() {
  const units = await api('/api/units');
  $('#unit-rows').replaceChildren(...units.map((u) => {
    const h = u.health || {};
    const temps = Object.values(h.temperaturesC || {});
    const file = el('input', { type: 'file', 'aria-label': `bundle for ${u.unitId}` });
    const place = el('input', { class: 'place', placeholder: 'place (for the record)', maxlength: '120', 'aria-label': `place of ${u.unitId}` });
    const say = (s) => ($('#unit-msg').textContent = s);
    const startBtn = el('button', { type: 'button', onclick: async () => {
      if (!file.files[0]) return say('choose a watchlist bundle file first');
      say(`start-session sent to ${u.unitId}…`);
      try { const r = await api(`/api/units/${u.unitId}/start-session?place=${encodeURIComponent(place.value)}`, { method: 'POST', body: file.files[0], headers: { 'Content-Type': 'application/octet-stream' } }); say(`${u.unitId}: start-session ${r.accepted ? 'accepted' : 'REFUSED ' + r.reason + ': ' + (r.message || '')}`); } catch (err) { say(err.message); }
      loadUnits();
    } }, 'Start');
    const endBtn = el('button', { type: 'button', onclick: async () => {
      say(`end-session sent to ${u.unitId}…`);
      try { const r = await api(`/api/units/${u.unitId}/end-session`, { method: 'POST', json: {} }); say(`${u.unitId}: end-session ${r.accepted ? 'accepted' : 'REFUSED ' + r.reason + ': ' + (r.message || '')}`); } catch (err) { say(err.message); }
      loadUnits();
    } }, 'End session');
    return el('tr', {},
      el('td', {}, u.unitId), el('td', {}, (u.status && u.status.state) || '-'),
      el('td', {}, (h.camera && h.camera.state) || '-'), el('td', {}, h.camera ? `${h.camera.fpsIn} / ${h.camera.fpsProcessed}` : '-'),
      el('td', {}, h.provider || '-'), el('td', {}, temps.length ? `${Math.max(...temps)} °C` : '-'),
      el('td', {}, h.outbox ? h.outbox.depth : '-'),
      el('td', {}, u.session ? `${u.session.state} ${u.session.sessionId || ''}` : '-'),
      el('td', { class: 'control' }, file, place, startBtn, endBtn));
  }));
}

// ---- records (in the form forces publish them: the server formats them, src/central/records.ts)
async function loadRecords() {
  const rows = await api('/api/records');
  $('#record-rows').replaceChildren(...rows.map((r) => {
    const p = r.published;
    return el('tr', {},
      el('td', {}, el('a', { href: `#record/${encodeURIComponent(r.unitId)}/${encodeURIComponent(r.sessionId)}` }, p.date)),
      el('td', {}, p.place), el('td', {}, `${p.start}–${p.end}`), el('td', {}, p.duration), el('td', {}, p.watchlistSize), el('td', {}, p.facesProcessed),
      el('td', {}, p.alerts), el('td', {}, p.confirmed), el('td', {}, p.falseAlerts), el('td', {}, p.threshold),
      el('td', { class: 'sig-' + r.signature }, p.signature));
  }));
}

async function loadRecord(unit, session) {
  const r = await api(`/api/records/${encodeURIComponent(unit)}/${encodeURIComponent(session)}`);
  const p = r.published;
  $('#record-signature').className = 'sig-' + r.signature;
  $('#record-signature').textContent = 'Signature ' + p.signature;
  const facts = [
    ['Date', p.date], ['Place', p.place], ['Unit', p.unit], ['Session', p.session], ['Time', `${p.start}–${p.end} (${p.timeZone}), ended by ${p.endedBy}`],
    ['Duration', p.duration], ['Watchlist size', p.watchlistSize], ['Faces processed', p.facesProcessed],
    ['Alerts', p.alerts], ['Confirmed', p.confirmed], ['False alerts', p.falseAlerts], ['Not adjudicated', p.unadjudicated],
    ['False alert rate seen', p.falseAlertRateSeen], ['Threshold', p.thresholdStatement], ['Watchlist wiped', p.wipe],
    ['Signed by key', r.record.signature ? r.record.signature.keyFingerprint : '-'],
  ];
  $('#record-facts').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
  $('#record-groups').hidden = p.groups.length === 0;
  $('#record-group-rows').replaceChildren(...p.groups.map((g) => el('tr', { class: g.deciding ? 'deciding' : '' },
    el('td', {}, g.group + (g.deciding ? ' (deciding)' : '')), el('td', {}, g.impostorPairs.toLocaleString('en-GB')), el('td', {}, g.fmr), el('td', {}, g.interval),
    el('td', {}, g.measured ? 'yes' : 'too few pairs'))));
}

// ---- audit
async function loadAudit() {
  const a = await api('/api/audit');
  $('#audit-chain').textContent = a.chain.ok ? `hash chain intact (${a.chain.entries} entries)` : `HASH CHAIN BROKEN at line ${a.chain.firstBroken ? a.chain.firstBroken.line + ': ' + a.chain.firstBroken.reason : '?'}`;
  $('#audit-rows').replaceChildren(...a.entries.map((e) => {
    const { v, seq, at, type, prev, hash, ...rest } = e;
    return el('tr', {}, el('td', {}, seq), el('td', {}, time(at)), el('td', {}, type), el('td', {}, JSON.stringify(rest)));
  }));
}

start();
