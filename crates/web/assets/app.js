// Systole dashboard: live updates over a WebSocket, relative times, the theme toggle, the
// refresh button, and pop-up alerts (toasts and browser notifications).
//
// Protocol: the server sends one JSON text message per service update (see
// systole_core::live::ServiceUpdate) or announced external alert (AlertUpdate, "type":
// "alert"); on connecting, the hub first replays the latest update of every service it has
// seen (marked "replay": true). The tab sends "ping" every 30 s; the hub's auto-response
// answers "pong" without waking the hub. After a drop the tab reconnects with exponential
// backoff and resynchronises by fetching this page again and swapping <main>. While the
// socket is down it polls for alerts every alertNotifications.pollingIntervalSeconds and, with
// features.autoRefreshSeconds, refetches the page at that period.
'use strict';
(() => {
  const body = document.body;
  const LABEL = { up: 'Up', late: 'Late', degraded: 'Degraded', down: 'Down', paused: 'Paused', maintenance: 'Maintenance', unknown: 'Unknown' };
  const baseTitle = body.dataset.title || document.title;
  const latest = new Map();

  // Theme toggle, remembered in localStorage "theme-preference" (theme.js applies it before
  // the first paint).
  const toggle = document.getElementById('theme-toggle');
  const darkNow = () => (document.documentElement.dataset.theme ||
    (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light')) === 'dark';
  if (toggle) {
    toggle.setAttribute('aria-pressed', String(darkNow()));
    toggle.addEventListener('click', () => {
      const next = darkNow() ? 'light' : 'dark';
      document.documentElement.dataset.theme = next;
      try { localStorage.setItem('theme-preference', next); } catch (e) { /* not remembered */ }
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
  // A service can show twice on a paged dashboard (under "Needs attention" and in its group).
  const apply = (u) => {
    let changed = false;
    document.querySelectorAll('[data-service="' + CSS.escape(u.id) + '"]').forEach((row) => {
      if (applyRow(row, u)) changed = true;
    });
    return changed;
  };
  const applyRow = (row, u) => {
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

  // A paged dashboard (main[data-paged]) shows one page of the fleet: its summary cards and
  // its "Needs attention" list come from the server, so a status change (on this page or
  // not) refetches the page, at most every 5 s, instead of counting rows.
  const paged = () => { const m = document.getElementById('main'); return !!(m && m.dataset.paged); };
  let refetch = null;
  let lastFetch = 0;
  const soon = () => {
    if (refetch) return;
    refetch = setTimeout(() => { refetch = null; lastFetch = Date.now(); resync(); }, Math.max(500, lastFetch + 5000 - Date.now()));
  };

  // Summary cards and tab title from the rows on the page (a paged page: the title from the
  // server's counts).
  const recount = () => {
    if (paged()) {
      const down = document.querySelector('[data-count="down"]');
      const k = down ? +down.textContent : 0;
      document.title = (k ? '(' + k + ' down) ' : '') + baseTitle;
      return;
    }
    const n = { total: 0, up: 0, late: 0, degraded: 0, down: 0, maintenance: 0, paused: 0, unknown: 0 };
    document.querySelectorAll('li[data-service]').forEach((r) => { n.total++; n[r.dataset.status]++; });
    for (const k in n) {
      const e = document.querySelector('[data-count="' + k + '"]');
      if (e) e.textContent = n[k];
    }
    const down = document.querySelectorAll('[data-service][data-status=down]').length;
    document.title = (down ? '(' + down + ' down) ' : '') + baseTitle;
    const overall = document.querySelector('.overall');
    if (overall) {
      const ok = n.total > 0 && n.up + n.maintenance === n.total;
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

  // "Updated … ago" in the header: the last time the page heard from the server.
  const updated = document.getElementById('updated');
  const touch = () => { if (updated) setTime(updated, Date.now()); };

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
      touch();
      body.dataset.synced = String(Date.now());
    } catch (e) { /* the next reconnect tries again */ }
  };

  const refresh = document.getElementById('refresh');
  if (refresh) {
    refresh.addEventListener('click', async () => {
      refresh.setAttribute('aria-busy', 'true');
      await resync();
      refresh.removeAttribute('aria-busy');
    });
  }

  // Pop-up alerts (settings.json alertNotifications, in body[data-alerts]): status changes
  // and external alerts newer than the newest this browser has seen (kept in localStorage
  // under localStorageKey as an ISO time, the seed's format) pop up as toasts and, when
  // allowed, browser notifications, if their severity is in severityFilter (empty: all).
  const cfg = (() => { try { return JSON.parse(body.dataset.alerts || 'null'); } catch (e) { return null; } })();
  const toasts = document.getElementById('toasts');
  const SEVERITY = { down: 'critical', late: 'warning', degraded: 'warning', up: 'info', paused: 'info', maintenance: 'info', unknown: 'info' };
  const HEADLINE = { down: 'Service Down', up: 'Service Recovered', degraded: 'Service Degraded', late: 'Service Late', paused: 'Service Paused', maintenance: 'Service in Maintenance', unknown: 'Service Unknown' };
  const stored = () => {
    try { return Date.parse(localStorage.getItem(cfg.localStorageKey) || '') || 0; } catch (e) { return 0; }
  };
  const remember = (ms) => {
    try { if (ms > stored()) localStorage.setItem(cfg.localStorageKey, new Date(ms).toISOString()); } catch (e) { /* memory only */ }
  };
  // The newest alert time seen, and the alerts of that very millisecond shown by this tab
  // (null: none may be shown, the time came from storage or the page).
  let cursor = 0;
  let atCursor = null;
  if (cfg) {
    const main = document.getElementById('main');
    cursor = stored() || (main ? +main.dataset.generated : Date.now());
    remember(cursor);
  }
  const toast = (a) => {
    if (!toasts) return;
    const el = document.createElement('div');
    el.className = 'toast sev-' + a.severity;
    el.dataset.at = a.at;
    el.dataset.severity = a.severity;
    const title = document.createElement('strong');
    title.textContent = a.title;
    const close = document.createElement('button');
    close.type = 'button';
    close.className = 'ghost x';
    close.setAttribute('aria-label', 'Dismiss: ' + a.title);
    close.textContent = '×';
    close.addEventListener('click', () => el.remove());
    const text = document.createElement('p');
    text.textContent = a.message;
    const meta = document.createElement('small');
    meta.textContent = a.severity + ' · ' + a.source + ' · ' + exact(a.at);
    el.append(title, close, text, meta);
    toasts.append(el);
    while (toasts.children.length > 5) toasts.firstElementChild.remove();
    // Critical ones stay until dismissed.
    if (a.severity !== 'critical') setTimeout(() => el.remove(), 15000);
  };
  const announce = (a) => {
    if (!cfg || !a.at) return;
    if (a.at > cursor) {
      cursor = a.at;
      atCursor = new Set([a.key]);
    } else if (a.at === cursor && atCursor && !atCursor.has(a.key)) {
      atCursor.add(a.key);
    } else {
      return;
    }
    remember(a.at);
    const filter = (cfg.severityFilter || []).map((s) => String(s).toLowerCase());
    if (filter.length && !filter.includes(a.severity)) return;
    if (cfg.enableToastNotifications) toast(a);
    if (cfg.enableBrowserNotifications && 'Notification' in window && Notification.permission === 'granted') {
      try { new Notification(a.title, { body: a.message, tag: a.key }); } catch (e) { /* not shown */ }
    }
  };
  const nameOf = (id) => {
    const n = document.querySelector('[data-service="' + CSS.escape(id) + '"] .name');
    return n ? n.textContent : id;
  };
  const fromChange = (u) => ({
    key: 'service:' + u.id + ':' + u.at,
    at: u.at,
    severity: SEVERITY[u.change.to] || 'info',
    title: (HEADLINE[u.change.to] || 'Service ' + u.change.to) + ': ' + nameOf(u.id),
    message: (LABEL[u.change.from] || u.change.from) + ' → ' + (LABEL[u.change.to] || u.change.to) +
      (u.change.reason ? ' (' + u.change.reason + ')' : ''),
    source: 'heartbeat-monitor',
  });
  const fromAlert = (a, at) => ({
    key: 'alert:' + a.fingerprint + ':' + a.state + ':' + at,
    at,
    severity: a.state === 'resolved' ? 'info' : String(a.severity || 'warning').toLowerCase(),
    title: (a.state === 'resolved' ? 'Resolved: ' : '') + a.title,
    message: a.message || '',
    source: a.source || 'external',
  });
  const notifyButton = document.getElementById('notify');
  if (notifyButton && 'Notification' in window && Notification.permission === 'default') {
    notifyButton.hidden = false;
    notifyButton.addEventListener('click', async () => {
      try { await Notification.requestPermission(); } catch (e) { /* unchanged */ }
      notifyButton.hidden = Notification.permission !== 'default';
    });
  }

  // While the socket is down: alerts and statuses by polling (signed-in pages only), and the
  // page itself every features.autoRefreshSeconds.
  const getJson = async (url) => {
    const r = await fetch(url, { headers: { Accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' });
    return r.ok ? r.json() : null;
  };
  const poll = async () => {
    try {
      const since = encodeURIComponent(new Date(cursor).toISOString());
      const recent = await getJson('/api/v1/alerts/recent?limit=10&since=' + since);
      for (const a of ((recent && recent.alerts) || []).slice().reverse()) announce(fromAlert(a, Date.parse(a.receivedAt)));
      const ids = [...new Set([...document.querySelectorAll('li[data-service]')].map((r) => r.dataset.service))];
      if (paged()) { resync(); }
      const status = ids.length ? await getJson('/api/v1/status?limit=500&serviceId=' + encodeURIComponent(ids.slice(0, 500).join(','))) : null;
      for (const s of (status && status.services) || []) {
        const row = document.querySelector('li[data-service="' + CSS.escape(s.id) + '"]');
        const since = Date.parse(s.statusSince || '');
        if (!row || !since) continue;
        const from = row.dataset.status;
        const u = {
          id: s.id, status: s.status, statusSince: since, at: since,
          lastHeartbeat: Date.parse(s.lastHeartbeat || '') || null, message: s.message,
          change: from !== s.status ? { from, to: s.status, reason: '' } : null,
        };
        if (apply(u)) {
          recount();
          if (u.change) { log(u); announce(fromChange(u)); }
        }
      }
      if (status) touch();
    } catch (e) { /* the next poll tries again */ }
  };
  const every = (seconds, f) => (seconds > 0 ? setInterval(f, seconds * 1000) : null);
  let fallback = [];
  const fallBack = () => {
    if (fallback.length) return;
    fallback = [every(cfg ? cfg.pollingIntervalSeconds : 0, poll), every(+(body.dataset.autoRefresh || 0), resync)];
    if (cfg) poll();
  };
  const liveAgain = () => { fallback.forEach((t) => t && clearInterval(t)); fallback = []; };

  const path = body.dataset.live;
  if (!path) return;
  if (!('WebSocket' in window)) { fallBack(); return; }
  const banner = document.getElementById('banner');
  let backoff = 500;
  let opened = false;
  let pinger = null;
  const connect = () => {
    const ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + path);
    ws.onopen = () => {
      backoff = 500;
      liveAgain();
      touch();
      if (banner) banner.hidden = true;
      body.dataset.connected = 'true';
      pinger = setInterval(() => { if (ws.readyState === 1) ws.send('ping'); }, 30000);
      const main = document.getElementById('main');
      const age = Date.now() - (main ? +main.dataset.generated : 0);
      if (opened || age > 1000) resync();
      opened = true;
    };
    ws.onmessage = (e) => {
      touch();
      if (e.data === 'pong') return;
      let u;
      try { u = JSON.parse(e.data); } catch (err) { return; }
      if (u && u.type === 'alert') { announce(fromAlert(u, u.at)); return; }
      if (!u || u.type !== 'service') return;
      const prev = latest.get(u.id);
      if (!prev || prev.at <= u.at) latest.set(u.id, u);
      if (apply(u)) {
        recount();
        if (!u.replay) log(u);
      }
      if (u.change && !u.replay && paged()) soon();
      // A change this browser has not seen pops up, replayed or not (one made while no tab
      // was open shows when the next opens).
      if (u.change) announce(fromChange(u));
    };
    ws.onclose = () => {
      clearInterval(pinger);
      fallBack();
      body.dataset.connected = 'false';
      if (banner) banner.hidden = false;
      setTimeout(connect, backoff + Math.random() * backoff / 2);
      backoff = Math.min(backoff * 2, 10000);
    };
  };
  connect();
})();
