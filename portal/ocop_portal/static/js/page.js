// The consumer page's own check (docs/portal.md §The in-browser check): the phone verifies, with WebCrypto
// (Ed25519, SHA-256) and ocop-verify.js, the trust list against the authority keys the page pins, every signature
// and link of the record, the seal, and the transparency-log receipt when the portal gives one. It fills
// <section id="browser-verdict">; the server-rendered page reads fully without it. Every text it shows comes,
// translated, from <template id="browser-verdict-text"> in the page.
import { ed25519Support, verifyBundle, verifyLogReceipt, verifySeal, verifyTrustList } from "./ocop-verify.js";

const section = document.getElementById("browser-verdict");
const texts = document.getElementById("browser-verdict-text");

/** A translated text of the page (placeholders written as {name}). */
function t(key, values = {}) {
  const el = texts?.content.querySelector(`[data-msg="${key}"]`);
  let out = el ? el.textContent : key;
  for (const [name, value] of Object.entries(values)) out = out.replaceAll(`{${name}}`, String(value));
  return out;
}

function role(name) {
  const el = texts?.content.querySelector(`[data-role="${name}"]`);
  return el ? el.textContent : name;
}

function b64(text) {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Show one state: "checking", "ok", "fail", "unsupported" or "unavailable" (data-state says which). */
function show(state, title, lines = []) {
  const nodes = lines.map((line) => (line instanceof Node ? line : el("p", null, line)));
  section.replaceChildren(el("h2", null, title), ...nodes);
  section.dataset.state = state;
  section.className = `browser-verdict ${state}`;
  section.hidden = false;
}

function savedNote(savedAt) {
  if (!savedAt) return [];
  const when = new Date(savedAt);
  const text = Number.isNaN(when.getTime()) ? savedAt : when.toLocaleString(document.documentElement.lang || "vi");
  return [el("p", "offline", t("offline", { when: text }))];
}

function failed(stage, result, savedAt) {
  section.dataset.code = result.code;
  const where = result.where ?? {};
  const lines = [t("failed-intro"), el("p", "stage", `${t("stage")}: ${t(`stage-${stage}`)}`)];
  if (where.seq !== undefined) {
    const batch = where.batchId ? ` (${t("batch")} ${String(where.batchId).slice(0, 16)})` : "";
    lines.push(el("p", "where", `${t("at-step", { seq: where.seq })}${batch}`));
  }
  lines.push(el("p", "code", `${t("code")}: ${result.code} — ${result.message}`));
  show("fail", t("failed"), [...lines, ...savedNote(savedAt)]);
}

/** The record's signers, as the trust list names them (never as the record names itself). */
function signers(events) {
  const seen = new Map();
  for (const e of events) {
    const p = e.signer?.participant;
    if (p && !seen.has(p.id)) seen.set(p.id, p);
  }
  const list = el("ul", "signers");
  for (const p of seen.values()) {
    const place = [p.commune, p.province].filter(Boolean).join(", ");
    list.append(el("li", null, `${p.name}, ${role(p.role)}${place ? `, ${place}` : ""}`));
  }
  return list;
}

/**
 * What the server rendered, against the signed record of the page's batch: the product's name and lot, and the
 * steps (one per event, each with its seq). Returns null when they agree, else a failure result (E_PAGE_MISMATCH).
 */
function pageAgrees(events) {
  const genesis = events.find((e) => e.seq === 0);
  const mismatch = (what, shown, signed) => ({
    code: "E_PAGE_MISMATCH",
    message: `the page shows ${what} ${JSON.stringify(shown)}, the signed record ${JSON.stringify(signed)}`,
    where: {},
  });
  for (const field of ["name", "lot"]) {
    const node = document.querySelector(`[data-signed="${field}"]`);
    const shown = node?.textContent.trim() ?? null;
    if (shown !== genesis.product[field]) return mismatch(field, shown, genesis.product[field]);
  }
  const steps = [...document.querySelectorAll("ol.timeline > li.step")].map((li) => li.id);
  const signed = events.map((e) => `step-${e.seq}`);
  if (steps.join(" ") !== signed.join(" ")) return mismatch("the steps", steps, signed);
  return null;
}

async function keepForOffline(material) {
  if (!("serviceWorker" in navigator)) return;
  try {
    await navigator.serviceWorker.register("/sw.js", { scope: "/" });
    const ready = await navigator.serviceWorker.ready;
    navigator.serviceWorker.addEventListener("message", (event) => {
      if (event.data?.kept) section.dataset.offline = "ready";
    });
    navigator.serviceWorker.startMessages();
    ready.active?.postMessage({ keep: [location.href, new URL(material, location.href).href] });
  } catch {
    // no offline copy (private browsing, storage refused): the check itself is unaffected
  }
}

async function check() {
  const material = section.dataset.material;
  show("checking", t("checking"));
  keepForOffline(material);
  const support = await ed25519Support();
  if (!support.supported) {
    show("unsupported", t("unsupported"), [t("unsupported-detail"), el("p", "code", support.reason)]);
    return;
  }
  const keys = (section.dataset.authority ?? "").split(",").filter(Boolean);
  if (keys.length === 0) {
    show("unavailable", t("unpinned"));
    return;
  }
  let m, savedAt;
  try {
    const response = await fetch(material, { headers: { accept: "application/json" } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    savedAt = response.headers.get("x-ocop-saved-at");
    m = await response.json();
  } catch (e) {
    show("unavailable", t("unloaded"), [el("p", "code", String(e))]);
    return;
  }
  const now = new Date();
  const trust = await verifyTrustList(b64(m.trust_list), {
    authority: { keys, threshold: Number(section.dataset.threshold) },
    intermediates: (m.intermediates ?? []).map(b64),
    now,
  });
  if (!trust.ok) return failed("trust", trust, savedAt);
  const bundle = b64(m.bundle);
  const record = await verifyBundle(bundle, { trustList: trust.trustList, now });
  if (!record.ok) return failed("record", record, savedAt);
  const batch = section.dataset.batch;
  if (record.root !== batch) {
    return failed("record", { code: "E_BATCH", message: `the record is of batch ${record.root}`, where: {} }, savedAt);
  }
  const shown = pageAgrees(record.events.filter((e) => e.batchId === batch));
  if (shown !== null) return failed("page", shown, savedAt);
  const genesis = record.events.find((e) => e.batchId === batch && e.seq === 0);
  const done = [
    t("done-record", { n: record.events.length }),
    t("done-page"),
    t("done-trust", { version: trust.summary.version }),
  ];
  if (section.dataset.seal) {
    const seal = await verifySeal(section.dataset.seal, { trustList: trust.trustList, bundle, now });
    if (!seal.ok && seal.code === "E_SEAL_ROLE" && m.policy) {
      // Only a process policy can let a role other than a producer seal, and policies are not verified here: the
      // phone cannot tell a sealer the policy allows from one it does not. Say so; never call it a failure or a pass.
      section.dataset.code = seal.code;
      show("unavailable", t("policy-sealer"), [t("policy-sealer-detail"), ...savedNote(savedAt)]);
      return;
    }
    if (!seal.ok) return failed("seal", seal, savedAt);
    done.unshift(t("done-seal"));
  }
  const logKey = section.dataset.logKey;
  if (logKey && m.receipt) {
    const head = record.batches.find((b) => b.batchId === batch);
    const logged = await verifyLogReceipt(b64(m.receipt), {
      logKey,
      expect: { batchId: batch, seq: head.count - 1, eventId: head.head },
      now,
    });
    if (!logged.ok) return failed("log", logged, savedAt);
    done.push(t("done-log", { size: logged.checkpoint.size }));
  } else if (logKey) {
    done.push(t("no-receipt"));
  }
  section.dataset.code = "OK";
  const list = el("ul", "checked");
  // Items end in ";" as a list does; the last one ends the sentence.
  done.forEach((line, i) => list.append(el("li", null, i === done.length - 1 ? line.replace(/;$/, ".") : line)));
  const p = genesis.product;
  const quantity = [p.quantity, p.unit].filter(Boolean).join(" ");
  const product = el("p", "product", t("product", { name: p.name, lot: p.lot, quantity }));
  show("ok", t("ok"), [
    product,
    t("ok-intro"),
    list,
    el("p", null, t("signers")),
    signers(record.events),
    ...savedNote(savedAt),
  ]);
}

if (section) {
  check().catch((e) => show("unavailable", t("unloaded"), [el("p", "code", String(e))]));
}
