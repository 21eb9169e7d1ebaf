"use strict";
// The History page: log in (JOC's session, X-Access-Token), one tab per
// sub-view, client-side paging of the loaded list (as JOC's GUI pages it),
// Export, and on the active instance a reload on every HistoryChanged event.
(function () {
  const API = "/joc/api/";
  const PAGE = 25;
  const live = document.body.dataset.live === "true";
  const state = { token: sessionStorage.getItem("js7ha-token"), tab: "ORDER", items: [], page: 0,
                  loading: false, again: false };
  // orderId → Date.now() when the page first listed it finished (HIS-LIVE):
  // every row of the loaded list counts, whichever page of it is on screen.
  window.js7haFinishedSeen = {};
  // The loaded list's keys, all pages (what a test asks the page it shows).
  window.js7haListed = () => state.items.map((i) => i.orderId ?? i.commitId ?? i.date ?? i.id);
  const $ = (s) => document.querySelector(s);

  async function call(path, body) {
    const r = await fetch(API + path, { method: "POST", body: JSON.stringify(body),
      headers: { "Content-Type": "application/json", "X-Access-Token": state.token } });
    if (r.status === 401) { sessionStorage.removeItem("js7ha-token"); location.reload(); }
    if (!r.ok) {
      let msg = r.statusText;
      try { const e = await r.json(); msg = (e.error || e).message || msg; } catch (_) { /* not JSON */ }
      throw new Error(msg);
    }
    return r;
  }

  const pad = (n) => String(n).padStart(2, "0");
  function when(iso) {
    if (!iso) return "-";
    const d = new Date(iso);
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
      `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
  }
  function duration(a, b) {
    if (!a || !b) return "-";
    let s = Math.floor((new Date(b) - new Date(a)) / 1000);
    if (s < 1) return "< 1 sec";
    const d = Math.floor(s / 86400); s %= 86400;
    const h = Math.floor(s / 3600); s %= 3600;
    const m = Math.floor(s / 60); s %= 60;
    if (d) return `${d}d ${h}h ${m}m ${s}s`;
    if (h) return `${h}h ${m}m ${s}s`;
    if (m) return `${m}m ${s}s`;
    return `${s} sec`;
  }
  const STATE = { SUCCESSFUL: "successful", INCOMPLETE: "in progress", FAILED: "failed" };
  const st = (i) => STATE[i.state._text] || i.state._text.toLowerCase();
  const counts = (i) => [["Workflows", i.workflowCount], ["File Order Source", i.fileOrderSourceCount],
    ["Job Resources", i.jobResourceCount], ["Notice Boards", i.boardCount],
    ["Resource Locks", i.lockCount]].filter((x) => x[1]).map((x) => `${x[0]}: ${x[1]}`).join("  ");
  const CELLS = {
    ORDER: (i) => [i.orderId, i.workflow, i.label || i.position, st(i),
      i.orderState._text.toLowerCase(), when(i.plannedTime), when(i.startTime), when(i.endTime),
      duration(i.startTime, i.endTime)],
    TASK: (i) => [i.job, i.workflow, i.label || i.position, st(i), when(i.startTime),
      when(i.endTime), duration(i.startTime, i.endTime), i.criticality, i.exitCode],
    DEPLOYMENT: (i) => [when(i.deploymentDate), i.account, (i.state || "").toLowerCase().replace("_", " "),
      counts(i)],
    SUBMISSION: (i) => [i.date, i.countTotal, i.countSubmitted, "", "", "", "", "", ""],
    AUDITLOG: (i) => [when(i.created), i.account, i.request, i.category, i.comment, i.timeSpent,
      i.ticketLink, i.parameters],
  };
  const KEY = { ORDER: "history", TASK: "history", DEPLOYMENT: "depHistory", SUBMISSION: "dates",
                AUDITLOG: "auditLog" };

  function filter() {
    const form = new FormData($("#filter"));
    const v = (k) => (form.get(k) || "").trim();
    const body = { timeZone: "Etc/UTC" };
    const lim = parseInt(v("limit"), 10);
    if (!Number.isNaN(lim)) body.limit = lim; else if (v("limit")) body.limit = v("limit");
    const date = (k, out) => { if (v(k)) body[out] = v(k); };
    if (state.tab === "DEPLOYMENT") {
      date("dateFrom", "from"); date("dateTo", "to");
      return { compactFilter: body };
    }
    date("dateFrom", "dateFrom"); date("dateTo", "dateTo");
    if (state.tab === "SUBMISSION") { delete body.timeZone; return body; }
    if ((state.tab === "ORDER" || state.tab === "TASK") && v("historyStates")) {
      body.historyStates = [v("historyStates")];
    }
    if (v("glob") && state.tab === "ORDER") body.orderId = v("glob");
    if (v("glob") && state.tab === "TASK") body.jobName = v("glob");
    if (v("glob") && state.tab === "AUDITLOG") body.comment = v("glob");
    return body;
  }
  const tabPath = () => $(`button[data-tab=${state.tab}]`).dataset.path;

  async function load() {
    if (state.loading) { state.again = true; return; }
    state.loading = true;
    const table = $(`#table-${state.tab}`);
    table.setAttribute("aria-busy", "true");  // a test (or a screen reader) can wait for it
    try {
      const r = await call(tabPath(), filter());
      state.items = (await r.json())[KEY[state.tab]] || [];
      remember(state.items);
      $("#error").textContent = "";
      render();
    } catch (e) {
      $("#error").textContent = e.message;
    } finally {
      state.loading = false;
      if (state.again) { state.again = false; load(); } else { table.setAttribute("aria-busy", "false"); }
    }
  }

  function remember(items) {
    if (state.tab !== "ORDER") return;
    const now = Date.now();
    for (const i of items) {
      if (i.endTime && !(i.orderId in window.js7haFinishedSeen)) window.js7haFinishedSeen[i.orderId] = now;
    }
  }

  // A HistoryChanged event names the orders History just wrote: only those
  // are asked for (with the tab's filter) and merged into the list, as JOC's
  // GUI does, rather than the whole list read again on every write.
  const ID = { ORDER: "historyId", TASK: "taskId" };
  async function merge(orderIds) {
    const tab = state.tab;
    if (state.loading || !ID[tab]) { load(); return; }
    try {
      const r = await call(tabPath(), { ...filter(), orderIds });
      const fresh = (await r.json())[KEY[tab]] || [];
      if (tab !== state.tab) return;  // the user switched tabs meanwhile
      const byId = new Map(state.items.map((i) => [i[ID[tab]], i]));
      for (const i of fresh) byId.set(i[ID[tab]], i);
      const limit = filter().limit || 5000;
      state.items = [...byId.values()].sort((a, b) =>
        (b.startTime || "").localeCompare(a.startTime || "") || b[ID[tab]] - a[ID[tab]]).slice(0, limit);
      remember(fresh);
      render();
    } catch (e) {
      $("#error").textContent = e.message;
    }
  }

  function cell(tr, v) {
    const td = document.createElement("td");
    td.textContent = v === null || v === undefined ? "" : String(v);
    tr.appendChild(td);
  }

  async function expand(tr, day) {
    // Levels 2 and 3 of the Submission History, loaded when the user opens a day.
    for (const ctl of day.controllers) {
      const body = { controllerId: ctl.controllerId, date: day.date };
      const subs = (await (await call("daily_plan/history/submissions", body)).json()).submissionTimes;
      let at = tr;
      for (const s of subs) {
        const orders = (await (await call("daily_plan/history/submissions/orders",
          { ...body, submissionTime: s.submissionTime })).json()).orders;
        const rows = [["", "", s.countSubmitted, when(s.submissionTime), "", "", "", "", ""],
          ...orders.map((o) => ["", "", "", "", "", o.orderId, o.workflowPath, when(o.scheduledFor),
            o.submitted ? "submitted" : "not submitted"])];
        for (const cells of rows) {
          const sub = document.createElement("tr");
          sub.className = "sub";
          cells.forEach((c) => cell(sub, c));
          at.after(sub); at = sub;
        }
      }
    }
  }

  function render() {
    const table = $(`#table-${state.tab}`);
    const body = table.querySelector("tbody");
    const pages = Math.max(1, Math.ceil(state.items.length / PAGE));
    state.page = Math.min(state.page, pages - 1);
    body.replaceChildren();
    for (const i of state.items.slice(state.page * PAGE, (state.page + 1) * PAGE)) {
      const tr = document.createElement("tr");
      if (i.orderId !== undefined) tr.dataset.orderId = i.orderId;
      CELLS[state.tab](i).forEach((v) => cell(tr, v));
      if (state.tab === "SUBMISSION") tr.addEventListener("click", () => expand(tr, i), { once: true });
      body.appendChild(tr);
    }
    $("#count").textContent = state.items.length;
    $("#page").textContent = state.page + 1;
    $("#pages").textContent = pages;
  }

  function show(tab) {
    state.tab = tab; state.page = 0; state.items = [];
    document.querySelectorAll("nav button").forEach((b) => b.classList.toggle("active", b.dataset.tab === tab));
    document.querySelectorAll("table.view").forEach((t) => t.classList.toggle("hidden", t.id !== `table-${tab}`));
    // Rows from an earlier visit are not this visit's: gone until the list is read.
    $(`#table-${tab} tbody`).replaceChildren();
    document.querySelectorAll(".f-states").forEach((e) => e.classList.toggle("hidden", tab !== "ORDER" && tab !== "TASK"));
    load();
  }

  async function exportXlsx() {
    try {
      const r = await call("export/" + tabPath(), filter());
      const name = /filename="([^"]+)"/.exec(r.headers.get("Content-Disposition"))[1];
      const a = document.createElement("a");
      a.href = URL.createObjectURL(await r.blob());
      a.download = name;
      document.body.appendChild(a); a.click(); a.remove();
    } catch (e) {
      $("#error").textContent = e.message;
    }
  }

  function listen() {
    // Only the active instance pushes; a standby's page never subscribes.
    if (!live) return;
    const es = new EventSource(API + "events/history?accessToken=" + encodeURIComponent(state.token));
    es.addEventListener("HistoryChanged", (e) => {
      if (state.tab !== "ORDER" && state.tab !== "TASK") return;
      const d = JSON.parse(e.data);
      const ids = [...new Set([...(d.added || []), ...(d.terminated || []).map((t) => t.orderId)])];
      if (ids.length) merge(ids);
    });
    es.addEventListener("JocStandby", () => es.close());
  }

  function start() {
    $("#login").classList.add("hidden");
    $("#main").classList.remove("hidden");
    show("ORDER");
    listen();
  }

  $("#login").addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = new FormData(e.target);
    const r = await fetch(API + "authentication/login", { method: "POST",
      headers: { Authorization: "Basic " + btoa(`${f.get("account")}:${f.get("password")}`) } });
    if (!r.ok) { $("#error").textContent = "login failed"; $("#main").classList.remove("hidden"); return; }
    state.token = (await r.json()).accessToken;
    sessionStorage.setItem("js7ha-token", state.token);
    start();
  });
  document.querySelectorAll("nav button").forEach((b) => b.addEventListener("click", () => show(b.dataset.tab)));
  $("#filter").addEventListener("submit", (e) => { e.preventDefault(); state.page = 0; load(); });
  $("#refresh").addEventListener("click", load);
  $("#export").addEventListener("click", exportXlsx);
  $("#prev").addEventListener("click", () => { if (state.page > 0) { state.page--; render(); } });
  $("#next").addEventListener("click", () => { state.page++; render(); });
  if (state.token) start();
})();
