// The overview page: the version's charts (Vega-Lite specs from /api/overview, drawn by the vendored
// Vega-Embed) and the metrics that changed since another git revision.
"use strict";

(async function main() {
  const rev = new URLSearchParams(location.search).get("rev");
  const data = await (await fetch("/api/overview" + (rev ? `?rev=${encodeURIComponent(rev)}` : ""))).json();
  document.getElementById("dataset").textContent = `${data.dataset} · overview`;
  document.getElementById("annotation").textContent =
    `${data.annotation.events} annotation events · ${data.annotation.decided} samples decided by a person`;
  const holder = document.getElementById("charts");
  for (const chart of data.charts) {
    const box = document.createElement("div");
    box.className = "chart"; box.id = `chart-${chart.id}`;
    const title = document.createElement("h2"); title.textContent = chart.title;
    const target = document.createElement("div");
    box.append(title, target); holder.append(box);
    if (!chart.n) { target.textContent = "no data in this version"; continue; }
    await vegaEmbed(target, chart.spec, { actions: false, renderer: "svg" });
  }
  document.getElementById("diff-title").textContent = `Metrics changed since ${data.diff.rev}`;
  document.getElementById("diff-errors").textContent = data.diff.errors.join("; ");
  const body = document.querySelector("#diff tbody");
  const cell = (v) => (v === null || v === undefined ? "–" : String(Math.round(v * 1e4) / 1e4));
  for (const row of data.diff.rows) {
    const tr = document.createElement("tr");
    for (const v of [row.metric, cell(row.old), cell(row.new), cell(row.change)]) {
      const td = document.createElement("td"); td.textContent = v; tr.append(td);
    }
    body.append(tr);
  }
  document.body.dataset.ready = "1";
})();
