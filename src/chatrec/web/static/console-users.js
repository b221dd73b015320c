// Logins: the table, create and edit one, reset a password, and the bulk change of
// Permit Recordings (R12a), record chats (R4) and record percentage (R7).
"use strict";
(() => {
  const c = window.chatrecConsole;
  const { $, h } = c;
  const ROLES = { agent: "Agent", supervisor: "Supervisor", administrator: "Administrator" };

  /** user_id -> the login as last read */
  const users = new Map();
  const selected = new Set();
  let editing = null; // the login in the dialog; null while creating one

  const dialog = $("user-dialog");
  const form = $("user-form");
  const field = {
    login: $("user-login"),
    name: $("user-name"),
    role: $("user-role"),
    password: $("user-password"),
    permit: $("user-permit"),
    record: $("user-record"),
    percentage: $("user-percentage"),
    capacity: $("user-capacity"),
    disabled: $("user-disabled"),
  };

  // -- the table ------------------------------------------------------------------------

  function state(user) {
    if (user.disabled) return h("span", { class: "flag flag-off" }, "Disabled");
    if (user.locked) return h("span", { class: "flag flag-warn" }, "Locked");
    return h("span", { class: "flag flag-on" }, "Active");
  }

  function row(user) {
    const box = h("input", {
      type: "checkbox",
      "aria-label": `Select ${user.login}`,
      checked: selected.has(user.user_id),
      on: { change: (event) => select(user.user_id, event.target.checked) },
    });
    const agent = user.role === "agent";
    return h(
      "tr",
      { dataset: { userId: user.user_id, login: user.login } },
      h("td", { class: "select" }, box),
      h("th", { scope: "row" }, h("code", {}, user.login)),
      h("td", {}, user.name),
      h("td", {}, ROLES[user.role] || user.role),
      h("td", { dataset: { column: "permit" } }, c.yesNo(user.permit_recordings, "Permitted", "Not permitted")),
      h("td", { dataset: { column: "record" } }, agent ? c.yesNo(user.record_chats, "On", "Off") : h("span", { class: "hint" }, "not an agent")),
      h("td", { class: "num", dataset: { column: "percentage" } }, agent ? `${user.record_percentage} %` : "—"),
      h("td", { class: "num" }, String(user.capacity)),
      h("td", {}, state(user)),
      h(
        "td",
        { class: "row-actions" },
        h(
          "button",
          { type: "button", on: { click: () => openEdit(user.user_id) } },
          "Edit",
          h("span", { class: "visually-hidden" }, ` ${user.login}`),
        ),
        h(
          "button",
          { type: "button", class: "quiet", on: { click: (event) => resetPassword(user.user_id, event.currentTarget) } },
          "Reset password",
          h("span", { class: "visually-hidden" }, ` of ${user.login}`),
        ),
      ),
    );
  }

  function render() {
    const sorted = [...users.values()].sort((a, b) => a.login.localeCompare(b.login));
    c.fill($("users-body"), sorted.map(row));
    const count = selected.size;
    $("bulk-count").textContent = count ? `(${count} selected)` : "(none selected)";
    $("bulk-apply").disabled = count === 0;
    const all = $("select-all");
    all.checked = count > 0 && count === users.size;
    all.indeterminate = count > 0 && count < users.size;
  }

  function select(userId, on) {
    if (on) selected.add(userId);
    else selected.delete(userId);
    render();
  }

  $("select-all").addEventListener("change", (event) => {
    selected.clear();
    if (event.target.checked) for (const id of users.keys()) selected.add(id);
    render();
  });

  function remember(changed) {
    for (const user of changed) users.set(user.user_id, user);
    render();
  }

  async function load() {
    try {
      const found = await c.api("GET", "/api/admin/users");
      users.clear();
      remember(found);
    } catch (error) {
      c.showError(error);
    }
  }

  // -- bulk change ------------------------------------------------------------------------

  function choice(select) {
    return select.value === "" ? undefined : select.value === "true";
  }

  $("bulk").addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = $("bulk-error");
    error.textContent = "";
    const changes = {};
    const permit = choice($("bulk-permit"));
    const record = choice($("bulk-record"));
    const percentage = $("bulk-percentage").value.trim();
    if (permit !== undefined) changes.permit_recordings = permit;
    if (record !== undefined) changes.record_chats = record;
    if (percentage !== "") {
      const value = Number(percentage);
      if (!Number.isInteger(value) || value < 0 || value > 100) {
        error.textContent = "Record percentage must be a whole number from 0 to 100.";
        $("bulk-percentage").focus();
        return;
      }
      changes.record_percentage = value;
    }
    if (!Object.keys(changes).length) {
      error.textContent = "Choose at least one change to apply.";
      return;
    }
    await c.busy($("bulk-apply"), async () => {
      try {
        const changed = await c.api("POST", "/api/admin/users/bulk", {
          user_ids: [...selected],
          changes,
        });
        remember(changed);
        c.announce(`Changed ${changed.length} login${changed.length === 1 ? "" : "s"}.`);
        error.textContent = "";
      } catch (failure) {
        error.textContent = failure.message;
      }
    });
  });

  // -- create and edit one -----------------------------------------------------------------

  function openDialog(title, user) {
    $("user-dialog-title").textContent = title;
    for (const element of form.querySelectorAll("[data-create-only]")) element.hidden = user !== null;
    for (const element of form.querySelectorAll("[data-edit-only]")) element.hidden = user === null;
    field.login.value = "";
    field.password.value = "";
    field.name.value = user ? user.name : "";
    field.role.value = user ? user.role : "agent";
    field.permit.checked = user ? user.permit_recordings : true;
    field.record.checked = user ? user.record_chats : true;
    field.percentage.value = String(user ? user.record_percentage : 100);
    field.capacity.value = String(user ? user.capacity : 3);
    field.disabled.checked = user ? user.disabled : false;
    $("user-error").textContent = "";
    dialog.showModal();
    (user ? field.name : field.login).focus();
  }

  function openEdit(userId) {
    editing = users.get(userId);
    openDialog(`Edit ${editing.login}`, editing);
  }

  $("create-open").addEventListener("click", () => {
    editing = null;
    openDialog("Create a login", null);
  });
  $("create-open").disabled = false; // usable once it does something (the script is deferred)
  $("user-cancel").addEventListener("click", () => dialog.close());

  function number(input, low, high, what) {
    const value = Number(input.value);
    if (input.value.trim() === "" || !Number.isInteger(value) || value < low || value > high) {
      input.setAttribute("aria-invalid", "true");
      input.focus();
      throw new Error(`${what} must be a whole number from ${low} to ${high}.`);
    }
    input.removeAttribute("aria-invalid");
    return value;
  }

  function formChanges() {
    return {
      name: field.name.value.trim(),
      role: field.role.value,
      permit_recordings: field.permit.checked,
      record_chats: field.record.checked,
      record_percentage: number(field.percentage, 0, 100, "Record percentage"),
      capacity: number(field.capacity, 1, 50, "Chats at once"),
    };
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const error = $("user-error");
    let changes;
    try {
      changes = formChanges();
    } catch (invalid) {
      error.textContent = invalid.message;
      return;
    }
    if (!changes.name) {
      error.textContent = "Give the login a name.";
      field.name.focus();
      return;
    }
    await c.busy($("user-save"), async () => {
      try {
        if (editing) {
          const saved = await c.api("PATCH", `/api/admin/users/${encodeURIComponent(editing.user_id)}`, {
            ...changes,
            disabled: field.disabled.checked,
          });
          dialog.close();
          remember([saved]);
          c.announce(`Saved ${saved.login}.`);
        } else {
          const body = { ...changes, login: field.login.value.trim() };
          if (field.password.value) body.password = field.password.value;
          const created = await c.api("POST", "/api/admin/users", body);
          dialog.close();
          remember([created.user]);
          c.announce(`Created ${created.user.login}.`);
          await c.showSecret(
            `${created.user.login} can log in`,
            "This is the login's first password. It is shown this once: pass it on now.",
            created.password,
          );
        }
      } catch (failure) {
        error.textContent = failure.message;
      }
    });
  });

  async function resetPassword(userId, button) {
    const user = users.get(userId);
    const go = await c.confirmAction(
      `Reset the password of ${user.login}?`,
      "A new password is generated and shown once. The old one stops working, the login is " +
        "unlocked, its open sessions end and its API tokens are revoked. At the next sign-in " +
        "its user must choose a password of their own.",
      "Reset password",
    );
    if (!go) return;
    await c.busy(button, async () => {
      try {
        const reset = await c.api("POST", `/api/admin/users/${encodeURIComponent(userId)}/password`, {});
        remember([reset.user]);
        await c.showSecret(
          `New password for ${reset.user.login}`,
          "It is shown this once: pass it on now.",
          reset.password,
        );
      } catch (failure) {
        c.showError(failure);
      }
    });
  }

  load();

  // -- two-factor sign-in for the whole company ---------------------------------------------

  const requireTotp = $("require-totp");
  (async () => {
    try {
      const company = await c.api("GET", `/api/admin/companies/${await c.company()}`);
      requireTotp.checked = company.require_totp;
    } catch (error) {
      c.showError(error);
    }
  })();
  requireTotp.addEventListener("change", () =>
    c.busy(requireTotp, async () => {
      try {
        const company = await c.api("PATCH", `/api/admin/companies/${await c.company()}`, {
          require_totp: requireTotp.checked,
        });
        requireTotp.checked = company.require_totp;
        c.announce(company.require_totp ? "Two-factor sign-in is required." : "Two-factor sign-in is up to each login.");
      } catch (error) {
        requireTotp.checked = !requireTotp.checked;
        c.showError(error);
      }
    }),
  );
})();
