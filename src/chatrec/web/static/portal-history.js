// The staff member's recent chats (R23; issue 15): the ended chats they took part in,
// read-only, from GET /api/me/history, a page at a time, and one of them as staff saw it
// (GET /api/me/history/{chat_id}).  A purged chat (R17) shows who said something when,
// never what: the server has emptied the texts.
"use strict";
(() => {
  const { $, dateTime: when, h } = chatrec;
  const dialog = $("history-dialog");
  if (!dialog) return;
  const list = $("history-list");
  const more = $("history-more");
  const chat = $("history-chat");
  const events = $("history-events");
  let next = null;

  const who = (by) => (by.role === "customer" ? "Customer" : by.role === "flow" ? "Chat flow" : by.name);

  function line(event, purged, chatId) {
    const time = h("time", { datetime: event.at }, new Date(event.at).toLocaleTimeString([], { timeStyle: "short" }));
    if (event.type === "attachment") {
      // A file sent in the chat (R23): its bytes go with the texts (R17).
      const url = `/api/chats/${encodeURIComponent(chatId)}/attachments/${encodeURIComponent(event.attachment_id)}`;
      const file = purged
        ? h("span", {}, `${event.name} (purged after delivery)`)
        : chatrec.attachmentView(event, () => Promise.resolve(url));
      return h("li", { class: "attachment-line" }, h("span", { class: "who" }, `${who(event.by)} · `), time, h("div", {}, file));
    }
    if (event.type === "message" || event.type === "note") {
      const label = event.type === "note" ? `${who(event.by)} (internal note)` : who(event.by);
      const text = event.text || (purged ? "(text purged after delivery)" : "");
      return h("li", { class: event.type }, h("span", { class: "who" }, `${label} · `), time, h("div", {}, text));
    }
    const what = { joined: "joined", left: "left", transferred: "transferred the chat", ended: "ended the chat",
      paused: "paused recording", resumed: "resumed recording", wrap_up: `chose wrap-up ${event.code || ""}` };
    return h("li", { class: "system" }, `${who(event.by)} ${what[event.type] || event.type.replace(/_/g, " ")} · `, time);
  }

  async function show(item, button) {
    for (const other of list.querySelectorAll("button")) other.setAttribute("aria-current", String(other === button));
    const past = await chatrec.api("GET", `/api/me/history/${encodeURIComponent(item.chat_id)}`);
    $("history-chat-title").textContent = `${past.chat.service} · ${when(past.chat.started_at)}` +
      (past.chat.purged ? " · texts purged" : "");
    events.replaceChildren(...past.events.map((event) => line(event, past.chat.purged, item.chat_id)));
    chat.hidden = false;
  }

  async function load(cursor) {
    const query = cursor ? `?cursor=${encodeURIComponent(cursor)}` : "";
    const page = await chatrec.api("GET", `/api/me/history${query}`);
    for (const item of page.items) {
      const button = h("button", { type: "button" }, `${item.service} · ${when(item.started_at)} · ${item.chat_id}`);
      button.addEventListener("click", () => shown(() => show(item, button)));
      list.append(h("li", {}, button));
    }
    next = page.next_cursor;
    more.hidden = !next;
    const empty = $("history-empty");
    empty.textContent = "No ended chats of yours yet.";
    empty.hidden = list.children.length > 0;
  }

  // A failure says so in the dialog: the live desk beside it is not disturbed.
  const shown = (action) => action().catch((error) => {
    const empty = $("history-empty");
    empty.textContent = `Your recent chats cannot be read right now: ${error.message}`;
    empty.hidden = false;
  });

  $("history-open").addEventListener("click", () => {
    list.replaceChildren();
    chat.hidden = true;
    dialog.showModal();
    shown(() => load(null));
  });
  more.addEventListener("click", () => shown(() => load(next)));
  $("history-close").addEventListener("click", () => dialog.close());
})();
