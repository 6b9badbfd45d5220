/* The driver's check-in page (widget_server/driver). Vanilla JS, no build step.
 *
 * Offline first: the manifest and a queue of check-ins live in localStorage. Every check-in gets
 * a UUID and the time it happened here; it is sent at once when online, else queued and sent
 * when the browser is back online (the server applies each id once and keeps our time). While
 * offline the page answers from its own copy of the manifest, and says that it did.
 *
 * A queued check-in leaves this phone only once the server has answered it (200). One the
 * server refuses (the link was replaced: 404; the phone's clock is off: 422 naming `at`; any
 * other 4xx) stays, marked `refused`, and is listed under "Needs you" with the reason and what
 * to do: the page of the new link (same trip, same localStorage) sends it again with
 * `made_under`, the token of the link it was made under; a clock refusal can be re-dated by the
 * offset between this phone's clock and the server's (its `Date` header); or the driver
 * discards it. Each phone makes an id for itself (localStorage) and sends it with every
 * check-in: the server tells two phones apart by it, not by the editable name.
 *
 * "Ready to leave this stop" (per stop): the riders not boarded yet, one message to them (needs
 * the network; once per stop) and "Leave this stop", which is queued offline like a check-in
 * (`state.departures`, sent with its id and time, applied once by the server).
 */
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('dr-data').textContent);
  var T = data.texts;
  var STORE = 'rp-driver:' + data.trip_id;
  var DEVICE = 'rp-driver-device';
  var $ = function (sel) { return document.querySelector(sel); };

  function load(key, fallback) {
    try { var v = JSON.parse(localStorage.getItem(key)); return v == null ? fallback : v; }
    catch (e) { return fallback; }
  }
  function save(key, value) {
    try { localStorage.setItem(key, JSON.stringify(value)); } catch (e) { /* full: keep going */ }
  }
  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join('');
    return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' + h.slice(16, 20) + '-' + h.slice(20);
  }
  var plurals = window.Intl && Intl.PluralRules ? new Intl.PluralRules(document.documentElement.lang) : null;
  /* `text`: one string, or the words of a count by plural category (driver/__init__.py). */
  function fill(text, values, count) {
    if (typeof text === 'object') text = text[plurals ? plurals.select(count) : 'other'] || text.other;
    return text.replace(/\{(\w+)\}/g, function (_, k) { return values[k] == null ? '' : values[k]; });
  }
  function fold(text) {
    return (text || '').normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
  }
  /* The same forgiving reading of a typed code as domain/boarding.normalize_code. */
  function normalizeCode(typed) {
    var t = (typed || '').trim().toUpperCase();
    if (t.indexOf('RIDEPLEDGE:') === 0) t = t.slice(11);
    t = t.replace(/[\s-]/g, '').replace(/[IL]/g, '1').replace(/O/g, '0');
    if (!/^[0-9A-HJKMNP-TV-Z]{12}$/.test(t)) return null;
    return t.slice(0, 4) + '-' + t.slice(4, 8) + '-' + t.slice(8);
  }
  /* A time in the event's zone, in CLDR's short time format of the page's language: the one
   * the server renders (driver/__init__.py, _time_label), spaces made plain on both sides. */
  function localTime(iso) {
    try {
      return new Date(iso).toLocaleTimeString(document.documentElement.lang,
        { timeStyle: 'short', timeZone: data.timezone }).replace(/[\u202f\u00a0]/g, ' ');
    } catch (e) { return iso; }
  }
  function codeEnd(code) { return code ? fill(T.code_end, { tail: code.slice(-4) }) : ''; }

  /* --- state ------------------------------------------------------------------------------ */
  var state = load(STORE, null);
  if (!state || !state.manifest) state = { manifest: data.manifest, queue: [] };
  else if (!(state.manifest.generated_at > data.manifest.generated_at)) {
    // The page's copy, unless ours is newer: a page served offline by the service worker
    // (driver-sw.js) carries the manifest of when it was last loaded.
    state.manifest = data.manifest;
  }
  state.queue = state.queue || [];
  state.departures = state.departures || [];
  // A departure refused because its link was replaced goes again from the new link's page.
  state.departures.forEach(function (item) { if (item.blocked && item.blocked !== data.link) delete item.blocked; });
  // Check-ins refused because their link was replaced go again from this page, if it is the
  // page of another (the new) link: sent with `made_under`, the link they were made under.
  state.queue.forEach(function (item) {
    if (item.refused && item.refused.reason === 'link' && item.link !== data.link) delete item.refused;
  });
  applyQueueLocally();
  save(STORE, state);
  var device = load(DEVICE, null);
  if (!device || !device.id) {
    var id = uuid();
    device = { id: id, name: (device && device.name) || 'Device ' + id.slice(0, 4).toUpperCase() };
    save(DEVICE, device);
  }
  var linkReplaced = false;

  function riders() {
    var all = [];
    state.manifest.stops.forEach(function (s) {
      s.riders.forEach(function (r) { r.stop_name = s.name; all.push(r); });
    });
    return all;
  }
  function stopById(id) {
    return state.manifest.stops.filter(function (s) { return s.id === id; })[0] || null;
  }
  function pending() { return state.queue.filter(function (item) { return !item.refused; }); }
  function riderFor(item) {
    var code = item.code ? normalizeCode(item.code) : null;
    return riders().filter(function (r) {
      return item.pledge_id ? r.pledge_id === item.pledge_id : (code && r.boarding_code === code);
    })[0] || null;
  }
  /* Check-ins (and departures) still queued are shown on a freshly loaded manifest too. */
  function applyQueueLocally() {
    (state.departures || []).forEach(function (item) {
      var stop = stopById(item.stop_id);
      if (stop && !stop.departed_at) stop.departed_at = item.at;
    });
    state.queue.forEach(function (item) {
      var r = riderFor(item);
      if (item.refused && item.refused.reason === 'answer') return; // the server's answer stands
      if (r && r.status === 'paid' && !r.boarded_at) { r.boarded_at = item.at; r.boarded_by = item.device; }
    });
  }

  /* --- rendering -------------------------------------------------------------------------- */
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }
  function counts() {
    var total = { seats: 0, boarded: 0 };
    state.manifest.stops.forEach(function (s) {
      s.seats = 0; s.boarded_seats = 0;
      s.riders.forEach(function (r) { s.seats += r.seats; if (r.boarded_at) s.boarded_seats += r.seats; });
      total.seats += s.seats; total.boarded += s.boarded_seats;
    });
    return total;
  }
  function render() {
    var total = counts();
    $('[data-total]').textContent = fill(T.total, total, total.seats);
    var query = fold($('[data-search]').value.trim());
    var box = $('[data-stops]');
    box.textContent = '';
    var shown = 0;
    state.manifest.stops.forEach(function (stop) {
      var section = el('section', 'dr-stop');
      section.appendChild(el('h3', 'dr-stop-title', stop.name + ' · ' + (stop.departs_label || localTime(stop.departs_at))));
      section.appendChild(el('p', 'dr-stop-count', fill(T.stop_count, { boarded: stop.boarded_seats, seats: stop.seats }, stop.seats)));
      var list = el('ul', 'dr-riders');
      stop.riders.forEach(function (r) {
        if (query && fold(r.name).indexOf(query) === -1) return;
        shown++;
        var li = el('li', 'dr-rider');
        li.setAttribute('data-rider', r.pledge_id);
        var who = el('div');
        who.appendChild(el('span', 'dr-rider-name', r.name));
        var info = el('div', 'dr-rider-info', fill(T.seats, { seats: r.seats }, r.seats) + ' ');
        if (r.boarding_code) info.appendChild(el('span', 'dr-code-end', codeEnd(r.boarding_code) + ' '));
        var paid = r.status === 'paid';
        info.appendChild(el('span', 'dr-badge ' + (paid ? 'is-paid' : 'is-unpaid'), T.status[r.status] || r.status));
        if (r.boarded_at) {
          info.appendChild(document.createTextNode(' '));
          info.appendChild(el('span', 'dr-badge is-boarded', T.boarded + ' ' + localTime(r.boarded_at)));
        }
        if (r.double_boarded) {
          info.appendChild(document.createTextNode(' '));
          info.appendChild(el('span', 'dr-badge is-double', T.double_boarded));
        }
        who.appendChild(info);
        li.appendChild(who);
        var button = el('button', '', r.boarded_at ? T.undo : T.check_in);
        button.type = 'button';
        button.setAttribute('aria-label', (r.boarded_at ? T.undo : T.check_in) + ': ' + r.name);
        button.addEventListener('click', function () {
          if (r.boarded_at) undo(r); else checkIn({ pledge_id: r.pledge_id });
        });
        li.appendChild(button);
        list.appendChild(li);
      });
      if (!stop.riders.length) list.appendChild(el('li', 'dr-soft', T.no_riders));
      section.appendChild(list);
      section.appendChild(leavingPanel(stop));
      box.appendChild(section);
    });
    if (query && !shown) box.appendChild(el('p', 'dr-soft', T.no_match));
    var waiting = pending().length;
    $('[data-pending]').hidden = !waiting;
    $('[data-pending]').textContent = fill(T.pending, { count: waiting }, waiting);
    $('[data-link-replaced]').hidden = !linkReplaced;
    renderRefused();
    var net = $('[data-net]');
    net.textContent = navigator.onLine ? T.online : T.offline;
    net.classList.toggle('is-offline', !navigator.onLine);
  }

  /* "Needs you": check-ins the server refused or answered with a refusal, with what to do. */
  function describe(item) {
    var r = riderFor(item);
    var who = r ? [r.name, r.stop_name, fill(T.seats, { seats: r.seats }, r.seats), codeEnd(r.boarding_code)]
      : [item.code || item.pledge_id];
    return who.filter(Boolean).join(' · ') + ' · ' + localTime(item.at);
  }
  function reasonOf(refused) {
    if (refused.reason === 'link') return T.refused_link;
    if (refused.reason === 'clock') return fill(T.refused_clock, { time: refused.time });
    if (refused.reason === 'answer') return T[refused.result] || T.unknown;
    return fill(T.refused_other, { detail: refused.detail });
  }
  function action(label, handler) {
    var b = el('button', '', label);
    b.type = 'button';
    b.addEventListener('click', handler);
    return b;
  }
  function renderRefused() {
    var refused = state.queue.filter(function (item) { return item.refused; });
    var box = $('[data-refused]');
    box.hidden = !refused.length;
    var list = $('[data-refused-list]');
    list.textContent = '';
    refused.forEach(function (item) {
      var li = el('li', 'dr-refused');
      li.setAttribute('data-refused-item', item.id);
      li.setAttribute('data-reason', item.refused.reason);
      li.appendChild(el('p', 'dr-rider-name', describe(item)));
      li.appendChild(el('p', 'dr-refused-reason', reasonOf(item.refused)));
      var actions = el('div', 'dr-row dr-actions');
      var offset = item.refused.offset || 0;
      if (item.refused.reason === 'clock' && Math.abs(offset) >= 60000) {
        var fixed = new Date(Date.parse(item.at) - offset).toISOString();
        actions.appendChild(action(fill(T.fix_time, { time: localTime(fixed) }), function () {
          item.at = fixed; retry(item);
        }));
      }
      if (item.refused.reason === 'answer') {
        actions.appendChild(action(T.dismiss, function () { drop(item); }));
      } else {
        if (item.refused.reason !== 'link') actions.appendChild(action(T.send_again, function () { retry(item); }));
        actions.appendChild(action(T.discard, function () { if (window.confirm(T.confirm_discard)) drop(item); }));
      }
      li.appendChild(actions);
      list.appendChild(li);
    });
  }
  function retry(item) { delete item.refused; save(STORE, state); render(); flush(); }
  function drop(item) {
    state.queue = state.queue.filter(function (other) { return other !== item; });
    if (!item.refused || item.refused.reason !== 'answer') {
      var r = riderFor(item);
      if (r && r.boarded_at === item.at) { r.boarded_at = null; r.boarded_by = null; }
    }
    save(STORE, state); render();
  }

  function show(kind, answer, offline) {
    var box = $('[data-result]');
    var words = kind === 'refused' ? reasonOf(answer.refused) : (T[kind] || T.unknown);
    if (kind === 'already_boarded' && answer && answer.boarded) {
      words = fill(T.already_boarded, { time: localTime(answer.boarded.at), device: answer.boarded.device });
    }
    if (kind === 'ok' && offline) words = T.ok_offline;
    box.textContent = '';
    box.appendChild(document.createTextNode(words));
    var rider = answer && answer.pledge;
    if (rider) {
      var local = riders().filter(function (r) { return r.pledge_id === rider.id; })[0] || {};
      var parts = [rider.name, rider.stop_name || local.stop_name, fill(T.seats, { seats: rider.seats }, rider.seats),
        codeEnd(rider.boarding_code || local.boarding_code)];
      box.appendChild(el('small', '', parts.filter(Boolean).join(' · ')));
    }
    if (answer && answer.double_boarded) box.appendChild(el('small', '', T.double_boarded));
    box.setAttribute('data-result-kind', kind);
    box.hidden = false;
  }

  /* --- check-ins -------------------------------------------------------------------------- */
  function localAnswer(item) {
    var r = riderFor(item);
    if (!r) return { kind: 'queued', answer: null };
    var pledge = { id: r.pledge_id, name: r.name, seats: r.seats };
    if (r.status !== 'paid') return { kind: 'not_paid', answer: { pledge: pledge } };
    if (r.boarded_at) {
      return { kind: 'already_boarded', answer: { pledge: pledge, boarded: { at: r.boarded_at, device: r.boarded_by } } };
    }
    r.boarded_at = item.at; r.boarded_by = item.device;
    return { kind: 'ok', answer: { pledge: pledge } };
  }

  /* What the server said: the rider's boarding as it now stands. */
  function learn(answer) {
    if (!answer || !answer.pledge) return;
    riders().forEach(function (r) {
      if (r.pledge_id !== answer.pledge.id) return;
      if (answer.boarded) { r.boarded_at = answer.boarded.at; r.boarded_by = answer.boarded.device; }
      if (answer.double_boarded) r.double_boarded = true;
    });
  }

  /* POST one check-in. Resolves with {status, body, date} for any answer but a 5xx or 429
   * (rejected: try again later, as for no network at all). */
  function send(item) {
    var body = { id: item.id, at: item.at, device: item.device, device_id: item.device_id || device.id };
    if (item.code) body.code = item.code; else body.pledge_id = item.pledge_id;
    if (item.link && item.link !== data.link) body.made_under = item.link;
    return fetch(data.checkins_url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
      body: JSON.stringify(body),
      credentials: 'same-origin'
    }).then(function (response) {
      if (response.status >= 500 || response.status === 429) throw new Error('retry later');
      var date = Date.parse(response.headers.get('Date') || '');
      return response.json().catch(function () { return {}; }).then(function (json) {
        return { status: response.status, body: json, date: date };
      });
    });
  }

  /* Why the server refused a check-in (any 4xx): kept with the item, never dropped. */
  function refusal(reply, item) {
    var body = reply.body || {};
    if (reply.status === 404) { linkReplaced = true; return { reason: 'link' }; }
    if (reply.status === 422 && body.errors && body.errors.at) {
      return { reason: 'clock', detail: String(body.errors.at[0] || ''), time: localTime(item.at),
        offset: isNaN(reply.date) ? 0 : Date.now() - reply.date };
    }
    return { reason: 'other', detail: body.detail || body.title || String(reply.status) };
  }

  /* A queued check-in the server answered: gone from the queue, unless the answer says the
   * rider the phone let on (offline) should not have boarded: then it stays under "Needs you". */
  function answered(item, reply, offline) {
    learn(reply.body);
    var result = reply.body.result;
    var wasOk = offline && item.local === 'ok';
    if (wasOk && result !== 'ok' && result !== 'already_boarded') {
      item.refused = { reason: 'answer', result: result };
      var r = riderFor(item);
      if (r && r.boarded_at === item.at) { r.boarded_at = null; r.boarded_by = null; }
    } else {
      state.queue = state.queue.filter(function (other) { return other !== item; });
    }
  }

  function checkIn(what) {
    var item = { id: uuid(), at: new Date().toISOString(), device: device.name, device_id: device.id, link: data.link };
    if (what.code) item.code = what.code; else item.pledge_id = what.pledge_id;
    if (!navigator.onLine) return queue(item);
    send(item).then(function (reply) {
      if (reply.status === 200) {
        learn(reply.body);
        show(reply.body.result, reply.body);
      } else {
        item.refused = refusal(reply, item);
        state.queue.push(item);
        show('refused', { refused: item.refused, pledge: null });
      }
      save(STORE, state); render();
    }).catch(function () { queue(item); });
  }

  function queue(item) {
    var local = localAnswer(item);
    item.local = local.kind;
    state.queue.push(item);
    save(STORE, state);
    show(local.kind, local.answer, true);
    render();
  }

  var flushing = false;
  function flush() {
    var waiting = pending();
    if (flushing || !waiting.length || !navigator.onLine) return;
    flushing = true;
    var item = waiting[0];
    send(item).then(function (reply) {
      if (reply.status === 200) answered(item, reply, true);
      else item.refused = refusal(reply, item);
      save(STORE, state);
      render();
      flushing = false;
      if (pending().length) flush(); else refresh();
    }).catch(function () { flushing = false; });
  }

  /* Undo a boarding (a tap on the wrong name): one still queued here is simply not sent; one
   * the server has is undone there (audited), which needs the network. */
  function undo(r) {
    if (!window.confirm(fill(T.confirm_undo, { name: r.name }))) return;
    var queued = state.queue.filter(function (item) {
      var q = riderFor(item);
      return q && q.pledge_id === r.pledge_id && !item.refused;
    });
    if (queued.length) {
      state.queue = state.queue.filter(function (item) { return queued.indexOf(item) === -1; });
      r.boarded_at = null; r.boarded_by = null;
      save(STORE, state); render();
      showText('undone', fill(T.undone, { name: r.name }));
      return;
    }
    if (!navigator.onLine) { showText('unknown', T.undo_offline); return; }
    fetch(data.undo_url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
      body: JSON.stringify({ pledge_id: r.pledge_id, device: device.name, device_id: device.id }),
      credentials: 'same-origin'
    }).then(function (response) {
      if (response.status === 200 || response.status === 409) {
        r.boarded_at = null; r.boarded_by = null; r.double_boarded = false;
        save(STORE, state); render();
        showText('undone', fill(T.undone, { name: r.name }));
      } else {
        if (response.status === 404) linkReplaced = true;
        showText('unknown', T.undo_failed); render();
      }
    }).catch(function () { showText('unknown', T.undo_offline); });
  }
  function showText(kind, words) {
    var box = $('[data-result]');
    box.textContent = words; box.setAttribute('data-result-kind', kind); box.hidden = false;
  }

  function refresh() {
    fetch(data.manifest_url, { headers: { 'Accept': 'application/json' } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (manifest) {
        if (!manifest) return;
        state.manifest = manifest; applyQueueLocally(); save(STORE, state); render();
      }).catch(function () { /* offline: keep our copy */ });
  }

  /* --- ready to leave -------------------------------------------------------------------- */
  var openStops = {}, drafts = {};
  function leavingPanel(stop) {
    var box = el('div', 'dr-leave');
    box.setAttribute('data-leave', stop.id);
    if (stop.departed_at) {
      box.appendChild(el('p', 'dr-left', fill(queuedDeparture(stop.id) ? T.left_offline : T.left,
        { time: localTime(stop.departed_at) })));
      return box;
    }
    var toggle = el('button', '', T.ready_to_leave);
    toggle.type = 'button';
    toggle.setAttribute('aria-expanded', openStops[stop.id] ? 'true' : 'false');
    toggle.setAttribute('aria-label', T.ready_to_leave + ': ' + stop.name);
    toggle.addEventListener('click', function () { openStops[stop.id] = !openStops[stop.id]; render(); });
    box.appendChild(toggle);
    if (!openStops[stop.id]) return box;
    var waiting = stop.riders.filter(function (r) { return r.status === 'paid' && !r.boarded_at; });
    box.appendChild(el('p', 'dr-stop-count', fill(T.not_boarded, { count: waiting.length }, waiting.length)));
    var names = el('ul', 'dr-waiting');
    waiting.forEach(function (r) { names.appendChild(el('li', '', r.name + ' · ' + fill(T.seats, { seats: r.seats }, r.seats))); });
    box.appendChild(names);
    if (stop.called_at) {
      box.appendChild(el('p', 'dr-sent', fill(T.message_sent,
        { time: localTime(stop.called_at), count: stop.call_recipients }, stop.call_recipients)));
    } else if (waiting.length) {
      var id = 'leave-msg-' + stop.id;
      var label = el('label', '', T.message_label);
      label.htmlFor = id;
      var text = el('textarea', 'dr-message');
      text.id = id; text.maxLength = 500; text.rows = 3;
      text.value = drafts[stop.id] != null ? drafts[stop.id] : stop.leaving_message;
      text.addEventListener('input', function () { drafts[stop.id] = text.value; });
      var sendButton = action(T.send_message, function () { callRiders(stop, text.value, sendButton); });
      sendButton.className = 'dr-primary';
      box.appendChild(label); box.appendChild(text); box.appendChild(sendButton);
    }
    var leave = action(T.leave, function () {
      if (window.confirm(fill(T.confirm_leave, { stop: stop.name }))) leaveStop(stop);
    });
    leave.setAttribute('aria-label', T.leave + ': ' + stop.name);
    box.appendChild(leave);
    return box;
  }
  function queuedDeparture(stopId) {
    return state.departures.filter(function (item) { return item.stop_id === stopId; })[0] || null;
  }
  function postJson(url, body) {
    return fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json' },
      body: JSON.stringify(body),
      credentials: 'same-origin'
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        return { status: response.status, body: json };
      });
    });
  }
  function learnStop(day) {
    var stop = day && stopById(day.stop_id);
    if (!stop) return;
    ['called_at', 'call_recipients', 'departed_at'].forEach(function (k) { if (day[k] != null) stop[k] = day[k]; });
  }
  function callRiders(stop, message, button) {
    if (!navigator.onLine) { showText('unknown', T.message_offline); return; }
    button.disabled = true;
    postJson(data.stops_url + '/' + stop.id + '/call', { message: message, device: device.name, device_id: device.id })
      .then(function (reply) {
        if (reply.status === 200) {
          learnStop(reply.body);
          showText('ok', fill(T.message_sent, { time: localTime(reply.body.called_at), count: reply.body.call_recipients },
            reply.body.call_recipients));
        } else {
          if (reply.status === 404) linkReplaced = true;
          showText('unknown', fill(T.message_failed, { detail: reply.body.detail || reply.status }));
          refresh();
        }
        save(STORE, state); render();
      }).catch(function () { button.disabled = false; showText('unknown', T.message_offline); });
  }
  function leaveStop(stop) {
    var item = { stop_id: stop.id, id: uuid(), at: new Date().toISOString(), device: device.name,
      device_id: device.id, link: data.link };
    state.departures.push(item);
    stop.departed_at = item.at;
    save(STORE, state); render();
    flushDepartures();
  }
  var leaving = false;
  function flushDepartures() {
    var item = state.departures.filter(function (d) { return !d.blocked; })[0];
    if (leaving || !item || !navigator.onLine) return;
    leaving = true;
    var body = { id: item.id, at: item.at, device: item.device, device_id: item.device_id };
    if (item.link !== data.link) body.made_under = item.link;
    postJson(data.stops_url + '/' + item.stop_id + '/departure', body).then(function (reply) {
      leaving = false;
      if (reply.status >= 500 || reply.status === 429) return;
      if (reply.status === 404) { item.blocked = data.link; linkReplaced = true; }
      else {
        state.departures = state.departures.filter(function (other) { return other !== item; });
        if (reply.status === 200) learnStop(reply.body);
        else {
          var stop = stopById(item.stop_id);
          if (stop) stop.departed_at = null;
          showText('unknown', fill(T.refused_other, { detail: reply.body.detail || reply.status }));
        }
      }
      save(STORE, state); render();
      flushDepartures();
    }).catch(function () { leaving = false; });
  }

  /* --- scanning --------------------------------------------------------------------------- */
  var detector = null;
  if ('BarcodeDetector' in window) {
    try { detector = new window.BarcodeDetector({ formats: ['qr_code'] }); } catch (e) { detector = null; }
  }
  var stream = null;
  function stopCamera() {
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
    stream = null;
    $('[data-video]').hidden = true; $('[data-scan-stop]').hidden = true;
  }
  function found(codes) {
    if (!codes || !codes.length) return false;
    checkIn({ code: codes[0].rawValue });
    return true;
  }
  function scanLoop(video, tries) {
    if (!stream || tries > 2400) { stopCamera(); return; } // about ten minutes at most
    detector.detect(video).then(function (codes) {
      if (found(codes)) { stopCamera(); return; }
      setTimeout(function () { scanLoop(video, tries + 1); }, 250);
    }).catch(function () { setTimeout(function () { scanLoop(video, tries + 1); }, 250); });
  }
  if (detector) {
    $('[data-scan]').hidden = false;
    $('[data-scan-start]').addEventListener('click', function () {
      if (!navigator.mediaDevices) { show('unknown', null); return; }
      navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } }).then(function (s) {
        stream = s;
        var video = $('[data-video]');
        video.srcObject = s; video.hidden = false; $('[data-scan-stop]').hidden = false;
        return video.play().then(function () { scanLoop(video, 0); });
      }).catch(function () {
        var box = $('[data-result]');
        box.textContent = T.camera_failed; box.setAttribute('data-result-kind', 'unknown'); box.hidden = false;
      });
    });
    $('[data-scan-stop]').addEventListener('click', stopCamera);
    $('[data-scan-file]').addEventListener('change', function (event) {
      var file = event.target.files && event.target.files[0];
      if (!file) return;
      createImageBitmap(file).then(function (bitmap) { return detector.detect(bitmap); })
        .then(function (codes) {
          if (!found(codes)) {
            var box = $('[data-result]');
            box.textContent = T.no_qr; box.setAttribute('data-result-kind', 'unknown'); box.hidden = false;
          }
        }).catch(function () {
          var box = $('[data-result]');
          box.textContent = T.no_qr; box.setAttribute('data-result-kind', 'unknown'); box.hidden = false;
        });
      event.target.value = '';
    });
  }

  /* --- wiring ----------------------------------------------------------------------------- */
  $('[data-code-form]').addEventListener('submit', function (event) {
    event.preventDefault();
    var input = $('[data-code]');
    if (!input.value.trim()) return;
    checkIn({ code: input.value });
    input.value = '';
    input.focus();
  });
  $('[data-search]').addEventListener('input', render);
  var deviceInput = $('[data-device]');
  deviceInput.value = device.name;
  deviceInput.addEventListener('change', function () {
    var name = deviceInput.value.trim();
    if (name) { device.name = name.slice(0, 60); save(DEVICE, device); }
  });
  window.addEventListener('online', function () { render(); flush(); flushDepartures(); });
  window.addEventListener('offline', render);
  setInterval(function () { flush(); flushDepartures(); }, 15000); // a lost 'online' event must not strand the queues
  render();
  flush();
  flushDepartures();
  // Keep a copy of this page for a reload without network (driver-sw.js).
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register(data.service_worker, { scope: '/d/' }).catch(function () {});
  }
  document.documentElement.setAttribute('data-driver-ready', '1');
})();
