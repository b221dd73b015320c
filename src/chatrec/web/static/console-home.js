// Console home: does the company record at all (R1), is its platform set up and
// reachable, and how many deliveries wait or are blocked (R16).
"use strict";
(() => {
  const c = window.chatrecConsole;
  const { $, h } = c;
  const PRODUCTS = {
    call_recording: "Call recording",
    webchat: "Webchat",
  };

  function showCompany(company) {
    $("company-name").textContent = company.name;
    document.title = `${company.name} · Console · chatrec`;
    if (company.records) {
      $("records-ok").textContent = company.recording_status;
      $("records-ok").hidden = false;
    } else {
      $("r1-text").textContent = company.recording_status;
      $("r1-banner").hidden = false;
    }
    c.fill(
      $("products"),
      Object.entries(PRODUCTS).map(([key, label]) => {
        const has = company.products.includes(key);
        return h(
          "li",
          { class: has ? "has" : "missing" },
          h("span", { class: "mark", "aria-hidden": "true" }, has ? "✓" : "✗"),
          `${label} `,
          h("span", { class: "hint" }, has ? "provisioned" : "not provisioned"),
        );
      }),
    );
  }

  function showPlatform(destination) {
    const line = $("platform");
    if (destination === null) {
      line.dataset.state = "missing";
      c.fill(line, "Not set up: recordings wait in the outbox until a platform is saved.");
    } else if (destination.blocked_reason) {
      line.dataset.state = "blocked";
      c.fill(
        line,
        h("strong", {}, "Blocked"),
        ` since `,
        c.time(destination.blocked_at),
        `: ${destination.blocked_reason}`,
      );
    } else {
      line.dataset.state = "ok";
      c.fill(
        line,
        "Set up: ",
        h("code", {}, `${destination.username}@${destination.host}:${destination.port}`),
        ` into `,
        h("code", {}, destination.folder),
        destination.host_key ? ", host key pinned." : ", host key not pinned yet.",
      );
    }
  }

  async function count(state) {
    const found = await c.api("GET", `/api/admin/deliveries?state=${state}&limit=500`);
    const shown = found.items.length;
    $(`count-${state}`).textContent = found.next_cursor ? `${shown}+` : String(shown);
  }

  // Operators: the servers heard from within their lease, with their connections (R20).
  async function showServers() {
    const nodes = await c.api("GET", "/api/admin/nodes");
    c.fill(
      $("servers"),
      nodes.map((node) =>
        h(
          "li",
          { class: "has" },
          h("strong", {}, `${node.host} (process ${node.pid})`),
          ` ${node.connections} connection${node.connections === 1 ? "" : "s"}, up since `,
          c.time(node.started_at),
          h("span", { class: "hint" }, " · last heard "),
          c.time(node.heartbeat_at),
        ),
      ),
    );
  }

  async function load() {
    try {
      const id = encodeURIComponent(await c.company());
      showCompany(await c.api("GET", `/api/admin/companies/${id}`));
      showPlatform(await c.api("GET", "/api/admin/destination"));
      if ($("count-pending")) await Promise.all([count("pending"), count("blocked")]);
      if ($("servers")) await showServers();
    } catch (error) {
      c.showError(error);
    }
  }

  load();
})();
