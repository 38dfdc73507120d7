// Systole dashboard: live updates over a WebSocket, relative times, the theme toggle, the
// refresh button, pop-up alerts (toasts and browser notifications), and the admin controls
// (forms and buttons that call the management API).
//
// Protocol: the server sends one JSON text message per service update (see
// systole_core::live::ServiceUpdate) or announced external alert (AlertUpdate, "type":
// "alert"); on connecting, the hub first replays the latest update of every service it has
// seen (marked "replay": true). A "catalog" message (CatalogUpdate) says the management API
// added, changed or removed a service. The tab sends "ping" every 30 s; the hub's auto-response
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
      // Keep the keyboard where it was: the same control in the fresh page, by id.
      const focused = current.contains(document.activeElement) && document.activeElement.id;
      current.replaceWith(document.adoptNode(fresh));
      const again = focused && document.getElementById(focused);
      if (again) again.focus();
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
  const fromAck = (u) => ({
    key: 'ack:' + u.acknowledged.incident,
    at: u.at,
    severity: 'info',
    title: 'Acknowledged: ' + nameOf(u.id),
    message: 'by ' + u.acknowledged.by,
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

  // A service added, changed or removed through the management API ("type": "catalog",
  // systole_core::live::CatalogUpdate): a removed one's rows go at once; otherwise the page
  // is fetched again (at most every 5 s) when it shows the service or lists the fleet.
  const onCatalog = (u) => {
    if (u.replay) return;
    const page = document.querySelector('main section.panel.row[data-service]');
    if (u.action === 'removed') {
      document.querySelectorAll('li[data-service="' + CSS.escape(u.id) + '"]').forEach((r) => r.remove());
      recount();
      if (page && page.dataset.service === u.id) {
        const manage = document.getElementById('manage');
        if (manage) manage.remove();
        say('This service was deleted.', false);
      } else if (!page) {
        soon();
      }
      return;
    }
    if (!page || page.dataset.service === u.id) soon();
  };

  // Admin controls (rendered only for admins): each form and button calls the management
  // API with fetch (same origin, the session cookie, JSON), answers in #notice, and fetches
  // the page again; a problem's field errors go next to their fields.
  const notice = document.getElementById('notice');
  const say = (text, ok) => {
    if (!notice) return;
    notice.textContent = text;
    notice.className = 'notice ' + (ok ? 'ok' : 'bad');
    notice.hidden = false;
    body.dataset.notice = String(Date.now());
  };
  const call = async (method, url, payload) => {
    const init = { method, credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' } };
    if (payload !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(payload);
    }
    try {
      const r = await fetch(url, init);
      let data = null;
      try { data = await r.json(); } catch (e) { data = null; }
      return { ok: r.ok, status: r.status, body: data || {} };
    } catch (e) {
      return { ok: false, status: 0, body: { detail: 'The request did not reach the server: ' + e.message } };
    }
  };
  const problem = (res) => {
    const b = res.body || {};
    return b.detail || b.title || (res.status === 0 ? 'The request failed.' : 'The server answered HTTP ' + res.status + '.');
  };
  const api = (id, tail) => '/api/v1/services/' + encodeURIComponent(id) + (tail || '');
  // A control at work says so (aria-busy) and ignores more clicks; it is not disabled, which
  // would take the keyboard focus away from it.
  const busy = (el, on) => { if (!el) return; if (on) el.setAttribute('aria-busy', 'true'); else el.removeAttribute('aria-busy'); };
  const working = (el) => !!el && el.getAttribute('aria-busy') === 'true';
  const openDialog = (d) => { if (d && !d.open) d.showModal(); };
  document.addEventListener('click', (e) => {
    const close = e.target.closest && e.target.closest('[data-close]');
    if (close) { const d = close.closest('dialog'); if (d) d.close(); }
  });

  // The service form: spans in the chosen unit become seconds; a problem's `errors` (or its
  // one `field`) mark the fields named by the first step of their path.
  const form = document.getElementById('service-form');
  const formDialog = document.getElementById('service-dialog');
  const UNIT = { s: 1, min: 60, h: 3600, d: 86400 };
  let editing = null;
  let original = {};
  const clearErrors = () => {
    form.querySelectorAll('[data-error-for]').forEach((p) => { p.textContent = ''; p.hidden = true; });
    form.querySelectorAll('[aria-invalid]').forEach((i) => i.removeAttribute('aria-invalid'));
    const general = form.querySelector('.form-error');
    general.textContent = '';
    general.hidden = true;
  };
  const fieldOf = (path) => String(path || '').replace(/^.*?services\[\d+\]\./, '').replace(/^\//, '').split(/[.[/]/)[0];
  const showErrors = (res) => {
    clearErrors();
    const b = res.body || {};
    const list = Array.isArray(b.errors) ? b.errors.slice() : [];
    if (!list.length && b.field) list.push({ field: b.field, detail: b.detail });
    if (!list.length && res.status === 409 && !editing) list.push({ field: 'id', detail: b.detail });
    const general = [];
    let first = null;
    for (const e of list) {
      const name = fieldOf(e.field || e.path || e.pointer);
      const text = e.detail || e.message || String(e);
      const slot = name && form.querySelector('[data-error-for="' + CSS.escape(name) + '"]');
      const input = name && form.elements.namedItem(name);
      if (slot && input) {
        slot.textContent = (slot.textContent ? slot.textContent + ' ' : '') + text;
        slot.hidden = false;
        input.setAttribute('aria-invalid', 'true');
        first = first || input;
      } else {
        general.push((e.field ? e.field + ': ' : '') + text);
      }
    }
    if (!list.length) general.push(problem(res));
    const box = form.querySelector('.form-error');
    if (general.length) { box.textContent = general.join(' '); box.hidden = false; }
    (first || box).focus();
  };
  const setSpan = (name, seconds) => {
    const input = form.elements.namedItem(name);
    const unit = form.elements.namedItem(name + 'Unit');
    if (seconds === null || seconds === undefined) { input.value = ''; unit.value = 'min'; return; }
    const u = ['d', 'h', 'min'].find((k) => seconds > 0 && seconds % UNIT[k] === 0) || 's';
    unit.value = u;
    input.value = String(seconds / UNIT[u]);
  };
  const fill = (spec) => {
    const set = (n, v) => { const e = form.elements.namedItem(n); if (e) e.value = v === null || v === undefined ? '' : v; };
    set('id', spec.id);
    set('name', spec.name);
    set('group', spec.group);
    set('schedule', spec.schedule);
    set('timezone', spec.timezone);
    set('description', spec.description);
    set('tags', (spec.tags || []).join(', '));
    setSpan('stalenessThreshold', spec.stalenessThreshold);
    setSpan('gracePeriod', spec.gracePeriod);
  };
  // The form as the API's JSON body. Creating leaves out what is empty (the group's or the
  // default applies); editing sends every field, null for an emptied one.
  const spec = () => {
    const v = (n) => { const e = form.elements.namedItem(n); return e ? e.value.trim() : ''; };
    const secs = (n) => {
      const x = v(n);
      if (x === '') return null;
      const k = Number(x) * (UNIT[v(n + 'Unit')] || 1);
      return Number.isFinite(k) ? Math.round(k) : x;
    };
    const out = {
      name: v('name') || null,
      group: v('group') || null,
      description: v('description') || null,
      tags: v('tags') ? v('tags').split(',').map((t) => t.trim()).filter(Boolean) : [],
      gracePeriod: secs('gracePeriod'),
    };
    if (v('schedule')) {
      out.schedule = v('schedule');
      out.timezone = v('timezone') || null;
      out.stalenessThreshold = null;
    } else {
      out.stalenessThreshold = secs('stalenessThreshold');
      out.schedule = null;
      out.timezone = null;
    }
    if (editing) {
      // A merge patch of what changed only, so the change log says what was changed.
      const same = (a, b) => JSON.stringify(a === undefined ? null : a) === JSON.stringify(b === undefined ? null : b);
      const patch = {};
      for (const k in out) if (!same(out[k], original[k])) patch[k] = out[k];
      if ('schedule' in patch && out.schedule) patch.timezone = out.timezone;
      return patch;
    }
    const created = { id: v('id') };
    for (const k in out) if (out[k] !== null && !(Array.isArray(out[k]) && !out[k].length)) created[k] = out[k];
    return created;
  };
  const openForm = (current) => {
    if (!form) return;
    editing = current ? current.id : null;
    original = current || {};
    form.reset();
    clearErrors();
    fill(current || {});
    const id = form.elements.namedItem('id');
    id.readOnly = !!editing;
    document.getElementById('service-dialog-h').textContent = editing ? 'Edit ' + (current.name || current.id) : 'Add service';
    document.getElementById('service-submit').textContent = editing ? 'Save changes' : 'Create service';
    openDialog(formDialog);
    (editing ? form.elements.namedItem('name') : id).focus();
  };
  const addButton = () => document.getElementById('add-service');
  document.addEventListener('click', (e) => { if (e.target === addButton()) openForm(null); });

  // The key, shown once, with the curl line that sends a heartbeat with it.
  const keyDialog = document.getElementById('key-dialog');
  const showKey = (id, key, note) => {
    if (!keyDialog) return;
    document.getElementById('key-service').textContent = id;
    document.getElementById('key-page').href = '/services/' + encodeURIComponent(id);
    document.getElementById('key-value').value = key;
    document.getElementById('key-curl').value = 'curl -X POST ' + location.origin + '/api/v1/heartbeat \\\n  -H \'Authorization: Bearer ' + key +
      '\' -H \'Content-Type: application/json\' \\\n  -d \'{"serviceId": "' + id + '", "status": "up"}\'';
    const n = document.getElementById('key-note');
    n.textContent = note || '';
    n.hidden = !note;
    openDialog(keyDialog);
    document.getElementById('key-value').select();
  };
  const keyOf = (b) => b.key || (b.service && b.service.key) || (b.keys && b.keys[0] && b.keys[0].key) || '';
  document.addEventListener('click', async (e) => {
    const b = e.target.closest && e.target.closest('[data-copy]');
    if (!b) return;
    const field = document.getElementById(b.dataset.copy);
    let done = false;
    try { await navigator.clipboard.writeText(field.value); done = true; } catch (err) {
      field.select();
      try { done = document.execCommand('copy'); } catch (err2) { done = false; }
    }
    const label = b.dataset.label || b.textContent;
    b.dataset.label = label;
    b.textContent = done ? 'Copied' : 'Select and copy it';
    setTimeout(() => { b.textContent = label; }, 2000);
  });

  // Asks before a delete or a key rotation; resolves to null (cancelled) or {purge}.
  const confirmDialog = document.getElementById('confirm-dialog');
  const ask = (title, text, yes, purge) => new Promise((resolve) => {
    document.getElementById('confirm-h').textContent = title;
    document.getElementById('confirm-text').textContent = text;
    document.getElementById('confirm-yes').textContent = yes;
    const box = document.getElementById('confirm-purge');
    box.checked = false;
    document.getElementById('confirm-purge-wrap').hidden = !purge;
    confirmDialog.returnValue = '';
    confirmDialog.addEventListener('close', () => {
      resolve(confirmDialog.returnValue === 'yes' ? { purge: box.checked } : null);
    }, { once: true });
    openDialog(confirmDialog);
  });

  if (form) {
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const submit = document.getElementById('service-submit');
      if (working(submit)) return;
      const payload = spec();
      if (editing && !Object.keys(payload).length) {
        formDialog.close();
        say('Nothing changed: ' + editing + ' stays as it was.', true);
        return;
      }
      busy(submit, true);
      const res = editing ? await call('PATCH', api(editing), payload) : await call('POST', '/api/v1/services', payload);
      busy(submit, false);
      if (!res.ok) {
        if ([400, 409, 413, 422].includes(res.status)) { showErrors(res); return; }
        formDialog.close();
        say((editing ? 'Not saved: ' : 'Not created: ') + problem(res), false);
        return;
      }
      formDialog.close();
      if (editing) {
        say('Saved the changes to ' + editing + '.', true);
      } else {
        const s = res.body.service || res.body;
        const id = s.id || payload.id;
        say('Created ' + id + '. Its key is shown once: copy it now.', true);
        showKey(id, keyOf(res.body), '');
      }
      resync();
    });
  }

  // The service page's buttons.
  document.addEventListener('click', async (e) => {
    const b = e.target.closest && e.target.closest('#manage [data-act]');
    if (!b || working(b)) return;
    const manage = document.getElementById('manage');
    const id = manage.dataset.id;
    const name = manage.dataset.name || id;
    const act = b.dataset.act;
    if (act === 'edit') { openForm(JSON.parse(manage.dataset.spec || '{}')); return; }
    if (act === 'pause' || act === 'resume') {
      busy(b, true);
      const res = await call('POST', api(id, '/' + act));
      busy(b, false);
      if (res.ok) say(act === 'pause' ? 'Paused ' + name + ': no alerts until it is resumed.' : 'Resumed ' + name + ': it waits for its next heartbeat.', true);
      else say((act === 'pause' ? 'Not paused: ' : 'Not resumed: ') + problem(res), false);
      resync();
      return;
    }
    if (act === 'rotate') {
      const ok = await ask('Rotate the key of ' + name + '?', 'A new key is made and shown once. The old key keeps working for a grace period, then stops.', 'Rotate key', false);
      if (!ok) { b.focus(); return; }
      busy(b, true);
      const res = await call('POST', api(id, '/keys'));
      busy(b, false);
      if (!res.ok) { say('Key not rotated: ' + problem(res), false); b.focus(); return; }
      const until = res.body.previousKeyValidUntil || res.body.oldKeyValidUntil || res.body.graceUntil;
      say('Rotated the key of ' + name + '.', true);
      showKey(id, keyOf(res.body), until ? 'The old key works until ' + until + ', then stops.' : 'The old key keeps working for a grace period, then stops.');
      resync();
      return;
    }
    if (act === 'delete') {
      const ok = await ask('Delete ' + name + '?', 'Heartbeats with its key are refused from now on, an open incident is closed and it leaves every page. This cannot be undone.', 'Delete service', true);
      if (!ok) { b.focus(); return; }
      busy(b, true);
      const res = await call('DELETE', api(id, ok.purge ? '?purge=true' : ''));
      busy(b, false);
      if (!res.ok) { say('Not deleted: ' + problem(res), false); b.focus(); return; }
      try { sessionStorage.setItem('systole-notice', 'Deleted ' + name + (ok.purge ? ' and its history.' : '.')); } catch (err) { /* no note */ }
      location.assign('/');
    }
  });

  // The test notification (dashboard: a sample; service page: about that service).
  document.addEventListener('submit', async (e) => {
    const f = e.target.closest && e.target.closest('form.test-notify');
    if (!f) return;
    e.preventDefault();
    const channel = f.elements.namedItem('channel').value;
    const payload = { channel };
    if (f.dataset.service) payload.serviceId = f.dataset.service;
    const button = f.querySelector('button[type=submit]');
    if (working(button)) return;
    busy(button, true);
    say('Sending a test notification to ' + channel + '…', true);
    const res = await call('POST', '/api/v1/notifications/test', payload);
    busy(button, false);
    if (!res.ok) { say('Test notification not sent: ' + problem(res), false); return; }
    const r = res.body;
    const how = [r.httpStatus ? 'HTTP ' + r.httpStatus : null, r.latencyMs !== undefined && r.latencyMs !== null ? r.latencyMs + ' ms' : null].filter(Boolean).join(', ');
    say('Test notification to ' + channel + (r.delivered ? ' delivered' : ' not delivered') + (how ? ' (' + how + ')' : '') +
      (r.error ? ': ' + r.error : '.'), !!r.delivered);
  });

  // A note left by the page before (a delete goes back to the dashboard).
  try {
    const note = sessionStorage.getItem('systole-notice');
    if (note) { sessionStorage.removeItem('systole-notice'); say(note, true); }
  } catch (e) { /* none */ }

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
      if (u && u.type === 'catalog') { onCatalog(u); return; }
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
      if (u.acknowledged) {
        announce(fromAck(u));
        // Its service page shows who acknowledged: reload it (another tab's or user's ack).
        const page = document.querySelector('main section.panel.row[data-service]');
        if (!u.replay && page && page.dataset.service === u.id) soon();
      }
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
