// The account page: change one's password, set up or turn off TOTP, log out everywhere.
// Changes go to /api/me/... with the session cookie and the CSRF token (double submit).
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const error = $("account-error");
  const status = $("account-status");

  function cookie(name) {
    for (const part of document.cookie.split(";")) {
      const at = part.indexOf("=");
      if (at > 0 && part.slice(0, at).trim() === name) return decodeURIComponent(part.slice(at + 1).trim());
    }
    return "";
  }

  function sentence(text) {
    const trimmed = String(text || "").trim();
    return trimmed ? trimmed.charAt(0).toUpperCase() + trimmed.slice(1) + "." : "";
  }

  async function call(method, path, data) {
    error.textContent = "";
    const headers = { "X-CSRF-Token": cookie("chatrec_csrf") };
    if (data !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        credentials: "same-origin",
        body: data === undefined ? undefined : JSON.stringify(data),
      });
    } catch (_) {
      throw new Error("The server cannot be reached. Check your connection and try again.");
    }
    if (response.status === 401) {
      location.assign("/login");
      throw new Error("Your session has ended.");
    }
    if (response.status === 204) return null;
    const body = await response.json().catch(() => null);
    if (!response.ok) {
      throw new Error(sentence(body && body.error && body.error.message) || `The server answered ${response.status}.`);
    }
    return body;
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
    list.replaceChildren(...done.recovery_codes.map((text) => {
      const item = document.createElement("li");
      const shown = document.createElement("code");
      shown.textContent = text;
      item.append(shown);
      return item;
    }));
    $("recovery").hidden = false;
    const note = $("pending-note");
    if (note) note.hidden = true;
    status.textContent = "Two-factor sign-in is on.";
  });

  handle($("totp-disable-form"), async () => {
    await call("POST", "/api/me/totp/disable", { password: $("disable-password").value });
    location.reload();
  });

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
