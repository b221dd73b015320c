// Recording settings: the default filename template with a live preview on a sample
// chat carrying the company's own names (R6), the recording formats and the vCon draft
// (R15), masking with a live trial on a sample message (R22) and the message-text
// retention period (R17).
"use strict";
(() => {
  const c = window.chatrecConsole;
  const { $ } = c;
  const template = $("template");
  const retention = $("retention");
  const unit = $("retention-unit");
  const formats = [...document.querySelectorAll("input[name=formats]")];
  const vconDraft = $("vcon-draft");
  const maskCards = $("mask-cards");
  const typingPreview = $("typing-preview");
  const recordNotes = $("record-notes");
  const wrapUpCodes = $("wrap-up-codes");
  const wrapUpRequired = $("wrap-up-required");
  const answerTarget = $("answer-target");
  const attachmentsEnabled = $("attachments-enabled");
  const attachmentMax = $("attachment-max");
  const attachmentTypes = [...document.querySelectorAll("input[name=attachment-types]")];
  const MEGABYTE = 1024 * 1024;
  const patterns = $("patterns");
  const maskTry = $("mask-try");
  let previewTimer = null;
  let asked = 0; // the newest preview asked for; older answers are dropped

  // -- live preview ------------------------------------------------------------------------

  function showPreview(answer) {
    $("preview-ok").hidden = !answer.valid;
    $("preview-bad").hidden = answer.valid;
    template.setAttribute("aria-invalid", String(!answer.valid));
    if (answer.valid) {
      $("preview-name").textContent = answer.preview;
      return;
    }
    const position = answer.position ?? null;
    $("preview-caret").textContent =
      position === null ? answer.template : `${answer.template}\n${" ".repeat(position)}^`;
    $("preview-problem").textContent =
      position === null
        ? c.sentence(answer.problem)
        : `At character ${position + 1}: ${c.sentence(answer.problem)}`;
  }

  async function preview() {
    const mine = (asked += 1);
    try {
      const answer = await c.api("POST", "/api/admin/template-preview", { template: template.value });
      if (mine !== asked) return;
      showPreview(answer);
      const s = answer.sample;
      $("sample").textContent =
        `A sample chat of ${s.company}: service ${s.service}, queue ${s.queue}, agent ${s.agent}, ` +
        `chat ${s.chat_id}, started ${s.started_at}.`;
    } catch (error) {
      if (mine === asked) showPreview({ valid: false, template: template.value, problem: error.message });
    }
  }

  template.addEventListener("input", () => {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(preview, 250);
  });

  // -- masking (R22) ------------------------------------------------------------------------

  let tryTimer = null;
  let tried = 0;

  function chosenPatterns() {
    return [...patterns.children].map((row) => ({
      name: row.querySelector(".pattern-name").value.trim(),
      pattern: row.querySelector(".pattern-source").value,
    }));
  }

  function patternRow(pattern) {
    const n = patterns.children.length + 1;
    const row = c.h(
      "li",
      {},
      c.h("input", {
        class: "pattern-name",
        value: pattern.name,
        maxlength: 60,
        placeholder: "Name, e.g. National ID",
        "aria-label": `Name of pattern ${n}`,
        on: { input: soon },
      }),
      c.h("input", {
        class: "pattern-source mono",
        value: pattern.pattern,
        maxlength: 300,
        spellcheck: "false",
        autocomplete: "off",
        placeholder: "Pattern, e.g. \\b[A-Z]{2}\\d{6}[A-D]\\b",
        "aria-label": `Pattern ${n}`,
        on: { input: soon },
      }),
      c.h("button", {
        type: "button",
        text: "Remove",
        "aria-label": `Remove pattern ${n}`,
        on: {
          click: () => {
            row.remove();
            soon();
          },
        },
      }),
    );
    return row;
  }

  function showCards() {
    $("cards-kept").hidden = maskCards.checked;
  }

  async function tryMasking() {
    const mine = (tried += 1);
    const problem = $("mask-problem");
    try {
      const answer = await c.api("POST", "/api/admin/masking-preview", {
        text: maskTry.value,
        mask_card_numbers: maskCards.checked,
        masking_patterns: chosenPatterns().filter((p) => p.name || p.pattern),
      });
      if (mine !== tried) return;
      $("mask-kept").textContent = answer.text;
      problem.hidden = true;
    } catch (error) {
      if (mine !== tried) return;
      problem.textContent = error.message;
      problem.hidden = false;
    }
  }

  function soon() {
    clearTimeout(tryTimer);
    tryTimer = setTimeout(tryMasking, 250);
  }

  maskCards.addEventListener("change", () => {
    showCards();
    soon();
  });
  maskTry.addEventListener("input", soon);
  $("pattern-add").addEventListener("click", () => {
    const row = patternRow({ name: "", pattern: "" });
    patterns.append(row);
    row.querySelector("input").focus();
  });

  // -- retention -------------------------------------------------------------------------------

  function showRetention(seconds) {
    const size = [86400, 3600, 60, 1].find((s) => seconds % s === 0 && (seconds > 0 || s === 3600));
    unit.value = String(size);
    retention.value = String(seconds / size);
    describeRetention();
  }

  function retentionSeconds() {
    const value = Number(retention.value);
    if (retention.value.trim() === "" || !Number.isInteger(value) || value < 0) return null;
    return value * Number(unit.value);
  }

  function describeRetention() {
    const seconds = retentionSeconds();
    $("retention-text").textContent =
      seconds === null
        ? "Give a whole number, 0 or more."
        : seconds === 0
          ? "Message text is purged as soon as the chat's recordings are delivered or suppressed (R17)."
          : `Message text is kept ${c.duration(seconds)} after the chat's recordings are ` +
            "delivered or suppressed, then purged (R17). The audit trail never keeps it.";
  }

  retention.addEventListener("input", describeRetention);
  unit.addEventListener("change", describeRetention);

  // -- load and save ------------------------------------------------------------------------

  function show(company) {
    template.value = company.default_template;
    for (const box of formats) box.checked = company.formats.includes(box.value);
    vconDraft.value = company.vcon_draft;
    showRetention(company.retention_seconds);
    maskCards.checked = company.mask_card_numbers;
    typingPreview.checked = company.typing_preview;
    recordNotes.checked = company.record_internal_notes;
    wrapUpCodes.value = company.wrap_up_codes.join("\n");
    wrapUpRequired.checked = company.wrap_up_required;
    answerTarget.value = String(company.answer_target_seconds);
    attachmentsEnabled.checked = company.attachments_enabled;
    attachmentMax.value = String(Math.round((company.attachment_max_bytes / MEGABYTE) * 1000) / 1000);
    for (const box of attachmentTypes) box.checked = company.attachment_types.includes(box.value);
    showCards();
    c.fill(patterns, company.masking_patterns.map(patternRow));
    preview();
    tryMasking();
  }

  $("recording-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const result = $("recording-result");
    const chosen = formats.filter((box) => box.checked).map((box) => box.value);
    const seconds = retentionSeconds();
    result.dataset.kind = "error";
    if (!chosen.length) {
      result.textContent = "Choose at least one recording format.";
      formats[0].focus();
      return;
    }
    if (seconds === null) {
      result.textContent = "The retention period must be a whole number, 0 or more.";
      retention.focus();
      return;
    }
    await c.busy($("recording-save"), async () => {
      try {
        const id = encodeURIComponent(await c.company());
        const company = await c.api("PATCH", `/api/admin/companies/${id}`, {
          default_template: template.value,
          formats: chosen,
          vcon_draft: vconDraft.value,
          retention_seconds: seconds,
          mask_card_numbers: maskCards.checked,
          masking_patterns: chosenPatterns().filter((p) => p.name || p.pattern),
          typing_preview: typingPreview.checked,
          record_internal_notes: recordNotes.checked,
          wrap_up_codes: wrapUpCodes.value.split("\n").map((code) => code.trim()).filter(Boolean),
          wrap_up_required: wrapUpRequired.checked,
          answer_target_seconds: Number(answerTarget.value),
          attachments_enabled: attachmentsEnabled.checked,
          attachment_max_bytes: Math.round(Number(attachmentMax.value) * MEGABYTE),
          attachment_types: attachmentTypes.filter((box) => box.checked).map((box) => box.value),
        });
        show(company);
        result.dataset.kind = "ok";
        result.textContent = "Saved.";
      } catch (error) {
        result.textContent = `Not saved: ${error.message}`;
        if (error.position !== undefined && error.position !== null) preview();
      }
    });
  });

  // -- signing keys (R21) ---------------------------------------------------------------

  async function showKeys() {
    const id = encodeURIComponent(await c.company());
    const url = `/api/companies/${id}/signing-keys`;
    $("keys-link").href = url;
    const keys = await window.chatrec.api("GET", url).catch(() => []);
    c.fill(
      $("keys-body"),
      keys.map((key) =>
        c.h(
          "tr",
          {},
          c.h("td", { class: "mono", text: key.key_id }),
          c.h("td", {}, c.time(key.valid_from)),
          c.h("td", {}, key.valid_until ? c.time(key.valid_until) : "now (current)"),
        ),
      ),
    );
    $("keys-empty").hidden = keys.length > 0;
  }

  $("key-rotate").addEventListener("click", async () => {
    const sure = await c.confirmAction(
      "Rotate the signing key?",
      "Recordings will be signed with a new key from now on. The current key stays " +
        "published with its validity, so what it signed keeps verifying.",
      "Rotate key",
      "primary",
    );
    if (!sure) return;
    await c.busy($("key-rotate"), async () => {
      const id = encodeURIComponent(await c.company());
      const key = await c.api("POST", `/api/admin/companies/${id}/signing-keys`);
      $("key-result").dataset.kind = "ok";
      $("key-result").textContent = `New key ${key.key_id}.`;
      await showKeys();
    });
  });

  c.company()
    .then((id) => c.api("GET", `/api/admin/companies/${encodeURIComponent(id)}`))
    .then(show, c.showError);
  showKeys();
})();
