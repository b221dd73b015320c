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

  async function load() {
    const chatId = $("audit-chat").value.trim();
    const query = chatId ? `?chat_id=${encodeURIComponent(chatId)}` : "";
    try {
      const entries = await c.api("GET", `/api/admin/audit${query}`);
      c.fill($("audit-body"), entries.map(row));
      $("audit-count").textContent = `${entries.length} line${entries.length === 1 ? "" : "s"}${chatId ? ` about chat ${chatId}` : ""}.`;
    } catch (error) {
      c.showError(error);
    }
  }

  $("audit-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  $("audit-clear").addEventListener("click", () => {
    $("audit-chat").value = "";
    load();
  });

  const wanted = new URLSearchParams(location.search).get("chat_id");
  if (wanted) $("audit-chat").value = wanted;
  load();
})();
