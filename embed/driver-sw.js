/* RidePledge driver page service worker, served at /d/sw.js (scope /d/). Guide:
 * docs/trip-day.md, "Offline".
 * The driver's phone may lose the network between stops and the page may be reloaded there
 * (a tab thrown out of memory, a tap on reload): the last copy of the page, its manifest and
 * its script and styles are kept in the Cache API and served when the network fails, so a
 * cold reload offline still shows the manifest; driver.js then answers from it and queues
 * check-ins as usual. Only GETs are touched; check-ins (POST) always go to the network.
 * Network first: online, the page is always the server's fresh one. A link that ended (404,
 * 410) has its copies removed. */
'use strict';
var CACHE = 'ridepledge-driver-v1';

self.addEventListener('install', function () { self.skipWaiting(); });
self.addEventListener('activate', function (event) { event.waitUntil(self.clients.claim()); });

// What to keep: the driver pages and their manifests, and the driver's own assets.
function kept(url) {
  if (url.origin !== self.location.origin) return false;
  if (/^\/d\/[^/]+(\/manifest)?$/.test(url.pathname) && url.pathname !== '/d/sw.js') return true;
  return /^\/w\/static\/[^/]+\/driver\.(js|css)$/.test(url.pathname);
}

function pageOf(url) { return url.pathname.replace(/\/manifest$/, ''); }

self.addEventListener('fetch', function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method !== 'GET' || !kept(url)) return;
  var key = url.origin + url.pathname; // query strings do not make another copy
  event.respondWith(caches.open(CACHE).then(function (cache) {
    return fetch(request).then(function (response) {
      if (response.ok) {
        cache.put(key, response.clone());
      } else if (response.status === 404 || response.status === 410) {
        var page = url.origin + pageOf(url);
        cache.delete(page);
        cache.delete(page + '/manifest');
      }
      return response;
    }, function () {
      return cache.match(key).then(function (copy) {
        return copy || Response.error();
      });
    });
  }));
});
