// The flow editor: YAML in a textarea with line numbers; Check shows each problem at its
// line (click one to select that line), Preview runs the flow on sample answers without
// a chat, Save keeps a new version; older versions can be read and copied back.
"use strict";
(() => {
  const c = window.chatrecConsole;
  const { $, h } = c;
  const flowId = c.recordId;
  const source = $("flow-source");
  const gutter = $("gutter");
  const problemsList = $("flow-problems");
  const resultLine = $("flow-result");
  let badLines = new Set();

  const STARTER = (queue) =>
    [
      "name: New flow",
      "description: Greets the customer and hands the chat to an agent.",
      "steps:",
      "  - id: greet",
      "    type: say",
      "    text: Hello! An agent will be with you shortly.",
      "",
      ...(queue
        ? ["  - id: to_queue", "    type: route", `    queue: ${JSON.stringify(queue)}`]
        : ["  - id: done", "    type: end"]),
      "",
    ].join("\n");

  // -- line numbers --------------------------------------------------------------------------

  function drawGutter() {
    const count = source.value.split("\n").length;
    const numbers = [];
    for (let line = 1; line <= count; line += 1) {
      numbers.push(h("span", { class: badLines.has(line) ? "bad" : undefined }, String(line)), "\n");
    }
    c.fill(gutter, numbers);
    gutter.scrollTop = source.scrollTop;
  }

  source.addEventListener("input", drawGutter);
  source.addEventListener("scroll", () => {
    gutter.scrollTop = source.scrollTop;
  });

  function lineHeight() {
    return parseFloat(getComputedStyle(source).lineHeight) || 20;
  }

  /** Select line `line` (1-based) of the editor and scroll it into view. */
  function selectLine(line) {
    const lines = source.value.split("\n");
    const index = Math.min(Math.max(line, 1), lines.length) - 1;
    let start = 0;
    for (let i = 0; i < index; i += 1) start += lines[i].length + 1;
    source.focus();
    source.setSelectionRange(start, start + lines[index].length);
    source.scrollTop = Math.max(0, index * lineHeight() - source.clientHeight / 3);
    gutter.scrollTop = source.scrollTop;
  }

  // -- results and problems ---------------------------------------------------------------

  function say(kind, text) {
    resultLine.dataset.kind = kind;
    resultLine.textContent = text;
  }

  function showProblems(problems) {
    badLines = new Set(problems.map((p) => p.line).filter(Boolean));
    drawGutter();
    problemsList.hidden = problems.length === 0;
    c.fill(
      problemsList,
      problems.map((problem) => {
        const where = problem.line ? `Line ${problem.line}` : "The flow";
        const text = [h("span", { class: "where" }, where), problem.location ? h("code", {}, problem.location) : null, h("span", {}, c.sentence(problem.message))];
        if (!problem.line) return h("li", { class: "problem" }, text);
        return h(
          "li",
          {},
          h(
            "button",
            {
              type: "button",
              class: "problem",
              dataset: { line: String(problem.line) },
              on: { click: () => selectLine(problem.line) },
            },
            text,
          ),
        );
      }),
    );
  }

  function refused(error) {
    if (error.problems.length) {
      say("error", `The flow has ${error.problems.length} problem${error.problems.length === 1 ? "" : "s"}; nothing was saved.`);
      showProblems(error.problems);
    } else {
      say("error", error.message);
      showProblems([]);
    }
  }

  // -- check, save ------------------------------------------------------------------------

  $("flow-check").addEventListener("click", (event) =>
    c.busy(event.currentTarget, async () => {
      try {
        const checked = await c.api("POST", "/api/admin/flows/check", { source: source.value });
        if (checked.valid) {
          say("ok", `The flow "${checked.name}" is valid.`);
          showProblems([]);
        } else {
          say("error", `The flow has ${checked.problems.length} problem${checked.problems.length === 1 ? "" : "s"}.`);
          showProblems(checked.problems);
        }
      } catch (error) {
        refused(error);
      }
    }),
  );

  async function save() {
    await c.busy($("flow-save"), async () => {
      try {
        if (!flowId) {
          const created = await c.api("POST", "/api/admin/flows", { source: source.value });
          location.assign(c.link(`/console/flows/${encodeURIComponent(created.flow_id)}`));
          return;
        }
        const saved = await c.api("PUT", `/api/admin/flows/${encodeURIComponent(flowId)}`, {
          source: source.value,
        });
        showFlow(saved);
        showProblems([]);
        say("ok", `Saved version ${saved.version}.`);
        await loadVersions();
      } catch (error) {
        refused(error);
      }
    });
  }

  $("flow-form").addEventListener("submit", (event) => {
    event.preventDefault();
    save();
  });
  source.addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key === "s") {
      event.preventDefault();
      save();
    }
  });

  // -- preview ----------------------------------------------------------------------------

  $("preview-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const answers = $("preview-answers")
      .value.split("\n")
      .map((line) => line.trim())
      .filter(Boolean);
    const out = $("preview-out");
    c.busy($("preview-run"), async () => {
      try {
        const run = await c.api("POST", "/api/admin/flows/preview", { source: source.value, answers });
        const facts = [];
        if (run.waiting_for) facts.push(`Waits for the customer's ${run.waiting_for}.`);
        if (run.routed_to) facts.push(`Routes the chat to the queue ${run.routed_to}.`);
        if (run.ended) facts.push("Ends the chat.");
        facts.push(
          run.recordings.length
            ? `Requests flow recordings: ${run.recordings.join(", ")}.`
            : "Requests no flow recording.",
        );
        c.fill(
          out,
          h("ol", { class: "transcript" }, run.lines.map((line) => h("li", { class: /^\[|^\(/.test(line) ? "action" : undefined }, line))),
          h("ul", { class: "facts-list" }, facts.map((fact) => h("li", {}, fact))),
        );
      } catch (error) {
        c.fill(out, h("p", { class: "form-error" }, error.message));
        if (error.problems.length) showProblems(error.problems);
      }
    });
  });

  // -- the flow and its versions ----------------------------------------------------------

  function showFlow(flow) {
    $("flow-title").textContent = flow.name;
    $("flow-version").textContent = `version ${flow.version}`;
    document.title = `${flow.name} · Console · chatrec`;
  }

  async function viewVersion(version) {
    try {
      const flow = await c.api("GET", `/api/admin/flows/${encodeURIComponent(flowId)}?version=${version}`);
      const dialog = $("version-dialog");
      $("version-title").textContent = `${flow.name}, version ${flow.version}`;
      $("version-source").textContent = flow.source;
      dialog.returnValue = "";
      dialog.showModal();
      dialog.addEventListener(
        "close",
        () => {
          if (dialog.returnValue === "load") {
            source.value = flow.source;
            drawGutter();
            say("info", `Version ${flow.version} is in the editor; save to make it the newest.`);
            source.focus();
          }
        },
        { once: true },
      );
    } catch (error) {
      c.showError(error);
    }
  }

  async function loadVersions() {
    const versions = await c.api("GET", `/api/admin/flows/${encodeURIComponent(flowId)}/versions`);
    versions.sort((a, b) => b.version - a.version);
    c.fill(
      $("versions"),
      versions.map((v) =>
        h(
          "li",
          { value: String(v.version) },
          h("span", { class: "version-name" }, `Version ${v.version}`),
          " ",
          c.time(v.created_at),
          " ",
          h(
            "button",
            { type: "button", class: "quiet", on: { click: () => viewVersion(v.version) } },
            "View",
            h("span", { class: "visually-hidden" }, ` version ${v.version}`),
          ),
        ),
      ),
    );
  }

  async function load() {
    try {
      if (flowId) {
        const flow = await c.api("GET", `/api/admin/flows/${encodeURIComponent(flowId)}`);
        showFlow(flow);
        source.value = flow.source;
        await loadVersions();
      } else {
        const queues = await c.api("GET", "/api/admin/queues");
        source.value = STARTER(queues.length ? queues[0].name : null);
      }
    } catch (error) {
      c.showError(error);
    }
    drawGutter();
  }

  load();
})();
