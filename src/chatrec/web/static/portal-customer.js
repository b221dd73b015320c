// The customer panel beside the chat (R23; issue 15): what the customer told the
// service's pre-chat form, the page the chat started on, and their earlier ended chats
// with this company under the same e-mail, as far as retention keeps them (R17), from
// GET /api/chats/{chat_id}/customer.  Read once per chat shown: the details never change
// after the chat starts.  portal.js says which chat is on screen (chatrec:selected); the
// name given is what a canned response's {customer_name} reads (portal-canned.js).
"use strict";
(() => {
  const { $, dateTime: when, h } = chatrec;
  const pane = $("customer-pane");
  if (!pane) return;
  const details = $("customer-details");
  const earlier = $("customer-earlier");
  const none = $("customer-none");
  const earlierNone = $("customer-earlier-none");
  const read = new Map(); // chat id -> its answer, kept while the portal is open
  let shown = null;


  function fill(customer) {
    pane.dataset.customerName = customer.name;
    const pairs = [
      ["Name", customer.name],
      ["E-mail", customer.email],
      ...customer.answers.map((answer) => [answer.label, answer.value]),
    ].filter(([, value]) => value);
    const page = customer.page
      ? [h("dt", {}, "Started on"), h("dd", {}, h("a", { href: customer.page, target: "_blank", rel: "noopener noreferrer" }, customer.page))]
      : [];
    details.replaceChildren(...pairs.flatMap(([label, value]) => [h("dt", {}, label), h("dd", {}, value)]), ...page);
    none.textContent = "The customer gave no details before the chat.";
    none.hidden = details.children.length > 0;
    earlier.replaceChildren(
      ...customer.earlier_chats.map((chat) =>
        h(
          "li",
          { dataset: { chatId: chat.chat_id } },
          h("strong", {}, chat.service),
          ` · ${when(chat.started_at)}`,
          h("div", { class: "hint" }, chat.agent ? `with ${chat.agent}` : "no agent", ` · ${chat.chat_id}`),
        ),
      ),
    );
    earlierNone.textContent = customer.email
      ? "None kept under this e-mail."
      : "Without an e-mail, earlier chats cannot be found.";
    earlierNone.hidden = customer.earlier_chats.length > 0;
  }

  async function show(chatId) {
    shown = chatId;
    pane.hidden = !chatId;
    pane.dataset.customerName = "";
    if (!chatId) return;
    try {
      if (!read.has(chatId)) read.set(chatId, await chatrec.api("GET", `/api/chats/${encodeURIComponent(chatId)}/customer`));
      if (shown === chatId) fill(read.get(chatId)); // not a chat left meanwhile
    } catch (error) {
      if (shown !== chatId) return;
      details.replaceChildren();
      earlier.replaceChildren();
      none.hidden = false;
      none.textContent = `The customer's details cannot be read right now: ${error.message}`;
    }
  }

  window.addEventListener("chatrec:selected", (event) => show(event.detail.chatId));
})();
