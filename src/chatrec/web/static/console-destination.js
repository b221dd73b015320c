// The recording platform (R16): settings with write-only secrets, Save, and Test
// connection on the form's current values, step by step; the host key the server
// offers can be copied into the form, for the administrator to pin after checking it.
"use strict";
(() => {
  const c = window.chatrecConsole;
  const { $, h } = c;
  const field = {
    host: $("dest-host"),
    port: $("dest-port"),
    username: $("dest-user"),
    folder: $("dest-folder"),
    password: $("dest-password"),
    privateKey: $("dest-key"),
    hostKey: $("dest-host-key"),
    done: $("dest-done"),
    verify: $("dest-verify"),
  };
  const STEPS = {
    connect: "Connect",
    "host key": "Host key",
    "log in": "Log in",
    folder: "Folder",
    write: "Write a probe file",
    rename: "Rename it into place",
    delete: "Delete it",
  };

  function secretState(element, isSet) {
    element.dataset.set = String(isSet);
    element.textContent = isSet ? "set" : "not set";
  }

  function show(destination) {
    $("not-set-up").hidden = destination !== null;
    $("blocked").hidden = !(destination && destination.blocked_reason);
    if (destination === null) {
      secretState($("password-state"), false);
      secretState($("key-state"), false);
      return;
    }
    if (destination.blocked_reason) {
      c.fill($("blocked-text"), "Since ", c.time(destination.blocked_at), `: ${destination.blocked_reason}`);
    }
    field.host.value = destination.host;
    field.port.value = String(destination.port);
    field.username.value = destination.username;
    field.folder.value = destination.folder;
    field.hostKey.value = destination.host_key;
    field.done.checked = destination.done_marker;
    field.verify.checked = destination.verify_after_rename;
    field.password.value = "";
    field.privateKey.value = "";
    secretState($("password-state"), destination.has_password);
    secretState($("key-state"), destination.has_private_key);
    field.password.placeholder = destination.has_password ? "Leave empty to keep the stored password" : "";
    field.privateKey.placeholder = destination.has_private_key
      ? "Leave empty to keep the stored key"
      : "-----BEGIN OPENSSH PRIVATE KEY-----";
  }

  /** The form as the API's DestinationUpdate; empty secrets are left out (kept). */
  function settings() {
    const body = {
      host: field.host.value.trim(),
      port: Number(field.port.value),
      username: field.username.value.trim(),
      folder: field.folder.value.trim(),
      host_key: field.hostKey.value.trim(),
      done_marker: field.done.checked,
      verify_after_rename: field.verify.checked,
    };
    if (field.password.value) body.password = field.password.value;
    if (field.privateKey.value.trim()) body.private_key = field.privateKey.value;
    return body;
  }

  function missing(body) {
    const needed = [
      [body.host, field.host, "the host"],
      [body.username, field.username, "the user"],
      [body.folder, field.folder, "the folder"],
    ];
    for (const [value, input, name] of needed) {
      if (!value) {
        input.focus();
        return `Give ${name}.`;
      }
    }
    if (!Number.isInteger(body.port) || body.port < 1 || body.port > 65535) {
      field.port.focus();
      return "The port must be a whole number from 1 to 65535.";
    }
    return null;
  }

  function say(kind, text) {
    const result = $("dest-result");
    result.dataset.kind = kind;
    result.textContent = text;
  }

  $("destination-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = settings();
    const problem = missing(body);
    if (problem) return say("error", problem);
    await c.busy($("dest-save"), async () => {
      try {
        show(await c.api("PUT", "/api/admin/destination", body));
        say("ok", "Saved. Waiting deliveries go again now.");
      } catch (error) {
        say("error", `Not saved: ${error.message}`);
      }
    });
  });

  // -- Test connection ---------------------------------------------------------------------

  function useKey(key) {
    field.hostKey.value = key;
    field.hostKey.focus();
    say("info", "The server's key is in the form: check it, then save to pin it.");
  }

  function stepItem(step) {
    const offered = step.host_key
      ? h(
          "div",
          { class: "offered-key" },
          h("p", {}, "The key the server offers:"),
          h("pre", { class: "source" }, step.host_key),
          step.host_key.trim() === field.hostKey.value.trim()
            ? h("p", { class: "hint" }, "It is the key in the form.")
            : h("button", { type: "button", on: { click: () => useKey(step.host_key) } }, "Use this key"),
        )
      : null;
    return h(
      "li",
      { class: `step ${step.ok ? "step-ok" : "step-failed"}`, dataset: { step: step.name } },
      h("span", { class: "step-mark", "aria-hidden": "true" }, step.ok ? "✓" : "✗"),
      h(
        "div",
        { class: "step-body" },
        h("strong", {}, STEPS[step.name] || c.sentence(step.name)),
        h("span", { class: "step-state" }, step.ok ? " ok" : " failed"),
        step.name === "connect" && step.ok ? null : h("p", { class: "step-detail" }, c.sentence(step.detail)),
        offered,
      ),
    );
  }

  $("dest-test").addEventListener("click", async (event) => {
    const body = settings();
    const problem = missing(body);
    const out = $("test-out");
    if (problem) {
      c.fill(out, h("p", { class: "form-error" }, problem));
      return;
    }
    c.fill(out, h("p", { class: "hint" }, "Testing…"));
    await c.busy(event.currentTarget, async () => {
      try {
        const tested = await c.api("POST", "/api/admin/destination/test", { settings: body });
        c.fill(
          out,
          h(
            "p",
            { class: `test-summary ${tested.ok ? "ok" : "failed"}` },
            tested.ok ? "Every step passed." : "The test failed; see the step that failed.",
          ),
          h("ol", { class: "steps" }, tested.steps.map(stepItem)),
        );
      } catch (error) {
        c.fill(out, h("p", { class: "form-error" }, error.message));
      }
    });
  });

  c.api("GET", "/api/admin/destination").then(show, c.showError);
})();
