// The consumer page's service worker (docs/portal.md §The in-browser check): after a first visit, a product page
// and the material its in-browser check reads still load without signal, and the page checks them again.
//
// The portal serves this file at /sw.js (scope /) with a first line it writes itself:
//   const OCOP = {"version": "<hash of the static files>", "precache": ["/static/<hash>/js/page.js", ...]};
// Static files live at content-hashed URLs, so they are kept by version and served from the cache first. Product
// pages (/01/..., /ocop/..., /batches/...) and their material (/api/v1/batches/<id>/material) are asked of the
// network first and kept in the "ocop-saved" cache with the time they were saved (x-ocop-saved-at); the saved copy
// answers when the network fails, or does not answer within PATIENCE_MS.
/* global OCOP */
"use strict";

const STATIC = `ocop-static-${OCOP.version}`;
const SAVED = "ocop-saved";
const SAVED_AT = "x-ocop-saved-at";
// Marks the worker's own copy of a page: the portal does not count it as a look-up of a serialised unit.
const COPY_HEADER = "x-ocop-offline-copy";
const PATIENCE_MS = 6000;
const FRESH_MS = 60_000;
const KEEP_BUILDS = 2; // older builds whose static files are kept besides this one
const MATERIAL = /^\/api\/v1\/batches\/[0-9a-f]{64}\/material$/;

function kept(url) {
  const p = url.pathname;
  return p.startsWith("/01/") || p.startsWith("/ocop/") || p.startsWith("/batches/") || MATERIAL.test(p);
}

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(STATIC);
      await cache.addAll(OCOP.precache);
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      // Saved pages name the static files of the build they came from: keep the last few builds' files (a few
      // hundred kilobytes each) so that a page saved before an update still checks itself offline.
      const builds = (await caches.keys()).filter((name) => name.startsWith("ocop-static-") && name !== STATIC);
      for (const name of builds.slice(0, Math.max(0, builds.length - KEEP_BUILDS))) await caches.delete(name);
      await self.clients.claim();
    })(),
  );
});

/** Keep a copy of a page or its material (never a server error, never another origin's or a redirect). */
async function save(key, response) {
  if (response.type !== "basic" || response.status >= 500) return;
  const headers = new Headers(response.headers);
  headers.set(SAVED_AT, new Date().toISOString());
  const body = await response.arrayBuffer();
  const cache = await caches.open(SAVED);
  await cache.put(key, new Response(body, { status: response.status, statusText: response.statusText, headers }));
}

async function savedCopy(key) {
  const cache = await caches.open(SAVED);
  return (await cache.match(key, { ignoreVary: true })) ?? null;
}

async function fromStatic(request) {
  const hit = await caches.match(request); // this build's files, or a kept older build's
  if (hit) return hit;
  const response = await fetch(request);
  if (response.ok && /^\/static\/[0-9a-f]{12}\//.test(new URL(request.url).pathname)) {
    await (await caches.open(STATIC)).put(request, response.clone());
  }
  return response;
}

async function networkFirst(event) {
  const key = event.request.url.split("#")[0];
  const network = fetch(event.request).then((response) => {
    try {
      event.waitUntil(save(key, response.clone()));
    } catch {
      // the event is over (the saved copy answered first): the next visit saves it
    }
    return response;
  });
  network.catch(() => {});
  const slow = new Promise((resolve) => setTimeout(resolve, PATIENCE_MS)).then(() => savedCopy(key));
  try {
    return await Promise.race([network, slow.then((copy) => copy ?? network)]);
  } catch (error) {
    const copy = await savedCopy(key);
    if (copy) return copy;
    throw error;
  }
}

self.addEventListener("fetch", (event) => {
  const { request } = event;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (url.pathname.startsWith("/static/")) event.respondWith(fromStatic(request));
  else if (kept(url)) event.respondWith(networkFirst(event));
});

/** The page asks to keep itself and its material (a first visit is not yet under this worker's control). */
async function keep(urls) {
  for (const href of urls) {
    const url = new URL(href, self.location.origin);
    if (url.origin !== self.location.origin || !kept(url)) continue;
    const key = url.href.split("#")[0];
    const copy = await savedCopy(key);
    const at = copy ? Date.parse(copy.headers.get(SAVED_AT) ?? "") : NaN;
    if (Number.isFinite(at) && Date.now() - at < FRESH_MS) continue;
    await save(key, await fetch(key, { headers: { [COPY_HEADER]: "1" }, credentials: "omit" }));
  }
}

self.addEventListener("message", (event) => {
  const urls = event.data?.keep;
  if (!Array.isArray(urls) || urls.length > 8) return;
  const reply = (kept_) => event.source?.postMessage({ kept: kept_ });
  event.waitUntil(keep(urls).then(() => reply(true), () => reply(false)));
});
