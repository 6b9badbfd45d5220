/* RidePledge embed loader, served at /embed.js. Guide: docs/embed.md.
 * Mounts the widget (an iframe from this script's own origin) into the host page, sizes it to
 * its content, and re-emits the widget's events as handlers and `ridepledge:NAME` DOM events.
 * postMessage always names the exact target origin; messages are accepted only from our own
 * origin and from the iframe's own window. Budget: 3 KB gzipped. */
(function (w, d) {
  'use strict';
  var prev = w.RidePledge;
  if (prev && prev.loaded) return; // the script was included twice: the first one stays
  var me = d.currentScript || d.querySelector('script[src*="/embed.js"]');
  var ORIGIN = new URL(me.src, location.href).origin;
  var NAMES = ['ready', 'trip.viewed', 'pledge.created', 'pledge.canceled', 'demand.requested', 'error'];
  var TITLES = {en: 'Rides to the game', es: 'Viajes al partido', fr: 'Trajets vers le match'};
  var handlers = {};
  var widgets = [];
  var listening = false;

  function fail(message) {
    if (w.console) console.error('RidePledge: ' + message);
  }

  function find(target) {
    return typeof target === 'string' ? d.querySelector(target) : target;
  }

  // utm_* parameters of the host page, for the pledge's attribution.
  function utm() {
    var out = {};
    new URLSearchParams(location.search).forEach(function (value, key) {
      if (/^utm_[a-z]{1,20}$/.test(key) && Object.keys(out).length < 10) out[key] = value.slice(0, 200);
    });
    return out;
  }

  function text(value, max) {
    return typeof value === 'string' ? value.slice(0, max) : undefined;
  }

  function options(node, given) {
    var data = node.dataset;
    var o = {
      partner: data.partner, event: data.event, trip: data.trip, locale: data.locale,
      title: data.title, prefill: {email: data.prefillEmail, name: data.prefillName},
      promo_code: data.promoCode
    };
    for (var key in given || {}) if (given[key] != null) o[key] = given[key];
    // A friend's share link to this page (?rp=partner&rp_trip=&rp_stop=&rp_ref=) opens the
    // pledge form of that trip with the stop chosen and the referral carried.
    var q = new URLSearchParams(location.search);
    if (q.get('rp') === o.partner && /^trp_\w{26}$/.test(q.get('rp_trip'))) {
      o.trip = q.get('rp_trip');
      o.share = {stop: text(q.get('rp_stop'), 40) || '', ref: text(q.get('rp_ref'), 64) || ''};
    }
    return o;
  }

  function source(o) {
    var path = o.trip ? 'trips/' + encodeURIComponent(o.trip) + (o.share ? '/pledge' : '')
      : o.event ? 'events/' + encodeURIComponent(o.event) : '';
    var query = new URLSearchParams(Object.assign({host: location.origin}, o.share));
    // The embed option, else the host page's own language (when the widget speaks it).
    var lang = (o.locale || d.documentElement.lang || '').slice(0, 2).toLowerCase();
    if (/^(en|es|fr)$/.test(lang)) query.set('locale', lang);
    return ORIGIN + '/w/' + encodeURIComponent(o.partner) + '/' + path + '?' + query;
  }

  function mount(target, given) {
    var node = find(target);
    if (!node) return fail('mount: no element ' + target);
    destroy(node); // mounting twice replaces, never duplicates
    var o = options(node, given);
    if (!/^[a-z0-9-]{1,63}$/.test(o.partner || '')) return fail('mount: a partner slug is needed');
    var frame = d.createElement('iframe');
    var fallback = [].filter.call(node.children, function (child) { return !child.hidden; });
    var widget = {node: node, frame: frame, opts: o, fallback: fallback, ready: false};
    frame.src = source(o);
    frame.title = o.title || TITLES[(o.locale || d.documentElement.lang || '').slice(0, 2)] || TITLES.en;
    frame.setAttribute('scrolling', 'no');
    frame.allow = 'payment; clipboard-write; web-share';
    frame.style.cssText = 'display:block;width:100%;border:0;overflow:hidden;height:420px';
    fallback.forEach(function (child) { child.hidden = true; });
    node.appendChild(frame);
    widget.timer = setTimeout(function () {
      if (!widget.ready) emit(widget, 'error', {code: 'load_failed', message: 'the widget did not load'});
    }, o.timeout || 15000);
    widgets.push(widget);
    listen(true);
  }

  function destroy(target) {
    var node = target == null ? null : find(target);
    widgets = widgets.filter(function (widget) {
      if (node && widget.node !== node) return true;
      clearTimeout(widget.timer);
      widget.frame.remove();
      widget.fallback.forEach(function (child) { child.hidden = false; });
      return false;
    });
    if (target == null) handlers = {}; // destroy() with no target: a full reset
    if (!widgets.length) listen(false);
  }

  function listen(on) {
    if (on === listening) return;
    w[on ? 'addEventListener' : 'removeEventListener']('message', receive);
    listening = on;
  }

  function receive(e) {
    var widget = widgets.filter(function (x) { return x.frame.contentWindow === e.source; })[0];
    var m = e.data;
    if (!widget || e.origin !== ORIGIN || !m || m.rp !== 1) return;
    if (m.type === 'hello') {
      var prefill = widget.opts.prefill || {};
      e.source.postMessage({
        rp: 1, type: 'init', attribution: utm(),
        prefill: {email: text(prefill.email, 320), name: text(prefill.name, 200),
          // the embed option, else the host page's ?promo= (as utm_* are passed on)
          promo_code: text(widget.opts.promo_code || new URLSearchParams(location.search).get('promo'), 40)}
      }, ORIGIN);
      if (!widget.ready) {
        widget.ready = true;
        emit(widget, 'ready', {partner: widget.opts.partner, locale: text(m.locale, 5)});
      } else if (widget.frame.getBoundingClientRect().top < 0) {
        widget.frame.scrollIntoView(); // a new page in the widget starts at its top
      }
    } else if (m.type === 'resize' && m.height > 0) {
      widget.frame.style.height = Math.min(Math.ceil(m.height), 30000) + 'px';
    } else if (m.type === 'event' && m.name !== 'ready' && NAMES.indexOf(m.name) > -1) {
      emit(widget, m.name, m.detail || {});
    }
  }

  function emit(widget, name, detail) {
    (handlers[name] || []).slice().forEach(function (fn) {
      try { fn(detail, widget.node); } catch (err) { setTimeout(function () { throw err; }); }
    });
    widget.node.dispatchEvent(new CustomEvent('ridepledge:' + name, {detail: detail, bubbles: true}));
  }

  function on(name, fn) {
    if (NAMES.indexOf(name) < 0 || typeof fn !== 'function') return fail('on: unknown event ' + name);
    var list = handlers[name] = handlers[name] || [];
    if (list.indexOf(fn) < 0) list.push(fn); // the same handler twice is called once
  }

  function off(name, fn) {
    var list = handlers[name] || [];
    handlers[name] = fn ? list.filter(function (f) { return f !== fn; }) : [];
  }

  var commands = {mount: mount, on: on, off: off, destroy: destroy};
  function api(command) {
    var run = commands[command];
    if (!run) return fail('unknown command ' + command);
    run.apply(null, [].slice.call(arguments, 1));
  }
  api.loaded = true;
  var queued = (prev && prev.q) || [];
  w.RidePledge = api;

  function start() {
    queued.forEach(function (args) { api.apply(null, args); });
    [].forEach.call(d.querySelectorAll('[data-ridepledge]'), function (node) {
      if (!widgets.some(function (x) { return x.node === node; })) mount(node);
    });
  }
  if (d.readyState === 'loading') d.addEventListener('DOMContentLoaded', start);
  else start();
})(window, document);
