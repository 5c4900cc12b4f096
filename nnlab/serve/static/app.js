"use strict";
// The lab's pages, drawn from the JSON API (nnlab/serve/app.py). Every text from a run or a config goes in
// as text (textContent), never as HTML. The language is in the URL (`?lang=zh`; absent: English), kept by every
// link and every URL written here; the API answers in it, and the page's own words are WORDS's.
const LANG = new URLSearchParams(location.search).get("lang") || "";  // as given: a bad one the API refuses
const ZH = LANG === "zh";

// the page's own words: WORDS, in static/words.js (loaded first)

// WORDS[key] in the page's language, `{0}`, `{1}` ... filled with `args`
function t(key, ...args) {
  const word = WORDS[key];
  return args.reduce((text, a, i) => text.replaceAll(`{${i}}`, a), ZH ? word.zh : word.en);
}
const statusWord = s => (WORDS[`status_${s}`] ? t(`status_${s}`) : s);

// a URL of the lab that keeps the page's language (in English, as given: no `lang`)
const withLang = url => (LANG ? `${url}${url.includes("?") ? "&" : "?"}lang=${encodeURIComponent(LANG)}` : url);

// the header's switch (中文 / English): this page, the rest of its URL as it is, in the other language
function switched() {
  const rest = location.search.slice(1).split("&").filter(p => p && !p.startsWith("lang="));
  if (!ZH) rest.push("lang=zh");
  return location.pathname + (rest.length ? "?" + rest.join("&") : "") + location.hash;
}
const switcher = document.getElementById("lang-switch");
const refreshSwitch = () => { if (switcher) switcher.href = switched(); };
if (switcher) switcher.addEventListener("click", ev => { ev.preventDefault(); location.href = switched(); });
refreshSwitch();

const app = document.getElementById("app");
const show = (...parts) => app.replaceChildren(...parts.flat().filter(p => p !== null && p !== undefined && p !== false));

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : String(c));
  return el;
}

// The lecture's formulas as MathML from the server (written in nnlab's code, never from a request): rendered by
// the browser itself, no script library.
function formulas(list) {
  const el = h("div", {class: "formulas"});
  el.innerHTML = (list || []).join("");
  return el;
}

async function api(path, options) {
  const response = await fetch(withLang(path), options);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw Object.assign(new Error(body.error || `HTTP ${response.status}`), {status: response.status});
  return body;
}

const post = (path, body) => api(path, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});

