"use strict";
// The lab's pages, drawn from the JSON API (nnlab/serve/app.py). Every text from a run or a config goes in
// as text (textContent), never as HTML.
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
  const response = await fetch(path, options);
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
const statusTag = s => h("span", {class: `status status-${s}`}, s);
const runLink = id => h("a", {href: `/runs/${id}`}, id);

function verdicts(title, items) {
  if (!items || !items.length) return null;
  return h("section", {class: `verdicts ${title.toLowerCase().split(" ")[0]}`}, h("h3", {}, title),
    table(["", "id", "claim", "measured", "expected"],
      items.map(c => [mark(c.holds), c.id, c.claim + (c.source === "nnlab" ? " [nnlab]" : ""), c.measured, c.expected])));
}

function figures(list) {
  if (!list || !list.length) return null;
  return h("section", {class: "figures"}, h("h3", {}, "Figures"),
    list.map(f => h("figure", {}, h("img", {src: f.url, alt: f.caption || f.name, loading: "eager"}), h("figcaption", {}, f.caption || f.name))));
}

function runResult(run) {
  const parts = [h("p", {}, "Run ", runLink(run.id), " · ", statusTag(run.status))];
  if (run.error) parts.push(h("pre", {class: "error"}, run.error));
  if (run.headline) parts.push(h("section", {class: "headline"}, h("h3", {}, "Headline numbers"), table(run.headline.columns, run.headline.rows)));
  parts.push(verdicts("Claims", run.claims), verdicts("Checks (identities, not claims)", run.checks), figures(run.figures));
  return h("div", {class: "run-result"}, parts);
}

