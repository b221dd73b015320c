// The staff login form: POST /api/login sets the session cookie, then on to the portal,
// or to the account page when the session must first change its password or set up a
// second factor.  A login with two-factor sign-in is asked for its code on the way.
"use strict";
(() => {
  const { $ } = chatrec;
  const form = $("login-form");
  const error = $("login-error");
  const codeField = $("code-field");
  const [login, password, company, code] = ["login", "password", "company", "code"].map($);
  const fields = [login, password];

  function fail(message, field) {
    error.textContent = message;
    for (const input of fields) input.setAttribute("aria-invalid", String(input === field || !field));
    (field || fields[0]).focus();
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!login.value.trim()) return fail("Enter your login.", login);
    if (!password.value) return fail("Enter your password.", password);
    error.textContent = "";
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    const body = { login: login.value.trim(), password: password.value };
    if (company.value.trim()) body.company = company.value.trim();
    if (!codeField.hidden && code.value.trim()) body.code = code.value.trim();
    try {
      const answer = await chatrec.api("POST", "/api/login", body, { toLogin: false });
      window.location.assign(answer && answer.pending ? "/account" : "/portal");
    } catch (refusal) {
      const message = refusal.detail ? refusal.message : "Login failed.";
      if (refusal.code === "totp_required") {
        codeField.hidden = false;
        code.value = "";
        error.textContent = message;
        code.focus();
        return;
      }
      fail(message);
    } finally {
      button.disabled = false;
    }
  });
})();
