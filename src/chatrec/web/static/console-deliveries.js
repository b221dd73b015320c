// Deliveries (R16): one row per recording, newest first, its files folded inside; retry
// the waiting or blocked ones.  Pages of the list come one after another ("Show more").
"use strict";
(() => {
  const c = window.chatrecConsole;
  const { $, h } = c;
  const RETRYABLE = new Set(["pending", "blocked"]);
  const selected = new Set();
  let next = null;

  function pill(state) {
    return h("span", { class: "pill", dataset: { state } }, state);
  }

  function files(delivery) {
    const count = delivery.files.length;
    return h(
      "details",
      { class: "files" },
      h("summary", {}, `${count} file${count === 1 ? "" : "s"}`),
      h(
        "ul",
        {},
        delivery.files.map((file) =>
          h(
            "li",
            { dataset: { deliveryId: String(file.delivery_id) } },
            h("code", { class: "path" }, file.remote_path),
            ` ${file.kind}, ${file.size} bytes, `,
            pill(file.state),
            file.attempts ? ` ${file.attempts} attempt${file.attempts === 1 ? "" : "s"}` : "",
            file.last_error ? h("div", { class: "error-text" }, file.last_error) : null,
          ),
        ),
      ),
    );
  }

  function row(delivery) {
    const id = delivery.recording_id;
    const box = RETRYABLE.has(delivery.state)
      ? h("input", {
          type: "checkbox",
          "aria-label": `Select recording ${id}`,
          checked: selected.has(id),
          on: {
            change: (event) => {
              if (event.target.checked) selected.add(id);
              else selected.delete(id);
              $("retry-selected").disabled = selected.size === 0;
            },
          },
        })
      : null;
    const delivered = delivery.state === "delivered";
    return h(
      "tr",
      { dataset: { recordingId: id } },
      h("td", { class: "select" }, box),
      h(
        "th",
        { scope: "row" },
        h("code", {}, id),
        h(
          "div",
          { class: "hint" },
          "chat ",
          h("a", { href: c.link(`/console/chats/${encodeURIComponent(delivery.chat_id)}`) }, delivery.chat_id),
        ),
        files(delivery),
      ),
      h("td", {}, pill(delivery.state)),
      h("td", { class: "num" }, String(delivery.attempts)),
      h("td", { dataset: { column: "next-attempt" } }, delivered ? "—" : c.time(delivery.next_attempt_at)),
      h("td", { dataset: { column: "delivered-at" } }, delivered ? c.time(delivery.delivered_at) : "—"),
      h("td", { class: "error-text" }, delivery.last_error || "—"),
      h("td", {}, c.time(delivery.created_at)),
    );
  }

  function query(cursor) {
    const params = new URLSearchParams({ limit: "100" });
    const state = $("delivery-state").value;
    if (state) params.set("state", state);
    if (cursor) params.set("cursor", cursor);
    return `/api/admin/deliveries?${params}`;
  }

  async function load(more) {
    try {
      const page = await c.api("GET", query(more ? next : null));
      const rows = page.items.map(row);
      if (more) {
        $("deliveries-body").append(...rows);
      } else {
        selected.clear();
        $("retry-selected").disabled = true;
        c.fill($("deliveries-body"), rows);
      }
      next = page.next_cursor;
      $("deliveries-more").hidden = !next;
      $("deliveries-empty").hidden = $("deliveries-body").children.length > 0;
    } catch (error) {
      c.showError(error);
    }
  }

  async function retry(button, body) {
    await c.busy(button, async () => {
      try {
        const done = await c.api("POST", "/api/admin/deliveries/retry", body);
        $("retry-result").textContent = `${done.retried} file${done.retried === 1 ? " goes" : "s go"} again now.`;
        await load(false);
      } catch (error) {
        c.showError(error);
      }
    });
  }

  $("delivery-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    load(false);
  });
  $("deliveries-more").addEventListener("click", (event) => c.busy(event.currentTarget, () => load(true)));
  $("retry-selected").addEventListener("click", (event) =>
    retry(event.currentTarget, { recording_ids: [...selected] }),
  );
  $("retry-all").addEventListener("click", (event) => retry(event.currentTarget, { all: true }));

  const wanted = new URLSearchParams(location.search).get("state");
  if (wanted) $("delivery-state").value = wanted;
  load(false);
})();