// -- home -------------------------------------------------------------------------------------------------
async function home() {
  const [{commands}, {latest}] = await Promise.all([api("/api/commands"), api("/api/latest")]);
  show(h("h1", {}, "The lecture, one command per claim"),
    h("p", {class: "muted"}, "Each section: the command that measures it, what it shows, and the verdicts of its latest run."),
    ...commands.map(c => {
      const run = latest[c.name];
      return h("section", {class: "lecture-section", dataset: {command: c.name}},
        h("h2", {}, c.section.title, " ", h("small", {}, c.section.title_zh)),
        h("p", {}, h("a", {href: `/commands/${c.name}`, class: "command"}, `nnlab ${c.name}`), " — ", c.short_help),
        h("blockquote", {}, c.section.says),
        run ? h("p", {class: "latest"}, "Latest run ", runLink(run.id), " ", statusTag(run.status), " ",
          run.claims.map(v => h("span", {title: v.id}, mark(v.holds))), run.held ? ` ${run.held} held` : "")
          : h("p", {class: "muted latest"}, "No run yet."));
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
  return h("input", {...attrs, type: "text", placeholder: f.list ? "comma-separated; empty: the default" : (f.optional ? "none" : "")});
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
  if (!spec) { show(h("p", {class: "error"}, `No command ${name}.`)); return; }
  const form = h("form", {id: "config-form", novalidate: true});
  for (const f of spec.fields) {
    const bounds = [f.choices ? `one of ${f.choices.join(", ")}` : null, f.low !== null && f.high !== null ? `${f.low_open ? ">" : ""}${fmt(f.low)} to ${fmt(f.high)}` : null].filter(Boolean).join(" · ");
    form.append(h("div", {class: `field${f.shared ? " shared" : ""}`}, h("label", {for: `field-${f.name}`}, h("code", {}, f.flag)), fieldInput(f),
      h("div", {class: "help"}, f.help, h("span", {class: "muted"}, ` [default: ${defaultText(f) || "none"}${bounds ? "; " + bounds : ""}]`))));
  }
  const quick = h("input", {type: "checkbox", id: "quick"});
  const cli = h("code", {id: "cli"});
  const message = h("p", {id: "error", class: "error", role: "alert", hidden: true});
  const live = h("div", {id: "live"});
  const result = h("div", {id: "result"});
  const runButton = h("button", {type: "submit", id: "run"}, "Run");
  form.append(h("div", {class: "actions"}, h("label", {class: "quick"}, quick, " quick (a seconds-long smoke version: ",
    h("code", {}, Object.entries(spec.quick).map(([k, v]) => `${k}=${fmt(v)}`).join(", ")), ")"), runButton));
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
    history.replaceState(null, "", location.pathname + (search ? "?" + search : ""));
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
      h("div", {class: "form-column"}, form, h("p", {}, "Command line: ", cli), message, live),
      h("aside", {class: "lecture"}, h("h2", {}, spec.section.title, " ", h("small", {}, spec.section.title_zh)),
        h("blockquote", {}, spec.section.says, h("span", {class: "zh"}, spec.section.zh)),
        formulas(spec.section.formulas), h("pre", {class: "help-text"}, spec.help))),
    result);
}

// a started job: live progress (server-sent events), then its run's numbers, claims and figures
function follow(job, live, result) {
  const status = h("span", {class: "job-status", "data-status": job.status}, job.status);
  const progress = h("span", {class: "progress"}, "");
  const cancel = h("button", {type: "button", class: "cancel"}, "Cancel");
  const idSlot = h("span", {class: "run-id"}, job.id ? runLink(job.id) : "(no directory yet)");
  const box = h("div", {class: "job", dataset: {job: job.job}}, "Run ", idSlot, ": ", status, " ", progress, " ", cancel,
    h("div", {class: "muted"}, h("code", {}, job.cli)));
  live.prepend(box);
  cancel.addEventListener("click", () => api(`/api/jobs/${job.job}`, {method: "DELETE"}).catch(() => {}));
  const started = Date.now();
  const source = new EventSource(job.events);
  const showState = data => {
    status.textContent = data.status; status.dataset.status = data.status;
    const bits = [];
    if (data.queue_position) bits.push(`queued, position ${data.queue_position}`);
    if (data.steps !== undefined) bits.push(`${data.steps} metric lines`);
    if (data.last) bits.push(Object.entries(data.last).filter(([, v]) => typeof v === "number").slice(0, 3).map(([k, v]) => `${k} ${fmt(v)}`).join(", "));
    bits.push(`${((Date.now() - started) / 1000).toFixed(0)} s`);
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
    const select = h("select", {id: `filter-${key}`}, h("option", {value: ""}, `every ${key}`), values.map(v => h("option", {value: v}, v)));
    select.value = params.get(key) || "";
    select.addEventListener("change", () => { if (select.value) params.set(key, select.value); else params.delete(key); params.delete("offset"); location.search = params.toString(); });
    return select;
  };
  const rows = listed.runs.map(r => [h("input", {type: "checkbox", class: "pick", value: r.id}), runLink(r.id), statusTag(r.status),
    (r.started || "").replace("T", " ").slice(0, 19), r.elapsed_s === null ? "" : `${fmt(r.elapsed_s)} s`, r.settings, r.headline, r.held]);
  const note = h("p", {id: "note", role: "status"});
  const picked = () => [...app.querySelectorAll("input.pick:checked")].map(i => i.value);
  const compare = h("button", {type: "button", id: "compare"}, "Compare selected");
  compare.addEventListener("click", () => { const ids = picked(); if (ids.length < 2) note.textContent = "Pick two runs or more."; else location.href = `/compare?runs=${ids.map(encodeURIComponent).join(",")}`; });
  const report = h("button", {type: "button", id: "report"}, "Report of selected");
  report.addEventListener("click", async () => {
    const ids = picked();
    if (!ids.length) { note.textContent = "Pick a run or more."; return; }
    note.textContent = "Building the report…";
    try { const r = await post("/api/reports", {runs: ids}); note.replaceChildren("Report: ", h("a", {href: r.url, id: "report-link"}, r.dir)); }
    catch (err) { note.textContent = err.message; }
  });
  const jobs = listed.jobs.map(j => h("li", {}, `${j.command}: ${j.status}${j.queue_position ? ` (position ${j.queue_position})` : ""} `, j.id ? runLink(j.id) : "", " ", h("code", {}, j.cli)));
  const more = listed.offset + listed.runs.length < listed.matching
    ? h("a", {href: `/runs?${new URLSearchParams({...Object.fromEntries(params), offset: String(listed.offset + listed.runs.length)})}`}, "older runs →") : null;
  show(h("h1", {}, "Runs"),
    h("p", {}, filter("command", commands.map(c => c.name).concat(["sweep", "compare"])), " ", filter("status", listed.statuses), " ",
      `${listed.matching} of ${listed.total} runs`),
    jobs.length ? h("section", {}, h("h3", {}, "Started from this server"), h("ul", {id: "jobs"}, jobs)) : null,
    h("p", {}, compare, " ", report), note,
    table(["", "run", "status", "started", "took", "settings", "key number", "claims"], rows, "runs"), more);
}

// -- one run ----------------------------------------------------------------------------------------------
async function metricsChart(container, runs) {
  const all = await Promise.all(runs.map(id => api(`/api/runs/${id}/metrics`)));
  const perRun = all.map((m, i) => metricSeries(m.metrics, runs.length > 1 ? runs[i] : ""));
  const names = Object.keys(perRun[0] || {}).filter(n => perRun.every(p => n in p));
  if (!names.length) { container.append(h("p", {class: "muted"}, "No metrics logged.")); return; }
  const select = h("select", {id: "metric"}, names.map(n => h("option", {value: n}, n)));
  const log = h("input", {type: "checkbox", id: "logy"});
  const area = h("div", {class: "chart-area"});
  const draw = () => { area.replaceChildren(); lineChart(area, perRun.flatMap(p => p[select.value]), {title: select.value, logY: log.checked}); };
  select.addEventListener("change", draw); log.addEventListener("change", draw);
  container.append(h("p", {}, "Metric ", select, " ", h("label", {}, log, " log scale")), area);
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
  return `/commands/${spec.name}${search ? "?" + search : ""}`;
}

async function runPage() {
  const id = decodeURIComponent(location.pathname.slice("/runs/".length));  // its path under --out
  let run;
  try { run = await api(`/api/runs/${id}`); } catch (err) { show(h("h1", {}, id), h("p", {class: "error"}, err.message)); return; }
  const parts = [h("h1", {}, id, " ", statusTag(run.status))];
  if (run.status === "running" || (run.job && ["queued", "starting", "running"].includes(run.job.status))) {
    const cancel = h("button", {type: "button", id: "cancel"}, "Cancel the run");
    const progress = h("span", {id: "progress"});
    cancel.addEventListener("click", () => api(`/api/runs/${id}`, {method: "DELETE"}).catch(err => { progress.textContent = err.message; }));
    parts.push(h("p", {}, progress, " ", run.job ? cancel : null));
    const source = new EventSource(`/api/runs/${id}/events`);
    source.addEventListener("progress", ev => { const d = JSON.parse(ev.data); progress.textContent = `${d.status} · ${d.steps ?? 0} metric lines`; });
    source.addEventListener("end", () => { source.close(); runPage(); });
  }
  const spec = (await api("/api/commands")).commands.find(c => c.name === run.command);
  parts.push(h("p", {}, "Ran as ", h("code", {id: "argv"}, (run.meta.argv || []).join(" ")),
    spec ? [" · ", h("a", {href: rerunLink(spec, run.config), id: "rerun"}, "open this config in the form")] : null));
  parts.push(runResult(run));
  const chart = h("section", {class: "metrics"}, h("h3", {}, "Metrics"));
  parts.push(chart);
  parts.push(h("section", {}, h("h3", {}, "Config"), table(["key", "value"], Object.entries(run.config).map(([k, v]) => [k, fmt(v)]))),
    h("section", {}, h("h3", {}, "Meta"), h("pre", {class: "meta"}, JSON.stringify(run.meta, null, 2))),
    run.numbers && Object.keys(run.numbers).length ? h("section", {}, h("h3", {}, "Numbers"), table(["name", "value"], Object.entries(run.numbers))) : null);
  show(parts);
  await metricsChart(chart, [id]);
}

// -- compare ----------------------------------------------------------------------------------------------
async function comparePage() {
  const ids = (new URLSearchParams(location.search).get("runs") || "").split(",").filter(Boolean);
  let data;
  try { data = await api(`/api/compare?runs=${ids.map(encodeURIComponent).join(",")}`); }
  catch (err) { show(h("h1", {}, "Compare"), h("p", {class: "error"}, err.message)); return; }
  const head = ["", ...data.runs.map(r => runLink(r.id))];
  const chart = h("section", {class: "metrics"}, h("h3", {}, "Curves overlaid"));
  show(h("h1", {}, `Compare ${ids.length} runs`),
    h("section", {class: "differ"}, h("h3", {}, "Config keys that differ"),
      Object.keys(data.differ).length ? table(head, Object.entries(data.differ).map(([k, vs]) => [k, ...vs.map(fmt)]), "differ")
        : h("p", {class: "muted"}, "The same config.")),
    h("section", {}, h("h3", {}, "Numbers side by side"), table(head, [["status", ...data.runs.map(r => statusTag(r.status))], ["claims held", ...data.runs.map(r => r.held)],
      ...Object.entries(data.numbers).map(([k, vs]) => [k, ...vs])], "numbers")),
    chart);
  if (data.metrics.length) await metricsChart(chart, ids); else chart.append(h("p", {class: "muted"}, "No metric every run logged."));
}

const PAGES = {home, command: commandPage, runs: runsPage, run: runPage, compare: comparePage};
(PAGES[document.body.dataset.page] || home)().catch(err => show(h("p", {class: "error"}, err.message)));
