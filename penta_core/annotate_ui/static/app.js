// The annotation page: a queue ordered by need, a player, a piano roll, labels and valence/arousal.
// Every action goes to an outbox kept in localStorage and is sent until the server acknowledges it,
// so a server restart or a reload loses nothing; the server drops actions it already has by event id.
"use strict";

const $ = (id) => document.getElementById(id);
const S = {
  dataset: "", labels: [], rows: [], byId: new Map(), view: [], pos: 0, bootId: null,
  pending: { label: null, va: null }, undo: [], detail: null, loaded: false,
};
const outboxKey = () => `penta-outbox:${S.dataset}`;
const fmt = (v, d = 2) => (v === null || v === undefined ? "–" : Number(v).toFixed(d));

// -- server ---------------------------------------------------------------------------------------

async function api(path, options) {
  const response = await fetch(path, options);
  if (!response.ok) {
    let message = response.statusText;
    try { message = (await response.json()).error || message; } catch (e) { /* not JSON */ }
    const err = new Error(message);
    err.status = response.status;
    throw err;
  }
  return response.json();
}

function outbox() { return JSON.parse(localStorage.getItem(outboxKey()) || "[]"); }
function saveOutbox(items) { localStorage.setItem(outboxKey(), JSON.stringify(items)); }

function setStatus() {
  const n = outbox().length;
  const el = $("status");
  if (S.offline) { el.textContent = `offline · ${n} waiting`; el.className = "status offline"; }
  else if (n) { el.textContent = `saving ${n}…`; el.className = "status pending"; }
  else { el.textContent = "saved"; el.className = "status"; }
}

let flushing = false;
async function flush() {
  if (flushing) return;
  // One action per request, in order: a refused action is dropped alone, and an undo follows what it undoes.
  const items = outbox().slice(0, 1);
  if (!items.length) { setStatus(); return; }
  flushing = true;
  try {
    const reply = await api("/api/events", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ events: items }),
    });
    const done = new Set([...reply.accepted, ...reply.duplicates]);
    saveOutbox(outbox().filter((a) => !done.has(a.event)));
    const wasOffline = S.offline;
    S.offline = false;
    for (const row of Object.values(reply.rows)) mergeRow(row);
    if (wasOffline || (S.bootId && reply.boot_id !== S.bootId)) await loadState();
  } catch (err) {
    if (err.status === 400) {  // the server refuses it for good: drop it, say why
      saveOutbox(outbox().filter((a) => a.event !== items[0].event));
      alert(`not saved: ${err.message}`);
      await loadState();
    } else {
      S.offline = true;
      setTimeout(flush, 1000);
    }
  } finally {
    flushing = false;
    setStatus();
    if (!S.offline && outbox().length) setTimeout(flush, 0);
  }
}

