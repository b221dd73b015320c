// The supervisors' report over a period (issue 15): GET /api/report for the figures,
// drawn as a bar chart (SVG built here: no library, the CSP allows our own files only)
// and tables; GET /api/report/export for the chats as CSV.
"use strict";
(() => {
  const { $, h } = chatrec;
  const SVG = "http://www.w3.org/2000/svg";
  const from = $("report-from");
  const to = $("report-to");
  if (!from || !to) return;

  const day = (d) => d.toISOString().slice(0, 10);
  const today = new Date();
  to.value = day(today);
  from.value = day(new Date(today.getTime() - 6 * 86400000));

  const seconds = (v) => (v === null ? "–" : `${v} s`);

  function svg(tag, attrs, text) {
    const el = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function chart(perDay) {
    const chartEl = $("report-chart");
    const width = Math.max(320, perDay.length * 28);
    const height = 160;
    const most = Math.max(1, ...perDay.map((d) => d.chats));
    chartEl.setAttribute("viewBox", `0 0 ${width} ${height + 30}`);
    chartEl.setAttribute("width", String(width));
    const bars = perDay.map((d, n) => {
      const barHeight = Math.round((d.chats / most) * height);
      const group = svg("g", {});
      group.append(
        svg("rect", { x: n * 28 + 4, y: height - barHeight, width: 20, height: barHeight, class: "bar" }),
        svg("title", {}, `${d.day}: ${d.chats} chats`),
        svg("text", { x: n * 28 + 14, y: height + 14, "text-anchor": "middle", class: "axis" }, d.day.slice(8)),
      );
      return group;
    });
    chartEl.replaceChildren(...bars);
  }

  function draw(report) {
    const c = report.chats;
    const n = (count, one, many) => `${count} ${count === 1 ? one : many}`;
    $("report-totals").textContent =
      `${n(c.started, "chat", "chats")} started, ${c.ended} ended; ` +
      `${n(report.transfers.count, "transfer", "transfers")} in ` +
      `${n(report.transfers.chats_transferred, "chat", "chats")}.`;
    chart(c.per_day);
    const row = (label, t) => h("tr", {}, h("th", { scope: "row" }, label), h("td", {}, String(t.count)),
      h("td", {}, seconds(t.mean)), h("td", {}, seconds(t.median)), h("td", {}, seconds(t.p90)));
    $("report-times").replaceChildren(
      row("First response", report.first_response_seconds), row("Handle time", report.handle_seconds));
    // An empty table reads as a page that failed: say that there is nothing to count.
    const none = (columns, text) => [h("tr", {}, h("td", { colspan: columns }, text))];
    const codes = Object.entries(report.wrap_up_codes);
    $("report-wrap-ups").replaceChildren(...(codes.length ? codes.map(([code, n]) =>
      h("tr", {}, h("th", { scope: "row" }, code), h("td", {}, String(n))))
      : none(2, "No wrap-up code was chosen in chats of the period.")));
    $("report-recordings").replaceChildren(...(report.recordings.length ? report.recordings.map((r) =>
      h("tr", {}, h("td", {}, r.outcome), h("td", {}, r.rule), h("td", {}, String(r.count))))
      : none(3, "No recording was decided for the chats of the period.")));
    $("report-body").hidden = false;
  }

  async function show() {
    const query = `from=${encodeURIComponent(from.value)}&to=${encodeURIComponent(to.value)}`;
    $("report-csv").href = `/api/report/export?${query}`;
    const error = $("report-error");
    try {
      draw(await chatrec.api("GET", `/api/report?${query}`));
      error.hidden = true;
    } catch (problem) {
      error.textContent = problem.message;
      error.hidden = false;
    }
  }

  $("report-form").addEventListener("submit", (event) => {
    event.preventDefault();
    show();
  });
  show();
})();
