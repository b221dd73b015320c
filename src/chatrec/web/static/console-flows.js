// The company's chat flows, newest version of each, each a link to its editor.
"use strict";
(() => {
  const c = window.chatrecConsole;
  const { $, h } = c;

  async function load() {
    try {
      const flows = await c.api("GET", "/api/admin/flows");
      c.fill(
        $("flows-body"),
        flows.map((flow) =>
          h(
            "tr",
            {},
            h("th", { scope: "row" }, h("a", { href: c.link(`/console/flows/${encodeURIComponent(flow.flow_id)}`) }, flow.name)),
            h("td", {}, h("code", {}, flow.flow_id)),
            h("td", { class: "num" }, String(flow.version)),
            h("td", {}, c.time(flow.created_at)),
          ),
        ),
      );
      $("flows-empty").hidden = flows.length > 0;
    } catch (error) {
      c.showError(error);
    }
  }

  load();
})();
