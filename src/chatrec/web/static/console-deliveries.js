// Deliveries (R16): the outbox by state, newest first; retry the waiting or blocked ones.
"use strict";
(() => {
  const c = window.chatrecConsole;
  const { $, h } = c;
  const RETRYABLE = new Set(["pending", "blocked"]);
  const selected = new Set();

  function row(delivery) {
    const retryable = RETRYABLE.has(delivery.state);
    const box = retryable
      ? h("input", {
          type: "checkbox",
          "aria-label": `Select delivery ${delivery.delivery_id}`,
          checked: selected.has(delivery.delivery_id),
          on: {
            change: (event) => {
              if (event.target.checked) selected.add(delivery.delivery_id);
              else selected.delete(delivery.delivery_id);
              $("retry-selected").disabled = selected.size === 0;
            },
          },
        })
      : null;
    return h(
      "tr",
      { dataset: { deliveryId: String(delivery.delivery_id) } },
      h("td", { class: "select" }, box),
      h(
        "th",
        { scope: "row" },
        h("code", { class: "path" }, delivery.remote_path),
        h(
          "div",
          { class: "hint" },
          `${delivery.kind}, ${delivery.size} bytes, chat `,
          h("a", { href: c.link(`/console/chats/${encodeURIComponent(delivery.chat_id)}`) }, delivery.chat_id),
        ),
      ),
      h("td", {}, h("span", { class: "pill", dataset: { state: delivery.state } }, delivery.state)),
      h("td", { class: "num" }, String(delivery.attempts)),
      h("td", {}, delivery.state === "delivered" ? c.time(delivery.delivered_at) : c.time(delivery.next_attempt_at)),
      h("td", { class: "error-text" }, delivery.last_error || "—"),
      h("td", {}, c.time(delivery.created_at)),
    );
  }

  async function load() {
    const state = $("delivery-state").value;
    try {
      const found = await c.api("GET", `/api/deliveries?limit=500${state ? `&state=${state}` : ""}`);
      selected.clear();
      $("retry-selected").disabled = true;
      c.fill($("deliveries-body"), found.map(row));
      $("deliveries-empty").hidden = found.length > 0;
    } catch (error) {
      c.showError(error);
    }
  }

  async function retry(button, body) {
    await c.busy(button, async () => {
      try {
        const done = await c.api("POST", "/api/deliveries/retry", body);
        $("retry-result").textContent = `${done.retried} deliver${done.retried === 1 ? "y goes" : "ies go"} again now.`;
        await load();
      } catch (error) {
        c.showError(error);
      }
    });
  }

  $("delivery-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  $("retry-selected").addEventListener("click", (event) => retry(event.currentTarget, { ids: [...selected] }));
  $("retry-all").addEventListener("click", (event) => retry(event.currentTarget, { all: true }));

  const wanted = new URLSearchParams(location.search).get("state");
  if (wanted) $("delivery-state").value = wanted;
  load();
})();
