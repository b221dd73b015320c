// The company's canned responses: add, edit, remove (audited).  Agents insert them in the
// portal's composer by typing "/" (R23; issue 15).
"use strict";
(() => {
  const c = window.chatrecConsole;
  const { $, h } = c;
  let editing = null;

  function row(response) {
    const edit = h(
      "button",
      { type: "button", on: { click: () => openEdit(response) } },
      "Edit",
      h("span", { class: "visually-hidden" }, ` ${response.name}`),
    );
    const remove = h(
      "button",
      { type: "button", class: "danger", on: { click: () => removeResponse(response) } },
      "Remove",
      h("span", { class: "visually-hidden" }, ` ${response.name}`),
    );
    return h(
      "tr",
      { dataset: { responseId: response.response_id } },
      h("th", { scope: "row" }, h("code", {}, `/${response.name}`)),
      h("td", { class: "canned-text" }, response.text),
      h("td", { class: "row-actions" }, edit, remove),
    );
  }

  async function load() {
    const responses = await c.api("GET", "/api/admin/canned-responses");
    c.fill($("canned-body"), responses.map(row));
    $("canned-empty").hidden = responses.length > 0;
  }

  function result(kind, ...content) {
    const out = $("canned-result");
    out.dataset.kind = kind;
    c.fill(out, ...content);
  }

  $("canned-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = $("canned-name").value.trim();
    const text = $("canned-text").value;
    if (!name || !text.trim()) {
      result("error", "Give the response a name and a text.");
      (name ? $("canned-text") : $("canned-name")).focus();
      return;
    }
    await c.busy($("canned-create"), async () => {
      try {
        const made = await c.api("POST", "/api/admin/canned-responses", { name, text });
        result("ok", `Added /${made.name}.`);
        $("canned-name").value = "";
        $("canned-text").value = "";
        await load();
      } catch (error) {
        result("error", h("strong", {}, "Not added: "), error.message);
      }
    });
  });

  function openEdit(response) {
    editing = response;
    $("canned-edit-title").textContent = `Edit /${response.name}`;
    $("canned-edit-name").value = response.name;
    $("canned-edit-text").value = response.text;
    $("canned-edit-error").textContent = "";
    $("canned-dialog").showModal();
    $("canned-edit-text").focus();
  }

  $("canned-edit-cancel").addEventListener("click", () => $("canned-dialog").close());
  $("canned-edit-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    await c.busy($("canned-edit-save"), async () => {
      try {
        const path = `/api/admin/canned-responses/${encodeURIComponent(editing.response_id)}`;
        const saved = await c.api("PATCH", path, {
          name: $("canned-edit-name").value.trim(),
          text: $("canned-edit-text").value,
        });
        $("canned-dialog").close();
        c.announce(`Saved /${saved.name}.`);
        await load();
      } catch (error) {
        $("canned-edit-error").textContent = error.message;
      }
    });
  });

  async function removeResponse(response) {
    const sure = await c.confirmAction(
      `Remove /${response.name}?`,
      "Agents will no longer be offered it. Messages already sent keep their text.",
      "Remove",
    );
    if (!sure) return;
    try {
      await c.api("DELETE", `/api/admin/canned-responses/${encodeURIComponent(response.response_id)}`);
      c.announce(`Removed /${response.name}.`);
      await load();
    } catch (error) {
      c.showError(error);
    }
  }

  load().catch(c.showError);
})();
