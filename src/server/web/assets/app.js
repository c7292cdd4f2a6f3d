// The gw dashboard's only script (the pages carry none: the CSP allows scripts from /ui/assets
// alone). Draws each [data-chart] with uPlot and asks before a form with data-confirm is sent.
"use strict";

const PALETTE = ["#2f6fdf", "#e8772e", "#2ea44f", "#d1453b", "#8957e5", "#b08800", "#1b9aaa", "#e05297", "#6e7781"];

function money(v) {
  return v == null ? "" : "$" + (Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(4));
}

function draw(el, c) {
  if (!c.x || c.x.length === 0) {
    el.classList.add("empty");
    el.textContent = "No spend in this period.";
    return;
  }
  // Stacked: each series is drawn at the sum of those below it, the top one first so that the
  // lower fills cover it; the legend shows each series' own value.
  const bars = c.step > 0 ? uPlot.paths.bars({ size: [0.7, 64], align: 0 }) : undefined;
  // One more x past the last, without values: the last bar keeps its width, and a chart of
  // one point still has a range to draw on.
  if (bars || c.x.length === 1) {
    c.x = c.x.concat([c.x[c.x.length - 1] + (c.step || 3600)]);
    c.series = c.series.map(([label, ys]) => [label, ys.concat([bars ? null : ys[ys.length - 1]])]);
  }
  const acc = new Array(c.x.length).fill(0);
  const stacked = c.series.map(([label, ys]) => [label, ys, ys.map((y, i) => (y == null ? null : (acc[i] += y)))]);
  const series = [{}];
  const data = [c.x];
  for (let i = stacked.length - 1; i >= 0; i--) {
    const [label, own, top] = stacked[i];
    const color = PALETTE[i % PALETTE.length];
    series.push({
      label,
      stroke: color,
      fill: color + (bars ? "" : "b3"),
      width: 1,
      paths: bars,
      points: { show: !bars && c.x.length < 3 },
      value: (u, v, si, idx) => (idx == null ? "" : money(own[idx])),
    });
    data.push(top);
  }
  if (c.limit != null) {
    series.push({ label: "limit", stroke: "#d1453b", width: 2, dash: [6, 4], value: () => money(c.limit) });
    data.push(c.x.map(() => c.limit));
  }
  const opts = {
    width: Math.max(el.clientWidth, 280),
    height: 260,
    series,
    scales: {
      x: { time: true },
      y: { range: (u, min, max) => [0, Math.max(max, c.limit || 0) * 1.1 || 1] },
    },
    axes: [{}, { values: (u, vals) => vals.map((v) => money(v)), size: 70 }],
  };
  const plot = new uPlot(opts, data, el);
  new ResizeObserver(() => plot.setSize({ width: Math.max(el.clientWidth, 280), height: 260 })).observe(el);
}

document.addEventListener("DOMContentLoaded", () => {
  for (const el of document.querySelectorAll("[data-chart]")) {
    try {
      draw(el, JSON.parse(el.dataset.chart));
    } catch (e) {
      el.textContent = "This chart could not be drawn.";
    }
  }
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
});
