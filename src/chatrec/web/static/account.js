// The account page: change one's password, set up or turn off TOTP, keep one's own canned
// responses (R23), log out everywhere.
// Changes go to /api/me/... with the session cookie and the CSRF token (double submit).
"use strict";
(() => {
  const { $, h } = chatrec;
  const error = $("account-error");
  const status = $("account-status");

  function call(method, path, data) {
    error.textContent = "";
    return chatrec.api(method, path, data);
  }

  function handle(form, work) {
    if (!form) return;
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const button = form.querySelector("button[type=submit]");
      button.disabled = true;
      try {
        await work();
      } catch (failure) {
        error.textContent = failure.message;
      } finally {
        button.disabled = false;
      }
    });
  }

  handle($("password-form"), async () => {
    const current = $("current-password").value;
    const fresh = $("new-password").value;
    if (!current) throw new Error("Enter your current password.");
    if (fresh.length < 10) throw new Error("Choose a new password of at least 10 characters.");
    if (fresh !== $("repeat-password").value) throw new Error("The two new passwords differ: type them again.");
    const changed = await call("PUT", "/api/me/password", { current_password: current, new_password: fresh });
    if (changed.pending) location.reload();
    else location.assign("/portal");
  });

  const begin = $("totp-begin");
  if (begin) {
    begin.addEventListener("click", async () => {
      begin.disabled = true;
      try {
        const enrolment = await call("POST", "/api/me/totp");
        $("totp-secret").textContent = enrolment.secret;
        $("totp-uri").href = enrolment.uri;
        $("totp-setup").hidden = false;
        begin.hidden = true;
        $("totp-code").focus();
      } catch (failure) {
        error.textContent = failure.message;
        begin.disabled = false;
      }
    });
  }

  handle($("totp-confirm-form"), async () => {
    const code = $("totp-code").value.trim();
    if (!code) throw new Error("Enter the code your app shows.");
    const done = await call("POST", "/api/me/totp/confirm", { code });
    $("totp-setup").hidden = true;
    const list = $("recovery-codes");
    list.replaceChildren(...done.recovery_codes.map((text) => h("li", {}, h("code", {}, text))));
    $("recovery").hidden = false;
    const note = $("pending-note");
    if (note) note.hidden = true;
    status.textContent = "Two-factor sign-in is on.";
  });

  handle($("totp-disable-form"), async () => {
    await call("POST", "/api/me/totp/disable", { password: $("disable-password").value });
    location.reload();
  });

  // One's own canned responses: "Edit" loads one into the form, which then saves it.
  let editing = null;
  async function loadOwn() {
    const offered = await call("GET", "/api/canned-responses");
    const own = offered.responses.filter((response) => response.scope === "personal");
    $("canned-own").replaceChildren(
      ...own.map((response) =>
        h(
          "li",
          { dataset: { name: response.name } },
          h("code", {}, `/${response.name}`),
          " ",
          response.text,
          " ",
          h("button", { type: "button", on: { click: () => edit(response) } }, "Edit",
            h("span", { class: "visually-hidden" }, ` ${response.name}`)),
          " ",
          h("button", { type: "button", on: { click: () => removeOwn(response) } }, "Remove",
            h("span", { class: "visually-hidden" }, ` ${response.name}`)),
        ),
      ),
    );
    $("canned-own-empty").hidden = own.length > 0;
  }

  function edit(response) {
    editing = response;
    $("canned-own-name").value = response.name;
    $("canned-own-text").value = response.text;
    $("canned-own-save").textContent = `Save /${response.name}`;
    $("canned-own-text").focus();
  }

  async function removeOwn(response) {
    try {
      await call("DELETE", `/api/me/canned-responses/${encodeURIComponent(response.response_id)}`);
      status.textContent = `Removed /${response.name}.`;
      await loadOwn();
    } catch (failure) {
      error.textContent = failure.message;
    }
  }

  handle($("canned-own-form"), async () => {
    const body = { name: $("canned-own-name").value.trim(), text: $("canned-own-text").value };
    if (!body.name || !body.text.trim()) throw new Error("Give the response a name and a text.");
    const saved = editing
      ? await call("PATCH", `/api/me/canned-responses/${encodeURIComponent(editing.response_id)}`, body)
      : await call("POST", "/api/me/canned-responses", body);
    editing = null;
    $("canned-own-name").value = "";
    $("canned-own-text").value = "";
    $("canned-own-save").textContent = "Add response";
    status.textContent = `Saved /${saved.name}.`;
    await loadOwn();
  });
  if ($("canned-own")) loadOwn().catch((failure) => (error.textContent = failure.message));

  const everywhere = $("logout-everywhere");
  if (everywhere) {
    everywhere.addEventListener("click", async () => {
      everywhere.disabled = true;
      try {
        await call("POST", "/api/logout-everywhere");
        location.assign("/login");
      } catch (failure) {
        error.textContent = failure.message;
        everywhere.disabled = false;
      }
    });
  }
})();