function send(action) {
  const event = Object.assign({ event: crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`,
    annotator: $("annotator").value.trim() || undefined }, action);
  saveOutbox([...outbox(), event]);
  setStatus();
  flush();
  return event.event;
}

async function loadState() {
  let state;
  try {
    state = await api("/api/state");
  } catch (err) {
    S.offline = true; setStatus(); setTimeout(loadState, 1000); return;
  }
  S.offline = false;
  const keep = S.view[S.pos] ? S.view[S.pos].id : decodeURIComponent(location.hash.slice(1));
  S.dataset = state.dataset; S.labels = state.labels; S.bootId = state.boot_id;
  S.rows = state.samples; S.byId = new Map(S.rows.map((r) => [r.id, r]));
  for (const pending of outbox()) applyLocally(pending);  // not yet acknowledged: show them anyway
  $("dataset").textContent = `${state.dataset} · ${state.target_model}`;
  if (!$("annotator").value) $("annotator").value = localStorage.getItem("penta-annotator") || state.annotator;
  if (!S.loaded) { buildFilters(); buildLabelButtons(); S.loaded = true; }
  applyFilters(keep);
  setStatus();
  flush();
}

// -- rows -----------------------------------------------------------------------------------------

function labelCoords(name) {
  const label = S.labels.find((l) => l.name === name);
  return label ? [label.valence, label.arousal] : [null, null];
}

function applyLocally(action) {
  const row = S.byId.get(action.sample);
  if (!row) return;
  if (action.action === "label" || action.action === "confirm") {
    row.label = action.new; row.label_source = "annotator"; row.decided = true; row.conflict = [];
    if (row.va_source !== "annotator") [row.valence, row.arousal] = labelCoords(action.new);
  } else if (action.action === "va") {
    [row.valence, row.arousal] = action.new; row.va_source = "annotator"; row.decided = true;
  }
}

function mergeRow(row) {
  const old = S.byId.get(row.id);
  if (!old) return;
  for (const key of Object.keys(row)) if (key !== "tier" && key !== "reason") old[key] = row[key];
  drawQueueItem(old);
  if (S.view[S.pos] && S.view[S.pos].id === row.id) showRow(old, false);
}

// -- queue ----------------------------------------------------------------------------------------

function buildFilters() {
  const add = (select, values) => values.forEach((v) => select.add(new Option(v, v)));
  add($("f-label"), S.labels.map((l) => l.name));
  add($("f-origin"), [...new Set(S.rows.map((r) => r.origin))].sort());
  add($("f-split"), [...new Set(S.rows.map((r) => r.split || "none"))].sort());
  if (S.rows.some((r) => r.origin === "imported")) $("f-origin").value = "imported";
  for (const id of ["f-label", "f-origin", "f-split"]) {
    $(id).addEventListener("change", () => { applyFilters(S.view[S.pos] && S.view[S.pos].id); $(id).blur(); });
  }
}

function applyFilters(keepId) {
  const label = $("f-label").value, origin = $("f-origin").value, split = $("f-split").value;
  S.view = S.rows.filter((r) => (!label || (label === "-" ? !r.label : r.label === label))
    && (!origin || r.origin === origin) && (!split || (r.split || "none") === split));
  const list = $("queue");
  list.replaceChildren(...S.view.map((row, i) => {
    const li = document.createElement("li");
    li.dataset.id = row.id;
    li.addEventListener("click", () => select(i));
    row._li = li;
    drawQueueItem(row);
    return li;
  }));
  const at = S.view.findIndex((r) => r.id === keepId);
  select(at >= 0 ? at : 0);
}

function drawQueueItem(row) {
  const li = row._li;
  if (!li) return;
  li.className = (row.decided ? "decided " : "") + (S.view[S.pos] === row ? "current" : "");
  li.innerHTML = "";
  const name = document.createElement("span"); name.textContent = row.location.split("/").pop();
  const lab = document.createElement("span"); lab.className = "lab"; lab.textContent = row.label || "—";
  const why = document.createElement("span"); why.className = "why"; why.textContent = row.reason;
  li.append(name, lab, why);
  const done = S.rows.filter((r) => r.decided).length;
  $("progress").textContent = `${done} of ${S.rows.length} decided · ${S.view.length} in view`;
}

function select(i) {
  if (!S.view.length) { $("title").textContent = "nothing matches these filters"; return; }
  const previous = S.view[S.pos];
  S.pos = Math.max(0, Math.min(i, S.view.length - 1));
  const row = S.view[S.pos];
  if (previous && previous._li) previous._li.classList.remove("current");
  row._li.classList.add("current");
  row._li.scrollIntoView({ block: "nearest" });
  history.replaceState(null, "", `#${row.id}`);
  S.pending = { label: null, va: null };
  showRow(row, true);
}

// -- one sample -----------------------------------------------------------------------------------

function showRow(row, fresh) {
  $("title").textContent = row.location;
  $("reason").textContent = row.reason;
  for (const button of $("labels").children) {
    button.classList.toggle("current", button.dataset.label === row.label);
    button.classList.toggle("pending", button.dataset.label === S.pending.label);
    button.disabled = !row.editable;
  }
  const source = { folder: "from its folder name", annotator: `set by ${row.annotator || "a person"}`,
    parent: "inherited from its parent", generation: "chosen when generated", none: "none yet" }[row.label_source]
    || row.label_source;
  $("provenance").textContent = `${row.label || "no label"} · ${source}`
    + (row.conflict && row.conflict.length ? ` · folders disagree: ${row.conflict.join(" / ")}` : "")
    + (row.editable ? "" : " · not editable here");
  drawVA(row);
  const info = [
    ["prediction", row.predicted ? `${row.predicted} (${fmt(row.confidence)}, ${row.prediction_source})` : "–"],
    ["key", row.key ? `${row.key} (${fmt(row.key_confidence)})` : "–"],
    ["tempo", row.tempo_bpm ? `${fmt(row.tempo_bpm, 0)} BPM` : "–"],
    ["duration", row.duration_s ? `${fmt(row.duration_s, 1)} s` : "–"],
    ["kind / origin", `${row.kind} / ${row.origin}`], ["split", row.split || "none"],
    ["family", row.family], ["source", row.source || row.parent || "–"],
  ];
  $("info").replaceChildren(...info.map(([k, v]) => {
    const tr = document.createElement("tr");
    tr.innerHTML = "<td></td><td></td>";
    tr.children[0].textContent = k; tr.children[1].textContent = v;
    return tr;
  }));
  if (!fresh) return;
  const player = $("player");
  player.src = `/api/audio/${row.id}`;
  S.detail = null;
  drawRoll();
  api(`/api/sample/${row.id}`).then((detail) => {
    if (S.view[S.pos] === row) { S.detail = detail; drawRoll(); }
  }).catch(() => {});
  const next = S.view[S.pos + 1];
  if (next && next.kind === "midi") fetch(`/api/audio/${next.id}`).catch(() => {});  // render ahead
}

function drawRoll() {
  const canvas = $("roll"), ctx = canvas.getContext("2d");
  canvas.width = canvas.clientWidth || 900;
  ctx.fillStyle = "#111"; ctx.fillRect(0, 0, canvas.width, canvas.height);
  const roll = S.detail && S.detail.roll;
  ctx.fillStyle = "#888"; ctx.font = "12px sans-serif";
  if (!roll) {
    const row = S.view[S.pos];
    ctx.fillText(row && row.kind === "audio" ? "audio sample: no piano roll" : "loading…", 10, 20);
    return;
  }
  const notes = roll.notes, duration = Math.max(roll.duration_s, 0.001);
  const pitches = notes.filter((n) => !n[4]).map((n) => n[2]);
  const lo = Math.min(...pitches, 60) - 2, hi = Math.max(...pitches, 72) + 2;
  const x = (t) => (t / duration) * canvas.width, h = canvas.height / (hi - lo + 1);
  for (const [start, end, pitch, velocity, drum] of notes) {
    ctx.fillStyle = drum ? "rgba(200,200,200,0.35)" : `hsl(${200 - velocity}, 80%, ${35 + velocity / 5}%)`;
    const y = drum ? canvas.height - 6 : canvas.height - (pitch - lo + 1) * h;
    ctx.fillRect(x(start), y, Math.max(x(end) - x(start), 1), drum ? 4 : Math.max(h - 1, 1));
  }
  const t = $("player").currentTime || 0;
  ctx.fillStyle = "#fff"; ctx.fillRect(x(t), 0, 1, canvas.height);
}

function vaToXY(v, a, size) { return [(v + 1) / 2 * size, (1 - (a + 1) / 2) * size]; }

function drawVA(row) {
  const canvas = $("va"), ctx = canvas.getContext("2d"), size = canvas.width;
  ctx.clearRect(0, 0, size, size);
  ctx.strokeStyle = "#ddd"; ctx.beginPath();
  ctx.moveTo(size / 2, 0); ctx.lineTo(size / 2, size); ctx.moveTo(0, size / 2); ctx.lineTo(size, size / 2); ctx.stroke();
  ctx.fillStyle = "#999"; ctx.font = "10px sans-serif";
  ctx.fillText("valence →", size - 55, size / 2 - 4); ctx.fillText("arousal ↑", size / 2 + 4, 10);
  for (const label of S.labels) {
    const [x, y] = vaToXY(label.valence, label.arousal, size);
    ctx.fillStyle = "#bbb"; ctx.fillRect(x - 2, y - 2, 4, 4); ctx.fillText(label.name, x + 4, y + 3);
  }
  const dot = (v, a, color) => {
    const [x, y] = vaToXY(v, a, size);
    ctx.fillStyle = color; ctx.beginPath(); ctx.arc(x, y, 6, 0, 7); ctx.fill();
  };
  if (row.valence !== null && row.valence !== undefined) dot(row.valence, row.arousal, "#2a7");
  if (S.pending.va) dot(S.pending.va[0], S.pending.va[1], "#e80");
  const shown = S.pending.va || [row.valence, row.arousal];
  $("va-text").textContent = `valence ${fmt(shown[0])}, arousal ${fmt(shown[1])}`
    + (S.pending.va ? " (Enter saves)" : row.va_source === "annotator" ? " · set by a person" : "");
}

function buildLabelButtons() {
  $("labels").replaceChildren(...S.labels.map((label, i) => {
    const button = document.createElement("button");
    button.type = "button"; button.dataset.label = label.name;
    button.innerHTML = `<kbd>${i < 9 ? i + 1 : ""}</kbd>`;
    button.append(label.name);
    button.addEventListener("click", () => pick(label.name));
    return button;
  }));
}

// -- actions --------------------------------------------------------------------------------------

function current() { return S.view[S.pos]; }

function pick(name) {
  const row = current();
  if (!row || !row.editable) return;
  S.pending.label = name;
  showRow(row, false);
}

function commit() {
  const row = current();
  if (!row || !row.editable) { move(1); return; }
  const label = S.pending.label || row.label;
  if (label) {
    const action = { sample: row.id, action: label === row.label ? "confirm" : "label", old: row.label, new: label };
    const before = { ...row };
    applyLocally(action);
    S.undo.push({ event: send(action), sample: row.id, before });
  }
  if (S.pending.va) {
    const action = { sample: row.id, action: "va", old: [row.valence, row.arousal], new: S.pending.va };
    const before = { ...row };
    applyLocally(action);
    S.undo.push({ event: send(action), sample: row.id, before });
  }
  drawQueueItem(row);
  move(1);
}

function skip() {
  const row = current();
  if (row) send({ sample: row.id, action: "skip" });
  move(1);
}

function undo() {
  const last = S.undo.pop();
  if (!last) return;
  send({ sample: last.sample, action: "undo", undoes: last.event });
  const row = S.byId.get(last.sample);
  for (const key of ["label", "label_source", "decided", "conflict", "valence", "arousal", "va_source", "annotator"]) {
    row[key] = last.before[key];
  }
  drawQueueItem(row);
  const at = S.view.indexOf(row);
  if (at >= 0) select(at);
}

function move(step) { if (S.view.length) select(S.pos + step); }

function nudgeVA(dv, da) {
  const row = current();
  if (!row || !row.editable) return;
  const [v, a] = S.pending.va || [row.valence ?? 0, row.arousal ?? 0];
  const clamp = (x) => Math.round(Math.max(-1, Math.min(1, x)) * 100) / 100;
  S.pending.va = [clamp(v + dv), clamp(a + da)];
  drawVA(row);
}

document.addEventListener("keydown", (e) => {
  if (e.target.matches("input, select, textarea")) { if (e.key === "Escape") e.target.blur(); return; }
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const player = $("player");
  if (e.shiftKey && e.key.startsWith("Arrow")) {
    const step = 0.1;
    nudgeVA({ ArrowLeft: -step, ArrowRight: step }[e.key] || 0, { ArrowDown: -step, ArrowUp: step }[e.key] || 0);
  } else if (/^[1-9]$/.test(e.key) && S.labels[Number(e.key) - 1]) pick(S.labels[Number(e.key) - 1].name);
  else if (e.key === "Enter") commit();
  else if (e.key === "s") skip();
  else if (e.key === "u") undo();
  else if (e.key === "ArrowDown" || e.key === "ArrowRight" || e.key === "j") move(1);
  else if (e.key === "ArrowUp" || e.key === "ArrowLeft" || e.key === "k") move(-1);
  else if (e.key === " ") { if (player.paused) player.play().catch(() => {}); else player.pause(); }
  else return;
  e.preventDefault();
});

$("va").addEventListener("click", (e) => {
  const row = current();
  if (!row || !row.editable) return;
  const rect = e.target.getBoundingClientRect();
  const v = ((e.clientX - rect.left) / rect.width) * 2 - 1, a = 1 - ((e.clientY - rect.top) / rect.height) * 2;
  S.pending.va = [Math.round(v * 100) / 100, Math.round(a * 100) / 100];
  drawVA(row);
});
$("confirm").addEventListener("click", commit);
$("skip").addEventListener("click", skip);
$("undo").addEventListener("click", undo);
$("annotator").addEventListener("change", () => localStorage.setItem("penta-annotator", $("annotator").value.trim()));
$("roll").addEventListener("click", (e) => {
  const roll = S.detail && S.detail.roll;
  if (roll) $("player").currentTime = (e.offsetX / e.target.clientWidth) * roll.duration_s;
});
(function tick() {
  if (!$("player").paused) drawRoll();
  requestAnimationFrame(tick);
})();
window.addEventListener("online", flush);
loadState();
