"use strict";
// A line chart in SVG, written for the lab (no library): one polyline per series, axes with a few ticks, and
// the exact value of the nearest point under the pointer (a tooltip, and data-* attributes the browser test
// reads). series: [{label, xs: [numbers], ys: [numbers]}]. Its words come from the page (options.words: noData,
// value, step, in the page's language: words.js's WORDS); it writes none of its own.
const SVGNS = "http://www.w3.org/2000/svg";
const COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f"];

function svgEl(tag, attrs) {
  const el = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  return el;
}

function niceTicks(lo, hi, n) {
  if (!(hi > lo)) return [lo];
  const step0 = (hi - lo) / n, mag = Math.pow(10, Math.floor(Math.log10(step0)));
  const step = [1, 2, 5, 10].map(m => m * mag).find(s => s >= step0) || step0;
  const ticks = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(+t.toPrecision(12));
  return ticks;
}

function lineChart(container, series, options) {
  const opts = Object.assign({width: 720, height: 320, title: "", logY: false}, options || {});
  const words = Object.assign({noData: "", value: "", step: ""}, opts.words || {});
  const W = opts.width, H = opts.height, L = 64, R = 12, T = 24, B = 36;
  const useLog = opts.logY && series.every(s => s.ys.every(y => y > 0));
  const ty = y => (useLog ? Math.log10(y) : y);
  const pts = series.flatMap(s => s.xs.map((x, i) => [x, s.ys[i]])).filter(p => isFinite(p[0]) && isFinite(p[1]));
  const box = document.createElement("div");
  box.className = "chart";
  const svg = svgEl("svg", {viewBox: `0 0 ${W} ${H}`, width: "100%", role: "img", "aria-label": opts.title});
  box.appendChild(svg);
  const tip = document.createElement("div");
  tip.className = "chart-tip";
  tip.hidden = true;
  box.appendChild(tip);
  container.appendChild(box);
  if (!pts.length) { svg.appendChild(svgEl("text", {x: W / 2, y: H / 2, "text-anchor": "middle"})).textContent = words.noData; return box; }
  let [x0, x1] = [Math.min(...pts.map(p => p[0])), Math.max(...pts.map(p => p[0]))];
  let [y0, y1] = [Math.min(...pts.map(p => ty(p[1]))), Math.max(...pts.map(p => ty(p[1])))];
  if (x1 === x0) { x0 -= 1; x1 += 1; }
  if (y1 === y0) { y0 -= Math.abs(y0) * 0.1 || 1; y1 += Math.abs(y1) * 0.1 || 1; }
  const px = x => L + (x - x0) / (x1 - x0) * (W - L - R);
  const py = y => T + (1 - (ty(y) - y0) / (y1 - y0)) * (H - T - B);
  svg.appendChild(svgEl("text", {x: L, y: 16, class: "chart-title"})).textContent = opts.title;
  for (const t of niceTicks(x0, x1, 6)) {
    svg.appendChild(svgEl("line", {x1: px(t), x2: px(t), y1: T, y2: H - B, class: "grid"}));
    svg.appendChild(svgEl("text", {x: px(t), y: H - B + 16, "text-anchor": "middle", class: "tick"})).textContent = +t.toPrecision(4);
  }
  for (const t of niceTicks(y0, y1, 5)) {
    const yv = useLog ? Math.pow(10, t) : t;
    svg.appendChild(svgEl("line", {x1: L, x2: W - R, y1: py(yv), y2: py(yv), class: "grid"}));
    svg.appendChild(svgEl("text", {x: L - 6, y: py(yv) + 4, "text-anchor": "end", class: "tick"})).textContent = +yv.toPrecision(3);
  }
  series.forEach((s, k) => {
    const d = s.xs.map((x, i) => [x, s.ys[i]]).filter(p => isFinite(p[0]) && isFinite(p[1]))
      .map(p => `${px(p[0]).toFixed(1)},${py(p[1]).toFixed(1)}`).join(" ");
    svg.appendChild(svgEl("polyline", {points: d, fill: "none", stroke: COLORS[k % COLORS.length], "stroke-width": 1.6}));
  });
  const legend = document.createElement("div");
  legend.className = "legend";
  series.forEach((s, k) => {
    const item = legend.appendChild(document.createElement("span"));
    item.style.setProperty("--c", COLORS[k % COLORS.length]);
    item.textContent = s.label || words.value;
  });
  box.appendChild(legend);
  const dot = svg.appendChild(svgEl("circle", {r: 4, class: "chart-dot", visibility: "hidden"}));
  svg.addEventListener("mousemove", ev => {
    const rect = svg.getBoundingClientRect(), scale = W / rect.width;
    const mx = (ev.clientX - rect.left) * scale, my = (ev.clientY - rect.top) * scale;
    let best = null;
    series.forEach((s, k) => s.xs.forEach((x, i) => {
      const y = s.ys[i];
      if (!isFinite(x) || !isFinite(y)) return;
      const d = Math.hypot(px(x) - mx, py(y) - my);
      if (!best || d < best.d) best = {d, x, y, k, label: s.label};
    }));
    if (!best) return;
    dot.setAttribute("cx", px(best.x)); dot.setAttribute("cy", py(best.y)); dot.setAttribute("visibility", "visible");
    tip.hidden = false;
    tip.textContent = `${best.label ? best.label + " · " : ""}${words.step} ${best.x}: ${best.y}`;  // the exact value
    tip.style.left = `${(px(best.x) / W) * 100}%`;
    tip.style.top = `${(py(best.y) / H) * 100}%`;
    box.dataset.x = best.x; box.dataset.y = best.y; box.dataset.series = best.label || "";
  });
  svg.addEventListener("mouseleave", () => { tip.hidden = true; dot.setAttribute("visibility", "hidden"); });
  return box;
}

// metrics.jsonl lines -> {metric: [{label, xs, ys}]}: a line's text fields name its series (method=gd).
function metricSeries(metrics, prefix) {
  const out = {};
  metrics.forEach((rec, i) => {
    const group = Object.entries(rec).filter(([, v]) => typeof v === "string").map(([k, v]) => `${k}=${v}`).join(", ");
    const label = [prefix, group].filter(Boolean).join(" · ");
    const step = typeof rec.step === "number" ? rec.step : i;
    for (const [k, v] of Object.entries(rec)) {
      if (typeof v !== "number" || k === "step" || k === "epoch") continue;
      const list = out[k] || (out[k] = []);
      let s = list.find(e => e.label === label);
      if (!s) list.push(s = {label, xs: [], ys: []});
      s.xs.push(step); s.ys.push(v);
    }
  });
  return out;
}
