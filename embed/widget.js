/* RidePledge widget pages: small enhancements over server-rendered pages that work without it.
 * - talks to the host page through the loader (postMessage to the one trusted origin only),
 * - keeps the loader told of the page's height (the iframe has no scrollbar of its own),
 * - sends the pledge, request and waitlist forms through the widget JSON API (inline errors)
 *   and tells the host page of pledges and requests,
 * - updates trip progress live (polling with ETags),
 * - copies and shares (Web Share API) the fan's share link,
 * - mounts Stripe's Payment Element when the service uses Stripe. */
(function () {
  'use strict';
  var D = JSON.parse(document.getElementById('rp-data').textContent);
  var HOST = trustedHost();
  var context = {attribution: {}, prefill: {}};

  // A console preview shows the look only: nothing on it can be sent (the server refuses too).
  if (D.preview) {
    document.addEventListener('submit', function (e) {
      e.preventDefault();
      e.stopImmediatePropagation();
    }, true);
    Array.prototype.forEach.call(document.querySelectorAll('form button, form input'), function (el) {
      el.disabled = true;
    });
  }

  // ---- the host page ------------------------------------------------------------------

  function trustedHost() {
    // The server put the host origin here only if it is one of the partner's allowed origins;
    // the browser's own record of who embeds us must agree.
    var host = D.host_origin;
    if (!host || window.parent === window) return null;
    var ancestors = window.location.ancestorOrigins;
    if (ancestors && ancestors.length && ancestors[0] !== host) return null;
    return host;
  }

  function post(message) {
    if (!HOST) return;
    message.rp = 1;
    window.parent.postMessage(message, HOST);
  }

  function emit(name, detail) {
    post({type: 'event', name: name, detail: detail});
  }

  window.addEventListener('message', function (e) {
    var m = e.data;
    if (!HOST || e.origin !== HOST || e.source !== window.parent || !m || m.rp !== 1) return;
    if (m.type === 'init') {
      context.attribution = cleanAttribution(m.attribution);
      context.prefill = m.prefill || {};
      prefill();
    }
  });

  function cleanAttribution(value) {
    var out = {};
    Object.keys(value || {}).forEach(function (key) {
      if (/^utm_[a-z]{1,20}$/.test(key) && typeof value[key] === 'string') {
        out[key] = value[key].slice(0, 200);
      }
    });
    return out;
  }

  function prefill() {
    [['name', 200], ['email', 320], ['promo_code', 40]].forEach(function (pair) {
      var input = document.getElementById(pair[0]);
      var value = context.prefill[pair[0]];
      if (input && !input.value && typeof value === 'string') input.value = value.slice(0, pair[1]);
    });
    if (context.reprice && context.prefill.promo_code) context.reprice();
  }

  // ---- size ---------------------------------------------------------------------------

  var lastHeight = 0;
  function measure() {
    var height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height !== lastHeight) {
      lastHeight = height;
      post({type: 'resize', height: height});
    }
  }

  // ---- forms --------------------------------------------------------------------------

  function $(selector, root) { return (root || document).querySelector(selector); }

  function busy(form, on) {
    var button = $('[data-submit]', form);
    form.dataset.busy = on ? '1' : '';
    if (button) button.setAttribute('aria-disabled', on ? 'true' : 'false');
  }

  function showProblem(form, message) {
    var box = $('[data-form-problem]', form) || $('[data-form-problem]');
    box.textContent = message;
    box.hidden = false;
    measure();
    return box;
  }

  function clearErrors(form) {
    form.querySelectorAll('[data-error-for]').forEach(function (p) { p.hidden = true; p.textContent = ''; });
    form.querySelectorAll('[aria-invalid]').forEach(function (el) { el.removeAttribute('aria-invalid'); });
    var box = $('[data-form-problem]', form);
    if (box) box.hidden = true;
  }

  function fieldError(form, field, message) {
    var p = $('[data-error-for="' + field + '"]', form);
    var input = form.elements[field === 'payment_method' ? 'card_number' : field];
    if (p) {
      p.textContent = '⚠ ' + message;
      p.hidden = false;
    }
    if (input && input.setAttribute) input.setAttribute('aria-invalid', 'true');
    return input && input.length && !input.focus ? input[0] : input;
  }

  // Show what went wrong: each field's words, a summary, focus on the first thing to fix.
  function showErrors(form, errors, summary) {
    var first = null;
    Object.keys(errors).forEach(function (field) {
      var input = fieldError(form, field, errors[field]);
      first = first || input;
    });
    var box = showProblem(form, summary);
    (first && first.focus ? first : box).focus();
  }

  function problemType(body) {
    return body && typeof body.type === 'string' ? body.type.split('/').pop() : 'generic';
  }

  function fieldMessages(problem) {
    var out = {};
    var errors = (problem && problem.errors) || {};
    Object.keys(errors).forEach(function (field) {
      out[field] = D.field_messages[field] || D.field_messages._generic;
    });
    // Why a promo code cannot be used, in the fan's words (keyed by the API's message).
    if (errors.promo_code) out.promo_code = (D.promo_messages || {})[errors.promo_code[0]] || out.promo_code;
    return out;
  }

  function send(url, body, key) {
    var headers = {'Content-Type': 'application/json', 'Accept': 'application/json'};
    if (key) headers['Idempotency-Key'] = key;
    return fetch(url, {
      method: 'POST', credentials: 'omit', body: JSON.stringify(body), headers: headers
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        return {status: response.status, body: json};
      });
    });
  }

  function failed(form, result) {
    var type = result ? problemType(result.body) : 'network';
    var summary = D.problems[type] || D.problems.generic;
    var errors = result ? fieldMessages(result.body) : {};
    if (type === 'card-declined') errors = {payment_method: summary};
    showErrors(form, errors, summary);
    emit('error', {code: type, message: summary});
    busy(form, false);
  }

  function validEmail(value) { return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value); }
  function digits(value) { return value.replace(/\D/g, ''); }

  // ---- the pledge form -----------------------------------------------------------------

  var stripe = null;
  function stripeCard(form, currency, changed) {
    var element = $('[data-stripe-element]', form);
    if (!element || !D.stripe_key || !window.Stripe) return null;
    var css = getComputedStyle(document.documentElement);
    var prop = function (name) { return css.getPropertyValue(name).trim(); };
    stripe = stripe || window.Stripe(D.stripe_key, {locale: D.locale});
    var elements = stripe.elements({
      mode: 'setup', currency: currency.toLowerCase(), paymentMethodCreation: 'manual',
      paymentMethodTypes: ['card'],
      appearance: {variables: {
        colorPrimary: prop('--rp-primary'), colorBackground: prop('--rp-bg'),
        colorText: prop('--rp-text'), borderRadius: prop('--rp-radius')
      }}
    });
    var payment = elements.create('payment');
    payment.on('change', changed); // another card: another attempt
    payment.mount(element);
    return function () {
      return elements.submit().then(function (submitted) {
        if (submitted.error) throw submitted.error;
        return stripe.createPaymentMethod({elements: elements});
      }).then(function (created) {
        if (created.error) throw created.error;
        return created.paymentMethod.id;
      });
    };
  }

  // One Idempotency-Key per pledge attempt: made when the fan sends the form, kept (with the
  // card) while the attempt has no definite answer (a network error, a 5xx, "still in
  // progress", 429), so sending again replays it instead of pledging twice; a new one once the
  // form changes or an answer came.
  function newKey() {
    if (window.crypto.randomUUID) return window.crypto.randomUUID();
    var bytes = window.crypto.getRandomValues(new Uint8Array(16));
    return Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join('');
  }

  function unsettled(result) {
    return !result || result.status >= 500 || result.status === 429 ||
      problemType(result.body) === 'idempotency-in-progress';
  }

  // Extras chosen with the seats (the add-on selects): {id: quantity}; the server prices them
  // with the seats (the price quote and the pledge).
  function addOnChoices(selects) {
    var choices = {};
    Array.prototype.forEach.call(selects, function (select) {
      if (!select.disabled) choices[select.dataset.addOn] = parseInt(select.value, 10) || 0;
    });
    return choices;
  }


  function pledgeForm(form) {
    var trip = D.trip;
    var attempt = null; // {fields, key, paymentMethod}: the attempt without a definite answer
    var seats = form.elements.seats;
    var total = $('[data-total]');
    var money = new Intl.NumberFormat(D.locale, {style: 'currency', currency: trip.currency});
    var scale = Math.pow(10, money.resolvedOptions().maximumFractionDigits);
    var cardFromStripe = stripeCard(form, trip.currency, function () { attempt = null; });
    var promo = form.elements.promo_code;
    var addOns = form.querySelectorAll('[data-add-on]');
    var discount = $('[data-discount]', total);
    var asked = 0;
    function showPrice(price) {
      total.firstChild.textContent = D.texts.total.replace('{amount}', money.format(price.amount / scale));
      discount.textContent = ' (' + D.texts.discount.replace('{amount}', money.format(price.discount_amount / scale)) + ')';
      discount.hidden = !price.discount_amount;
    }
    // The server prices the pledge (the one pricing rule), so the total shown is what is charged.
    function reprice() { price(true); }
    // withCode false: the total without a code that was just refused, whose message stays.
    function price(withCode) {
      var n = parseInt(seats.value, 10);
      if (!(n >= 1 && n <= D.max_seats)) return;
      var query = new URLSearchParams({seats: n});
      var code = promo && withCode ? promo.value.trim() : '';
      if (code) query.set('promo_code', code);
      var chosen = addOnChoices(addOns);
      Object.keys(chosen).forEach(function (id) { if (chosen[id]) query.set('add_ons.' + id, chosen[id]); });
      var mine = ++asked;
      fetch(D.api + '/trips/' + trip.id + '/price?' + query, {credentials: 'omit', headers: {Accept: 'application/json'}})
        .then(function (response) {
          return response.json().then(function (body) { return {status: response.status, body: body}; });
        }).then(function (result) {
          if (mine !== asked) return; // a newer question is on its way
          var p = $('[data-error-for="promo_code"]', form);
          if (withCode && p) p.hidden = true;
          if (withCode && promo) promo.removeAttribute('aria-invalid');
          if (result.status === 200) return showPrice(result.body);
          var errors = fieldMessages(result.body);
          if (errors.promo_code && code) {
            fieldError(form, 'promo_code', errors.promo_code);
            price(false); // priced without it, as the form would pledge now
          }
        }, function () { /* offline: the total shown stays; the pledge answer decides */ });
    }
    showPrice(D.price);
    seats.addEventListener('input', reprice);
    Array.prototype.forEach.call(addOns, function (select) { select.addEventListener('change', reprice); });
    if (promo) promo.addEventListener('change', reprice);
    context.reprice = reprice; // a code from the embed (prefill) is priced at once
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      if (e.submitter && e.submitter.hasAttribute('data-apply-promo')) return reprice();
      if (form.dataset.busy) return;
      clearErrors(form);
      var stop = form.querySelector('input[name="stop_id"]:checked');
      var values = {
        stop_id: stop ? stop.value : '', seats: parseInt(seats.value, 10),
        name: form.elements.name.value.trim(), email: form.elements.email.value.trim()
      };
      var errors = {};
      if (!values.stop_id) errors.stop_id = D.field_messages.stop_id;
      if (!(values.seats >= 1 && values.seats <= D.max_seats)) errors.seats = D.field_messages.seats;
      if (!values.name) errors.name = D.field_messages.name;
      if (!validEmail(values.email)) errors.email = D.field_messages.email;
      var card = form.elements.card_number;
      var testMethod = card ? D.cards[digits(card.value)] : null;
      if (card && !testMethod) errors.payment_method = D.field_messages.payment_method;
      if (Object.keys(errors).length) return showErrors(form, errors, D.problems['validation-error']);
      busy(form, true);
      if (form.elements.ref) values.ref = form.elements.ref.value;
      if (addOns.length) values.add_ons = addOnChoices(addOns);
      if (promo && promo.value.trim()) values.promo_code = promo.value.trim();
      var fields = JSON.stringify([values, testMethod]);
      if (!attempt || attempt.fields !== fields) attempt = {fields: fields, key: newKey(), paymentMethod: null};
      var current = attempt;
      var reuse = current.paymentMethod || testMethod;
      var method = reuse ? Promise.resolve(reuse) : cardFromStripe();
      method.then(function (paymentMethod) {
        current.paymentMethod = paymentMethod; // the same attempt sends the same card again
        values.payment_method = paymentMethod;
        values.locale = D.locale;
        values.attribution = context.attribution;
        return send(D.api + '/trips/' + trip.id + '/pledges', values, current.key);
      }, function (stripeError) {
        var words = stripeError.message || D.field_messages.card;
        showErrors(form, {payment_method: words}, D.field_messages.card);
        busy(form, false);
        return null;
      }).then(function (result) {
        if (!result) return;
        if (!unsettled(result) && attempt === current) attempt = null;
        var errors = result.body.errors || {};
        if (errors.ref && form.elements.ref) {
          form.elements.ref.remove(); // a damaged share link: the next try pledges without it
          busy(form, false);
          return showErrors(form, {}, D.field_messages.ref);
        }
        if (result.status !== 201) return failed(form, result);
        var pledge = result.body.pledge;
        emit('pledge.created', {
          pledge_id: pledge.id, trip_id: pledge.trip_id, seats: pledge.seats,
          amount: pledge.amount, currency: pledge.currency, status: pledge.status
        });
        var token = result.body.manage_url.split('/').pop();
        window.location.assign(D.confirmation.replace('TOKEN', encodeURIComponent(token)));
      }, function () { failed(form, null); });
    });
  }

  // ---- "request a trip from my city" ----------------------------------------------------

  function requestForm(form) {
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      if (form.dataset.busy) return;
      clearErrors(form);
      var values = {
        event_id: D.event_id, origin: form.elements.origin.value.trim(),
        email: form.elements.email.value.trim(), locale: D.locale
      };
      var errors = {};
      if (!values.origin) errors.origin = D.field_messages.origin;
      if (!validEmail(values.email)) errors.email = D.field_messages.email;
      if (Object.keys(errors).length) return showErrors(form, errors, D.problems['validation-error']);
      busy(form, true);
      send(D.api + '/demand', values).then(function (result) {
        if (result.status !== 201) return failed(form, result);
        emit('demand.requested', {event_id: values.event_id, origin: result.body.origin, count: result.body.count});
        var query = new URLSearchParams({origin: result.body.origin, count: result.body.count});
        window.location.assign(D.done + '&' + query);
      }, function () { failed(form, null); });
    });
  }

  // ---- the waitlist of a sold-out trip ---------------------------------------------------

  function waitlistForm(form) {
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      if (form.dataset.busy) return;
      clearErrors(form);
      var seats = form.elements.seats.value.trim();
      var values = {
        stop_id: form.elements.stop_id.value, seats: /^\d{1,3}$/.test(seats) ? parseInt(seats, 10) : null,
        name: form.elements.name.value.trim(), email: form.elements.email.value.trim(), locale: D.locale
      };
      var errors = {};
      if (!(values.seats >= 1 && values.seats <= D.max_seats)) errors.seats = D.field_messages.seats;
      if (!values.name) errors.name = D.field_messages.name;
      if (!validEmail(values.email)) errors.email = D.field_messages.email;
      if (Object.keys(errors).length) return showErrors(form, errors, D.problems['validation-error']);
      busy(form, true);
      send(D.api + '/trips/' + encodeURIComponent(form.dataset.waitlistForm) + '/waitlist', values)
        .then(function (result) {
          if (result.status !== 201) return failed(form, result);
          // The fan's waitlist page (place in line), in this embedding context and language.
          var page = new URL(result.body.url);
          if (D.host_origin) page.searchParams.set('host', D.host_origin);
          page.searchParams.set('locale', D.locale);
          window.location.assign(page.pathname + page.search);
        }, function () { failed(form, null); });
    });
  }

  // ---- the manage page ------------------------------------------------------------------

  function withdrawForm(form) {
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      if (form.dataset.busy) return;
      busy(form, true);
      send(D.api + '/manage/' + encodeURIComponent(D.manage.token) + '/cancel', {}).then(function (result) {
        if (result.status !== 200) return form.submit(); // the server explains, in words
        var detail = Object.assign({}, D.manage.pledge, {status: result.body.pledge.status});
        emit('pledge.canceled', detail);
        window.location.assign(D.manage.withdrawn);
      }, function () { failed(form, null); });
    });
  }

  function cardForm(form) {
    var cardFromStripe = stripeCard(form, D.manage.pledge.currency);
    if (!cardFromStripe) return; // the test-mode form posts as it is
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      if (form.dataset.busy) return;
      busy(form, true);
      cardFromStripe().then(function (paymentMethod) {
        form.elements.payment_method.value = paymentMethod;
        form.submit();
      }, function (error) {
        showProblem(form, error.message || D.field_messages.card).focus();
        busy(form, false);
      });
    });
  }

  // ---- the share link (confirmation and manage pages) -------------------------------------

  function shareBox(box) {
    var input = $('[data-share-link]', box);
    var copied = $('[data-copied]', box);
    var webShare = $('[data-web-share]', box);
    $('[data-share-actions]', box).hidden = false;
    function done() { copied.hidden = false; measure(); }
    function copyByHand() {
      input.focus();
      input.select();
      try { if (document.execCommand('copy')) done(); } catch (err) { /* the link is selected */ }
    }
    $('[data-copy]', box).addEventListener('click', function () {
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(input.value).then(done, copyByHand);
      } else {
        copyByHand();
      }
    });
    if (navigator.share) {
      webShare.hidden = false;
      webShare.addEventListener('click', function () {
        navigator.share({title: box.dataset.shareTitle, text: box.dataset.shareText, url: input.value})
          .catch(function () { /* the fan closed the share sheet */ });
      });
    }
    measure();
  }

  // ---- live progress ----------------------------------------------------------------------

  // A conditional GET of the trip JSON every second: the edge cache answers it (one origin
  // request per trip a second, whatever the number of fans), mostly with a 304.
  function live() {
    var etag = null;
    var number = new Intl.NumberFormat(D.locale);
    var seats = D.live.seats || {};
    function update(trip) {
      if (seats[trip.id] !== trip.seats_pledged) {
        seats[trip.id] = trip.seats_pledged;
        emit('trip.progress', {trip_id: trip.id, status: trip.status, seats_pledged: trip.seats_pledged,
          seats_available: trip.seats_available, capacity: trip.capacity, min_riders: trip.min_riders});
      }
      var card = document.querySelector('[data-trip-card="' + trip.id + '"]');
      if (!card) return;
      // The server's sale decision: no seat on sale to a new fan is a state of its own.
      var soldOut = trip.seats_available > 0 ? '' : '1';
      if (card.dataset.tripStatus !== trip.status || card.dataset.soldOut !== soldOut) {
        return window.location.reload(); // a new state has its own words: let the server say them
      }
      var text = card.querySelector('[data-progress-text]');
      // The trip's own line, in the plural form of its capacity and the words of its status.
      var words = (D.live.texts.progress[trip.id] || '').replace('{pledged}', number.format(trip.seats_pledged))
        .replace('{capacity}', number.format(trip.capacity)).replace('{min}', number.format(trip.min_riders));
      if (text && words && text.textContent !== words) text.textContent = words;
      var fill = card.querySelector('[data-fill]');
      if (fill) fill.style.width = Math.min(100, Math.round(100 * trip.seats_pledged / trip.capacity)) + '%';
      var left = card.querySelector('[data-seats-left]');
      if (left) left.textContent = number.format(trip.seats_available);
    }
    function poll() {
      if (document.hidden) return;
      var headers = etag ? {'If-None-Match': etag} : {};
      fetch(D.live.poll, {headers: headers, cache: 'no-store', credentials: 'omit'}).then(function (response) {
        if (response.status !== 200) return;
        etag = response.headers.get('ETag');
        return response.json().then(function (body) { (body.data || [body]).forEach(update); });
      }).catch(function () { /* offline for a moment: the next poll catches up */ });
    }
    setInterval(poll, D.live.interval || 1000);
    document.addEventListener('visibilitychange', poll);
  }

  // ---- start ------------------------------------------------------------------------------

  function start() {
    var form;
    if ((form = $('[data-pledge-form]'))) pledgeForm(form);
    if ((form = $('[data-request-form]'))) requestForm(form);
    if ((form = $('[data-waitlist-form]'))) waitlistForm(form);
    if ((form = $('[data-withdraw-form]'))) withdrawForm(form);
    if ((form = $('[data-card-form]'))) cardForm(form);
    if ((form = $('[data-share]'))) shareBox(form);
    if (D.live) live();
    var focus = $('[data-autofocus]');
    if (focus && document.hasFocus()) focus.focus({preventScroll: true});
    post({type: 'hello', locale: D.locale});
    (D.emit || []).forEach(function (event) { emit(event.name, event.detail); });
    measure();
    if (window.ResizeObserver) new ResizeObserver(measure).observe(document.documentElement);
    window.addEventListener('load', measure);
  }
  start();
})();
