// The company's newest chats, each a link to its explanation and journal.
"use strict";
(() => {
  const c = window.chatrecConsole;
  const { $, h } = c;

  async function load() {
    try {
      const chats = await c.api("GET", "/api/admin/chats?limit=200");
      c.fill(
        $("chats-body"),
        chats.map((chat) =>
          h(
            "tr",
            {},
            h("th", { scope: "row" }, h("a", { href: c.link(`/console/chats/${encodeURIComponent(chat.chat_id)}`) }, h("code", {}, chat.chat_id))),
            h("td", {}, h("code", {}, chat.service_id)),
            h("td", {}, h("span", { class: "pill", dataset: { status: chat.status } }, chat.status)),
            h("td", {}, c.time(chat.started_at)),
            h("td", {}, c.time(chat.ended_at)),
            h("td", {}, chat.flow_id ? [h("code", {}, chat.flow_id), ` v${chat.flow_version}`] : "—"),
            h("td", {}, chat.purged ? "purged" : "kept"),
          ),
        ),
      );
      $("chats-empty").hidden = chats.length > 0;
    } catch (error) {
      c.showError(error);
    }
  }

  load();
})();
