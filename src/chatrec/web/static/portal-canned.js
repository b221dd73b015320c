// Canned responses in the composer (R23; issue 15): "/" at the start of the message opens
// a list of the company's responses and the agent's own, filtered by what follows the "/"
// (name or text).  Up and Down move, Enter or Tab inserts, Escape closes.  Inserting
// replaces the "/query" with the response, its placeholders filled as the server says
// (domain/canned.py: braces dropped from values, filled until none is left); the agent
// may still edit it before sending, and card numbers are masked when sent (R22).
// {customer_name} is the name the customer gave in the pre-chat form, where the Customer
// panel (portal-customer.js) shows one, else what the server says for an unknown one.
//
// Loaded before portal.js, so its keys are taken before the composer's Enter sends.
"use strict";
(() => {
  const { $, h } = chatrec;
  const box = $("message");
  const list = $("canned-list");
  if (!box || !list) return;
  const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
  const QUERY = /^\/([^\n]{0,60})$/;
  let offered = null; // {responses, values}, read when the list first opens
  let shown = [];
  let active = -1;

  /** What the placeholders read for the chat on screen. */
  function valuesNow() {
    const pane = $("customer-pane");
    const name = pane && !pane.hidden ? pane.dataset.customerName : "";
    return name ? { ...offered.values, customer_name: name } : offered.values;
  }

  /** The response's text with its placeholders filled (as fill_placeholders). */
  function filled(text, values) {
    const plain = Object.fromEntries(
      Object.entries(values).map(([name, value]) => [name, String(value).replace(/[{}]/g, "")]),
    );
    const known = (match, name) => (Object.hasOwn(plain, name) ? plain[name] : match);
    let result = text.replace(PLACEHOLDER, known);
    while ([...result.matchAll(PLACEHOLDER)].some((m) => Object.hasOwn(plain, m[1]))) {
      result = result.replace(PLACEHOLDER, known);
    }
    return result;
  }

  function matching(query) {
    const q = query.trim().toLowerCase();
    const all = offered ? offered.responses : [];
    const starts = all.filter((r) => r.name.toLowerCase().startsWith(q));
    const rest = all.filter(
      (r) => !starts.includes(r) && (r.name.toLowerCase().includes(q) || r.text.toLowerCase().includes(q)),
    );
    return [...starts, ...rest];
  }

  function option(response, index) {
    return h(
      "li",
      {
        id: `canned-${index}`,
        role: "option",
        "aria-selected": String(index === active),
        dataset: { name: response.name },
        on: {
          mousedown: (event) => event.preventDefault(), // keep the focus in the composer
          click: () => insert(response),
        },
      },
      h("span", { class: "canned-name" }, `/${response.name}`),
      h("span", { class: "canned-preview" }, filled(response.text, valuesNow())),
      response.scope === "personal" ? h("span", { class: "visually-hidden" }, " (yours)") : null,
    );
  }

  function draw() {
    const items = shown.map(option);
    if (!shown.length) {
      const none = offered && offered.responses.length ? "No canned response matches." : "No canned responses yet.";
      items.push(h("li", { class: "canned-none", "aria-disabled": "true" }, none));
    }
    list.replaceChildren(...items);
    if (active >= 0) {
      box.setAttribute("aria-activedescendant", `canned-${active}`);
      $(`canned-${active}`).scrollIntoView({ block: "nearest" });
    } else {
      box.removeAttribute("aria-activedescendant");
    }
  }

  let closes = 0; // how often the list was closed: Escape or leaving the composer
  function close() {
    closes += 1;
    list.hidden = true;
    shown = [];
    active = -1;
    box.setAttribute("aria-expanded", "false");
    box.removeAttribute("aria-activedescendant");
  }

  function show() {
    const query = QUERY.exec(box.value);
    if (!query || box.disabled) {
      close();
      return;
    }
    shown = matching(query[1]);
    active = shown.length ? 0 : -1;
    list.hidden = false;
    box.setAttribute("aria-expanded", "true");
    draw();
  }

  /** Show the list at once from what was read before, and read it again as it opens, so
   * a response changed meanwhile is offered as it now is. */
  async function update() {
    const opening = list.hidden;
    if (offered) show();
    if (!opening || !QUERY.test(box.value)) return;
    const closedBefore = closes;
    try {
      offered = await chatrec.api("GET", "/api/canned-responses");
    } catch {
      offered = offered || { responses: [], values: {} };
    }
    // Still wanted once it is read: not if the agent closed it meanwhile.
    if (closes === closedBefore && QUERY.test(box.value)) show();
  }

  function insert(response) {
    close();
    box.value = filled(response.text, valuesNow());
    box.setSelectionRange(box.value.length, box.value.length);
    box.focus();
    box.dispatchEvent(new Event("input", { bubbles: true })); // the typing indicator sees it
  }

  box.addEventListener("input", () => {
    update();
  });
  box.addEventListener("blur", close);
  box.addEventListener("keydown", (event) => {
    if (list.hidden || event.isComposing) return;
    const moves = { ArrowDown: 1, ArrowUp: -1 };
    let handled = true;
    if (event.key in moves && shown.length) {
      active = (active + moves[event.key] + shown.length) % shown.length;
      draw();
    } else if ((event.key === "Enter" || event.key === "Tab") && !event.shiftKey && active >= 0) {
      insert(shown[active]);
    } else if (event.key === "Escape") {
      close();
    } else {
      handled = false;
    }
    if (handled) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  });
})();
