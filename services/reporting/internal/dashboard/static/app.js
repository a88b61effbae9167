// The supervisors' dashboard: one page, routed by the URL fragment, that
// reads the reporting, intake and rectification APIs with the signed-in
// user's bearer token. It keeps the token for the browser tab only
// (sessionStorage) and takes a one-click sign-in from the fragment
// (#token=...), which never reaches a server or a log.
"use strict";
(function () {
  const TOKEN = "cd.token", LANG = "cd.lang", FILTERS = "cd.filters";
  // Anything the Content-Security-Policy blocked (the browser test reads it).
  window.__cspViolations = [];
  document.addEventListener("securitypolicyviolation", (e) => window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "")));
  const $ = (sel, el) => (el || document).querySelector(sel);
  const state = {
    token: sessionStorage.getItem(TOKEN) || "",
    lang: localStorage.getItem(LANG) || "zh-CN",
    filters: Object.assign({ period: "all", from: "", to: "", region: "", branch: "", category: "" },
      JSON.parse(localStorage.getItem(FILTERS) || "{}")),
    charts: [],
    route: "",
    seq: 0,
  };
  const CATEGORIES = ["CATEGORY_SYSTEM_FAILURE", "CATEGORY_EQUIPMENT_FAILURE", "CATEGORY_IDENTITY_MISMATCH",
    "CATEGORY_ACCOUNT_INFO_ERROR", "CATEGORY_TRANSACTION_ERROR", "CATEGORY_CASH_DISCREPANCY", "CATEGORY_VOUCHER_ANOMALY",
    "CATEGORY_SUSPECTED_FRAUD", "CATEGORY_QUEUE_TICKET_INCIDENT", "CATEGORY_SERVICE_ATTITUDE", "CATEGORY_PROCESSING_DELAY",
    "CATEGORY_FEE_DISPUTE", "CATEGORY_BUSINESS_DISPUTE", "CATEGORY_PRODUCT_MISUNDERSTANDING", "CATEGORY_RULE_DISPUTE",
    "CATEGORY_COMPENSATION_DEMAND", "CATEGORY_FACILITIES"];
  const PALETTE = ["#1f5fa8", "#e07b24", "#2e9d6a", "#c0392b", "#7d5ba6", "#16a2b8", "#d4a017", "#5d6d7e", "#e84393", "#00897b"];

  // ---- words -------------------------------------------------------------
  function t(key, vars) {
    const d = window.I18N[state.lang] || window.I18N["zh-CN"];
    let s = d[key];
    if (s === undefined) s = window.I18N["zh-CN"][key];
    if (s === undefined) s = key;
    if (vars) for (const k in vars) s = s.replace("{" + k + "}", vars[k]);
    return s;
  }
  function applyWords() {
    document.documentElement.lang = state.lang;
    document.title = t("app.title") + " · counterdesk";
    document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
    $("#lang").textContent = state.lang === "en" ? "中文" : "EN";
    $("#lang").setAttribute("aria-label", state.lang === "en" ? "切换到中文" : "Switch to English");
  }

  // ---- formatting --------------------------------------------------------
  const locale = () => (state.lang === "en" ? "en-GB" : "zh-CN");
  const num = (n) => (n === undefined || n === null ? "0" : Number(n).toLocaleString(locale()));
  const pct = (r) => (Number(r || 0) * 100).toFixed(1) + "%";
  // A handling time in hours, under an hour in minutes; none (a real one
  // is at least a second) a dash, not "0.0 h".
  const hours = (s) => {
    if (!s) return "—";
    const v = Number(s);
    return v < 3600 ? Math.max(1, Math.round(v / 60)) + " " + t("unit.minutes") : (v / 3600).toFixed(1) + " " + t("unit.hours");
  };
  const yuan = (fen) => (Number(fen || 0) / 100).toLocaleString(locale(), { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  function when(ts) {
    if (!ts) return "";
    const d = new Date(ts);
    return d.toLocaleString(locale(), { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false });
  }
  // day is the calendar day of ts in Beijing time, as 2026-11-23 (the
  // trends' periods start at midnight there).
  function day(ts) {
    return ts ? new Date(new Date(ts).getTime() + 8 * 3600 * 1000).toISOString().slice(0, 10) : "";
  }
  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    for (const k in attrs || {}) {
      if (k === "class") el.className = attrs[k];
      else if (k === "text") el.textContent = attrs[k];
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), attrs[k]);
      else if (attrs[k] !== undefined && attrs[k] !== null && attrs[k] !== false) el.setAttribute(k, attrs[k]);
    }
    for (const c of kids.flat(Infinity)) if (c !== null && c !== undefined) el.append(c.nodeType ? c : document.createTextNode(String(c)));
    return el;
  }

  // ---- credentials -------------------------------------------------------
  function claims(token) {
    const parts = token.split(".");
    if (parts.length !== 3) return null;
    try {
      const b = parts[1].replace(/-/g, "+").replace(/_/g, "/");
      const json = decodeURIComponent(Array.from(atob(b + "===".slice((b.length + 3) % 4)), (c) => "%" + c.charCodeAt(0).toString(16).padStart(2, "0")).join(""));
      return JSON.parse(json);
    } catch (e) { return null; }
  }
  function takeTokenFromFragment() {
    const m = location.hash.match(/(?:^#|&)token=([^&]+)/);
    if (!m) return;
    state.token = decodeURIComponent(m[1]);
    sessionStorage.setItem(TOKEN, state.token);
    history.replaceState(null, "", location.pathname + location.search + "#/overview");
  }
  function signOut(message) {
    state.token = "";
    sessionStorage.removeItem(TOKEN);
    showSignIn(message);
  }

  // ---- API -----------------------------------------------------------------
  class APIError extends Error { constructor(status, msg) { super(msg); this.status = status; } }
  async function request(path, params) {
    const qs = new URLSearchParams();
    for (const k in params || {}) if (params[k] !== "" && params[k] !== undefined && params[k] !== null) qs.set(k, params[k]);
    const url = path + (qs.toString() ? "?" + qs : "");
    const resp = await fetch(url, { headers: { Authorization: "Bearer " + state.token, Accept: "application/json, */*" }, credentials: "omit", cache: "no-store" });
    if (resp.status === 401) { signOut(t("signin.expired")); throw new APIError(401, "unauthenticated"); }
    if (!resp.ok) {
      let msg = resp.status + " " + resp.statusText;
      try { const b = await resp.json(); if (b.message) msg = b.message; } catch (e) { /* not JSON */ }
      throw new APIError(resp.status, msg);
    }
    return resp;
  }
  const api = async (path, params) => (await request(path, params)).json();
  // download fetches a file with the user's token and saves it under name.
  async function download(path, params, name) {
    const resp = await request(path, params);
    const blob = await resp.blob();
    const cd = resp.headers.get("Content-Disposition") || "";
    const m = cd.match(/filename="([^"]+)"/);
    const a = h("a", { href: URL.createObjectURL(blob), download: (m && m[1]) || name });
    document.body.append(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }

  // ---- filters -------------------------------------------------------------
  function window_() {
    const f = state.filters, now = new Date();
    const shanghai = (y, m, d) => new Date(Date.UTC(y, m, d) - 8 * 3600 * 1000); // midnight in Asia/Shanghai
    const sh = new Date(now.getTime() + 8 * 3600 * 1000);
    const y = sh.getUTCFullYear(), m = sh.getUTCMonth();
    switch (f.period) {
      case "month": return { from: shanghai(y, m, 1) };
      case "30d": return { from: new Date(now.getTime() - 30 * 86400 * 1000) };
      case "quarter": return { from: shanghai(y, m - (m % 3), 1) };
      case "year": return { from: shanghai(y, 0, 1) };
      case "custom": {
        const p = (s) => s.split("-").map(Number);
        const w = {};
        if (f.from) { const [a, b, c] = p(f.from); w.from = shanghai(a, b - 1, c); }
        if (f.to) { const [a, b, c] = p(f.to); w.to = shanghai(a, b - 1, c + 1); }
        return w;
      }
      default: return {};
    }
  }
  // filterParams is the ReportFilter as query parameters; extra narrows it.
  function filterParams(extra) {
    const f = Object.assign({}, state.filters, extra || {}), w = window_();
    return {
      "filter.from": w.from ? w.from.toISOString() : "",
      "filter.to": w.to ? w.to.toISOString() : "",
      "filter.regionId": f.region, "filter.branchId": f.branch, "filter.category": f.category,
    };
  }
  function saveFilters() { localStorage.setItem(FILTERS, JSON.stringify(state.filters)); }
  function bindFilters() {
    const sel = { period: "#f-period", from: "#f-from", to: "#f-to", region: "#f-region", branch: "#f-branch", category: "#f-category" };
    for (const k in sel) {
      const el = $(sel[k]);
      el.value = state.filters[k];
      el.addEventListener("change", () => {
        state.filters[k] = el.value;
        if (k === "region") state.filters.branch = "";
        saveFilters();
        syncFilterUI();
        if (k === "region") loadFilterOptions();
        render();
      });
    }
    syncFilterUI();
  }
  function syncFilterUI() {
    document.querySelectorAll(".filters .custom").forEach((el) => { el.hidden = state.filters.period !== "custom"; });
    $("#f-period").value = state.filters.period;
  }
  function fillSelect(el, values, label, keep) {
    const cur = keep;
    el.replaceChildren(h("option", { value: "", "data-i18n": "filter.any", text: t("filter.any") }));
    for (const v of values) el.append(h("option", { value: v, text: label ? label(v) : v }));
    el.value = values.includes(cur) ? cur : "";
  }
  async function loadFilterOptions() {
    fillSelect($("#f-category"), CATEGORIES, (c) => t(c), state.filters.category);
    const me = claims(state.token) || {};
    try {
      const regions = me.region ? [me.region] : (await api("/v1/reports/breakdown/DIMENSION_REGION", {})).rows.map((r) => r.key);
      fillSelect($("#f-region"), regions, null, state.filters.region || (me.region || ""));
      const br = await api("/v1/reports/breakdown/DIMENSION_BRANCH", { "filter.regionId": state.filters.region });
      const branches = (br.rows || []).map((r) => r.key).sort();
      if (me.branch && !branches.includes(me.branch)) branches.push(me.branch);
      fillSelect($("#f-branch"), branches, null, state.filters.branch);
    } catch (e) {
      // Breakdowns not served (older reporting): the summary names the branches.
      try {
        const s = await api("/v1/reports/summary", {});
        fillSelect($("#f-branch"), Object.keys(s.byBranch || {}).sort(), null, state.filters.branch);
        if (me.region) fillSelect($("#f-region"), [me.region], null, me.region);
      } catch (e2) { /* the page shows the error */ }
    }
  }

  // ---- charts --------------------------------------------------------------
  function chart(el, option) {
    if (!window.echarts) return null;
    const c = window.echarts.init(el, null, { renderer: "canvas" });
    // Tooltips drawn on the canvas (richText): ECharts' HTML tooltips carry
    // inline style attributes, which the page's CSP refuses.
    if (option.tooltip) option.tooltip = Object.assign({ renderMode: "richText" }, option.tooltip);
    c.setOption(Object.assign({ color: PALETTE, animation: false, textStyle: { fontFamily: "inherit" } }, option));
    state.charts.push(c);
    return c;
  }
  window.addEventListener("resize", () => state.charts.forEach((c) => c.resize()));

  // ---- page frame ----------------------------------------------------------
  const view = () => $("#view");
  function card(title, body, extra) {
    return h("div", { class: "card" + (extra ? " " + extra : "") }, h("h3", { text: title }), body);
  }
  function kpi(key, value, shown, sub) {
    return h("div", { class: "kpi", "data-kpi": key, "data-value": String(value) },
      h("div", { class: "kpi-label", text: t("kpi." + key) }),
      h("div", { class: "kpi-value", text: shown === undefined ? num(value) : shown }),
      sub ? h("div", { class: "kpi-sub", text: sub }) : null);
  }
  function table(cols, rows, onRow) {
    const tb = h("tbody");
    for (const r of rows) {
      const tr = h("tr", onRow ? { class: "link", tabindex: "0", onclick: () => onRow(r), onkeydown: (e) => { if (e.key === "Enter") onRow(r); } } : {});
      for (const c of cols) {
        const v = c.get(r);
        tr.append(h("td", { class: c.num ? "num" : "" }, v && v.nodeType ? v : String(v === undefined ? "" : v)));
      }
      if (r.__attrs) for (const k in r.__attrs) tr.setAttribute(k, r.__attrs[k]);
      tb.append(tr);
    }
    return h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, cols.map((c) => h("th", { class: c.num ? "num" : "", text: t(c.label) })))), tb));
  }
  function asOf(ts) { return ts ? h("p", { class: "asof", text: t("app.asOf") + " " + when(ts) }) : null; }
  function loading() { view().replaceChildren(h("p", { class: "loading", text: t("app.loading") })); }
  function failed(e) {
    if (e && e.status === 401) return;
    view().replaceChildren(h("div", { class: "error", role: "alert" }, h("strong", { text: t("app.error") }), " ", e.message || String(e)));
  }

  // ---- pages -----------------------------------------------------------------
  const pages = {};

  // overviewData asks for everything the overview shows at once.
  function overviewData() {
    return Promise.all([
      overview(filterParams()),
      api("/v1/reports/breakdown/DIMENSION_CATEGORY", filterParams()).catch(() => null),
      api("/v1/reports/breakdown/DIMENSION_CHANNEL", filterParams()).catch(() => null),
      api("/v1/reports/trends", Object.assign(filterParams(), { period: "PERIOD_MONTH" })).catch(() => null),
    ]);
  }
  pages.overview = async function (seq) {
    const pending = early || overviewData();
    early = null;
    const [ov, cat, chan, tr] = await pending;
    if (seq !== state.seq) return;
    const f = ov.figures || {};
    const grid = h("div", { class: "kpis", "data-testid": "overview-kpis" },
      kpi("received", f.received || 0), kpi("open", f.open || 0), kpi("answered", f.answered || 0), kpi("closed", f.closed || 0),
      kpi("ackRate", f.acknowledgedInTimeRate || 0, pct(f.acknowledgedInTimeRate), num(f.acknowledgeSettled) + " " + t("unit.cases")),
      kpi("answerRate", f.answeredInTimeRate || 0, pct(f.answeredInTimeRate), num(f.answerSettled) + " " + t("unit.cases")),
      kpi("resolveRate", f.resolvedInTimeRate || 0, pct(f.resolvedInTimeRate), num(f.resolveSettled) + " " + t("unit.cases")),
      kpi("overdue", ov.overdueOpen || 0), kpi("near", ov.nearDeadlineOpen || 0), kpi("breaches", f.breaches || 0),
      kpi("handling", f.handlingSecondsMean || 0, hours(f.handlingSecondsMean), "P90 " + hours(f.handlingSecondsP90)),
      kpi("handovers", f.handoversPerCase || 0, Number(f.handoversPerCase || 0).toFixed(2)),
      kpi("branchRate", f.settledAtBranchRate || 0, pct(f.settledAtBranchRate)),
      kpi("satisfaction", f.satisfactionMean || 0, f.satisfactionCount ? Number(f.satisfactionMean).toFixed(2) : "—", num(f.satisfactionCount) + " " + t("unit.cases")),
      kpi("repeats", f.repeats || 0), kpi("compensation", f.compensationFen || 0, yuan(f.compensationFen), t("unit.yuan")));
    const cCat = h("div", { class: "chart", "data-testid": "chart-category" });
    const cChan = h("div", { class: "chart", "data-testid": "chart-channel" });
    const cTrend = h("div", { class: "chart", "data-testid": "chart-trend" });
    view().replaceChildren(h("h2", { text: t("nav.overview") }), grid,
      h("div", { class: "grid2" }, card(t("chart.byCategory"), cCat), card(t("chart.byChannel"), cChan)),
      card(t("chart.trend"), cTrend), asOf(ov.asOf));
    const catRows = cat ? cat.rows || [] : Object.entries(ov.byCategory || {}).map(([key, n]) => ({ key, figures: { received: n } }));
    const chanRows = chan ? chan.rows || [] : Object.entries(ov.byChannel || {}).map(([key, n]) => ({ key, figures: { received: n } }));
    chart(cCat, {
      grid: { left: 140, right: 24, top: 10, bottom: 24 }, tooltip: { trigger: "axis" },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", inverse: true, data: catRows.map((r) => t(r.key)) },
      series: [{ type: "bar", barMaxWidth: 28, data: catRows.map((r) => (r.figures || {}).received || 0), label: { show: true, position: "right" } }],
    });
    chart(cChan, {
      tooltip: { trigger: "item" }, legend: { bottom: 0, type: "scroll" },
      series: [{ type: "pie", radius: ["40%", "68%"], center: ["50%", "45%"], label: { formatter: "{b}: {c}" },
        data: chanRows.map((r) => ({ name: t(r.key), value: (r.figures || {}).received || 0 })) }],
    });
    const pts = tr ? tr.points || [] : [];
    chart(cTrend, {
      grid: { left: 48, right: 48, top: 30, bottom: 30 }, tooltip: { trigger: "axis" }, legend: { top: 0 },
      xAxis: { type: "category", data: pts.map((p) => day(p.periodStart).slice(0, 7)) },
      yAxis: [{ type: "value", minInterval: 1 }, { type: "value", max: 100, axisLabel: { formatter: "{value}%" } }],
      series: [
        { name: t("trend.received"), type: "bar", barMaxWidth: 48, data: pts.map((p) => (p.figures || {}).received || 0) },
        { name: t("trend.answerRate"), type: "line", yAxisIndex: 1, data: pts.map((p) => +(((p.figures || {}).answeredInTimeRate || 0) * 100).toFixed(1)) },
      ],
    });
    markOverviewRendered();
  };
  // overview reads the overview, or the summary where reporting has no
  // overview yet, in the overview's shape.
  async function overview(params) {
    try {
      return await api("/v1/reports/overview", params);
    } catch (e) {
      if (e.status !== 404 && e.status !== 501) throw e;
      const s = await api("/v1/reports/summary", { from: params["filter.from"], to: params["filter.to"], branchId: params["filter.branchId"] });
      const by = s.byStatus || {}, g = (k) => Number(by[k] || 0);
      const closed = g("CASE_STATUS_CLOSED"), withdrawn = g("CASE_STATUS_WITHDRAWN");
      return { figures: { received: Number(s.total || 0), open: Number(s.total || 0) - closed - withdrawn, closed, withdrawn,
        answered: g("CASE_STATUS_ANSWERED") + g("CASE_STATUS_FOLLOWING_UP") + closed, breaches: Number(s.breaches || 0) },
        byCategory: s.byCategory, byChannel: s.byChannel, asOf: s.asOf };
    }
  }
  function markOverviewRendered() {
    if (window.__overviewRenderedMs === undefined) {
      window.__overviewRenderedMs = performance.now();
      performance.mark("overview-rendered");
    }
    document.body.dataset.overview = "rendered";
  }

  pages.sla = async function (seq) {
    const c = await api("/v1/reports/compliance", filterParams());
    if (seq !== state.seq) return;
    const rows = c.deadlines || [];
    const el = h("div", { class: "chart tall", "data-testid": "chart-compliance" });
    view().replaceChildren(h("h2", { text: t("nav.sla") }),
      h("div", { class: "kpis" }, kpi("warnings", c.warnings || 0), kpi("breaches", c.breaches || 0), kpi("escalations", c.escalations || 0)),
      card(t("chart.compliance"), el),
      card(t("nav.sla"), table([
        { label: "sla.kind", get: (r) => t(r.kind) }, { label: "sla.armed", num: true, get: (r) => num(r.armed) },
        { label: "sla.met", num: true, get: (r) => num(r.met) }, { label: "sla.breached", num: true, get: (r) => num(r.breached) },
        { label: "sla.open", num: true, get: (r) => num(r.open) }, { label: "sla.rate", num: true, get: (r) => pct(r.metRate) },
        { label: "sla.warnings", num: true, get: (r) => { const w = r.warnings || {}; return [w.yellow || 0, w.orange || 0, w.red || 0].join(" / "); } },
      ], rows)), asOf(c.asOf));
    chart(el, {
      grid: { left: 120, right: 24, top: 30, bottom: 24 }, tooltip: { trigger: "axis" }, legend: { top: 0 },
      xAxis: { type: "value", minInterval: 1 }, yAxis: { type: "category", inverse: true, data: rows.map((r) => t(r.kind)) },
      series: [
        { name: t("sla.met"), type: "bar", stack: "s", data: rows.map((r) => r.met || 0), color: "#2e9d6a" },
        { name: t("sla.breached"), type: "bar", stack: "s", data: rows.map((r) => r.breached || 0), color: "#c0392b" },
        { name: t("sla.open"), type: "bar", stack: "s", data: rows.map((r) => r.open || 0), color: "#9aa5b1" },
      ],
    });
  };

  pages["root-causes"] = async function (seq) {
    const rc = await api("/v1/reports/root-causes", filterParams());
    if (seq !== state.seq) return;
    const rows = rc.causes || [];
    const el = h("div", { class: "chart tall", "data-testid": "chart-pareto" });
    view().replaceChildren(h("h2", { text: t("nav.rootCauses") }), card(t("chart.pareto"), el),
      card(t("nav.rootCauses"), table([
        { label: "rc.cause", get: (r) => t(r.rootCause) }, { label: "rc.cases", num: true, get: (r) => num(r.cases) },
        { label: "rc.share", num: true, get: (r) => pct(r.share) }, { label: "rc.cum", num: true, get: (r) => pct(r.cumulativeShare) },
      ], rows)), asOf(rc.asOf));
    chart(el, {
      grid: { left: 48, right: 56, top: 30, bottom: 80 }, tooltip: { trigger: "axis" }, legend: { top: 0 },
      xAxis: { type: "category", data: rows.map((r) => t(r.rootCause)), axisLabel: { rotate: 30, interval: 0 } },
      yAxis: [{ type: "value", minInterval: 1 }, { type: "value", max: 100, axisLabel: { formatter: "{value}%" } }],
      series: [
        { name: t("chart.cases"), type: "bar", barMaxWidth: 48, data: rows.map((r) => r.cases || 0) },
        { name: t("chart.cumulative"), type: "line", yAxisIndex: 1, data: rows.map((r) => +((r.cumulativeShare || 0) * 100).toFixed(1)) },
      ],
    });
  };

  // fullECharts loads the full ECharts build (the heat map series is not in
  // the common one) once; it replaces window.echarts with a superset.
  let full = null;
  function fullECharts() {
    if (!full) {
      full = new Promise((resolve, reject) => {
        const sc = h("script", { src: "./vendor/echarts.min.js" });
        sc.addEventListener("load", resolve);
        sc.addEventListener("error", () => { full = null; reject(new Error("echarts.min.js did not load")); });
        document.head.append(sc);
      });
    }
    return full;
  }

  pages.heatmap = async function (seq) {
    const [hm] = await Promise.all([api("/v1/reports/heatmap", filterParams()), fullECharts()]);
    if (seq !== state.seq) return;
    const cells = hm.cells || [];
    const max = cells.reduce((m, c) => Math.max(m, Number(c.cases || 0)), 0);
    const el = h("div", { class: "chart tall", "data-testid": "chart-heatmap" });
    view().replaceChildren(h("h2", { text: t("nav.heatmap") }), card(t("chart.heatmap") + (hm.timeZone ? " (" + hm.timeZone + ")" : ""), el), asOf(hm.asOf));
    chart(el, {
      tooltip: { position: "top" }, grid: { left: 56, right: 16, top: 10, bottom: 96 },
      xAxis: { type: "category", data: Array.from({ length: 24 }, (_, i) => String(i)), splitArea: { show: true } },
      yAxis: { type: "category", data: [1, 2, 3, 4, 5, 6, 7].map((d) => t("wd." + d)), inverse: true, splitArea: { show: true } },
      visualMap: { min: 0, max: Math.max(max, 1), calculable: true, orient: "horizontal", left: "center", bottom: 0, inRange: { color: ["#f3f7fb", "#1f5fa8"] } },
      series: [{ type: "heatmap", data: cells.map((c) => [c.hour || 0, (c.weekday || 1) - 1, Number(c.cases || 0)]), label: { show: true } }],
    });
  };

  pages.trends = async function (seq, args) {
    const period = args[0] || "PERIOD_MONTH";
    const tr = await api("/v1/reports/trends", Object.assign(filterParams(), { period }));
    if (seq !== state.seq) return;
    const pts = tr.points || [];
    const el = h("div", { class: "chart tall", "data-testid": "chart-trends" });
    const pick = h("div", { class: "seg" }, ["PERIOD_DAY", "PERIOD_WEEK", "PERIOD_MONTH", "PERIOD_QUARTER"].map((p) =>
      h("a", { href: "#/trends/" + p, class: p === period ? "on" : "", text: t("period." + p) })));
    const label = (p) => (period === "PERIOD_DAY" || period === "PERIOD_WEEK" ? day(p.periodStart) : day(p.periodStart).slice(0, 7));
    view().replaceChildren(h("h2", { text: t("nav.trends") }), pick, card(t("nav.trends"), el),
      card(t("nav.trends"), table([
        { label: "trend.period", get: label }, { label: "trend.received", num: true, get: (p) => num((p.figures || {}).received) },
        { label: "trend.change", num: true, get: (p) => pct(p.receivedChange) },
        { label: "trend.answerRate", num: true, get: (p) => pct((p.figures || {}).answeredInTimeRate) },
      ], pts)), asOf(tr.asOf));
    chart(el, {
      grid: { left: 48, right: 48, top: 30, bottom: 30 }, tooltip: { trigger: "axis" }, legend: { top: 0 },
      xAxis: { type: "category", data: pts.map(label) },
      yAxis: [{ type: "value", minInterval: 1 }, { type: "value", max: 100, axisLabel: { formatter: "{value}%" } }],
      series: [
        { name: t("trend.received"), type: "line", smooth: true, areaStyle: { opacity: 0.15 }, data: pts.map((p) => (p.figures || {}).received || 0) },
        { name: t("trend.answerRate"), type: "line", yAxisIndex: 1, data: pts.map((p) => +(((p.figures || {}).answeredInTimeRate || 0) * 100).toFixed(1)) },
      ],
    });
  };

  pages.branches = async function (seq) {
    const br = await api("/v1/reports/breakdown/DIMENSION_BRANCH", filterParams());
    if (seq !== state.seq) return;
    const rows = (br.rows || []).map((r) => Object.assign(r, { __attrs: { "data-branch": r.key } }));
    const el = h("div", { class: "chart", "data-testid": "chart-branches" });
    view().replaceChildren(h("h2", { text: t("nav.branches") }), card(t("chart.branches"), el),
      card(t("nav.branches"), table([
        { label: "br.branch", get: (r) => r.key }, { label: "br.received", num: true, get: (r) => num(r.figures.received) },
        { label: "br.open", num: true, get: (r) => num(r.figures.open) },
        { label: "br.answerRate", num: true, get: (r) => pct(r.figures.answeredInTimeRate) },
        { label: "br.breaches", num: true, get: (r) => num(r.figures.breaches) },
        { label: "br.satisfaction", num: true, get: (r) => Number(r.figures.satisfactionMean || 0).toFixed(2) },
      ], rows, (r) => { location.hash = "#/branch/" + encodeURIComponent(r.key); })), asOf(br.asOf));
    const c = chart(el, {
      grid: { left: 48, right: 16, top: 16, bottom: 60 }, tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: rows.map((r) => r.key), axisLabel: { rotate: 30, interval: 0 } }, yAxis: { type: "value", minInterval: 1 },
      series: [{ type: "bar", barMaxWidth: 48, data: rows.map((r) => r.figures.received || 0) }],
    });
    if (c) c.on("click", (p) => { location.hash = "#/branch/" + encodeURIComponent(p.name); });
  };

  function caseColumns() {
    return [
      { label: "case.number", get: (c) => h("a", { href: "#/case/" + encodeURIComponent(c.caseId), text: c.caseNumber || c.caseId }) },
      { label: "case.received", get: (c) => when(c.receivedAt) }, { label: "case.category", get: (c) => t(c.category) },
      { label: "case.severity", get: (c) => t(c.severity) }, { label: "case.status", get: (c) => t(c.status) },
      { label: "case.customer", get: (c) => [c.customerNameMasked, c.customerPhoneMasked].filter(Boolean).join(" ") },
      { label: "case.owner", get: (c) => c.ownerId || "" },
      { label: "case.deadline", get: (c) => (c.nextDeadlineKind ? t(c.nextDeadlineKind) + " " + when(c.nextDeadlineAt) : "") },
    ];
  }

  pages.branch = async function (seq, args) {
    const branch = decodeURIComponent(args[0] || "");
    const narrow = { branch, region: "" };
    const [ov, list] = await Promise.all([
      overview(filterParams(narrow)),
      api("/v1/reports/cases", Object.assign(filterParams(narrow), { pageSize: 100 })),
    ]);
    if (seq !== state.seq) return;
    const f = ov.figures || {};
    const cases = (list.cases || []).map((c) => Object.assign(c, { __attrs: { "data-case": c.caseId } }));
    view().replaceChildren(
      h("p", {}, h("a", { href: "#/branches", class: "back", text: "← " + t("app.back") })),
      h("h2", { "data-testid": "branch-title", text: t("br.title") + " " + branch }),
      h("div", { class: "kpis" }, kpi("received", f.received || 0), kpi("open", f.open || 0), kpi("answered", f.answered || 0),
        kpi("answerRate", f.answeredInTimeRate || 0, pct(f.answeredInTimeRate)), kpi("overdue", ov.overdueOpen || 0), kpi("breaches", f.breaches || 0)),
      card(t("br.cases") + " · " + t("br.total", { n: num(list.total || cases.length) }),
        table(caseColumns(), cases, (c) => { location.hash = "#/case/" + encodeURIComponent(c.caseId); })),
      asOf(ov.asOf));
  };

  pages.case = async function (seq, args) {
    const id = decodeURIComponent(args[0] || "");
    const hist = await api("/v1/reports/cases/" + encodeURIComponent(id) + "/history", {});
    if (seq !== state.seq) return;
    const c = hist.case || {};
    const dl = (pairs) => h("dl", { class: "facts" }, pairs.map(([k, v]) => [h("dt", { text: t(k) }), h("dd", { text: v === undefined ? "" : String(v) })]));
    const forms = h("div", { class: "actions" },
      h("a", { class: "btn", href: "#/print/register/" + encodeURIComponent(id), text: t("form.register") }),
      h("a", { class: "btn", href: "#/print/complaint/" + encodeURIComponent(id), text: t("form.complaint") }),
      h("button", { class: "btn primary", type: "button", "data-testid": "pdf-complaint",
        onclick: (e) => withBusy(e.target, () => download("/v1/reports/forms/cases/" + encodeURIComponent(id) + "/complaint-sheet.pdf", {}, "complaint-sheet-" + (c.caseNumber || id) + ".pdf")),
        text: t("form.complaint") + " PDF" }),
      h("button", { class: "btn", type: "button", "data-testid": "pdf-register",
        onclick: (e) => withBusy(e.target, () => download("/v1/reports/forms/cases/" + encodeURIComponent(id) + "/register-entry.pdf", {}, "register-entry-" + (c.caseNumber || id) + ".pdf")),
        text: t("form.register") + " PDF" }));
    view().replaceChildren(
      h("p", {}, h("a", { href: c.branchId ? "#/branch/" + encodeURIComponent(c.branchId) : "#/branches", class: "back", text: "← " + t("app.back") })),
      h("h2", { "data-testid": "case-title", text: t("case.title") + " " + (c.caseNumber || id) }),
      card(t("case.title"), dl([
        ["case.number", c.caseNumber], ["br.branch", c.branchId], ["case.received", when(c.receivedAt)], ["case.channel", t(c.channel)],
        ["case.category", t(c.category)], ["case.severity", t(c.severity)], ["case.status", t(c.status)], ["case.tier", t(c.customerTier)],
        ["case.customer", [c.customerNameMasked, c.customerPhoneMasked].filter(Boolean).join(" ")], ["case.owner", c.ownerId],
        ["case.handovers", num(c.handovers)], ["case.breaches", num(c.breaches)], ["case.rootCause", c.rootCause ? t(c.rootCause) : ""],
        ["case.satisfaction", c.satisfaction || ""], ["case.deadline", c.nextDeadlineKind ? t(c.nextDeadlineKind) + " " + when(c.nextDeadlineAt) : ""],
      ])),
      forms,
      card(t("case.history"), table([
        { label: "case.at", get: (e) => when(e.at) }, { label: "case.event", get: (e) => e.type },
        { label: "case.by", get: (e) => e.actorId || e.producer || "" }, { label: "case.summary", get: (e) => e.summary },
      ], (hist.events || []).map((e) => Object.assign(e, { __attrs: { "data-event": e.type } })))));
  };
  async function withBusy(btn, f) {
    btn.disabled = true;
    try { await f(); } catch (e) { if (e.status !== 401) alert(t("app.error") + ": " + e.message); } finally { btn.disabled = false; }
  }

  pages["at-risk"] = async function (seq) {
    const r = await api("/v1/reports/at-risk", Object.assign(filterParams(), { pageSize: 200 }));
    if (seq !== state.seq) return;
    const rows = r.cases || r.atRisk || r.items || [];
    view().replaceChildren(h("h2", { text: t("nav.atRisk") }), h("p", { class: "lead", text: t("risk.window") }),
      card(t("nav.atRisk"), table([
        { label: "case.number", get: (x) => h("a", { href: "#/case/" + encodeURIComponent((x.case || {}).caseId), text: (x.case || {}).caseNumber }) },
        { label: "br.branch", get: (x) => (x.case || {}).branchId }, { label: "risk.kind", get: (x) => t(x.deadlineKind) },
        { label: "risk.due", get: (x) => when(x.dueAt) },
        { label: "risk.level", get: (x) => h("span", { class: "pill " + (x.overdue ? "red" : x.warningLevel || x.level || ""), text: x.overdue ? t("risk.overdue") : t(x.warningLevel || x.level || "") }) },
        { label: "case.owner", get: (x) => (x.case || {}).ownerId || "" },
      ], rows)), asOf(r.asOf));
  };

  pages.rectification = async function (seq, args) {
    const status = args[0] || "";
    const r = await api("/v1/rectification-notices", { status, branchId: state.filters.branch, regionId: state.filters.region, pageSize: 200 });
    if (seq !== state.seq) return;
    const seg = h("div", { class: "seg" }, [["", "rect.all"], ["RECTIFICATION_FILTER_OPEN", "rect.open"], ["RECTIFICATION_FILTER_OVERDUE", "rect.overdue"], ["RECTIFICATION_FILTER_CLOSED", "rect.closedF"]]
      .map(([v, k]) => h("a", { href: "#/rectification/" + v, class: v === status ? "on" : "", text: t(k) })));
    view().replaceChildren(h("h2", { text: t("rect.title") }), seg,
      h("div", { class: "kpis" }, kpi("overdue", r.overdueCount || 0, num(r.overdueCount || 0), t("rect.overdue"))),
      card(t("rect.title"), table([
        { label: "rect.branch", get: (n) => [n.branchId, n.department].filter(Boolean).join(" ") },
        { label: "rect.fault", get: (n) => (n.fault || "").slice(0, 60) }, { label: "rect.due", get: (n) => n.dueDate },
        { label: "rect.status", get: (n) => h("span", { class: "pill " + (n.overdue ? "red" : ""), text: t(n.status) + (n.overdue ? " · " + t("rect.overdue") : "") }) },
        { label: "rect.issuedAt", get: (n) => when(n.issuedAt) },
      ], r.notices || [], (n) => { location.hash = "#/notice/" + encodeURIComponent(n.id); })), asOf(r.asOf));
  };

  pages.notice = async function (seq, args) {
    const id = decodeURIComponent(args[0] || "");
    const n = await api("/v1/rectification-notices/" + encodeURIComponent(id), {});
    if (seq !== state.seq) return;
    const dl = (pairs) => h("dl", { class: "facts" }, pairs.map(([k, v]) => [h("dt", { text: t(k) }), h("dd", { text: v || "" })]));
    view().replaceChildren(
      h("p", {}, h("a", { href: "#/rectification", class: "back", text: "← " + t("app.back") })),
      h("h2", { text: t("form.notice") }),
      card(t("form.notice"), dl([["rect.branch", [n.branchId, n.department].filter(Boolean).join(" ")], ["rect.due", n.dueDate],
        ["rect.status", t(n.status) + (n.overdue ? " · " + t("rect.overdue") : "")], ["rect.issuedBy", n.issuedBy], ["rect.issuedAt", when(n.issuedAt)],
        ["rect.fault", n.fault], ["rect.cases", (n.caseIds || []).join(", ")], ["rect.measures", n.measures], ["rect.closed", n.closingComment]])),
      h("div", { class: "actions" },
        h("a", { class: "btn", href: "#/print/notice/" + encodeURIComponent(id), text: t("form.printPage") }),
        h("button", { class: "btn primary", type: "button", "data-testid": "pdf-notice",
          onclick: (e) => withBusy(e.target, () => download("/v1/reports/forms/rectification-notices/" + encodeURIComponent(id) + "/notice.pdf", {}, "rectification-notice-" + id + ".pdf")), text: t("form.pdf") })),
      card(t("rect.history"), table([
        { label: "case.at", get: (x) => when(x.at) }, { label: "case.event", get: (x) => x.action },
        { label: "case.by", get: (x) => x.actorId }, { label: "rect.status", get: (x) => t(x.toStatus) },
      ], n.history || [])));
  };

  pages.quarterly = async function (seq, args) {
    const sh = new Date(Date.now() + 8 * 3600 * 1000);
    const year = Number(args[0]) || sh.getUTCFullYear(), quarter = Number(args[1]) || Math.floor(sh.getUTCMonth() / 3) + 1;
    const params = { year, quarter, regionId: state.filters.region, branchId: state.filters.branch };
    const q = await api("/v1/reports/regulatory/quarterly", params);
    if (seq !== state.seq) return;
    const ySel = h("select", { id: "q-year" }, Array.from({ length: 5 }, (_, i) => sh.getUTCFullYear() - i).map((y) => h("option", { value: y, text: y })));
    const qSel = h("select", { id: "q-quarter" }, [1, 2, 3, 4].map((n) => h("option", { value: n, text: "Q" + n })));
    ySel.value = year; qSel.value = quarter;
    const go = () => { location.hash = "#/quarterly/" + ySel.value + "/" + qSel.value; };
    ySel.addEventListener("change", go); qSel.addEventListener("change", go);
    const name = "quarterly-" + year + "-Q" + quarter;
    const cols = [
      { label: "q.item", get: (r) => (state.lang === "en" && window.I18N.en[r.key] ? t(r.key) : r.label || t(r.key)) },
      { label: "q.received", num: true, get: (r) => num(r.figures.received) }, { label: "q.decided", num: true, get: (r) => num(r.figures.decided) },
      { label: "q.d15", num: true, get: (r) => num(r.figures.decidedWithin15Days) }, { label: "q.d30", num: true, get: (r) => num(r.figures.decidedWithin30Days) },
      { label: "q.d60", num: true, get: (r) => num(r.figures.decidedWithin60Days) }, { label: "q.after60", num: true, get: (r) => num(r.figures.decidedAfter60Days) },
      { label: "q.pending", num: true, get: (r) => num(r.figures.pending) }, { label: "q.extended", num: true, get: (r) => num(r.figures.extended) },
      { label: "q.review", num: true, get: (r) => num(r.figures.underReview) }, { label: "q.withdrawn", num: true, get: (r) => num(r.figures.withdrawn) },
    ];
    const rows = (list) => (list || []).map((r) => Object.assign({ figures: {} }, r));
    view().replaceChildren(h("h2", { text: t("nav.quarterly") }),
      h("div", { class: "actions" }, h("label", {}, t("q.year") + " ", ySel), h("label", {}, t("q.quarter") + " ", qSel),
        h("button", { class: "btn", type: "button", "data-testid": "download-csv",
          onclick: (e) => withBusy(e.target, () => download("/v1/reports/regulatory/quarterly.csv", params, name + ".csv")), text: t("q.csv") }),
        h("button", { class: "btn primary", type: "button", "data-testid": "download-xlsx",
          onclick: (e) => withBusy(e.target, () => download("/v1/reports/regulatory/quarterly.xlsx", params, name + ".xlsx")), text: t("q.xlsx") })),
      h("div", { class: "kpis" }, h("div", { class: "kpi", "data-kpi": "q-received", "data-value": String((q.total || {}).received || 0) },
        h("div", { class: "kpi-label", text: t("q.received") }), h("div", { class: "kpi-value", text: num((q.total || {}).received) })),
        h("div", { class: "kpi" }, h("div", { class: "kpi-label", text: t("q.d15") }), h("div", { class: "kpi-value", text: num((q.total || {}).decidedWithin15Days) })),
        h("div", { class: "kpi" }, h("div", { class: "kpi-label", text: t("q.pending") }), h("div", { class: "kpi-value", text: num((q.total || {}).pending) }))),
      card(t("q.total"), table(cols, [{ key: "total", label: t("q.total"), figures: q.total || {} }])),
      card(t("q.byLine"), table(cols, rows(q.byBusinessLine))),
      card(t("q.byChannel"), table(cols, rows(q.byChannel))),
      card(t("q.byCause"), table(cols, rows(q.byRootCause))), asOf(q.asOf));
  };

  // ---- printable forms (A4, @page in app.css) -------------------------------
  pages.print = async function (seq, args) {
    const kind = args[0], id = decodeURIComponent(args[1] || "");
    document.body.classList.add("printing");
    if (kind === "notice") {
      const n = await api("/v1/rectification-notices/" + encodeURIComponent(id), {});
      if (seq !== state.seq) return;
      return printPage("客户投诉整改通知单", "通知单编号：" + n.id, "/v1/reports/forms/rectification-notices/" + encodeURIComponent(id) + "/notice.pdf", [
        ["一、通知", [["整改单位", [n.branchId, n.department].filter(Boolean).join(" ")], ["所属分行", n.regionId], ["下发人", n.issuedBy], ["下发时间", whenForm(n.issuedAt)],
          ["整改期限", n.dueDate], ["当前状态", zh(n.status) + (n.overdue ? "（已逾期）" : "")]], [["存在问题", n.fault, 4], ["关联案件", (n.caseIds || []).join("、"), 1]]],
        ["二、整改措施", [["填报人", n.measuresBy], ["填报时间", whenForm(n.measuresAt)]], [["整改措施", n.measures, 5]]],
        ["三、验收", [["验收人", n.closedBy], ["验收时间", whenForm(n.closedAt)]], [["验收意见", n.closingComment, 3]]],
      ], ["整改单位负责人", "下发部门", "验收人"]);
    }
    const [c, hist] = await Promise.all([api("/v1/cases/" + encodeURIComponent(id), {}), api("/v1/cases/" + encodeURIComponent(id) + "/history", {})]);
    if (seq !== state.seq) return;
    const cu = c.customer || {}, v = c.verification || {}, a = c.answer || {}, rv = c.returnVisit || {};
    const comp = a.compensation ? zh(a.compensation.kind) + (a.compensation.amountFen ? " " + yuan(a.compensation.amountFen) + " 元" : "") : "";
    const verified = [["核实人", v.verifiedBy], ["核实时间", whenForm(v.verifiedAt)], ["是否属实", v.verifiedAt ? (v.substantiated ? "属实" : "不属实") : ""], ["协同部门", (v.departments || []).join("、")]];
    const answered = [["处理人", a.answeredBy], ["处理时间", whenForm(a.answeredAt)], ["原因分类", zh(a.rootCause)], ["当前状态", zh(c.status)]];
    const steps = (hist.entries || []).map((e) => [whenForm(e.at), zh(e.action || e.kind), e.actorId || "", e.text || ""]);
    if (kind === "register") {
      return printPage("柜面异常情况登记表", "登记编号：" + (c.caseNumber || ""), "/v1/reports/forms/cases/" + encodeURIComponent(id) + "/register-entry.pdf", [
        ["一、异常情况", [["发生时间", whenForm(c.occurredAt)], ["发现/受理时间", whenForm(c.receivedAt)], ["登记时间", whenForm(c.createdAt)], ["受理方式", zh(c.channel)],
          ["异常类别", zh(c.category)], ["复杂程度", zh(c.severity)], ["首问负责人", c.reportedBy], ["当前处理人", c.ownerId || c.ownerRole]],
          [["情况摘要", c.summary, 1], ["情况描述", c.description, 4]]],
        ["二、客户信息", [["客户姓名", cu.name], ["证件号码", cu.idNumber], ["联系电话", cu.phone], ["账号", cu.accountNumber], ["客户等级", zh(cu.tier)]], []],
        ["三、核实情况", verified, [["核实结论", v.finding, 3]]],
        ["四、处理情况", answered, [["处理结果", a.text, 3], ["补偿情况", comp, 1]]],
      ], ["登记人", "核实人", "网点负责人"], c);
    }
    return printPage("客户投诉处理单", "投诉编号：" + (c.caseNumber || ""), "/v1/reports/forms/cases/" + encodeURIComponent(id) + "/complaint-sheet.pdf", [
      ["一、投诉受理", [["投诉人", cu.name], ["联系电话", cu.phone], ["客户等级", zh(cu.tier)], ["受理渠道", zh(c.channel)], ["受理时间", whenForm(c.receivedAt)],
        ["登记时间", whenForm(c.createdAt)], ["投诉类别", zh(c.category)], ["复杂程度", zh(c.severity)], ["首问负责人", c.reportedBy], ["当前处理人", c.ownerId || c.ownerRole]],
        [["投诉事由", c.summary, 1], ["投诉内容", c.description, 4]]],
      ["二、调查核实", verified, [["核实情况", v.finding, 2]]],
      ["三、处理经过", null, null, steps],
      ["四、处理结果及答复", [["答复人", a.answeredBy], ["答复时间", whenForm(a.answeredAt)], ["原因分类", zh(a.rootCause)], ["当前状态", zh(c.status)]], [["答复内容", a.text, 3], ["补偿情况", comp, 1]]],
      ["五、回访", [["满意度", rv.satisfaction ? rv.satisfaction + " / 5" : ""]], [["回访意见", rv.comment, 2]]],
    ], ["经办人", "投诉管理人", "网点负责人"], c);
  };
  // whenForm is how the paper forms write a time: 2026-11-23 10:30, Beijing time.
  function whenForm(ts) {
    if (!ts) return "";
    const d = new Date(new Date(ts).getTime() + 8 * 3600 * 1000).toISOString();
    return d.slice(0, 10) + " " + d.slice(11, 16);
  }
  const zh = (k) => (k && !/_UNSPECIFIED$/.test(k) ? (window.I18N["zh-CN"][k] || k) : "");
  function printPage(title, number, pdfPath, sections, signers, c) {
    const back = c ? "#/case/" + encodeURIComponent(c.id) : "#/rectification";
    const bar = h("div", { class: "print-bar" },
      h("a", { class: "btn", href: back, text: "← " + t("app.back") }),
      h("button", { class: "btn", type: "button", onclick: () => window.print(), text: t("form.print") }),
      h("button", { class: "btn primary", type: "button", "data-testid": "print-pdf",
        onclick: (e) => withBusy(e.target, () => download(pdfPath, {}, title + ".pdf")), text: t("form.pdf") }));
    const sheet = h("article", { class: "sheet", "data-testid": "print-sheet" }, h("h1", { text: title }),
      h("div", { class: "sheet-meta" }, h("span", { text: (c ? "机构：" + [c.regionId, c.branchId].filter(Boolean).join(" / ") : "") }), h("span", { text: number })));
    for (const [head, pairs, blocks, steps] of sections) {
      const tb = h("table", { class: "form" }, h("tr", {}, h("th", { colspan: 4, class: "sec", text: head })));
      for (let i = 0; pairs && i < pairs.length; i += 2) {
        const tr = h("tr", {}, h("th", { text: pairs[i][0] }), h("td", { text: pairs[i][1] || "" }));
        if (pairs[i + 1]) tr.append(h("th", { text: pairs[i + 1][0] }), h("td", { text: pairs[i + 1][1] || "" }));
        else tr.append(h("td", { colspan: 2 }));
        tb.append(tr);
      }
      for (const [label, text, lines] of blocks || []) {
        tb.append(h("tr", {}, h("th", { text: label }), h("td", { colspan: 3, class: "block l" + lines, text: text || "" })));
      }
      if (steps) {
        tb.append(h("tr", {}, ["时间", "环节", "经办人", "说明"].map((x) => h("th", { class: "steps-h", text: x }))));
        for (const s of steps.length ? steps : [["", "", "", ""]]) tb.append(h("tr", {}, s.map((x) => h("td", { text: x }))));
      }
      sheet.append(tb);
    }
    sheet.append(h("div", { class: "signs" }, signers.map((s) => h("div", {}, h("p", { text: s + "：________________" }), h("p", { text: "日期：____年__月__日" })))));
    view().replaceChildren(bar, sheet);
  }

  // ---- sign-in ---------------------------------------------------------------
  function showSignIn(message) {
    state.charts.forEach((c) => c.dispose()); state.charts = [];
    $("#nav").hidden = true; $("#filters").hidden = true; $("#signout").hidden = true; $("#who").textContent = "";
    document.body.classList.add("signed-out");
    const input = h("textarea", { id: "token", rows: 4, autocomplete: "off", spellcheck: "false", "aria-label": t("signin.token") });
    const form = h("form", { class: "signin-form", onsubmit: (e) => {
      e.preventDefault();
      const tok = input.value.trim().replace(/^Bearer\s+/i, "");
      if (!tok) return;
      state.token = tok; sessionStorage.setItem(TOKEN, tok);
      location.hash = "#/overview"; start();
    } }, h("label", { for: "token", text: t("signin.token") }), input, h("button", { class: "btn primary", type: "submit", text: t("signin.button") }));
    view().replaceChildren(h("div", { class: "signin" },
      h("div", { class: "signin-hero" }, h("div", { class: "logo big", text: "柜" }), h("h2", { text: t("signin.title") }), h("p", { class: "lead", text: t("signin.lead") }),
        h("ul", { class: "features" }, ["signin.f1", "signin.f2", "signin.f3", "signin.f4", "signin.f5"].map((k) => h("li", { text: t(k) })))),
      h("div", { class: "signin-box" }, message ? h("p", { class: "error", role: "alert", text: message }) : null, form, h("p", { class: "hint", text: t("signin.hint") }))));
  }

  // ---- router ----------------------------------------------------------------
  async function render() {
    if (!state.token) return showSignIn();
    const parts = (location.hash.replace(/^#\/?/, "") || "overview").split("/");
    const name = pages[parts[0]] ? parts[0] : "overview";
    state.route = name;
    state.charts.forEach((c) => c.dispose()); state.charts = [];
    document.body.classList.remove("printing", "signed-out");
    document.querySelectorAll("#nav a").forEach((a) => a.classList.toggle("on", a.dataset.page === name ||
      (name === "branch" || name === "case") && a.dataset.page === "branches" || name === "notice" && a.dataset.page === "rectification"));
    $("#filters").hidden = ["case", "print", "notice"].includes(name);
    document.body.dataset.page = name;
    document.body.dataset.overview = "";
    const seq = ++state.seq;
    loading();
    try {
      await pages[name](seq, parts.slice(1));
    } catch (e) {
      if (seq === state.seq) failed(e);
    }
  }

  function start() {
    const me = claims(state.token);
    if (state.token && me && me.exp && me.exp * 1000 < Date.now()) return signOut(t("signin.expired"));
    if (!state.token) return showSignIn();
    $("#nav").hidden = false; $("#signout").hidden = false;
    $("#who").textContent = me ? [t("role." + me.role), me.region || me.branch || "", me.sub || ""].filter(Boolean).join(" · ") : "";
    loadFilterOptions();
    render();
  }

  // The overview's requests start as soon as this script runs, while the
  // browser is still parsing ECharts (the next script): the first page
  // draws as soon as both are there.
  takeTokenFromFragment();
  let early = null;
  if (state.token && /^(#\/?(overview)?)?$/.test(location.hash)) {
    early = overviewData();
    early.catch(() => {}); // handled where it is awaited
  }

  document.addEventListener("DOMContentLoaded", () => {
    applyWords();
    bindFilters();
    $("#lang").addEventListener("click", () => {
      state.lang = state.lang === "en" ? "zh-CN" : "en";
      localStorage.setItem(LANG, state.lang);
      applyWords();
      fillSelect($("#f-category"), CATEGORIES, (c) => t(c), state.filters.category);
      if (state.token) { start(); } else { showSignIn(); }
    });
    $("#signout").addEventListener("click", () => signOut());
    $("#menu").addEventListener("click", () => document.body.classList.toggle("nav-open"));
    $("#nav").addEventListener("click", () => document.body.classList.remove("nav-open"));
    window.addEventListener("hashchange", () => { takeTokenFromFragment(); render(); });
    start();
  });
  window.__dashboard = { state, t };
})();
