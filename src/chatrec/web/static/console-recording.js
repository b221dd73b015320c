// Recording settings: the default filename template with a live preview on a sample
// chat carrying the company's own names (R6), the recording formats and the vCon draft
// (R15) and the message-text retention period (R17).
"use strict";
(() => {
  const c = window.chatrecConsole;
  const { $ } = c;
  const template = $("template");
  const retention = $("retention");
  const unit = $("retention-unit");
  const formats = [...document.querySelectorAll("input[name=formats]")];
  const vconDraft = $("vcon-draft");
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
    preview();
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

  c.company()
    .then((id) => c.api("GET", `/api/admin/companies/${encodeURIComponent(id)}`))
    .then(show, c.showError);
})();
