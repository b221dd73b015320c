// The audit trail: who changed what, before → after, when; filtered by chat, exported.
"use strict";
(() => {
  const c = window.chatrecConsole;
  const { $, h } = c;

  function text(value) {
    if (value === null || value === undefined) return "—";
    if (typeof value === "string") return value;
    return JSON.stringify(value);
  }

  function changes(detail) {
    const before = detail.before || {};
    const after = detail.after || {};
    const items = [];
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    for (const key of keys) {
      const had = key in before;
      const has = key in after;
      items.push(
        h(
          "li",
          {},
          h("span", { class: "key" }, key),
          ": ",
          had ? h("span", { class: "before" }, text(before[key])) : null,
          had && has ? " → " : null,
          has ? h("span", { class: "after" }, text(after[key])) : null,
        ),
      );
    }
    for (const [key, value] of Object.entries(detail)) {
      if (["target", "before", "after"].includes(key)) continue;
      items.push(
        h(
          "li",
          {},
          h("span", { class: "key" }, key),
          ": ",
          Array.isArray(value) ? h("ul", {}, value.map((v) => h("li", {}, text(v)))) : text(value),
        ),
      );
    }
    return items.length ? h("ul", { class: "changes" }, items) : "—";
  }

  function row(entry) {
    const target = entry.detail.target;
    return h(
      "tr",
      {},
      h("td", { class: "nowrap" }, c.time(entry.at)),
      h("td", {}, entry.actor),
      h("th", { scope: "row" }, h("code", {}, entry.action)),
      h(
        "td",
        {},
        target ? h("code", {}, target) : null,
        entry.chat_id
          ? h("div", {}, "chat ", h("a", { href: c.link(`/console/chats/${encodeURIComponent(entry.chat_id)}`) }, h("code", {}, entry.chat_id)))
          : null,
      ),
      h("td", {}, changes(entry.detail)),
    );
  }

  let next = null;
  let shown = 0;

  async function load(more) {
    const chatId = $("audit-chat").value.trim();
    const params = new URLSearchParams({ limit: "200" });
    if (chatId) params.set("chat_id", chatId);
    if (more && next) params.set("cursor", next);
    try {
      const page = await c.api("GET", `/api/admin/audit-entries?${params}`);
      const rows = page.items.map(row);
      if (more) $("audit-body").append(...rows);
      else c.fill($("audit-body"), rows);
      shown = (more ? shown : 0) + page.items.length;
      next = page.next_cursor;
      $("audit-more").hidden = !next;
      const about = chatId ? ` about chat ${chatId}` : "";
      $("audit-count").textContent = `${shown}${next ? " newest" : ""} line${shown === 1 ? "" : "s"}${about}.`;
    } catch (error) {
      c.showError(error);
    }
  }

  $("audit-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    load(false);
  });
  $("audit-clear").addEventListener("click", () => {
    $("audit-chat").value = "";
    load(false);
  });
  $("audit-more").addEventListener("click", (event) => c.busy(event.currentTarget, () => load(true)));

  const wanted = new URLSearchParams(location.search).get("chat_id");
  if (wanted) $("audit-chat").value = wanted;
  load(false);
})();
