/* app.js: the behaviour of the status page (index.html). It reads the /v1
 * API every POLL_MS and shows the pipes, the chosen pipe's tables, requests
 * and history, recent events and maintenance reports; with a full token it
 * offers pause, resume and resync, each confirmed first, and shows how the
 * request ended.
 *
 * Rules it keeps: every text from the server reaches the page through
 * textContent or an attribute, never as HTML; the token lives in this tab's
 * sessionStorage only and goes nowhere but the Authorization header of
 * requests to the page's own origin; nothing is loaded from elsewhere.
 *
 * Hooks for tests (tests/service/test_page.py): each pipe is a row
 * tr[data-pipe=NAME] whose .state holds its state word, and whose buttons
 * are button[data-action=pause|resume|resync]; #access[data-access] is the
 * access level; #outcome[data-status] is the last request's status. */
"use strict";

(function () {
  const TOKEN_KEY = "sluice.token";
  const POLL_MS = 2000;
  const REPORTS_EVERY = 5; /* polls between reads of the maintenance reports */
  const EVENTS_SHOWN = 20;
  const EVENTS_WINDOW_MS = 15 * 60 * 1000; /* how far back the first read goes */
  const OVER = ["done", "refused", "failed"]; /* a request's final statuses */

  const page = {
    access: "none",
    readOpen: false,
    selected: null, /* the pipe whose details are shown */
    pipes: [],
    polls: 0,
    timer: null,
    reading: false, /* a poll is under way */
    again: false, /* poll again as soon as it ends */
    events: [], /* the newest EVENTS_SHOWN events, oldest first */
    eventsSince: null, /* the time of the newest event read */
  };

  /* ---- small helpers ---------------------------------------------------- */

  function $(id) {
    return document.getElementById(id);
  }

  /* el("td", {class: "x", "data-label": "Rows"}, "12"): an element with
   * attributes and children; strings become text nodes. */
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      e.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  function token() {
    try {
      return sessionStorage.getItem(TOKEN_KEY) || "";
    } catch (e) {
      return "";
    }
  }

  function setToken(t) {
    try {
      if (t) sessionStorage.setItem(TOKEN_KEY, t);
      else sessionStorage.removeItem(TOKEN_KEY);
    } catch (e) {
      /* storage refused (private mode): the token lasts until reload */
    }
  }

  const dash = "–";

  function num(n) {
    if (n === null || n === undefined) return dash;
    return Number(n).toLocaleString("en-US");
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return dash;
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " min " + (s % 60) + " s";
    if (s < 86400) return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
    return Math.floor(s / 86400) + " d " + Math.floor((s % 86400) / 3600) + " h";
  }

  function lag(ms) {
    if (ms === null || ms === undefined) return dash;
    if (ms < 1000) return ms + " ms";
    return duration(ms / 1000);
  }

  function rate(perS) {
    if (perS === null || perS === undefined) return dash;
    return num(perS) + "/s";
  }

  /* A UTC time of the API as it is, and how long ago in a title. */
  function when(text) {
    if (!text) return dash;
    const t = Date.parse(text);
    const e = el("time", { datetime: text }, text.replace("T", " ").replace(/\.\d+Z$/, "Z"));
    if (!isNaN(t)) e.title = duration((Date.now() - t) / 1000) + " ago";
    return e;
  }

  function ago(text) {
    const t = Date.parse(text || "");
    if (isNaN(t)) return dash;
    const e = el("time", { datetime: text, title: text }, duration((Date.now() - t) / 1000) + " ago");
    return e;
  }

  /* ---- the API -------------------------------------------------------- */

  class ApiError extends Error {
    constructor(status, message, state) {
      super(message);
      this.status = status;
      this.state = state;
    }
  }

  /* The body of a 2xx answer as an object; an ApiError otherwise, with
   * the message of the API's error shape. A 401 shows the token box. */
  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    const t = token();
    if (t) headers.Authorization = "Bearer " + t;
    const init = { method, headers, cache: "no-store", credentials: "omit" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let r;
    try {
      r = await fetch(path, init);
    } catch (e) {
      throw new ApiError(0, "sluice does not answer (" + e.message + ")");
    }
    const text = await r.text();
    let data = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch (e) {
      data = null;
    }
    if (r.ok) return data;
    const err = data && data.error ? data.error : {};
    const message = err.message || r.status + " " + r.statusText;
    if (r.status === 401) askToken(t ? "The token was refused." : "This page needs a token.");
    throw new ApiError(r.status, message, err.state);
  }

  function pipePath(name) {
    return "/v1/pipes/" + encodeURIComponent(name);
  }

  /* ---- messages ------------------------------------------------------- */

  function say(text, kind) {
    const m = $("message");
    m.textContent = text || "";
    m.hidden = !text;
    m.className = kind || "";
  }

  function outcome(text, status) {
    const o = $("outcome");
    o.textContent = text;
    o.hidden = !text;
    o.dataset.status = status || "";
    o.className = status ? "status-" + status : "";
  }

  function askToken(why) {
    const form = $("token-form");
    form.classList.add("wanted");
    if (why) say(why + " Enter the API token.", "error");
    if (!$("token").value) $("token").focus();
  }

  /* ---- access --------------------------------------------------------- */

  /* Without access nothing read before stays on the page. */
  function forget() {
    page.pipes = [];
    page.events = [];
    page.eventsSince = null;
    for (const id of ["pipes-body", "tables-body", "requests-body", "history-body", "events-body", "reports-body"])
      $(id).replaceChildren();
    $("pipe-facts").replaceChildren();
    $("pipe-section").hidden = true;
  }

  async function readSession() {
    try {
      const s = await api("GET", "/v1/session");
      page.access = s.access || "none";
      page.readOpen = !!s.read_open;
    } catch (e) {
      page.access = "none";
      page.readOpen = false;
      if (e.status !== 401) say(e.message, "error");
    }
    const badge = $("access");
    badge.dataset.access = page.access;
    badge.textContent =
      page.access === "full"
        ? "full access"
        : page.access === "read"
          ? "read only"
          : page.readOpen
            ? "read only (open)"
            : "no access";
    document.body.classList.toggle("can-change", page.access === "full");
    $("token-form").classList.toggle("wanted", page.access === "none" && !page.readOpen);
    if (page.access === "none" && !page.readOpen) {
      forget();
      say(token() ? "The token was refused. Enter the API token." : "Enter the API token to see the pipes.", "error");
    }
  }

  /* Fills a table's body with rows, or one row saying there is none. */
  function fill(bodyId, rows, none) {
    const body = $(bodyId);
    if (rows.length) {
      body.replaceChildren(...rows);
      return;
    }
    const columns = body.parentElement.querySelectorAll("thead th").length || 1;
    body.replaceChildren(el("tr", {}, el("td", { class: "empty", colspan: columns }, none)));
  }

  /* ---- pipes ---------------------------------------------------------- */

  /* What the state allows; the server decides, this only spares a click. */
  const allowed = {
    pause: (s) => s === "running",
    resume: (s) => s === "paused",
    resync: (s) => ["running", "paused", "completed", "failed"].includes(s),
  };

  function pipeRate(p) {
    let sum = 0;
    let any = false;
    for (const t of p.tables || []) {
      if (typeof t.rows_per_s === "number") {
        sum += t.rows_per_s;
        any = true;
      }
    }
    return any ? sum : null;
  }

  function cell(label, ...children) {
    return el("td", { "data-label": label }, ...children);
  }

  function pipeRow(p) {
    const link = el("a", { href: "#pipe=" + encodeURIComponent(p.name), class: "pipe-link" }, p.name);
    const name = cell("Pipe", link);
    if (p.last_error) name.append(el("div", { class: "note error" }, p.last_error));
    const state = el("span", { class: "state state-" + p.state, "data-state": p.state }, p.state);
    const stateCell = cell("State", state);
    if (p.subscription_paused) stateCell.append(" ", el("span", { class: "tag" }, "subscription paused"));
    const actions = cell("Actions");
    actions.className = "actions";
    for (const action of ["pause", "resume", "resync"]) {
      const b = el("button", { type: "button", "data-action": action, "data-pipe": p.name }, action);
      b.disabled = !allowed[action](p.state);
      actions.append(b);
    }
    return el(
      "tr",
      { "data-pipe": p.name, class: p.name === page.selected ? "selected" : null },
      name,
      stateCell,
      cell("Lag", lag(p.lag_ms)),
      cell("Rows", num(p.rows)),
      cell("Rate", rate(pipeRate(p))),
      cell("Since", ago(p.since)),
      actions
    );
  }

  /* A pipe's row is updated in place, its buttons kept, so that a click
   * begun before a poll ends on the same button after it. */
  function showPipes(pipes) {
    page.pipes = pipes;
    const body = $("pipes-body");
    const old = new Map();
    for (const tr of body.children) old.set(tr.dataset.pipe, tr);
    const rows = pipes.map((p) => {
      const fresh = pipeRow(p);
      const tr = old.get(p.name);
      if (!tr || tr.children.length !== fresh.children.length) return fresh;
      tr.className = fresh.className;
      const cells = Array.from(fresh.children);
      cells.forEach((c, i) => {
        if (c.classList.contains("actions")) {
          for (const b of tr.children[i].querySelectorAll("button[data-action]"))
            b.disabled = !allowed[b.dataset.action](p.state);
        } else {
          tr.replaceChild(c, tr.children[i]);
        }
      });
      return tr;
    });
    const same = rows.length === body.children.length && rows.every((tr, i) => body.children[i] === tr);
    if (!same) body.replaceChildren(...rows);
    $("pipes-empty").hidden = pipes.length > 0;
  }

  /* ---- one pipe ------------------------------------------------------- */

  function fact(dl, label, value) {
    dl.append(el("dt", {}, label), el("dd", {}, value === null || value === undefined || value === "" ? dash : value));
  }

  function progress(t) {
    if (t.percent === null || t.percent === undefined) return dash;
    const pct = Math.max(0, Math.min(100, Number(t.percent)));
    const bar = el("span", { class: "bar", role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": pct });
    const fill = el("span", { class: "fill" });
    fill.style.width = pct + "%";
    bar.append(fill);
    return el("span", { class: "progress" }, bar, " " + t.percent + " %");
  }

  function tableRow(t) {
    /* the estimate counts while the table is loaded (it has a share) */
    const loading = t.percent !== null && t.percent !== undefined;
    const of = loading && t.rows_estimated !== null && t.rows_estimated !== undefined ? " of " + num(t.rows_estimated) : "";
    const name = cell("Table", t.name);
    if (t.note) name.append(el("div", { class: "note" }, t.note));
    return el(
      "tr",
      { "data-table": t.name },
      name,
      cell("Status", el("span", { class: "status status-" + t.status }, t.status)),
      cell("Rows", num(t.rows) + of),
      cell("Progress", progress(t)),
      cell("Rate", rate(t.rows_per_s)),
      cell("ETA", t.eta_s === null || t.eta_s === undefined ? dash : duration(t.eta_s)),
      cell("Lag", lag(t.lag_ms))
    );
  }

  function requestRow(r) {
    return el(
      "tr",
      { "data-request": r.id },
      cell("#", r.id),
      cell("Kind", r.kind + (r.tables && r.tables.length ? " " + r.tables.join(", ") : "")),
      cell("Status", el("span", { class: "status status-" + r.status }, r.status)),
      cell("Created", when(r.created_at)),
      cell("Message", r.message || "")
    );
  }

  function historyRow(h) {
    return el(
      "tr",
      {},
      cell("At", when(h.at)),
      cell("From", h.from || dash),
      cell("To", el("span", { class: "state state-" + h.to }, h.to)),
      cell("Reason", h.reason || "")
    );
  }

  function showPipe(p, transitions) {
    $("pipe-section").hidden = false;
    $("pipe-section").dataset.pipe = p.name;
    $("pipe-name").textContent = p.name;
    const dl = $("pipe-facts");
    dl.replaceChildren();
    fact(dl, "State", p.state);
    fact(dl, "Since", when(p.since));
    fact(dl, "Source", p.source);
    fact(dl, "Sink", p.sink);
    fact(dl, "Topic", p.topic);
    fact(dl, "Mode", p.mode);
    fact(dl, "Worker", p.worker);
    fact(dl, "Rows", num(p.rows));
    fact(dl, "Rows written", num(p.rows_written));
    fact(dl, "Waiting", num(p.waiting));
    fact(dl, "Batches", num(p.batches));
    fact(dl, "Retries", num(p.retry_count));
    const errp = $("pipe-error");
    errp.textContent = p.last_error || "";
    errp.hidden = !p.last_error;
    fill("tables-body", (p.tables || []).map(tableRow), "No tables.");
    fill("requests-body", (p.requests || []).map(requestRow), "No requests yet.");
    const hist = (transitions || []).slice().reverse(); /* newest first */
    fill("history-body", hist.slice(0, 30).map(historyRow), "No transitions.");
  }

  async function readPipe(name) {
    const [p, h] = await Promise.all([
      api("GET", pipePath(name)),
      api("GET", pipePath(name) + "/history").catch(() => ({ transitions: [] })),
    ]);
    showPipe(p, h.transitions);
  }

  /* ---- events and reports --------------------------------------------- */

  function eventKey(e) {
    return e.type + ":" + e.id;
  }

  function eventRow(e) {
    let where = e.topic || "";
    let what = "";
    if (e.type === "publication") what = num(e.records) + " records, " + num(e.bytes) + " bytes";
    else if (e.type === "subscription") {
      where = e.subscription + (e.topic ? " ← " + e.topic : "");
      what = "publication " + e.publication + (e.message ? ": " + e.message : "");
    } else {
      where = e.kind || "";
      what = e.summary || "";
    }
    return el(
      "tr",
      { "data-event": eventKey(e) },
      cell("At", when(e.at)),
      cell("Type", e.type),
      cell("Where", where),
      cell("Status", el("span", { class: "status status-" + e.status }, e.status || dash)),
      cell("What", what)
    );
  }

  /* Events come oldest first, a page at a time; the page reads those since
   * the newest it has (again that one, dropped as already seen) and keeps
   * the newest EVENTS_SHOWN. */
  async function readEvents() {
    const since = page.eventsSince || new Date(Date.now() - EVENTS_WINDOW_MS).toISOString();
    const seen = new Set(page.events.map(eventKey));
    let path = "/v1/events?limit=1000&since=" + encodeURIComponent(since);
    for (let pages = 0; path && pages < 10; pages++) {
      const r = await api("GET", path);
      for (const e of r.events || []) {
        if (seen.has(eventKey(e))) continue;
        seen.add(eventKey(e));
        page.events.push(e);
        if (e.at && (!page.eventsSince || Date.parse(e.at) > Date.parse(page.eventsSince))) page.eventsSince = e.at;
      }
      page.events = page.events.slice(-EVENTS_SHOWN);
      path = r.next ? "/v1/events?limit=1000&after=" + encodeURIComponent(r.next) : null;
    }
    const shown = page.events.slice().reverse(); /* newest first */
    fill("events-body", shown.map(eventRow), "No events in the last 15 minutes.");
  }

  /* What a maintenance run did: a report (`sluice maintenance run --json`:
   * its topics with what each deleted) in a line, or a system event's own
   * summary. */
  function reportSummary(rep) {
    if (!Array.isArray(rep.topics)) return rep.summary || "";
    let events = 0;
    let records = 0;
    const errors = [];
    for (const t of rep.topics) {
      events += Number(t.events_deleted) || 0;
      records += Number(t.records_deleted) || 0;
      if (t.error) errors.push(t.topic + ": " + t.error);
    }
    let text =
      rep.topics.length + " topic(s): " + num(events) + " publication event(s), " + num(records) + " record(s) deleted";
    if (rep.dry_run) text += " (dry run: nothing deleted)";
    if (errors.length) text += "; " + errors.join("; ");
    return text;
  }

  async function readReports() {
    const r = await api("GET", "/v1/maintenance/reports?limit=5");
    fill(
      "reports-body",
      (r.reports || []).map((rep) => {
        const id = rep.event !== undefined ? rep.event : rep.id;
        return el(
          "tr",
          { "data-report": id },
          cell("#", id === null || id === undefined ? dash : id),
          cell("At", when(rep.at)),
          cell("As of", when(rep.as_of)),
          cell("Status", el("span", { class: "status status-" + rep.status }, rep.status || dash)),
          cell("Summary", reportSummary(rep))
        );
      }),
      "No maintenance reports."
    );
  }

  /* ---- polling -------------------------------------------------------- */

  function selectedFromHash() {
    const m = /^#pipe=(.*)$/.exec(location.hash);
    if (!m) return null;
    try {
      return decodeURIComponent(m[1]);
    } catch (e) {
      return null;
    }
  }

  /* One reading at a time: a call while one is under way asks for another
   * right after it, so that there is never more than one chain of timers. */
  async function poll() {
    if (page.reading) {
      page.again = true;
      return;
    }
    page.reading = true;
    clearTimeout(page.timer);
    try {
      if (page.access === "none" && !page.readOpen) return;
      if (document.hidden) return; /* read again when seen (visibilitychange) */
      const r = await api("GET", "/v1/pipes");
      const pipes = r.pipes || [];
      page.selected = selectedFromHash() || page.selected;
      if (!pipes.some((p) => p.name === page.selected)) page.selected = pipes.length ? pipes[0].name : null;
      showPipes(pipes);
      const work = [readEvents().catch((e) => e)];
      if (page.selected) work.push(readPipe(page.selected).catch((e) => e));
      else $("pipe-section").hidden = true;
      if (page.polls % REPORTS_EVERY === 0) work.push(readReports().catch((e) => e));
      const failed = (await Promise.all(work)).find((x) => x instanceof Error);
      page.polls++;
      $("updated").textContent = "updated " + new Date().toLocaleTimeString();
      if (failed) say(failed.message, "error");
      else if ($("message").className === "error") say("");
    } catch (e) {
      if (e.status === 401) await readSession(); /* the token no longer holds */
      else say(e.message, "error");
    } finally {
      page.reading = false;
      page.timer = setTimeout(poll, page.again ? 0 : POLL_MS);
      page.again = false;
    }
  }

  /* ---- actions -------------------------------------------------------- */

  async function act(action, name) {
    const words = {
      pause: "Pause pipe '" + name + "'? It stops reading changes until it is resumed.",
      resume: "Resume pipe '" + name + "'?",
      resync: "Resync pipe '" + name + "'? Every table is loaded again from the source.",
    };
    if (!window.confirm(words[action])) return;
    outcome(action + " of " + name + ": sent…", "pending");
    let req;
    try {
      req = await api("POST", pipePath(name) + "/" + action, {});
    } catch (e) {
      outcome(action + " of " + name + ": " + e.message, e.status === 409 ? "refused" : "failed");
      return;
    }
    poll();
    outcome(action + " of " + name + ": request " + req.id + " " + req.status + "…", req.status);
    for (let tries = 0; tries < 12 && !OVER.includes(req.status); tries++) {
      try {
        req = await api("GET", "/v1/requests/" + encodeURIComponent(req.id) + "?wait=10");
      } catch (e) {
        outcome(action + " of " + name + ": request " + req.id + ": " + e.message, "failed");
        return;
      }
      outcome(action + " of " + name + ": request " + req.id + " " + req.status + "…", req.status);
    }
    outcome(
      action + " of " + name + ": request " + req.id + " " + req.status + (req.message ? ": " + req.message : ""),
      req.status
    );
    poll();
  }

  /* ---- wiring --------------------------------------------------------- */

  $("pipes-body").addEventListener("click", (ev) => {
    const b = ev.target.closest("button[data-action]");
    if (!b || b.disabled) return;
    act(b.dataset.action, b.dataset.pipe);
  });

  $("token-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    setToken($("token").value.trim());
    $("token").value = "";
    say("");
    await readSession();
    page.eventsSince = null;
    page.events = [];
    poll();
  });

  $("token-clear").addEventListener("click", async () => {
    setToken("");
    $("token").value = "";
    await readSession();
    poll();
  });

  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) poll();
  });

  window.addEventListener("hashchange", () => {
    page.selected = selectedFromHash();
    poll();
  });

  readSession().then(poll);
})();
