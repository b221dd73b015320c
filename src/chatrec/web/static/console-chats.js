// The company's newest chats, each a link to its explanation and journal; pages of the
// list come one after another ("Show more").
"use strict";
(() => {
  const c = window.chatrecConsole;
  const { $, h } = c;
  let next = null;

  function row(chat) {
    return h(
      "tr",
      {},
      h("th", { scope: "row" }, h("a", { href: c.link(`/console/chats/${encodeURIComponent(chat.chat_id)}`) }, h("code", {}, chat.chat_id))),
      h("td", {}, h("code", {}, chat.service_id)),
      h("td", {}, h("span", { class: "pill", dataset: { status: chat.status } }, chat.status)),
      h("td", {}, c.time(chat.started_at)),
      h("td", {}, c.time(chat.ended_at)),
      h("td", {}, chat.flow_id ? [h("code", {}, chat.flow_id), ` v${chat.flow_version}`] : "—"),
      h("td", {}, chat.purged ? "purged" : "kept"),
    );
  }

  async function load(more) {
    try {
      const params = new URLSearchParams({ limit: "100" });
      if (more && next) params.set("cursor", next);
      const page = await c.api("GET", `/api/chats/history?${params}`);
      const rows = page.items.map(row);
      if (more) $("chats-body").append(...rows);
      else c.fill($("chats-body"), rows);
      next = page.next_cursor;
      $("chats-more").hidden = !next;
      $("chats-empty").hidden = $("chats-body").children.length > 0;
    } catch (error) {
      c.showError(error);
    }
  }

  $("chats-more").addEventListener("click", (event) => c.busy(event.currentTarget, () => load(true)));
  load(false);
})();