function fmt(v) {
  if (v === null || v === undefined) return "—";
  if (typeof v === "number") return Number.isInteger(v) ? v.toLocaleString("en") : String(+v.toPrecision(4));
  if (typeof v === "boolean") return v ? "true" : "false";
  if (Array.isArray(v)) return v.map(fmt).join(", ");
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

function table(columns, rows, cls) {
  return h("table", {class: cls}, h("thead", {}, h("tr", {}, columns.map(c => h("th", {}, c)))),
    h("tbody", {}, rows.map(r => h("tr", {}, r.map(v => h("td", {class: typeof v === "number" ? "num" : null, title: typeof v === "number" ? String(v) : null}, v instanceof Node ? v : fmt(v)))))));
}

const mark = holds => h("span", {class: holds ? "ok verdict" : "bad verdict"}, holds ? "✓" : "✗");
const statusTag = s => h("span", {class: `status status-${s}`, dataset: {status: s}}, statusWord(s));
const runLink = id => h("a", {href: withLang(`/runs/${id}`)}, h("code", {}, id));

// a run's claims or checks (kind: their class); a text is in the page's language, the API's `claim` and `failure`
function verdicts(kind, title, items) {
  if (!items || !items.length) return null;
  const code = v => h("code", {}, fmt(v));
  return h("section", {class: `verdicts ${kind}`}, h("h3", {}, title),
    table(["", t("colId"), t("colClaim"), t("colMeasured"), t("colExpected")],
      items.map(c => [mark(c.holds), code(c.id), h("span", {}, c.claim + (c.source === "nnlab" ? t("fromNnlab") : ""),
        c.failure ? h("div", {class: "muted failure"}, c.failure) : null), code(c.measured), code(c.expected)])));
}

function figures(list, drawnIn) {
  if (!list || !list.length) return null;
  const other = drawnIn && drawnIn !== (ZH ? "zh" : "en");  // a run drawn in the other language
  return h("section", {class: "figures"}, h("h3", {}, t("figures")),
    other ? h("p", {class: "muted"}, t("figuresOtherLang")) : null,
    list.map(f => h("figure", {}, h("img", {src: f.url, alt: f.caption || f.name, loading: "eager"}), h("figcaption", {}, f.caption || f.name))));
}

function runResult(run) {
  const parts = [h("p", {}, t("run"), runLink(run.id), " · ", statusTag(run.status))];
  if (run.error) parts.push(h("pre", {class: "error"}, run.error));
  if (run.headline) parts.push(h("section", {class: "headline"}, h("h3", {}, t("headline")), table(run.headline.columns, run.headline.rows)));
  parts.push(verdicts("claims", t("claims"), run.claims), verdicts("checks", t("checks"), run.checks),
    figures(run.figures, (run.meta || {}).lang));
  return h("div", {class: "run-result"}, parts);
}

// -- home -------------------------------------------------------------------------------------------------
async function home() {
  const [{commands}, {latest}] = await Promise.all([api("/api/commands"), api("/api/latest")]);
  show(h("h1", {}, t("lectureTitle")), h("p", {class: "muted"}, t("lectureNote")),
    ...commands.map(c => {
      const run = latest[c.name];
      return h("section", {class: "lecture-section", dataset: {command: c.name}},
        h("h2", {}, c.section.heading, " ", ZH ? null : h("small", {}, c.section.subheading)),
        // the one-line --help stays English (as --help does): in Chinese the lecture's own words say it
        h("p", {}, h("a", {href: withLang(`/commands/${c.name}`), class: "command"}, `nnlab ${c.name}`),
          ZH ? null : [" — ", c.short_help]),
        h("blockquote", {}, c.section.text),
        run ? h("p", {class: "latest"}, t("latestRun"), runLink(run.id), " ", statusTag(run.status), " ",
          run.claims.map(v => h("span", {title: v.id}, mark(v.holds))), run.held ? t("held", run.held) : "")
          : h("p", {class: "muted latest"}, t("noRun")));
    }));
}

// -- a command's page -------------------------------------------------------------------------------------
const defaultText = f => f.list ? (f.default || []).join(",") : (f.default === null ? "" : f.type === "bool" ? String(f.default) : String(f.default));

function fieldInput(f) {
  const id = `field-${f.name}`, attrs = {id, name: f.name, "data-field": f.name};
  if (f.choices && !f.list) return h("select", attrs, f.choices.map(c => h("option", {value: c}, c)));
  if (f.type === "bool") return h("input", {...attrs, type: "checkbox"});
  if ((f.type === "int" || f.type === "float") && !f.list && !f.optional)
    return h("input", {...attrs, type: "number", min: f.low ?? null, max: f.high ?? null, step: f.type === "int" ? 1 : "any"});
  return h("input", {...attrs, type: "text", placeholder: f.list ? t("listPlaceholder") : (f.optional ? t("none") : "")});
}

function readField(form, f) {
  const el = form.querySelector(`[data-field="${f.name}"]`);
  return f.type === "bool" && !f.list ? String(el.checked) : el.value.trim();
}

function writeField(form, f, text) {
  const el = form.querySelector(`[data-field="${f.name}"]`);
  if (f.type === "bool" && !f.list) el.checked = text === "true"; else el.value = text;
}

function shellQuote(s) { return /^[A-Za-z0-9_.,:+\/=@%-]+$/.test(s) ? s : `'${s.replace(/'/g, "'\\''")}'`; }

// {field: text} of the fields that differ from their default, in the schema's order
function changed(form, spec) {
  const out = {};
  for (const f of spec.fields) { const t = readField(form, f); if (t !== defaultText(f)) out[f.name] = t; }
  return out;
}

function commandLine(spec, diff, quick) {
  const words = ["nnlab", spec.name, ...(quick ? ["--quick"] : [])];
  for (const f of spec.fields) {
    if (!(f.name in diff)) continue;
    const t = diff[f.name];
    if (f.type === "bool" && !f.list) words.push(t === "true" ? f.flag : `--no-${f.flag.slice(2)}`);
    else if (f.list) { const items = t.split(",").map(s => s.trim()).filter(Boolean); if (!items.length) words.push("--set", `${f.name}=[]`); else items.forEach(i => words.push(f.flag, shellQuote(i))); }
    else words.push(f.flag, shellQuote(t));
  }
  return words.join(" ");
}

function configOf(spec, diff) {
  const config = {};
  for (const f of spec.fields) {
    if (!(f.name in diff)) continue;
    const t = diff[f.name];
    config[f.name] = f.list ? t.split(",").map(s => s.trim()).filter(Boolean) : (f.type === "bool" ? t === "true" : t);
  }
  return config;
}

async function commandPage() {
  const name = decodeURIComponent(location.pathname.split("/")[2] || "");
  const {commands} = await api("/api/commands");
  const spec = commands.find(c => c.name === name);
  if (!spec) { show(h("p", {class: "error"}, t("noCommand", name))); return; }
  const form = h("form", {id: "config-form", novalidate: true});
  for (const f of spec.fields) {
    const bounds = [f.choices ? t("oneOf", f.choices.join(", ")) : null,
      f.low !== null && f.high !== null ? t("range", `${f.low_open ? ">" : ""}${fmt(f.low)}`, fmt(f.high)) : null].filter(Boolean).join(" · ");
    form.append(h("div", {class: `field${f.shared ? " shared" : ""}`}, h("label", {for: `field-${f.name}`}, h("code", {}, f.flag)), fieldInput(f),
      h("div", {class: "help"}, f.help, h("span", {class: "muted"}, t("defaultIs", `${defaultText(f) || t("none")}${bounds ? "; " + bounds : ""}`)))));
  }
  const quick = h("input", {type: "checkbox", id: "quick"});
  const cli = h("code", {id: "cli"});
  const message = h("p", {id: "error", class: "error", role: "alert", hidden: true});
  const live = h("div", {id: "live"});
  const result = h("div", {id: "result"});
  const runButton = h("button", {type: "submit", id: "run"}, t("runButton"));
  form.append(h("div", {class: "actions"}, h("label", {class: "quick"}, quick, t("quick"),
    h("code", {}, Object.entries(spec.quick).map(([k, v]) => `${k}=${fmt(v)}`).join(", ")), t("quickEnd")), runButton));
  const params = new URLSearchParams(location.search);
  for (const f of spec.fields) {
    writeField(form, f, defaultText(f));
    if (params.has(f.name)) writeField(form, f, f.list ? params.getAll(f.name).join(",") : params.get(f.name));
  }
  quick.checked = params.get("quick") === "1";
  const sync = () => {  // the URL holds every option that differs from its default
    const diff = changed(form, spec), q = new URLSearchParams();
    if (quick.checked) q.set("quick", "1");
    for (const f of spec.fields) {
      if (!(f.name in diff)) continue;
      if (f.list) { const items = diff[f.name].split(",").map(s => s.trim()).filter(Boolean); if (!items.length) q.append(f.name, ""); items.forEach(i => q.append(f.name, i)); }
      else q.set(f.name, diff[f.name]);
    }
    const search = q.toString();
    history.replaceState(null, "", withLang(location.pathname + (search ? "?" + search : "")));
    refreshSwitch();
    cli.textContent = commandLine(spec, diff, quick.checked);
  };
  form.addEventListener("input", sync);
  form.addEventListener("change", sync);
  sync();
  form.addEventListener("submit", async ev => {
    ev.preventDefault();
    message.hidden = true;
    runButton.disabled = true;
    try {
      const job = await post("/api/runs", {command: spec.name, config: configOf(spec, changed(form, spec)), quick: quick.checked});
      follow(job, live, result);
    } catch (err) {
      message.textContent = err.message;
      message.hidden = false;
    } finally { runButton.disabled = false; }
  });
  show(h("h1", {}, `nnlab ${spec.name}`), h("p", {class: "muted"}, spec.short_help),
    h("div", {class: "columns"},
      h("div", {class: "form-column"}, form, h("p", {}, t("commandLine"), cli), message, live),
      h("aside", {class: "lecture"}, h("h2", {}, spec.section.heading, " ", h("small", {}, spec.section.subheading)),
        // in English the lecture's Chinese words follow their translation; in Chinese they are the text
        h("blockquote", {}, spec.section.text, ZH ? null : h("span", {class: "zh", lang: "zh-CN"}, spec.section.zh)),
        formulas(spec.section.formulas), h("pre", {class: "help-text"}, spec.help))),
    result);
}

// a started job: live progress (server-sent events), then its run's numbers, claims and figures
function follow(job, live, result) {
  const status = h("span", {class: "job-status", "data-status": job.status}, statusWord(job.status));
  const progress = h("span", {class: "progress"}, "");
  const cancel = h("button", {type: "button", class: "cancel"}, t("cancel"));
  const idSlot = h("span", {class: "run-id"}, job.id ? runLink(job.id) : t("noDirectory"));
  const box = h("div", {class: "job", dataset: {job: job.job}}, t("run"), idSlot, ": ", status, " ", progress, " ", cancel,
    h("div", {class: "muted"}, h("code", {}, job.cli)));
  live.prepend(box);
  cancel.addEventListener("click", () => api(`/api/jobs/${job.job}`, {method: "DELETE"}).catch(() => {}));
  const started = Date.now();
  const source = new EventSource(withLang(job.events));
  const showState = data => {
    status.textContent = statusWord(data.status); status.dataset.status = data.status;
    const bits = [];
    if (data.queue_position) bits.push(t("queuedAt", data.queue_position));
    if (data.steps !== undefined) bits.push(t("metricLines", data.steps));
    if (data.last) bits.push(Object.entries(data.last).filter(([, v]) => typeof v === "number").slice(0, 3).map(([k, v]) => `${k} ${fmt(v)}`).join(", "));
    bits.push(t("seconds", ((Date.now() - started) / 1000).toFixed(0)));
    progress.textContent = bits.join(" · ");
    if (data.id && !idSlot.querySelector("a")) idSlot.replaceChildren(runLink(data.id));
  };
  source.addEventListener("progress", ev => showState(JSON.parse(ev.data)));
  source.addEventListener("end", async ev => {
    source.close();
    const data = JSON.parse(ev.data);
    showState(data);
    cancel.remove();
    if (data.message) box.append(h("p", {class: "error"}, data.message));
    if (data.id) result.replaceChildren(runResult(await api(`/api/runs/${data.id}`)));
  });
}

// -- runs -------------------------------------------------------------------------------------------------
async function runsPage() {
  const params = new URLSearchParams(location.search);
  const query = new URLSearchParams({limit: "200"});
  for (const k of ["command", "status", "offset"]) if (params.get(k)) query.set(k, params.get(k));
  const [{commands}, listed] = await Promise.all([api("/api/commands"), api(`/api/runs?${query}`)]);
  const filter = (key, values) => {
    const every = key === "command" ? t("everyCommand") : t("everyStatus");
    const select = h("select", {id: `filter-${key}`}, h("option", {value: ""}, every),
      values.map(v => h("option", {value: v}, key === "status" ? statusWord(v) : v)));
    select.value = params.get(key) || "";
    select.addEventListener("change", () => { if (select.value) params.set(key, select.value); else params.delete(key); params.delete("offset"); location.search = params.toString(); });
    return select;
  };
  const rows = listed.runs.map(r => [h("input", {type: "checkbox", class: "pick", value: r.id}), runLink(r.id), statusTag(r.status),
    (r.started || "").replace("T", " ").slice(0, 19), r.elapsed_s === null ? "" : t("seconds", fmt(r.elapsed_s)), h("code", {}, r.settings), r.headline, r.held]);
  const note = h("p", {id: "note", role: "status"});
  const picked = () => [...app.querySelectorAll("input.pick:checked")].map(i => i.value);
  const compare = h("button", {type: "button", id: "compare"}, t("compareSelected"));
  compare.addEventListener("click", () => { const ids = picked(); if (ids.length < 2) note.textContent = t("pickTwo"); else location.href = withLang(`/compare?runs=${ids.map(encodeURIComponent).join(",")}`); });
  const report = h("button", {type: "button", id: "report"}, t("reportSelected"));
  report.addEventListener("click", async () => {
    const ids = picked();
    if (!ids.length) { note.textContent = t("pickOne"); return; }
    note.textContent = t("building");
    try { const r = await post("/api/reports", {runs: ids}); note.replaceChildren(t("report"), h("a", {href: r.url, id: "report-link"}, r.dir)); }
    catch (err) { note.textContent = err.message; }
  });
  const jobs = listed.jobs.map(j => h("li", {}, `${j.command}: ${statusWord(j.status)}${j.queue_position ? t("position", j.queue_position) : ""} `,
    j.id ? runLink(j.id) : "", " ", h("code", {}, j.cli)));
  const more = listed.offset + listed.runs.length < listed.matching
    ? h("a", {href: `/runs?${new URLSearchParams({...Object.fromEntries(params), offset: String(listed.offset + listed.runs.length)})}`}, t("older")) : null;
  show(h("h1", {}, t("runsTitle")),
    h("p", {}, filter("command", commands.map(c => c.name).concat(["sweep", "compare"])), " ", filter("status", listed.statuses), " ",
      t("matching", listed.matching, listed.total)),
    jobs.length ? h("section", {}, h("h3", {}, t("startedHere")), h("ul", {id: "jobs"}, jobs)) : null,
    h("p", {}, compare, " ", report), note,
    table(["", t("colRun"), t("colStatus"), t("colStarted"), t("colTook"), t("colSettings"), t("colKeyNumber"), t("colClaims")], rows, "runs"),
    more);
}

// -- one run ----------------------------------------------------------------------------------------------
const chartWords = {noData: t("chartNoData"), value: t("chartValue"), step: t("chartStep")};  // chart.js's

async function metricsChart(container, runs) {
  const all = await Promise.all(runs.map(id => api(`/api/runs/${id}/metrics`)));
  const perRun = all.map((m, i) => metricSeries(m.metrics, runs.length > 1 ? runs[i] : ""));
  const names = Object.keys(perRun[0] || {}).filter(n => perRun.every(p => n in p));
  if (!names.length) { container.append(h("p", {class: "muted"}, t("noMetrics"))); return; }
  const select = h("select", {id: "metric"}, names.map(n => h("option", {value: n}, n)));
  const log = h("input", {type: "checkbox", id: "logy"});
  const area = h("div", {class: "chart-area"});
  const draw = () => { area.replaceChildren(); lineChart(area, perRun.flatMap(p => p[select.value]), {title: select.value, logY: log.checked, words: chartWords}); };
  select.addEventListener("change", draw); log.addEventListener("change", draw);
  container.append(h("p", {}, t("metric"), select, " ", h("label", {}, log, t("logScale"))), area);
  draw();
}

// the form of a run's command, filled with the run's config (what differs from the defaults, or from --quick)
function rerunLink(spec, config) {
  const q = new URLSearchParams(), same = (a, b) => String(a) === String(b);
  const quick = Object.entries(spec.quick).every(([k, v]) => k in config && same(config[k], v));
  if (quick) q.set("quick", "1");
  for (const f of spec.fields) {
    if (!(f.name in config) || (quick && f.name in spec.quick)) continue;
    const v = config[f.name], text = f.list ? (v || []).join(",") : (v === null ? "" : String(v));
    if (text === defaultText(f)) continue;
    if (f.list) { if (!v.length) q.append(f.name, ""); v.forEach(i => q.append(f.name, String(i))); } else q.set(f.name, text);
  }
  const search = q.toString();
  return withLang(`/commands/${spec.name}${search ? "?" + search : ""}`);
}

async function runPage() {
  const id = decodeURIComponent(location.pathname.slice("/runs/".length));  // its path under --out
  let run;
  try { run = await api(`/api/runs/${id}`); } catch (err) { show(h("h1", {}, h("code", {}, id)), h("p", {class: "error"}, err.message)); return; }
  const parts = [h("h1", {}, h("code", {}, id), " ", statusTag(run.status))];
  if (run.status === "running" || (run.job && ["queued", "starting", "running"].includes(run.job.status))) {
    const cancel = h("button", {type: "button", id: "cancel"}, t("cancelRun"));
    const progress = h("span", {id: "progress"});
    cancel.addEventListener("click", () => api(`/api/runs/${id}`, {method: "DELETE"}).catch(err => { progress.textContent = err.message; }));
    parts.push(h("p", {}, progress, " ", run.job ? cancel : null));
    const source = new EventSource(withLang(`/api/runs/${id}/events`));
    source.addEventListener("progress", ev => { const d = JSON.parse(ev.data); progress.textContent = `${statusWord(d.status)} · ${t("metricLines", d.steps ?? 0)}`; });
    source.addEventListener("end", () => { source.close(); runPage(); });
  }
  const spec = (await api("/api/commands")).commands.find(c => c.name === run.command);
  parts.push(h("p", {}, t("ranAs"), h("code", {id: "argv"}, (run.meta.argv || []).join(" ")),
    spec ? [" · ", h("a", {href: rerunLink(spec, run.config), id: "rerun"}, t("openConfig"))] : null));
  parts.push(runResult(run));
  const chart = h("section", {class: "metrics"}, h("h3", {}, t("metrics")));
  parts.push(chart);
  const code = v => h("code", {}, v);  // config keys and values, number names: as typed, in either language
  parts.push(h("section", {}, h("h3", {}, t("config")), table([t("colKey"), t("colValue")], Object.entries(run.config).map(([k, v]) => [code(k), code(fmt(v))]))),
    h("section", {}, h("h3", {}, t("meta")), h("pre", {class: "meta"}, JSON.stringify(run.meta, null, 2))),
    run.numbers && Object.keys(run.numbers).length ? h("section", {}, h("h3", {}, t("numbers")), table([t("colName"), t("colValue")], Object.entries(run.numbers).map(([k, v]) => [code(k), v]))) : null);
  show(parts);
  await metricsChart(chart, [id]);
}

// -- compare ----------------------------------------------------------------------------------------------
async function comparePage() {
  const ids = (new URLSearchParams(location.search).get("runs") || "").split(",").filter(Boolean);
  let data;
  try { data = await api(`/api/compare?runs=${ids.map(encodeURIComponent).join(",")}`); }
  catch (err) { show(h("h1", {}, t("compare")), h("p", {class: "error"}, err.message)); return; }
  const head = ["", ...data.runs.map(r => runLink(r.id))];
  const chart = h("section", {class: "metrics"}, h("h3", {}, t("curves")));
  show(h("h1", {}, t("compareN", ids.length)),
    h("section", {class: "differ"}, h("h3", {}, t("differ")),
      Object.keys(data.differ).length ? table(head, Object.entries(data.differ).map(([k, vs]) => [k, ...vs.map(fmt)]), "differ")
        : h("p", {class: "muted"}, t("sameConfig"))),
    h("section", {}, h("h3", {}, t("sideBySide")), table(head, [[t("colStatus"), ...data.runs.map(r => statusTag(r.status))], [t("claimsHeld"), ...data.runs.map(r => r.held)],
      ...Object.entries(data.numbers).map(([k, vs]) => [k, ...vs])], "numbers")),
    chart);
  if (data.metrics.length) await metricsChart(chart, ids); else chart.append(h("p", {class: "muted"}, t("noCommonMetric")));
}

const PAGES = {home, command: commandPage, runs: runsPage, run: runPage, compare: comparePage};
(PAGES[document.body.dataset.page] || home)().catch(err => show(h("p", {class: "error"}, err.message)));
