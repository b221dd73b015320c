// The chatrec customer widget, in its frame (/widget/frame/SERVICE-ID), which the loader
// widget.js puts on the host page.  The frame is chatrec's own origin: the host page's
// styles and ours never mix, and no script of the host page can read the chat or the
// token that opens it (R18).
//
// It draws a chat launcher, starts a chat with POST /api/chats and talks over
// /ws/customer.  It always shows whether the chat is recorded, or that recording waits
// for the customer's answer to the flow's consent question (R10, R11a), and lets the
// customer ask for the recording to be deleted (R9).  On a small screen the open chat
// fills the screen; closed, only the launcher shows, at the bottom of the page.  The
// chat's token stays in this frame's sessionStorage, so a reload or a dropped connection
// rejoins the same chat; no message text is ever stored in the browser: after a reload
// the server replays the chat, after a dropped connection only what was missed.
// Typing indicators go both ways and are never recorded (R23); where the company shows
// agents the customer's draft, the widget says so above the composer.
//
// Every word of the widget's own comes from the catalogue of the customer's language
// (static/i18n/, carried by the frame page; widget_texts.py says how it is chosen): the
// site's data-lang, else the browser's languages, else English.  What the server sends
// (the company's flow messages, refusals) is shown as sent.
//
// The loader sizes and places the frame: it tells the frame how large the host page's
// window is, and the address of the page (the page the chat starts on, kept with the
// customer's details, R23), and the frame answers with the room it needs (layout()).
// Nothing else passes between them.
//
// A service with a pre-chat form (issue 15) asks it before the chat starts: checked here
// for the customer's sake, and again by the server, which decides and names what to fix.
"use strict";
(() => {
  const script = document.currentScript;
  const serviceId = script.dataset.service;
  const origin = location.origin;
  const storageKey = `chatrec.widget.${serviceId}`;
  const MARGIN = 20; // px around the widget inside the frame: room for shadows and focus rings
  const RECORDING_STATES = new Set(["recording", "paused", "not_recorded", "awaiting_consent"]);

  // -- the widget's words ------------------------------------------------------------------

  const CATALOGUES = JSON.parse(document.getElementById("chatrec-texts").textContent);
  const SOURCE = "en";

  // The site's choice (checked by the server: "" if it made none), else the first of the
  // browser's languages the widget speaks, else English.
  function chooseLanguage(asked, preferred) {
    for (const tag of [asked, ...preferred]) {
      const language = String(tag || "").toLowerCase().split("-")[0];
      if (Object.hasOwn(CATALOGUES, language)) return language;
    }
    return SOURCE;
  }
  const language = chooseLanguage(script.dataset.lang, navigator.languages || [navigator.language]);
  const words = CATALOGUES[language];
  const plurals = new Intl.PluralRules(language);
  document.documentElement.lang = language;

  /** The sentence of `key` in the customer's language, its {placeholders} filled from
   * `values`; a sentence with plural forms takes the form of `values.count`. */
  function t(key, values = {}) {
    let sentence = Object.hasOwn(words, key) ? words[key] : CATALOGUES[SOURCE][key];
    if (typeof sentence === "object") sentence = sentence[plurals.select(values.count)] || sentence.other;
    return sentence.replace(/\{(\w+)\}/g, (whole, name) => (Object.hasOwn(values, name) ? String(values[name]) : whole));
  }

  /** A refusal in the customer's language where the widget knows its code, else the
   * server's own words.  In English the server's words stand: they are English already,
   * and may say more (a limit's number); the catalogue's English says what to translate. */
  function reason(code, message) {
    const key = `error.${code}`;
    return language !== SOURCE && Object.hasOwn(words, key) ? t(key) : String(message || code);
  }

  const state = {
    service: null, // {name, company}
    chatId: null,
    token: null,
    lastSeq: 0,
    socket: null,
    attempts: 0,
    timer: null,
    ping: null,
    ended: false,
    replaced: false, // a newer connection of this chat (another tab) took over
    status: null, // flow, queued, active
    recording: null,
    deletionRequested: false,
    agents: new Set(), // names of the agents in the chat now, followed from its events
    pinned: true, // the log shows its newest line, and keeps it in view when it shrinks
    unread: 0,
    nextRef: 0,
    pending: new Map(),
    typingPreview: false, // the company shows agents what is typed before it is sent (R23)
    page: "", // the host page's address, as the loader says it
  };

  // -- the widget's DOM ------------------------------------------------------------------

  const { api, h } = chatrec;
  const root = document.documentElement;
  const panelId = "chatrec-panel";
  const launcher = h("button", {
    class: "launcher",
    type: "button",
    "aria-expanded": "false",
    "aria-controls": panelId,
  });
  const launcherText = h("span", { text: t("launcher.start") });
  const launcherBadge = h("span", { class: "unread", hidden: "" });
  launcher.append(h("span", { class: "bubble", "aria-hidden": "true" }), launcherText, launcherBadge);

  const title = h("h2", { class: "title", id: `${panelId}-title`, text: t("head.title") });
  const company = h("p", { class: "company" });
  const minimise = h("button", { class: "icon", type: "button", "aria-label": t("head.minimise") });
  minimise.textContent = "\u2013";
  const recordingLine = h("p", { class: "recording", role: "status" });
  const log = h("ol", { class: "log", role: "log", "aria-live": "polite", "aria-label": t("log.label") });
  const introText = h("p", { text: t("intro.unknown") });
  const closedText = h("p", { class: "closed-message", hidden: "" }); // the company's words
  const preChat = h("div", { class: "pre-chat", hidden: "" });
  const intro = h("div", { class: "intro" }, introText, closedText, preChat);
  // Disabled until the service is known: a chat started before its pre-chat form is shown
  // would be refused for the answers the customer was never asked for.
  const startButton = h("button", {
    class: "primary",
    type: "button",
    text: t("button.start"),
    disabled: true,
  });
  intro.append(startButton);
  const choices = h("div", { class: "choices", role: "group", "aria-label": t("choices.label") });
  const waiting = h("p", {
    class: "waiting",
    "aria-live": "polite",
    text: t("queue.waiting"),
  });
  const notice = h("p", { class: "notice", role: "alert" });
  const typingLine = h("p", { class: "typing", "aria-live": "polite", hidden: "" });
  const previewNote = h("p", {
    class: "preview-note",
    hidden: "",
    text: t("preview.note"),
  });
  const confirmText = h("p", { class: "confirm-text" });
  const confirmYes = h("button", { type: "button", class: "primary" });
  const confirmNo = h("button", { type: "button", text: t("button.cancel") });
  const confirmBox = h("div", { class: "confirm", hidden: "" }, confirmText, h("div", { class: "row" }, confirmYes, confirmNo));
  const textarea = h("textarea", { id: `${panelId}-message`, rows: "2", maxlength: "4000" });
  const sendButton = h("button", { type: "submit", class: "primary", text: t("button.send") });
  const attachButton = h("button", { type: "button", class: "attach", text: t("button.attach") });
  const attachFile = h("input", { type: "file", hidden: "", "aria-label": t("button.attach") });
  const composer = h(
    "form",
    { class: "composer" },
    h("label", { for: `${panelId}-message`, class: "visually-hidden", text: t("composer.label") }),
    h("div", { class: "row" }, textarea, attachButton, attachFile, sendButton),
  );
  const deleteButton = h("button", { type: "button", class: "link", text: t("button.ask_deletion") });
  const endButton = h("button", { type: "button", class: "link", text: t("button.end") });
  const newChatButton = h("button", { type: "button", class: "primary", text: t("button.new_chat"), hidden: "" });
  const footer = h("div", { class: "footer" }, deleteButton, endButton, newChatButton);
  const panel = h(
    "section",
    { class: "panel", id: panelId, role: "region", "aria-labelledby": `${panelId}-title`, hidden: "" },
    h("header", { class: "head" }, h("div", {}, title, company), minimise),
    recordingLine,
    intro,
    log,
    typingLine,
    choices,
    waiting,
    notice,
    previewNote,
    confirmBox,
    composer,
    footer,
  );
  const frame = h("div", { class: "frame" }, panel, launcher);

  // -- the frame's room on the host page ------------------------------------------------

  const hostWindow = { width: 1024, height: 768 }; // until the loader says
  let placed = "";

  function layout() {
    const small = hostWindow.width <= 600 || hostWindow.height <= 560;
    const full = small && !panel.hidden; // a small screen gives the open chat all of it
    root.toggleAttribute("data-small", small);
    root.toggleAttribute("data-full", full);
    const box = frame.getBoundingClientRect();
    const room = {
      chatrec: "widget",
      full,
      width: Math.ceil(box.width) + 2 * MARGIN,
      height: Math.ceil(box.height) + 2 * MARGIN,
    };
    const said = JSON.stringify(room);
    if (said !== placed && window.parent !== window) {
      placed = said;
      window.parent.postMessage(room, "*"); // sizes only: nothing a host may not know
    }
  }

  window.addEventListener("message", (event) => {
    const data = event.data;
    if (event.source !== window.parent || !data || data.chatrec !== "host") return;
    const width = Number(data.width);
    const height = Number(data.height);
    if (!(width > 0 && height > 0)) return;
    Object.assign(hostWindow, { width, height });
    if (typeof data.page === "string" && /^https?:\/\//i.test(data.page)) {
      state.page = data.page.slice(0, PAGE_LENGTH);
    }
    root.style.setProperty("--host-width", `${width}px`);
    root.style.setProperty("--host-height", `${height}px`);
    layout();
  });

  // -- storage: the token only, per browser tab, in this frame's origin ---------------

  function remember() {
    try {
      sessionStorage.setItem(
        storageKey,
        JSON.stringify({ chat_id: state.chatId, token: state.token, open: !panel.hidden }),
      );
    } catch (_) {
      /* storage may be disabled; the chat still works until the page is left */
    }
  }

  function recall() {
    try {
      return JSON.parse(sessionStorage.getItem(storageKey) || "null");
    } catch (_) {
      return null;
    }
  }

  function forget() {
    try {
      sessionStorage.removeItem(storageKey);
    } catch (_) {
      /* nothing stored */
    }
  }

  // -- the connection ---------------------------------------------------------------------

  function connect() {
    clearTimeout(state.timer);
    const socket = new WebSocket(`${origin.replace(/^http/, "ws")}/ws/customer`);
    state.socket = socket;
    socket.addEventListener("open", () => {
      socket.send(JSON.stringify({ type: "hello", token: state.token, last_seq: state.lastSeq }));
    });
    socket.addEventListener("message", (message) => receive(JSON.parse(message.data)));
    socket.addEventListener("close", () => {
      clearInterval(state.ping);
      state.pending.clear();
      if (state.socket === socket) state.socket = null;
      render();
      if (state.ended || state.replaced || !state.token) return;
      const delay = Math.min(15000, 500 * 1.6 ** state.attempts) * (0.75 + Math.random() * 0.5);
      state.attempts += 1;
      showNotice(t("notice.reconnecting", { count: Math.ceil(delay / 1000) }));
      state.timer = setTimeout(connect, delay);
    });
  }

  // Typing indicators are not acknowledged: sent as they are, and dropped when offline.
  function sendTyping(active) {
    const socket = state.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN || state.ended) return false;
    const frame = { type: "typing", active };
    if (active && state.typingPreview) frame.draft = textarea.value;
    socket.send(JSON.stringify(frame));
    return true;
  }
  const typing = chatrec.typingSender(sendTyping, {
    // With the preview on, the agent's view of the draft follows it about once a second.
    renewMs: () => (state.typingPreview ? 1000 : 3000),
    trailing: () => state.typingPreview,
  });
  const showTyping = chatrec.typingShown((frame) => {
    typingLine.hidden = !frame;
    typingLine.textContent = !frame ? "" : frame.name ? t("typing.named", { name: frame.name }) : t("typing.agent");
  });

  function send(frame) {
    const socket = state.socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      showNotice(t("notice.not_connected"));
      return false;
    }
    const ref = `w${(state.nextRef += 1)}`;
    state.pending.set(ref, frame);
    socket.send(JSON.stringify({ ...frame, ref }));
    return true;
  }

  function receive(frame) {
    switch (frame.type) {
      case "welcome":
        if (state.attempts) showNotice("");
        state.attempts = 0;
        clearInterval(state.ping);
        state.ping = setInterval(() => send({ type: "ping" }), 25000); // keeps proxies from idling us out
        break;
      case "pong":
        state.pending.delete(frame.ref);
        break;
      case "event":
        if (frame.seq > state.lastSeq) {
          state.lastSeq = frame.seq;
          if (frame.event.type === "message" && frame.event.by.role !== "customer") showTyping(null);
          addLine(frame.event);
        }
        break;
      case "typing":
        showTyping(frame);
        break;
      case "chat":
        summary(frame.chat);
        break;
      case "ack":
        acknowledged(frame);
        break;
      case "error":
        refused(frame);
        break;
      default:
        break;
    }
    render();
  }

  function summary(chat) {
    if (chat.status === "ended") {
      finished();
      return;
    }
    state.recording = chat.recording;
    state.status = chat.status;
    state.typingPreview = Boolean(chat.typing_preview);
    choices.replaceChildren(
      ...(chat.choices || []).map((choice) => {
        const button = h("button", { type: "button", class: "choice", text: choice });
        button.addEventListener("click", () => {
          if (send({ type: "message", text: choice })) choices.replaceChildren();
        });
        return button;
      }),
    );
  }

  function acknowledged(frame) {
    // The request's confirmation is its line in the log (systemText), never a box that
    // could hide the messages.
    state.pending.delete(frame.ref);
  }

  function refused(frame) {
    const sent = state.pending.get(frame.ref);
    state.pending.delete(frame.ref);
    if (!frame.ref && ["not_found", "conflict", "unauthenticated"].includes(frame.code)) {
      // The hello was refused: the chat has ended or its link expired.
      finished();
      return;
    }
    if (frame.code === "replaced") {
      // The chat goes on in another tab or window: this one does not take it back.
      state.replaced = true;
      showNotice(t("notice.replaced"));
      return;
    }
    if (sent && sent.type === "message" && !textarea.value) textarea.value = sent.text;
    const message = reason(frame.code, frame.message);
    showNotice(message.charAt(0).toUpperCase() + message.slice(1) + ".");
  }

  function finished() {
    state.ended = true;
    typing.stop();
    showTyping(null);
    clearTimeout(state.timer);
    forget();
    choices.replaceChildren();
    if (state.socket) state.socket.close();
  }

  // -- what the customer sees ---------------------------------------------------------------

  function speaker(by) {
    if (by.role === "customer") return t("speaker.customer");
    if (by.role === "flow" || by.role === "system") return state.service ? state.service.company : t("speaker.assistant");
    return by.name;
  }

  // Who is in the chat, as far as the customer may know: agents join, and leave or hand
  // the chat on.  Read in event order, so a replay after a reload gives the same answer.
  function follow(event) {
    if (event.by.role !== "agent") return;
    if (event.type === "joined") state.agents.add(event.by.name);
    else if (event.type === "left" || event.type === "transferred") state.agents.delete(event.by.name);
  }

  function systemText(event) {
    switch (event.type) {
      case "joined":
        return t(event.by.role === "supervisor" ? "event.supervisor_joined" : "event.joined", {
          name: event.by.name,
        });
      case "left":
        return t("event.left", { name: event.by.name });
      case "transferred":
        return event.to_agent
          ? t("event.transferred_to", { name: event.to_agent.name })
          : t("event.transferred");
      case "paused":
        return t("event.paused");
      case "resumed":
        return t("event.resumed");
      case "deletion_requested":
        state.deletionRequested = true;
        return t(state.agents.size ? "event.deletion_asked_agent" : "event.deletion_asked_noted");
      case "ended":
        return t("event.ended");
      default:
        return null; // started, consent answers: nothing the customer needs to read
    }
  }

  function time(at) {
    const node = h("time", { datetime: at });
    node.textContent = new Date(at).toLocaleTimeString(language, { hour: "2-digit", minute: "2-digit" });
    return node;
  }

  /** A file of the chat, fetched with the chat's token (R18): the frame shows data URLs. */
  function loadFile(event) {
    const path = `/api/widget/attachments/${encodeURIComponent(event.attachment_id)}`;
    return fetch(path, { headers: { "X-Chat-Token": state.token } }).then(chatrec.dataUrl);
  }

  function addLine(event) {
    follow(event);
    let line;
    if (event.type === "attachment") {
      const from = event.by.role === "customer" ? "me" : "agent";
      const meta = h("span", { class: "meta", text: `${speaker(event.by)} · ` });
      meta.append(time(event.at));
      line = h("li", { class: `msg ${from} attachment-line` }, meta, chatrec.attachmentView(event, () => loadFile(event)));
      if (from !== "me" && panel.hidden) state.unread += 1;
    } else if (event.type === "message" || event.type === "consent_asked") {
      const from = event.by.role === "customer" ? "me" : event.by.role === "flow" ? "bot" : "agent";
      const meta = h("span", { class: "meta", text: `${speaker(event.by)} · ` });
      meta.append(time(event.at));
      line = h(
        "li",
        { class: `msg ${from}` },
        meta,
        h("span", { class: "text", text: event.type === "message" ? event.text : event.question }),
      );
      if (from !== "me" && panel.hidden) state.unread += 1;
    } else {
      const text = systemText(event);
      if (!text) return;
      line = h("li", { class: `system ${event.type}`, text });
    }
    log.append(line);
    state.pinned = true;
    log.scrollTop = log.scrollHeight;
  }

  function render() {
    const started = Boolean(state.token) || state.ended;
    const live = Boolean(state.socket && state.socket.readyState === WebSocket.OPEN);
    intro.hidden = started;
    panel.classList.toggle("compact", !started);
    log.hidden = !started;
    composer.hidden = !started || state.ended;
    footer.hidden = !started;
    textarea.disabled = state.ended;
    sendButton.disabled = !live || state.ended;
    // While the consent question is open, the answer is the customer's say (R10).
    deleteButton.hidden = state.ended || state.recording === "not_recorded" || state.recording === "awaiting_consent";
    deleteButton.disabled = state.deletionRequested || !live;
    deleteButton.textContent = t(state.deletionRequested ? "button.deletion_asked" : "button.ask_deletion");
    endButton.hidden = state.ended;
    endButton.disabled = !live;
    newChatButton.hidden = !state.ended;
    recordingLine.hidden = !started;
    waiting.hidden = state.ended || state.status !== "queued";
    previewNote.hidden = state.ended || !state.typingPreview;
    recordingLine.dataset.state = state.ended ? "ended" : state.recording || "";
    recordingLine.textContent = state.ended
      ? t("recording.ended")
      : RECORDING_STATES.has(state.recording)
        ? t(`recording.${state.recording}`)
        : "";
    launcherText.textContent = t(state.ended || !state.token ? "launcher.start" : "launcher.open_chat");
    launcherBadge.hidden = !state.unread;
    launcherBadge.textContent = String(state.unread);
    launcherBadge.setAttribute("aria-label", t("launcher.unread", { count: state.unread }));
  }

  function showNotice(text) {
    notice.textContent = text;
    notice.hidden = !text;
  }

  function confirmFirst(question, yes, action) {
    confirmText.textContent = question;
    confirmYes.textContent = yes;
    confirmBox.hidden = false;
    confirmYes.onclick = () => {
      confirmBox.hidden = true;
      textarea.focus();
      action();
    };
    confirmYes.focus();
  }

  // -- what the customer does ---------------------------------------------------------------

  function setOpen(open) {
    panel.hidden = !open;
    layout();
    launcher.setAttribute("aria-expanded", String(open));
    if (open) {
      state.unread = 0;
      (state.token && !state.ended ? textarea : startButton).focus();
      log.scrollTop = log.scrollHeight;
    }
    if (state.token) remember();
    render();
  }

  // -- the pre-chat form (R23; issue 15) ------------------------------------------------

  const PAGE_LENGTH = 2000; // as the server keeps it
  const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
  const formFields = []; // {field, input, error} in the form's order

  function buildForm(fields) {
    preChat.replaceChildren(
      ...fields.map((field) => {
        const id = `${panelId}-field-${field.key}`;
        const error = h("p", { class: "field-error", id: `${id}-error`, hidden: "" });
        const input =
          field.type === "select"
            ? h(
                "select",
                { id },
                h("option", { value: "", text: t("form.choose") }),
                field.options.map((option) => h("option", { value: option, text: option })),
              )
            : h("input", {
                id,
                type: field.type === "email" ? "email" : "text",
                maxlength: field.type === "email" ? "254" : "500",
                autocomplete: { name: "name", email: "email" }[field.key] || "off",
              });
        input.setAttribute("aria-describedby", error.id);
        if (field.required) input.setAttribute("aria-required", "true");
        formFields.push({ field, input, error });
        const label = field.required ? field.label : t("form.optional", { label: field.label });
        return h("div", { class: "field" }, h("label", { for: id, text: label }), input, error);
      }),
    );
    preChat.hidden = !fields.length;
  }

  // The answers, or null after marking what to fix (and focusing the first of it).
  function formAnswers() {
    const answers = {};
    let first = null;
    for (const { field, input, error } of formFields) {
      const value = input.value.trim();
      let problem = "";
      if (!value && field.required) problem = t("form.required", { label: field.label });
      else if (value && field.type === "email" && !EMAIL.test(value)) problem = t("form.email");
      error.textContent = problem;
      error.hidden = !problem;
      input.setAttribute("aria-invalid", String(Boolean(problem)));
      if (problem && !first) first = input;
      if (value) answers[field.key] = value;
    }
    if (first) first.focus();
    return first ? null : answers;
  }

  async function start() {
    const details = formAnswers();
    if (!details) return;
    startButton.disabled = true;
    newChatButton.disabled = true;
    showNotice("");
    try {
      const body = await api(
        "POST",
        `${origin}/api/chats`,
        { service_id: serviceId, details, page: state.page },
        { toLogin: false },
      );
      Object.assign(state, {
        chatId: body.chat_id,
        token: body.token,
        lastSeq: 0,
        ended: false,
        recording: null,
        deletionRequested: false,
        agents: new Set(),
        attempts: 0,
      });
      log.replaceChildren();
      confirmBox.hidden = true;
      remember();
      connect();
      render();
      textarea.focus();
    } catch (error) {
      showNotice(t("notice.not_started", { reason: reason(error.code, error.detail || error.message) }));
    } finally {
      startButton.disabled = false;
      newChatButton.disabled = false;
    }
  }

  launcher.addEventListener("click", () => setOpen(panel.hidden));
  minimise.addEventListener("click", () => {
    setOpen(false);
    launcher.focus();
  });
  panel.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      setOpen(false);
      launcher.focus();
    }
  });
  startButton.addEventListener("click", start);
  newChatButton.addEventListener("click", () => {
    state.token = null;
    state.chatId = null;
    start();
  });
  textarea.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      composer.requestSubmit();
    }
  });
  composer.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = textarea.value.trim();
    if (text && send({ type: "message", text })) {
      textarea.value = "";
      typing.stop();
    }
  });
  textarea.addEventListener("input", () => typing.typed(Boolean(textarea.value.trim())));
  // A file for everyone in the chat (R23); refused ones are told in the customer's words.
  attachButton.addEventListener("click", () => attachFile.click());
  attachFile.addEventListener("change", async () => {
    const file = attachFile.files[0];
    attachFile.value = "";
    if (!file || !state.token || state.ended) return;
    const path = `/api/widget/attachments?name=${encodeURIComponent(file.name)}`;
    try {
      await chatrec.api("POST", path, file, { toLogin: false, headers: { "X-Chat-Token": state.token } });
    } catch (error) {
      showNotice(t("notice.not_attached", { name: file.name, reason: reason(error.code, error.detail || error.message) }));
    }
  });
  deleteButton.addEventListener("click", () =>
    confirmFirst(
      t(state.agents.size ? "confirm.deletion_agent" : "confirm.deletion_noted"),
      t("confirm.deletion_yes"),
      () => send({ type: "request_deletion" }),
    ),
  );
  endButton.addEventListener("click", () =>
    confirmFirst(t("confirm.end"), t("confirm.end_yes"), () => send({ type: "end" })),
  );
  confirmNo.addEventListener("click", () => {
    confirmBox.hidden = true;
    textarea.focus();
  });
  // A question box, a notice or the keyboard of a phone makes the log shorter: its newest
  // lines stay in view rather than slip under them, unless the customer scrolled back.
  log.addEventListener("scroll", () => {
    state.pinned = log.scrollHeight - log.scrollTop - log.clientHeight < 8;
  });
  new ResizeObserver(() => {
    if (state.pinned) log.scrollTop = log.scrollHeight;
  }).observe(log);
  new ResizeObserver(layout).observe(frame);

  async function boot() {
    document.body.append(frame);
    try {
      state.service = await api("GET", `${origin}/api/services/${encodeURIComponent(serviceId)}`, undefined, {
        toLogin: false,
      });
    } catch (_) {
      /* the widget works without the names */
    }
    startButton.disabled = false;
    if (state.service && state.service.open === false) {
      // Outside the service's business hours: the company's words, and no chat to start.
      introText.textContent = t("intro.closed");
      closedText.textContent = state.service.closed_message || "";
      closedText.hidden = !state.service.closed_message;
      startButton.hidden = true;
    } else if (state.service) {
      buildForm(state.service.pre_chat_form || []);
      title.textContent = t("head.title_service", { service: state.service.name });
      company.textContent = state.service.company;
      introText.textContent = t(
        !state.service.records
          ? "intro.not_recorded"
          : state.service.asks_consent
            ? "intro.asks_consent"
            : "intro.recorded",
      );
    }
    const saved = recall();
    if (saved && saved.token) {
      state.chatId = saved.chat_id;
      state.token = saved.token;
      connect();
      if (saved.open) setOpen(true);
    }
    render();
  }

  if (document.body) boot();
  else document.addEventListener("DOMContentLoaded", boot);
})();
