// The staff login form: POST /api/login sets the session cookie, then on to the portal.
"use strict";
(() => {
  const form = document.getElementById("login-form");
  const error = document.getElementById("login-error");
  const fields = [document.getElementById("login"), document.getElementById("password")];

  function fail(message, field) {
    error.textContent = message;
    for (const input of fields) input.setAttribute("aria-invalid", String(input === field || !field));
    (field || fields[0]).focus();
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const [login, password] = fields.map((input) => input.value);
    if (!login.trim()) return fail("Enter your login.", fields[0]);
    if (!password) return fail("Enter your password.", fields[1]);
    error.textContent = "";
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const response = await fetch("/api/login", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        credentials: "same-origin",
        body: JSON.stringify({ login: login.trim(), password }),
      });
      if (response.ok) {
        window.location.assign("/portal");
        return;
      }
      const body = await response.json().catch(() => ({}));
      const message = body && body.error && body.error.message;
      fail(message ? message.charAt(0).toUpperCase() + message.slice(1) + "." : "Login failed.");
    } catch (_) {
      fail("The server cannot be reached. Check your connection and try again.");
    } finally {
      button.disabled = false;
    }
  });
})();
