// Queues (create, rename; a queue has no recording settings, so none is offered, R3) and
// services (create, choose the flow).
"use strict";
(() => {
  const c = window.chatrecConsole;
  const { $, h } = c;
  let flows = [];
  let renaming = null;

  // -- queues ------------------------------------------------------------------------------

  function queueRow(queue) {
    return h(
      "tr",
      { dataset: { queueId: queue.queue_id } },
      h("th", { scope: "row" }, queue.name),
      h("td", {}, h("code", {}, queue.queue_id)),
      h(
        "td",
        { class: "row-actions" },
        h(
          "button",
          { type: "button", on: { click: () => openRename(queue) } },
          "Rename",
          h("span", { class: "visually-hidden" }, ` ${queue.name}`),
        ),
      ),
    );
  }

  async function loadQueues() {
    const queues = await c.api("GET", "/api/admin/queues");
    c.fill($("queues-body"), queues.map(queueRow));
    $("queues-empty").hidden = queues.length > 0;
  }

  function result(element, kind, ...content) {
    element.dataset.kind = kind;
    c.fill(element, ...content);
  }

  $("queue-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const out = $("queue-result");
    const name = $("queue-name").value.trim();
    if (!name) {
      result(out, "error", "Give the queue a name.");
      $("queue-name").focus();
      return;
    }
    await c.busy($("queue-create"), async () => {
      try {
        const queue = await c.api("POST", "/api/admin/queues", { name });
        result(out, "ok", `Created queue ${queue.name}.`);
        $("queue-name").value = "";
        await loadQueues();
      } catch (error) {
        result(out, "error", h("strong", {}, "Not created: "), error.message);
      }
    });
  });

  function openRename(queue) {
    renaming = queue;
    $("rename-title").textContent = `Rename the queue ${queue.name}`;
    $("rename-name").value = queue.name;
    $("rename-error").textContent = "";
    $("rename-dialog").showModal();
    $("rename-name").select();
  }

  $("rename-cancel").addEventListener("click", () => $("rename-dialog").close());
  $("rename-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    await c.busy($("rename-save"), async () => {
      try {
        const queue = await c.api("PATCH", `/api/admin/queues/${encodeURIComponent(renaming.queue_id)}`, {
          name: $("rename-name").value.trim(),
        });
        $("rename-dialog").close();
        c.announce(`Renamed to ${queue.name}.`);
        await loadQueues();
      } catch (error) {
        $("rename-error").textContent = error.message;
      }
    });
  });

  // -- services ----------------------------------------------------------------------------

  function flowOptions(chosen) {
    return [
      h("option", { value: "", selected: !chosen }, "No flow (queued for an agent at once)"),
      flows.map((flow) =>
        h("option", { value: flow.flow_id, selected: flow.flow_id === chosen }, `${flow.name} (v${flow.version})`),
      ),
    ];
  }

  /** The API's widget tag, its script fetched from this server wherever it is put. */
  function snippet(service) {
    return service.widget.replace('src="/', `src="${location.origin}/`);
  }

  function serviceRow(service) {
    const id = `flow-of-${service.service_id}`;
    const select = h("select", { id }, flowOptions(service.flow_id));
    const save = h("button", { type: "button" }, "Save flow", h("span", { class: "visually-hidden" }, ` of ${service.name}`));
    save.addEventListener("click", () =>
      c.busy(save, async () => {
        try {
          const updated = await c.api("PATCH", `/api/admin/services/${encodeURIComponent(service.service_id)}`, {
            flow_id: select.value || null,
          });
          c.announce(`${updated.name} now runs ${updated.flow_id || "no flow"}.`);
        } catch (error) {
          c.showError(error);
        }
      }),
    );
    const hours = h("button", { type: "button" }, "Hours…", h("span", { class: "visually-hidden" }, ` of ${service.name}`));
    hours.addEventListener("click", () => editHours(service));
    const form = h("button", { type: "button" }, "Pre-chat form…", h("span", { class: "visually-hidden" }, ` of ${service.name}`));
    form.addEventListener("click", () => editForm(service));
    const open = service.hours ? `Open: ${service.hours.split("\n").join("; ")} (${service.timezone})` : "Always open";
    const asks = service.pre_chat_form.length
      ? `Asks: ${service.pre_chat_form.map((f) => f.label + (f.required ? " (required)" : "")).join(", ")}`
      : "No pre-chat form";
    return h(
      "tr",
      { dataset: { serviceId: service.service_id } },
      h("th", { scope: "row" }, service.name, h("div", { class: "hint" }, h("code", {}, service.service_id)),
        h("div", { class: "hint service-hours" }, open), h("div", { class: "hint service-form" }, asks)),
      h("td", {}, h("label", { for: id, class: "visually-hidden" }, `Chat flow of ${service.name}`), select),
      h("td", {}, h("code", { class: "snippet" }, snippet(service))),
      h("td", { class: "row-actions" }, save, hours, form),
    );
  }

  // A service's business hours (issue 15): checked by the server, which says what to fix.
  let hoursOf = null;
  function editHours(service) {
    hoursOf = service;
    $("hours-text").value = service.hours;
    $("hours-zone").value = service.timezone;
    $("hours-message").value = service.closed_message;
    $("hours-error").textContent = "";
    $("hours-dialog").showModal();
  }
  $("hours-cancel").addEventListener("click", () => $("hours-dialog").close());
  $("hours-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    await c.busy($("hours-save"), async () => {
      try {
        const updated = await c.api("PATCH", `/api/admin/services/${encodeURIComponent(hoursOf.service_id)}`, {
          hours: $("hours-text").value,
          timezone: $("hours-zone").value.trim() || "UTC",
          closed_message: $("hours-message").value,
        });
        $("hours-dialog").close();
        c.announce(`Business hours of ${updated.name} saved.`);
        await loadServices();
      } catch (error) {
        $("hours-error").textContent = error.message;
      }
    });
  });

  // A service's pre-chat form (R23; issue 15): a row per field; the server checks the
  // whole form and names the field to fix.
  let formOf = null;
  const TYPES = [["text", "Text"], ["email", "E-mail"], ["select", "Choice"]];
  function fieldRow(field) {
    const n = $("form-fields").children.length + 1;
    const cell = (label, control) => h("td", {}, h("label", { class: "visually-hidden", for: control.id }, `${label} of field ${n}`), control);
    const key = h("input", { id: `form-key-${n}`, class: "form-key mono", value: field.key, maxlength: "32", spellcheck: "false", autocomplete: "off" });
    const label = h("input", { id: `form-label-${n}`, class: "form-label", value: field.label, maxlength: "100" });
    const type = h("select", { id: `form-type-${n}`, class: "form-type" },
      TYPES.map(([value, text]) => h("option", { value, selected: value === field.type }, text)));
    const required = h("input", { id: `form-required-${n}`, class: "form-required", type: "checkbox", checked: field.required });
    const options = h("input", { id: `form-options-${n}`, class: "form-options", value: field.options.join(", "), placeholder: "for a choice: A, B, C" });
    const remove = h("button", { type: "button", class: "quiet" }, "Remove", h("span", { class: "visually-hidden" }, ` field ${n}`));
    const row = h("tr", {}, cell("Key", key), cell("Label", label), cell("Type", type), cell("Required", required), cell("Choices", options), h("td", {}, remove));
    remove.addEventListener("click", () => row.remove());
    $("form-fields").append(row);
  }
  function editForm(service) {
    formOf = service;
    $("form-fields").replaceChildren();
    for (const field of service.pre_chat_form) fieldRow(field);
    $("form-error").textContent = "";
    $("form-dialog").showModal();
  }
  $("form-add").addEventListener("click", () => fieldRow({ key: "", label: "", type: "text", required: false, options: [] }));
  $("form-cancel").addEventListener("click", () => $("form-dialog").close());
  $("form-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const fields = [...$("form-fields").children].map((row) => {
      const type = row.querySelector(".form-type").value;
      const options = row.querySelector(".form-options").value.split(",").map((o) => o.trim()).filter(Boolean);
      return {
        key: row.querySelector(".form-key").value.trim(),
        label: row.querySelector(".form-label").value,
        type,
        required: row.querySelector(".form-required").checked,
        options: type === "select" ? options : [],
      };
    });
    await c.busy($("form-save"), async () => {
      try {
        const updated = await c.api("PATCH", `/api/admin/services/${encodeURIComponent(formOf.service_id)}`, {
          pre_chat_form: fields,
        });
        $("form-dialog").close();
        c.announce(`Pre-chat form of ${updated.name} saved.`);
        await loadServices();
      } catch (error) {
        $("form-error").textContent = error.message;
      }
    });
  });

  async function loadServices() {
    const [services, found] = await Promise.all([
      c.api("GET", "/api/admin/services"),
      c.api("GET", "/api/admin/flows"),
    ]);
    flows = found;
    c.fill($("services-body"), services.map(serviceRow));
    $("services-empty").hidden = services.length > 0;
    c.fill($("service-flow"), flowOptions(null));
  }

  $("service-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const out = $("service-result");
    const name = $("service-name").value.trim();
    if (!name) {
      result(out, "error", "Give the service a name.");
      $("service-name").focus();
      return;
    }
    await c.busy($("service-create"), async () => {
      try {
        const service = await c.api("POST", "/api/admin/services", {
          name,
          flow_id: $("service-flow").value || null,
        });
        result(out, "ok", `Created service ${service.name}.`);
        $("service-name").value = "";
        await loadServices();
      } catch (error) {
        result(out, "error", error.message);
      }
    });
  });

  Promise.all([loadQueues(), loadServices()]).catch(c.showError);
})();
