// The supervisors' dashboard (issue 15): GET /api/dashboard every few seconds, drawn as
// tiles and tables.  Read from the database the routing of every node shares, it shows
// the same on every node (R20).  A failed look keeps the last figures and says so.
"use strict";
(() => {
  const { $, h } = chatrec;
  const EVERY_MS = 5000;
  const STATES = { available: "Available", busy: "Busy (full)", away: "Away", offline: "Offline" };
  const REASONS = { break: "break", meal: "meal", meeting: "meeting", training: "training",
    after_chat_work: "after-chat work", other: "other" };

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    if (seconds < 60) return `${Math.floor(seconds)} s`;
    if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.floor(seconds % 60)} s`;
    return `${Math.floor(seconds / 3600)} h ${Math.floor((seconds % 3600) / 60)} min`;
  }

  function draw(now) {
    const level = now.service_level;
    $("service-level").textContent = level.share === null ? "–" : `${Math.round(level.share * 100)} %`;
    $("service-level-detail").textContent =
      `${level.answered_in_time} of ${level.counted} within ${level.target_seconds} s`;
    $("waiting-total").textContent = String(now.queues.reduce((sum, q) => sum + q.waiting, 0));
    $("agents-available").textContent = String(now.agents.filter((a) => a.state === "available").length);
    $("queues-body").replaceChildren(...now.queues.map((q) =>
      h("tr", { dataset: { queue: q.name } }, h("th", { scope: "row" }, q.name), h("td", {}, String(q.waiting)),
        h("td", {}, duration(q.longest_wait_seconds)))));
    $("agents-body").replaceChildren(...now.agents.map((a) => {
      const state = STATES[a.state] + (a.away_reason ? ` (${REASONS[a.away_reason] || a.away_reason})` : "");
      return h("tr", { dataset: { agent: a.name, state: a.state } }, h("th", { scope: "row" }, a.name),
        h("td", {}, state), h("td", {}, duration(a.state_seconds)), h("td", {}, `${a.open_chats} of ${a.capacity}`));
    }));
    $("services-body").replaceChildren(...now.services.map((s) =>
      h("tr", { dataset: { service: s.name } }, h("th", { scope: "row" }, s.name), h("td", {}, String(s.open_chats)))));
    $("dashboard-updated").textContent = `Updated ${new Date(now.at).toLocaleTimeString()}.`;
  }

  async function look() {
    try {
      draw(await chatrec.api("GET", "/api/dashboard"));
    } catch (error) {
      $("dashboard-updated").textContent = `Not updated: ${error.message} Trying again.`;
    }
    setTimeout(look, EVERY_MS);
  }
  look();
})();
