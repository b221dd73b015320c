// Companies (operators only): the list with what each records (R1), provisioning of
// products, a new company, and the way into each company's console.
"use strict";
(() => {
  const c = window.chatrecConsole;
  const { $, h } = c;
  const PRODUCTS = [
    ["call_recording", "Call recording"],
    ["webchat", "Webchat"],
  ];

  function row(company) {
    const boxes = PRODUCTS.map(([key, label]) => {
      const id = `products-${company.company_id}-${key}`;
      return h(
        "span",
        { class: "check inline" },
        h("input", { type: "checkbox", id, value: key, checked: company.products.includes(key) }),
        h("label", { for: id }, label, h("span", { class: "visually-hidden" }, ` for ${company.name}`)),
      );
    });
    const save = h("button", { type: "button" }, "Save products", h("span", { class: "visually-hidden" }, ` of ${company.name}`));
    const cell = h("td", { class: "products" }, boxes, save);
    save.addEventListener("click", () =>
      c.busy(save, async () => {
        const products = [...cell.querySelectorAll("input:checked")].map((box) => box.value);
        try {
          const updated = await c.api("PUT", `/api/admin/companies/${encodeURIComponent(company.company_id)}/products`, { products });
          c.announce(`${updated.name}: ${updated.recording_status}`);
          await load();
        } catch (error) {
          c.showError(error);
        }
      }),
    );
    return h(
      "tr",
      { dataset: { companyId: company.company_id } },
      h("th", { scope: "row" }, company.name, h("div", { class: "hint" }, h("code", {}, company.company_id))),
      h(
        "td",
        {},
        h("span", { class: `flag ${company.records ? "flag-on" : "flag-off"}` }, company.records ? "Records" : "Records nothing"),
        company.records ? null : h("div", { class: "hint" }, company.recording_status),
      ),
      cell,
      h(
        "td",
        { class: "row-actions" },
        h("a", { class: "button", href: `/console?company_id=${encodeURIComponent(company.company_id)}` }, "Open console", h("span", { class: "visually-hidden" }, ` of ${company.name}`)),
      ),
    );
  }

  async function load() {
    try {
      const companies = await c.api("GET", "/api/admin/companies");
      c.fill($("companies-body"), companies.map(row));
      $("companies-empty").hidden = companies.length > 0;
    } catch (error) {
      c.showError(error);
    }
  }

  $("company-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const result = $("company-result");
    const products = [...document.querySelectorAll("input[name=new-products]:checked")].map((b) => b.value);
    await c.busy($("company-create"), async () => {
      try {
        const company = await c.api("POST", "/api/admin/companies", {
          company_id: $("company-id").value.trim(),
          name: $("company-name").value.trim(),
          products,
        });
        result.dataset.kind = "ok";
        result.textContent = `Created ${company.name}. ${company.recording_status}`;
        $("company-id").value = "";
        $("company-name").value = "";
        await load();
      } catch (error) {
        result.dataset.kind = "error";
        result.textContent = error.message;
      }
    });
  });

  load();
})();
