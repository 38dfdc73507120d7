// Systole dashboard: live updates over a WebSocket, relative times, the theme toggle.
//
// Protocol: the server sends one JSON text message per service update (see
// systole_core::live::ServiceUpdate); on connecting, the hub first replays the latest update
// of every service it has seen (marked "replay": true). The tab sends "ping" every 30 s; the
// hub's auto-response answers "pong" without waking the hub. After a drop the tab reconnects
// with exponential backoff and resynchronises by fetching this page again and swapping <main>.
'use strict';
(() => {
  const body = document.body;
  const LABEL = { up: 'Up', late: 'Late', degraded: 'Degraded', down: 'Down', paused: 'Paused', unknown: 'Unknown' };
  const baseTitle = body.dataset.title || document.title;
  const latest = new Map();

  // Theme toggle, remembered in localStorage (theme.js applies it before first paint).
  const toggle = document.getElementById('theme-toggle');
  const darkNow = () => (document.documentElement.dataset.theme ||
    (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light')) === 'dark';
  if (toggle) {
    toggle.setAttribute('aria-pressed', String(darkNow()));
    toggle.addEventListener('click', () => {
      const next = darkNow() ? 'light' : 'dark';
      document.documentElement.dataset.theme = next;
      try { localStorage.setItem('systole-theme', next); } catch (e) { /* not remembered */ }
      toggle.setAttribute('aria-pressed', String(next === 'dark'));
    });
  }

  const rel = (ms) => {
    const s = Math.max(0, Math.floor((Date.now() - ms) / 1000));
    if (s < 60) return s + ' s ago';
    if (s < 3600) return Math.floor(s / 60) + ' min ago';
    if (s < 172800) return Math.floor(s / 3600) + ' h ago';
    return Math.floor(s / 86400) + ' d ago';
  };
  const exact = (ms) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ') + ' UTC';
  const tick = () => document.querySelectorAll('time[data-ms]').forEach((t) => { t.textContent = rel(+t.dataset.ms); });
  setInterval(tick, 1000);

  const setTime = (el, ms) => {
    if (!el || !ms) return;
    el.dataset.ms = ms;
    el.dateTime = new Date(ms).toISOString();
    el.title = exact(ms);
    el.textContent = rel(ms);
  };

  // Applies one update to its row, field by field, unless the row already shows newer data:
  // the status if it began no earlier than the row's (data-since), the last heartbeat and its
  // message if later than the row's. Page snapshots, live updates and the hub's replay can
  // then arrive in any order and still converge.
  const apply = (u) => {
    const row = document.querySelector('[data-service="' + CSS.escape(u.id) + '"]');
    if (!row) return false;
    let changed = false;
    if (u.statusSince >= +(row.dataset.since || 0) && (u.status !== row.dataset.status || u.statusSince > +row.dataset.since)) {
      row.dataset.since = u.statusSince;
      row.dataset.status = u.status;
      row.dataset.at = u.at;
      row.querySelectorAll('.badge').forEach((b) => { b.className = 'badge s-' + u.status; });
      row.querySelectorAll('[data-status-text]').forEach((e) => { e.textContent = LABEL[u.status] || u.status; });
      setTime(row.querySelector('time[data-field=since]'), u.statusSince);
      changed = true;
    }
    const last = row.querySelector('time[data-field=last]');
    if (last && u.lastHeartbeat && u.lastHeartbeat > +(last.dataset.ms || 0)) {
      setTime(last, u.lastHeartbeat);
      const msg = row.querySelector('[data-field=message]');
      if (msg && typeof u.message === 'string') msg.textContent = u.message;
    }
    return changed;
  };

  // Summary cards and tab title from the rows on the page.
  const recount = () => {
    const n = { total: 0, up: 0, late: 0, degraded: 0, down: 0, paused: 0, unknown: 0 };
    document.querySelectorAll('li[data-service]').forEach((r) => { n.total++; n[r.dataset.status]++; });
    for (const k in n) {
      const e = document.querySelector('[data-count="' + k + '"]');
      if (e) e.textContent = n[k];
    }
    const down = document.querySelectorAll('[data-service][data-status=down]').length;
    document.title = (down ? '(' + down + ' down) ' : '') + baseTitle;
    const overall = document.querySelector('.overall');
    if (overall) {
      const ok = n.total > 0 && n.up === n.total;
      overall.className = 'overall ' + (ok ? 'ok' : 'warn');
      overall.textContent = ok ? 'All systems operational' : 'Some systems need attention';
    }
  };

  // A live status change goes to the top of the alert history panel.
  const log = (u) => {
    const list = document.getElementById('activity');
    if (!list || !u.change) return;
    const li = document.createElement('li');
    li.className = u.status === 'down' ? 'a-bad' : u.status === 'up' ? 'a-good' : 'a-neutral';
    const t = document.createElement('time');
    setTime(t, u.at);
    const a = document.createElement('a');
    a.href = '/services/' + encodeURIComponent(u.id);
    a.textContent = u.id;
    const reason = u.change.reason ? ' (' + u.change.reason + ')' : '';
    li.append(t, ' ', a, ': ' + (LABEL[u.change.from] || u.change.from) + ' → ' + (LABEL[u.change.to] || u.change.to) + reason);
    list.prepend(li);
    const empty = document.getElementById('activity-empty');
    if (empty) empty.remove();
  };

  // Fetches this page again and swaps <main>, then re-applies newer live updates.
  const resync = async () => {
    try {
      const r = await fetch(location.href, { headers: { Accept: 'text/html' }, credentials: 'same-origin', cache: 'no-store' });
      if (!r.ok) return;
      const doc = new DOMParser().parseFromString(await r.text(), 'text/html');
      const fresh = doc.getElementById('main');
      const current = document.getElementById('main');
      if (!fresh || !current) return;
      current.replaceWith(document.adoptNode(fresh));
      for (const u of latest.values()) apply(u);
      recount();
      tick();
      body.dataset.synced = String(Date.now());
    } catch (e) { /* the next reconnect tries again */ }
  };

  const path = body.dataset.live;
  if (!path || !('WebSocket' in window)) return;
  const banner = document.getElementById('banner');
  let backoff = 500;
  let opened = false;
  let pinger = null;
  const connect = () => {
    const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + path);
    ws.onopen = () => {
      backoff = 500;
      if (banner) banner.hidden = true;
      body.dataset.connected = 'true';
      pinger = setInterval(() => { if (ws.readyState === 1) ws.send('ping'); }, 30000);
      const main = document.getElementById('main');
      const age = Date.now() - (main ? +main.dataset.generated : 0);
      if (opened || age > 1000) resync();
      opened = true;
    };
    ws.onmessage = (e) => {
      if (e.data === 'pong') return;
      let u;
      try { u = JSON.parse(e.data); } catch (err) { return; }
      if (!u || u.type !== 'service') return;
      const prev = latest.get(u.id);
      if (!prev || prev.at <= u.at) latest.set(u.id, u);
      if (apply(u)) {
        recount();
        if (!u.replay) log(u);
      }
    };
    ws.onclose = () => {
      clearInterval(pinger);
      body.dataset.connected = 'false';
      if (banner) banner.hidden = false;
      setTimeout(connect, backoff + Math.random() * backoff / 2);
      backoff = Math.min(backoff * 2, 10000);
    };
  };
  connect();
})();
