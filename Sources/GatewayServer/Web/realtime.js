/*!
 * realtime.js - browser SDK for the Realtime Gateway (served at /realtime.js).
 * Plain ES2017, no dependencies, works as a classic <script>.
 *
 *   const rt = new RealtimeGateway.Client(token, '123', { topics: ['deal.stage.*'] });
 *   rt.onEvent = (event) => console.log(event.event_type, event.data);
 *   rt.onAuthError = (code) => fetchNewToken().then((t) => rt.refreshToken(t));
 *   rt.connect();
 *
 * WebSocket first; falls back to long-polling when WebSocket is missing or fails to open
 * `fallbackAfter` times in a row, and retries WebSocket every `wsRetryInterval` ms while polling.
 * Resumes by cursor after every reconnect and drops duplicate events (delivery is at-least-once).
 */
(function (root) {
  'use strict';

  const TERMINAL_CLOSE_CODES = [4001, 4003, 4008]; // bad token, forbidden, policy violation
  const DEFAULTS = {
    url: null,              // WebSocket endpoint, e.g. 'wss://rt.example.com/ws' (default: this origin + /ws)
    pollUrl: null,          // long-poll endpoint (default: same origin as `url` + /api/realtime/poll/)
    topics: [],             // topics to subscribe to on connect
    transport: 'auto',      // 'auto' | 'websocket' (never poll) | 'polling' (never WebSocket)
    reconnectDelay: 1000,   // backoff base, ms (doubles per attempt, with jitter)
    maxReconnectDelay: 30000,
    maxReconnectAttempts: Infinity,
    connectTimeout: 10000,  // ms for a socket to open before it counts as failed
    fallbackAfter: 3,       // consecutive WebSocket open failures before polling
    wsRetryInterval: 60000, // while polling, try WebSocket again this often
    pingInterval: 25000,
    pollTimeout: 30,        // seconds, sent as ?timeout=
    pollLimit: 100,
    dedupeSize: 1000,       // how many recent event ids to remember
    storage: undefined,     // { getItem, setItem, removeItem }; default localStorage; false = memory only
    storageKey: null,       // default 'realtime-gateway:cursor:<companyId>'
    WebSocket: undefined,   // injectable for tests / non-browser hosts
    fetch: undefined,
  };

  function sleep(ms) { return new Promise((resolve) => setTimeout(resolve, ms)); }

  // Exponential backoff with "equal jitter": a random delay in [d/2, d].
  function backoff(attempt, base, max) {
    const d = Math.min(max, base * Math.pow(2, Math.max(0, attempt - 1)));
    return Math.round(d / 2 + Math.random() * d / 2);
  }

  function defaultStorage() { // localStorage, unless missing or blocked (access throws in some privacy modes)
    try { const s = root.localStorage; if (s) s.getItem('realtime-gateway:probe'); return s || null; } catch (e) { return null; }
  }

  class Client {
    constructor(token, companyId, options) {
      options = options || {};
      this.token = token;
      this.companyId = companyId == null ? null : String(companyId);
      this.options = Object.assign({}, DEFAULTS, options);
      Object.keys(options).forEach((k) => {   // hooks may be passed as options: { onEvent() {} }
        if (/^on[A-Z]/.test(k) && typeof options[k] === 'function') this[k] = options[k];
      });
      this.ws = null;
      this.state = 'idle';
      this.topics = [];
      this.connectionInfo = null;                    // data of the last connection.established
      this.stats = { events: 0, duplicates: 0, reconnects: 0 };
      this._listeners = {};
      this._timers = {};
      this._stopped = true;                          // not started, or disconnect()/terminal close
      this._authFailed = false;
      this._mode = 'ws';                             // 'ws' or 'poll'
      this._attempts = this._openFailures = 0;       // reconnects since the last open; sockets that never opened
      this._retryAfterMs = 0;                        // from the last rate_limited error
      this._pollGen = 0;                             // bumping it ends the running poll loop
      this._pollAbort = null;
      this._seenIds = new Set();                     // dedupe: recent event ids, oldest first in _seenOrder
      this._seenOrder = [];
      const storage = this.options.storage === undefined ? defaultStorage() : this.options.storage;
      this._storage = storage || null;
      this._storageKey = this.options.storageKey || 'realtime-gateway:cursor:' + (this.companyId || '');
      this._memoryCursor = null;
      this._addTopics(this.options.topics);
    }

    // ---- hooks: override on the instance, pass as options, or use on(name, fn) ----
    onEvent(event) {}
    onOpen() {}
    onClose(code, reason) {}
    onError(errorData) {}
    onStateChange(state) {}
    onAuthError(code) {}   // terminal close (4001/4003/4008, poll 401/403): call refreshToken(newToken)
    onResumed(data) {}
    onMessage(message) {}

    on(name, fn) {
      (this._listeners[name] = this._listeners[name] || []).push(fn);
      return () => { this._listeners[name] = (this._listeners[name] || []).filter((f) => f !== fn); };
    }

    _emit(name, ...args) { // the on<Name> method first, then on(name) listeners; a throwing hook is logged
      const hook = this['on' + name.charAt(0).toUpperCase() + name.slice(1)];
      [hook].concat(this._listeners[name] || []).forEach((fn) => {
        try { if (typeof fn === 'function') fn.apply(this, args); } catch (e) { console.error('realtime.js:', name, e); }
      });
    }

    _setState(state) { if (this.state !== state) { this.state = state; this._emit('stateChange', state); } }

    // ---- public API ----
    connect() {
      if (!this._stopped) return this; // already running
      this._stopped = false;
      this._mode = 'ws';
      this._authFailed = false;
      this._attempts = this._openFailures = 0;
      const t = this.options.transport;
      if (t === 'polling' || (!this._WebSocket() && t !== 'websocket')) this._startPolling();
      else this._openSocket();
      return this;
    }

    disconnect() { // stops for good, until connect() is called again
      const ws = this.ws;
      this._stopped = true;
      this.ws = null;
      this._clearTimers();
      this._stopPolling();
      if (ws) {
        try { ws.close(1000, 'client disconnect'); } catch (e) { /* already closed */ }
        this._emit('close', 1000, 'client disconnect');
      }
      this._setState('closed');
    }

    subscribe(topics) {
      const added = this._addTopics(topics);
      if (this._mode === 'poll') { if (added.length) this._restartPolling(); }
      else if (added.length) this.send({ type: 'subscribe', topics: added });
    }

    unsubscribe(topics) {
      const drop = [].concat(topics || []);
      this.topics = this.topics.filter((t) => drop.indexOf(t) < 0);
      if (this._mode === 'poll') this._restartPolling();
      else this.send({ type: 'unsubscribe', topics: drop });
    }

    send(data) {
      const ws = this.ws;
      if (ws && ws.readyState === 1 /* OPEN */) { ws.send(JSON.stringify(data)); return true; }
      return false;
    }

    // New token for the live connection and for every later (re)connect or poll.
    refreshToken(token) {
      this.token = token;
      this.send({ type: 'auth.refresh', token: token });
      if (this._authFailed) this.connect(); // we stopped on 4001/4003/401/403: start again
    }

    // Last position seen (an event_id or a poll cursor), kept in localStorage when there is one.
    get cursor() {
      try { if (this._storage) return this._storage.getItem(this._storageKey) || null; } catch (e) { /* memory */ }
      return this._memoryCursor;
    }

    set cursor(value) {
      this._memoryCursor = value || null;
      try {
        if (this._storage && value) this._storage.setItem(this._storageKey, value);
        else if (this._storage) this._storage.removeItem(this._storageKey);
      } catch (e) { /* quota or privacy mode: memory only */ }
    }

    handleMessage(msg) {
      if (!msg || typeof msg !== 'object') return;
      this._emit('message', msg);
      const data = msg.data || {};
      switch (msg.type) {
        case 'connection.established': this.connectionInfo = data; break;
        case 'event': this._deliver(data); break;
        case 'cursor.resumed':
          this._resuming = false;
          if (this._lastId) this.cursor = this._lastId;
          this._emit('resumed', data);
          break;
        case 'error':
          if (data.code === 'cursor_expired' || (this._resuming && data.code === 'invalid_message' && !data.topic)) {
            this._resuming = false; // the resume failed: history is gone; continue live
            this.cursor = this._lastId || null;
          }
          if (data.code === 'rate_limited' && data.retry_after) this._retryAfterMs = data.retry_after * 1000;
          this._emit('error', data);
          break;
        default: break; // pong, subscription.confirmed, unsubscription.confirmed: onMessage sees them
      }
    }

    // ---- internals: events ----
    _addTopics(topics) {
      const added = [].concat(topics || []).filter((t) => t && this.topics.indexOf(t) < 0);
      this.topics = this.topics.concat(added);
      return added;
    }

    _deliver(event) {
      if (!event || typeof event !== 'object') return;
      const id = event.event_id;
      if (id) {
        if (this._seenIds.has(id)) { this.stats.duplicates++; return; }
        this._seenIds.add(id);
        this._seenOrder.push(id);
        if (this._seenOrder.length > this.options.dedupeSize) this._seenIds.delete(this._seenOrder.shift());
        this._lastId = id;
        if (!this._resuming) this.cursor = id;
      }
      this.stats.events++;
      this._emit('event', event);
    }

    // ---- internals: WebSocket ----
    _WebSocket() { return this.options.WebSocket || root.WebSocket || null; }

    _wsUrl() {
      let base = this.options.url;
      if (!base) {
        const loc = root.location;
        if (!loc || !loc.host) throw new Error('realtime.js: options.url is required outside a browser page');
        base = (loc.protocol === 'https:' ? 'wss://' : 'ws://') + loc.host + '/ws';
      }
      let q = 'token=' + encodeURIComponent(this.token);
      if (this.companyId != null) q += '&company_id=' + encodeURIComponent(this.companyId);
      return base + (base.indexOf('?') < 0 ? '?' : '&') + q;
    }

    _openSocket() {
      const WS = this._WebSocket();
      if (!WS || this.ws) return;
      const url = this._wsUrl(); // throws outside a page without options.url
      if (this._mode !== 'poll') this._setState(this._attempts > 0 ? 'reconnecting' : 'connecting');
      let ws, opened = false;
      try { ws = new WS(url); } catch (e) { return this._onSocketClose(1006, String(e), false); }
      this.ws = ws;
      const failOpen = (reason) => { // error or timeout before open: count it as a failed attempt
        if (opened || this.ws !== ws) return;
        this.ws = null;
        try { ws.close(); } catch (e) { /* ignore */ }
        this._onSocketClose(1006, reason, false);
      };
      const openTimer = setTimeout(() => failOpen('connect timeout'), this.options.connectTimeout);
      ws.onopen = () => { opened = true; clearTimeout(openTimer); if (this.ws === ws) this._onSocketOpen(); };
      ws.onmessage = (m) => {
        let msg;
        try { msg = JSON.parse(m.data); } catch (e) { return; } // not JSON: ignore
        if (this.ws === ws) this.handleMessage(msg);
      };
      ws.onerror = () => failOpen('connect failed'); // after open, onclose follows with the code
      ws.onclose = (ev) => { clearTimeout(openTimer); if (this.ws === ws) this._onSocketClose(ev.code, ev.reason, opened); };
    }

    _onSocketOpen() {
      if (this._mode === 'poll') { this._stopPolling(); this._clearTimer('probe'); this._mode = 'ws'; } // probe succeeded
      this._attempts = this._openFailures = this._retryAfterMs = 0;
      this._setState('open');
      if (this.topics.length) this.send({ type: 'subscribe', topics: this.topics });
      const cursor = this.cursor;
      // Until cursor.resumed arrives, live events may overtake the replay; the stored cursor stays where
      // the resume started, so a drop in between cannot skip the events still being replayed.
      this._resuming = !!cursor;
      if (cursor) this.send({ type: 'cursor.update', cursor: cursor });
      this._clearTimer('ping');
      this._timers.ping = setInterval(() => this.send({ type: 'ping' }), this.options.pingInterval);
      this._emit('open');
    }

    _onSocketClose(code, reason, opened) {
      this.ws = null;
      this._clearTimer('ping');
      if (this._stopped) return;
      if (this._mode === 'poll') return; // a failed probe while polling: keep polling
      this._emit('close', code, reason);
      if (TERMINAL_CLOSE_CODES.indexOf(code) >= 0) return this._terminal(code);
      if (code === 4029) this._retryAfterMs = Math.max(this._retryAfterMs, 5000); // abuse: do not come right back
      this._openFailures = opened ? 0 : this._openFailures + 1;
      if (this.options.transport === 'auto' && this._openFailures >= this.options.fallbackAfter) {
        return this._startPolling();
      }
      this._scheduleReconnect();
    }

    _scheduleReconnect() {
      if (this._attempts >= this.options.maxReconnectAttempts) {
        this._stopped = true;
        this._setState('closed');
        return this._emit('error', { code: 'reconnect_failed', message: 'gave up reconnecting' });
      }
      this._attempts++;
      this.stats.reconnects++;
      const o = this.options;
      const delay = Math.max(this._retryAfterMs, backoff(this._attempts, o.reconnectDelay, o.maxReconnectDelay));
      this._retryAfterMs = 0;
      this._setState('reconnecting');
      this._clearTimer('reconnect');
      this._timers.reconnect = setTimeout(() => { if (!this._stopped) this._openSocket(); }, delay);
    }

    _terminal(code) {
      this._stopped = this._authFailed = true;
      this._clearTimers();
      this._stopPolling();
      this._setState('closed');
      this._emit('authError', code);
    }

    // ---- internals: long-polling ----
    _startPolling() {
      this._mode = 'poll';
      this._setState('polling');
      this._clearTimer('probe');
      if (this._WebSocket() && this.options.transport === 'auto') {
        this._timers.probe = setInterval(() => { if (!this._stopped) this._openSocket(); }, this.options.wsRetryInterval);
      }
      this._restartPolling();
    }

    _stopPolling() {
      this._pollGen++;
      if (this._pollAbort) { try { this._pollAbort.abort(); } catch (e) { /* ignore */ } }
      this._pollAbort = null;
    }

    _restartPolling() {
      this._stopPolling();
      if (this._mode === 'poll' && !this._stopped) this._pollLoop(this._pollGen);
    }

    _pollUrl() { // same origin as the page, or as options.url (ws -> http, wss -> https)
      const origin = this.options.url ? this.options.url.replace(/^ws(s?):\/\/([^/?#]+).*$/, 'http$1://$2') : '';
      const base = this.options.pollUrl || origin + '/api/realtime/poll/';
      const o = this.options;
      let q = 'topics=' + this.topics.map(encodeURIComponent).join(',') +
        '&timeout=' + o.pollTimeout + '&limit=' + o.pollLimit;
      if (this.companyId != null) q += '&company_id=' + encodeURIComponent(this.companyId);
      const cursor = this.cursor;
      if (cursor) q += '&cursor=' + encodeURIComponent(cursor);
      return base + (base.indexOf('?') < 0 ? '?' : '&') + q;
    }

    async _pollLoop(gen) {
      const o = this.options, fetchFn = o.fetch || root.fetch;
      const live = () => gen === this._pollGen && !this._stopped;
      let failures = 0;
      while (live() && this.topics.length) {
        const ctrl = typeof AbortController === 'function' ? new AbortController() : null;
        const guard = setTimeout(() => ctrl && ctrl.abort(), (o.pollTimeout + 15) * 1000); // hung request
        this._pollAbort = ctrl;
        let res = null, body = null, wait = -1;
        try {
          res = await fetchFn(this._pollUrl(), {
            headers: { Authorization: 'Bearer ' + this.token, Accept: 'application/json' },
            cache: 'no-store', signal: ctrl ? ctrl.signal : undefined,
          });
          if (res.ok) body = await res.json();
        } catch (e) {
          res = null;
          if (live()) this._emit('error', { code: 'poll_failed', message: String((e && e.message) || e) });
        }
        clearTimeout(guard);
        if (!live()) return;
        if (res && (res.status === 401 || res.status === 403)) {
          this._emit('close', res.status, 'poll refused');
          return this._terminal(res.status);
        }
        // 410 cursor_expired: the history after our cursor is gone. Drop the cursor and poll on from the live
        // head, as the WebSocket path does; resending the same cursor would be refused forever.
        if (res && res.status === 410 && this.cursor) {
          this.cursor = null;
          this._emit('error', { code: 'cursor_expired', status: 410, message: 'cursor is older than the retained history' });
          continue;
        }
        // 400 invalid_cursor: a stored cursor the gateway cannot read (another deployment's, corrupted):
        // drop it likewise instead of resending it forever.
        if (res && res.status === 400 && this.cursor) {
          let code = null;
          try { code = ((await res.json()).error || {}).code; } catch (e) { code = null; }
          if (code === 'invalid_cursor') {
            this.cursor = null;
            this._emit('error', { code: 'invalid_cursor', status: 400, message: 'the stored cursor is not valid here' });
            continue;
          }
        }
        if (body) {
          failures = 0;
          (body.events || []).forEach((ev) => { if (live()) this._deliver(ev); });
          if (body.cursor && live()) this.cursor = body.cursor; // always keep it, also with no events
          continue;
        }
        if (res && res.status === 429) { // wait as told by Retry-After (seconds), else back off
          const secs = parseFloat(res.headers.get('Retry-After'));
          if (secs >= 0) wait = secs * 1000;
          this._emit('error', { code: 'rate_limited', status: 429, retry_after: secs >= 0 ? secs : null });
        } else if (res) {
          this._emit('error', { code: 'poll_failed', status: res.status, message: 'poll answered ' + res.status });
        }
        await sleep(wait >= 0 ? wait : backoff(++failures, o.reconnectDelay, o.maxReconnectDelay));
      }
    }

    // ---- internals: timers ----
    _clearTimer(name) { clearTimeout(this._timers[name]); clearInterval(this._timers[name]); delete this._timers[name]; }

    _clearTimers() { Object.keys(this._timers).forEach((name) => this._clearTimer(name)); }
  }

  const api = { Client: Client, RealtimeClient: Client, TERMINAL_CLOSE_CODES: TERMINAL_CLOSE_CODES, version: '1.0.0' };
  root.RealtimeGateway = api;
  if (typeof module === 'object' && module && module.exports) module.exports = api;
})(typeof window !== 'undefined' ? window : globalThis);
