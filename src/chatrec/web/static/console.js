// The console's shared helpers, for the page scripts (console-*.js) as `chatrecConsole`,
// on top of what every page shares (chatrec.js).
//
// Every read and change goes through the HTTP API with the session cookie; an
// operator's company (the page's data-company-id) rides along as ?company_id=.
"use strict";
window.chatrecConsole = (() => {
  const { $, ApiError, append, fill, h, sentence } = window.chatrec;
  const companyId = document.body.dataset.companyId || "";
  const role = document.body.dataset.role || "";
  const recordId = document.body.dataset.recordId || "";

  function withCompany(path) {
    if (!companyId) return path;
    const joiner = path.includes("?") ? "&" : "?";
    return `${path}${joiner}company_id=${encodeURIComponent(companyId)}`;
  }

  /** A console page's address, keeping the operator's company. */
  const link = withCompany;

  let ownCompany = null;
  /** The company the page is about: the operator's choice, else the caller's own. */
  async function company() {
    if (companyId) return companyId;
    ownCompany ??= api("GET", "/api/me").then((me) => me.company_id);
    return ownCompany;
  }

  /** Call the API for the page's company; resolves to the JSON answer, rejects with an ApiError. */
  function api(method, path, data) {
    return window.chatrec.api(method, withCompany(path), data);
  }

  // -- the page's messages ------------------------------------------------------------

  let announceTimer = null;
  /** Say something to screen readers (and nothing visible). */
  function announce(text) {
    const region = $("console-status");
    clearTimeout(announceTimer);
    region.textContent = "";
    announceTimer = setTimeout(() => {
      region.textContent = text;
    }, 50);
  }

  function showError(error) {
    $("console-error-text").textContent =
      error instanceof Error ? error.message : sentence(String(error));
    $("console-error").hidden = false;
  }

  function clearError() {
    $("console-error").hidden = true;
    $("console-error-text").textContent = "";
  }

  /** Run `work` with `button` disabled; a failure shows in the page's error bar. */
  async function busy(button, work) {
    if (button) button.disabled = true;
    try {
      return await work();
    } finally {
      if (button) button.disabled = false;
    }
  }

  // -- building the page ---------------------------------------------------------------

  const dateFormat = new Intl.DateTimeFormat(undefined, {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });

  /** A <time> for an ISO timestamp, in the reader's zone; "—" when none. */
  function time(iso) {
    if (!iso) return "—";
    const date = new Date(iso);
    return h("time", { datetime: iso, title: iso }, dateFormat.format(date));
  }

  /** 0 -> "at once", 90000 -> "1 day 1 hour". */
  function duration(seconds) {
    if (!seconds) return "at once";
    const units = [
      ["day", 86400],
      ["hour", 3600],
      ["minute", 60],
      ["second", 1],
    ];
    const parts = [];
    let rest = seconds;
    for (const [name, size] of units) {
      const count = Math.floor(rest / size);
      if (count) parts.push(`${count} ${name}${count === 1 ? "" : "s"}`);
      rest -= count * size;
      if (parts.length === 2) break;
    }
    return parts.join(" ");
  }

  function yesNo(value, yes = "Yes", no = "No") {
    return h("span", { class: `flag ${value ? "flag-on" : "flag-off"}` }, value ? yes : no);
  }

  // -- dialogs: confirm, and a secret shown once ------------------------------------------

  function modal(title, body, buttons) {
    const dialog = h("dialog", { "aria-labelledby": "modal-title" });
    const form = h("form", { method: "dialog", class: "stack" });
    const row = h("div", { class: "dialog-buttons" });
    for (const [label, value, kind] of buttons) {
      row.append(h("button", { value, class: kind || undefined }, label));
    }
    append(form, [h("h2", { id: "modal-title" }, title), body, row]);
    dialog.append(form);
    document.body.append(dialog);
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => {
        dialog.remove();
        resolve(dialog.returnValue);
      });
      dialog.showModal();
    });
  }

  /** Ask before a change that cannot be taken back; resolves to true to go on. */
  async function confirmAction(title, text, ok, kind = "danger") {
    const answer = await modal(title, h("p", {}, text), [
      ["Cancel", "cancel"],
      [ok, "ok", kind],
    ]);
    return answer === "ok";
  }

  /** Show a generated password once, with a Copy button. */
  async function showSecret(title, text, secret) {
    const field = h("input", {
      id: "modal-secret",
      class: "mono",
      readonly: true,
      value: secret,
      "aria-describedby": "modal-secret-note",
    });
    const copy = h("button", { type: "button" }, "Copy");
    copy.addEventListener("click", async () => {
      field.select();
      try {
        await navigator.clipboard.writeText(secret);
        announce("Copied.");
      } catch (_) {
        announce("Select the text and copy it yourself.");
      }
    });
    const body = h(
      "div",
      { class: "stack" },
      h("p", { id: "modal-secret-note" }, text),
      h(
        "div",
        { class: "field" },
        h("label", { for: "modal-secret" }, "Password"),
        h("div", { class: "input-row" }, field, copy),
      ),
    );
    await modal(title, body, [["Done", "done", "primary"]]);
  }

  // -- log out ---------------------------------------------------------------------------

  const logout = $("logout");
  if (logout) {
    logout.addEventListener("click", async () => {
      try {
        await api("POST", "/api/logout");
      } catch (_) {
        // Gone already, or the server is down: either way the login page is next.
      }
      location.assign("/login");
    });
  }
  $("console-error-dismiss").addEventListener("click", clearError);

  return {
    $,
    api,
    ApiError,
    announce,
    append,
    busy,
    clearError,
    company,
    companyId,
    confirmAction,
    duration,
    fill,
    h,
    link,
    recordId,
    role,
    sentence,
    showError,
    showSecret,
    time,
    yesNo,
  };
})();
