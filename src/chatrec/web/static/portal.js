// The agent portal and the supervisor view: one WebSocket (/ws/staff, by session cookie).
//
// The server is the only source of truth: the page keeps, per chat, the events it has
// seen (by sequence number) and the last summary, and redraws from them.  After a
// dropped connection it reconnects with back-off; the hello names the last event held
// of each chat, the welcome replays the visible chats from there, and the `following`
// frame after them says which held chats ended or left meanwhile: nothing is lost,
// nothing shows twice, and no `sync` per chat meets the frame limit.  The agent's
// presence is the server's too: a reload or a reconnect keeps it, and when the idle
// timeout or a logout changed it the page says so.  There is no "start recording"
// control (R2).  Typing indicators go both ways and are never recorded (R23); where the
// company turns the preview on, the customer's draft shows under the conversation as it
// is typed.
"use strict";
(() => {
  const { $, h, sentence } = chatrec;

  const me = {
    id: document.body.dataset.userId,
    name: document.body.dataset.userName,
    role: document.body.dataset.role,
  };
  const supervisor = me.role === "supervisor";
  const ui = {
    list: $("chat-list"),
    listEmpty: $("chat-list-empty"),
    noSelection: $("no-selection"),
    body: $("conversation-body"),
    title: $("conversation-title"),
    status: $("conversation-status"),
    recording: $("conversation-recording"),
    deletion: $("conversation-deletion"),
    abusive: $("conversation-abusive"),
    participants: $("conversation-participants"),
    messages: $("messages"),
    newMessages: $("new-messages"),
    typing: $("typing"),
    actionsNote: $("actions-note"),
    composer: $("composer"),
    message: $("message"),
    connection: $("connection"),
    error: $("error"),
    errorText: $("error-text"),
    announce: $("status"),
    transferDialog: $("transfer-dialog"),
    transferTarget: $("transfer-target"),
    transferNote: $("transfer-note"),
    noteMode: $("note-mode"),
    wrapUp: $("wrap-up"),
    wrapUpCode: $("wrap-up-code"),
    wrapUpHint: $("wrap-up-hint"),
    sendButton: $("send"),
    attach: $("attach"),
    attachFile: $("attach-file"),
    confirmDialog: $("confirm-dialog"),
    confirmTitle: $("confirm-title"),
    confirmText: $("confirm-text"),
    confirmOk: $("confirm-ok"),
    available: $("presence-available"),
    away: $("presence-away"),
    awayReason: $("away-reason"),
    presenceNote: $("presence-note"),
    signedOut: $("signed-out-dialog"),
    signedOutText: $("signed-out-text"),
  };
  const actions = new Map(
    [...document.querySelectorAll("[data-action]")].map((b) => [b.dataset.action, b]),
  );

  // Close codes of a socket whose access ended while open (docs/protocol.md).
  const ACCESS_REVOKED = 4403;
  const ROLE_CHANGED = 4409;

  const RECORDING = {
    recording: "Recording",
    paused: "Paused",
    not_recorded: "Not recorded",
    awaiting_consent: "Awaiting consent",
  };
  // Why an agent cannot take a transfer now, as `GET /api/directory` says.
  const UNAVAILABLE = { away: "away", offline: "not connected" };
  const STATUS = { flow: "In flow", queued: "Queued", active: "Active", ended: "Ended", closed: "Closed" };
  const CONFIRM = {
    delete_recording: {
      title: "Delete this chat's recording?",
      text: "No recording of this chat will be produced (unless it is flagged abusive). " +
        "Your action is written to the audit trail and cannot be undone.",
      ok: "Delete recording",
    },
    flag_abusive: {
      title: "Flag this chat as abusive?",
      text: "The flag cannot be removed. The chat's recordings are kept whatever else happens.",
      ok: "Flag abusive",
    },
    end: {
      title: "End this chat?",
      text: "The customer is told that the chat has ended.",
      ok: "End chat",
    },
  };

  /** chat_id -> {id, summary, lastSeq, events, unread, paused, deletePressed, gone} */
  const chats = new Map();
  const SEEN_SENT = 400;
  let selected = null;
  let socket = null;
  let attempts = 0;
  let reconnectTimer = null;
  let pingTimer = null;
  let errorTimer = null;
  let renderQueued = false;
  let idleTimeout = null; // seconds without using the portal before the server sets Away
  let lastActive = 0; // when the page last told the server the agent is here
  let stuckToEnd = true; // the selected chat follows its newest line until scrolled up
  let unseen = 0; // lines that arrived below while the agent had scrolled up
  let nextRef = 0;
  const pending = new Map(); // ref -> the frame sent, to explain its ack or error
  let ending = ""; // why the server is closing the socket: its last error frame says so
  // Events stamped before this (by the server's clock) are what a (re)load replays; a
  // browser clock far behind the server's would ring for some of them once.
  const OPENED_AT = Date.now();

  // -- connection -------------------------------------------------------------------

  function connect() {
    clearTimeout(reconnectTimer);
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    setConnection("connecting", attempts ? "Reconnecting…" : "Connecting…");
    socket = new WebSocket(`${scheme}//${location.host}/ws/staff`);
    socket.addEventListener("open", () => {
      // The session cookie identifies us; `seen` spares a reconnect the chats' replays
      // from seq 1 (docs/protocol.md).
      socket.send(JSON.stringify({ type: "hello", seen: seenSoFar() }));
    });
    socket.addEventListener("message", (message) => receive(JSON.parse(message.data)));
    socket.addEventListener("close", (event) => {
      clearInterval(pingTimer);
      pending.clear();
      socket = null;
      if (event.code === 4401) {
        location.assign("/login");
        return;
      }
      if (event.code === ACCESS_REVOKED) {
        signedOut(ending || `Your access was revoked (${event.reason || "signed out"}).`);
        return;
      }
      if (event.code === ROLE_CHANGED) {
        location.reload(); // the page and the new hello come with the new role
        return;
      }
      const delay = Math.min(15000, 500 * 1.6 ** attempts) * (0.75 + Math.random() * 0.5);
      attempts += 1;
      setConnection("offline", `Offline, reconnecting in ${Math.ceil(delay / 1000)} s`);
      reconnectTimer = setTimeout(connect, delay);
      render();
    });
  }

  function send(frame) {
    if (!socket || socket.readyState !== WebSocket.OPEN) {
      showError("Not connected: nothing was sent. The page is reconnecting; try again in a moment.");
      return false;
    }
    const ref = `p${(nextRef += 1)}`;
    pending.set(ref, frame);
    socket.send(JSON.stringify({ ...frame, ref }));
    return true;
  }

  /** Access taken away while the page was open: say why; reconnecting could not help. */
  function signedOut(text) {
    setConnection("offline", "Signed out");
    for (const dialog of document.querySelectorAll("dialog[open]")) dialog.close();
    ui.signedOutText.textContent = sentence(text);
    ui.signedOut.addEventListener("cancel", (event) => event.preventDefault()); // stays open
    ui.signedOut.showModal();
  }

  function setConnection(state, text) {
    ui.connection.dataset.state = state;
    ui.connection.textContent = text;
  }

  window.addEventListener("online", () => {
    if (!socket) {
      attempts = 0;
      connect();
    }
  });

  // -- frames from the server -------------------------------------------------------

  function receive(frame) {
    switch (frame.type) {
      case "welcome":
        return welcomed(frame);
      case "event":
        return eventReceived(frame);
      case "chat":
        return summaryReceived(frame.chat);
      case "ack":
        return acknowledged(frame);
      case "error":
        return refused(frame);
      case "presence":
        return showPresence(frame.available, frame);
      case "pong":
        return pending.delete(frame.ref);
      case "typing":
        return typingReceived(frame);
      case "following":
        return followingReceived(frame.chat_ids);
      default:
        return undefined;
    }
  }

  function welcomed(frame) {
    const again = attempts > 0;
    attempts = 0;
    setConnection("online", "Connected");
    if (again) {
      say("Connected again.");
      loadWrapUpCodes(); // an administrator may have changed them meanwhile
    }
    clearInterval(pingTimer);
    pingTimer = setInterval(() => send({ type: "ping" }), 25000);
    if (!supervisor) {
      idleTimeout = frame.idle_timeout_seconds;
      showPresence(frame.available, {
        changed_by: frame.presence_changed_by,
        changed_at: frame.presence_changed_at,
        away_reason: frame.away_reason,
      });
    }
    render();
  }

  /** After the welcome's replays, the open chats this connection follows: one held
   * that is not among them ended or left the desk while the page was offline. */
  function followingReceived(chatIds) {
    const following = new Set(chatIds);
    for (const chat of chats.values()) {
      if (chat.summary && isOpen(chat) && !following.has(chat.id)) {
        chat.gone = "This chat ended or left your desk while you were offline.";
      }
    }
    render();
  }

  /** Per open chat shown, the last seq received: at most SEEN_SENT, the newest, so the
   * hello stays within the server's frame size (a chat left out is replayed whole). */
  function seenSoFar() {
    const open = [...chats.values()].filter(
      (chat) => !chat.gone && chat.lastSeq > 0 && !(chat.summary && chat.summary.status === "ended"),
    );
    return Object.fromEntries(open.slice(-SEEN_SENT).map((chat) => [chat.id, chat.lastSeq]));
  }

  function chatOf(chatId) {
    let chat = chats.get(chatId);
    if (!chat) {
      chat = {
        id: chatId,
        summary: null,
        lastSeq: 0,
        events: [],
        unread: 0,
        paused: false,
        deletePressed: false,
        gone: null,
        typing: null, // who is typing now, with the draft where the company shows it
        mine: false, // the staff member is in the chat since their last "joined" event
      };
      chat.showTyping = chatrec.typingShown((shown) => {
        chat.typing = shown;
        render();
      });
      chats.set(chatId, chat);
    }
    return chat;
  }

  function eventReceived(frame) {
    const chat = chatOf(frame.chat_id);
    if (frame.seq <= chat.lastSeq) return; // already shown (a replay after a reconnect)
    chat.lastSeq = frame.seq;
    chat.gone = null; // the server tells us about it again: we are back in it
    const event = frame.event;
    chat.events.push(event);
    if (event.type === "paused") chat.paused = true;
    if (event.type === "resumed") chat.paused = false;
    if (event.type === "delete_pressed") chat.deletePressed = true;
    if (event.type === "message" && chat.typing && sameSpeaker(chat.typing, event.by)) {
      chat.showTyping(null); // their message is here: they are no longer typing it
    }
    if (event.type === "message" && event.by.user_id !== me.id) {
      if (chat.id !== selected || document.hidden) chat.unread += 1;
    }
    if (chat.id === selected) appendLine(event, true);
    // What happened since the page opened, not the history a (re)load replays, is what
    // portal-alerts.js may ring for (a new chat, a message in a chat not on screen).
    if (event.by.user_id === me.id && event.type === "joined") chat.mine = true;
    if (event.by.user_id === me.id && ["left", "transferred"].includes(event.type)) chat.mine = false;
    if (Date.parse(event.at) >= OPENED_AT) {
      const onScreen = chat.id === selected && !document.hidden;
      // Events come before their batch's summary: the first one names the service.
      const service = chat.summary ? chat.summary.service : chat.events[0].service;
      const detail = { chatId: chat.id, event, onScreen, mine: chat.mine, service };
      window.dispatchEvent(new CustomEvent("chatrec:event", { detail }));
    }
    render();
  }

  function sameSpeaker(typing, by) {
    return typing.by === "customer" ? by.role === "customer" : typing.user_id === by.user_id;
  }

  function typingReceived(frame) {
    chatOf(frame.chat_id).showTyping(frame);
  }

  function typingText(typing) {
    const name = typing.by === "customer" ? "The customer" : typing.name;
    return typing.draft ? `${name} is typing: ${typing.draft}` : `${name} is typing…`;
  }

  function summaryReceived(summary) {
    const chat = chatOf(summary.chat_id);
    const first = chat.summary === null;
    chat.summary = { ...(chat.summary || {}), ...summary };
    chat.gone = null;
    if (first && summary.status !== "ended") {
      const mine = (summary.participants || []).some((p) => p.user_id === me.id);
      if (mine && !supervisor) say(`New chat assigned: ${summary.service}.`);
      if (selected === null && mine) select(chat.id, false);
    }
    if (!first && summary.status === "ended" && chat.id !== selected) chat.unread += 1;
    render();
  }

  function acknowledged(frame) {
    const sent = pending.get(frame.ref);
    pending.delete(frame.ref);
    if (!sent || supervisor) return;
    // An agent who leaves or transfers is no longer told about the chat: close it here,
    // unless their own leaving already reached them (the queue gave the chat back).
    if (sent.type === "leave" || sent.type === "transfer") {
      const chat = chats.get(sent.chat_id);
      if (chat && chat.lastSeq < frame.seq) {
        chat.gone = sent.type === "leave" ? "You left this chat." : "You transferred this chat.";
        say(chat.gone);
        render();
      }
    }
  }

  function refused(frame) {
    if (frame.code === "access_revoked" || frame.code === "role_changed") {
      ending = frame.message; // the close follows at once
      return;
    }
    // A typing indicator refused (the chat ended meanwhile) is nothing to interrupt for.
    if (frame.ref && frame.ref.startsWith("t")) return;
    const sent = frame.ref ? pending.get(frame.ref) : undefined;
    pending.delete(frame.ref);
    if (sent && sent.type === "ping") return;
    if (sent && sent.type === "sync" && frame.code === "not_found") {
      const chat = chats.get(sent.chat_id);
      if (chat) chat.gone = "This chat ended or left your desk while you were offline.";
      render();
      return;
    }
    if (sent && (sent.type === "message" || sent.type === "note") && sent.chat_id === selected && !ui.message.value) {
      ui.message.value = sent.text; // give the unsent text back
    }
    if (sent && sent.type === "presence") showPresence(!sent.available);
    showError(sentence(frame.message || frame.code));
  }

  /** The radios; and, when the idle timeout or a logout set the agent Away, why. */
  function showPresence(available, change) {
    if (supervisor) return;
    ui.available.checked = available;
    ui.away.checked = !available;
    ui.awayReason.disabled = available;
    if (available) ui.awayReason.value = "";
    if (!change) return;
    if (!available && "away_reason" in change) ui.awayReason.value = change.away_reason || "";
    const at = change.changed_at ? clock(change.changed_at) : "";
    let note = "";
    if (!available && change.changed_by === "idle_timeout") {
      note = `You were set to Away at ${at} after ${duration(idleTimeout)} without using the portal.`;
    } else if (!available && change.changed_by === "logout") {
      note = `You were set to Away when you logged out at ${at}.`;
    }
    ui.presenceNote.textContent = note && `${note} Choose Available to take chats again.`;
    ui.presenceNote.hidden = !note;
  }

  function duration(seconds) {
    if (!seconds) return "a while";
    if (seconds < 120) return `${Math.round(seconds)} seconds`;
    if (seconds < 7200) return `${Math.round(seconds / 60)} minutes`;
    return `${Math.round(seconds / 3600)} hours`;
  }

  /** Tell the server the agent is at the desk, often enough for the idle timeout. */
  function noteActivity() {
    if (supervisor || !idleTimeout || !socket || socket.readyState !== WebSocket.OPEN) return;
    const every = Math.min(60, Math.max(1, idleTimeout / 4)) * 1000;
    if (Date.now() - lastActive < every) return;
    lastActive = Date.now();
    send({ type: "active" });
  }

  // -- rendering ----------------------------------------------------------------------

  function render() {
    if (renderQueued) return;
    renderQueued = true;
    setTimeout(() => {
      renderQueued = false;
      renderList();
      renderConversation();
    }, 0);
  }

  function statusOf(chat) {
    return chat.gone ? "closed" : chat.summary.status;
  }

  function isOpen(chat) {
    return !chat.gone && chat.summary.status !== "ended";
  }

  function isIn(chat) {
    return (chat.summary.participants || []).some((p) => p.user_id === me.id);
  }

  function recordingBadge(chat) {
    const badge = h("span", { class: "badge" });
    const state = chat.summary.recording;
    badge.hidden = !isOpen(chat) || !state;
    if (state) {
      badge.dataset.recording = state;
      badge.textContent = RECORDING[state] || state;
    }
    return badge;
  }

  function ordered() {
    const order = (chat) => (isOpen(chat) ? 0 : 1);
    return [...chats.values()]
      .filter((chat) => chat.summary)
      .sort(
        (a, b) =>
          order(a) - order(b) || String(a.summary.started_at).localeCompare(String(b.summary.started_at)),
      );
  }

  function renderList() {
    // The list is redrawn whole; keep the keyboard focus on the same chat's button.
    const active = document.activeElement;
    const focused = active && ui.list.contains(active) ? active.dataset : null;
    const items = ordered();
    ui.list.replaceChildren(...items.map(listItem));
    ui.listEmpty.hidden = items.length > 0;
    if (focused && (focused.chatId || focused.joinChatId)) {
      const again =
        ui.list.querySelector(`[data-chat-id="${CSS.escape(focused.chatId || focused.joinChatId)}"]`);
      if (again) again.focus();
    }
    const unread = items.reduce((sum, chat) => sum + chat.unread, 0);
    const base = document.title.replace(/^\(\d+\) /, "");
    document.title = unread ? `(${unread}) ${base}` : base;
  }

  function listItem(chat) {
    const summary = chat.summary;
    const li = h("li");
    const button = h("button", { class: "chat-item" });
    button.type = "button";
    button.dataset.chatId = chat.id;
    button.setAttribute("aria-current", String(chat.id === selected));
    const top = h("span", { class: "row" });
    top.append(h("span", { class: "title" }, summary.service || "Chat"), h("span", { class: "chat-id" }, chat.id));
    if (chat.unread) {
      const unread = h("span", { class: "unread" }, String(chat.unread));
      unread.setAttribute("aria-label", `${chat.unread} new`);
      top.append(unread);
    }
    const states = h("span", { class: "row" });
    const status = h("span", { class: "pill" }, STATUS[statusOf(chat)] || statusOf(chat));
    status.dataset.status = statusOf(chat);
    states.append(status, recordingBadge(chat));
    if (summary.deletion_requested) {
      states.append(h("span", { class: "marker marker-deletion" }, "Deletion requested"));
    }
    if (summary.abusive) states.append(h("span", { class: "marker marker-abusive" }, "Abusive"));
    button.append(top, states);
    const last = [...chat.events].reverse().find((event) => event.type === "message");
    if (chat.typing) button.append(h("span", { class: "preview typing" }, typingText(chat.typing)));
    else if (last) button.append(h("span", { class: "preview" }, `${who(last.by)}: ${last.text}`));
    button.addEventListener("click", () => select(chat.id, true));
    li.append(button);
    if (supervisor && isOpen(chat) && !isIn(chat)) {
      // Supervisors join from the list too; a sibling, since buttons cannot nest.
      li.className = "joinable";
      const join = h("button", { class: "join-inline primary" }, "Join");
      join.type = "button";
      join.dataset.joinChatId = chat.id;
      join.setAttribute("aria-label", `Join chat ${summary.service || ""} ${chat.id}`);
      join.addEventListener("click", () => {
        select(chat.id, false);
        send({ type: "join", chat_id: chat.id });
      });
      li.append(join);
    }
    return li;
  }

  // Which chat is on screen, for the panels beside it (portal-customer.js).
  function announceSelected() {
    window.dispatchEvent(new CustomEvent("chatrec:selected", { detail: { chatId: selected } }));
  }

  function select(chatId, focusComposer) {
    if (chatId !== selected) typing.stop(); // the indicator was for the chat left
    selected = chatId;
    announceSelected();
    const chat = chats.get(chatId);
    if (chat) chat.unread = 0;
    ui.messages.setAttribute("aria-busy", "true"); // do not read the whole history aloud
    ui.messages.replaceChildren();
    if (chat) for (const event of chat.events) appendLine(event, false);
    renderConversation(); // shown before it scrolls: a hidden list has no height to scroll
    scrollToEnd();
    ui.messages.setAttribute("aria-busy", "false");
    render();
    if (focusComposer) {
      setTimeout(() => {
        if (!ui.message.disabled) ui.message.focus();
      }, 0);
    }
  }

  function renderConversation() {
    const chat = selected ? chats.get(selected) : undefined;
    ui.noSelection.hidden = Boolean(chat && chat.summary);
    ui.body.hidden = !(chat && chat.summary);
    if (!chat || !chat.summary) return;
    const summary = chat.summary;
    const open = isOpen(chat);
    const inside = isIn(chat);
    ui.title.textContent = `${summary.service || "Chat"} · ${chat.id}`;
    ui.status.textContent = STATUS[statusOf(chat)] || statusOf(chat);
    ui.status.dataset.status = statusOf(chat);
    const badge = recordingBadge(chat);
    ui.recording.hidden = badge.hidden;
    ui.recording.dataset.recording = badge.dataset.recording || "";
    ui.recording.textContent = badge.textContent;
    ui.recording.title = "Recording state of this chat";
    ui.deletion.hidden = !summary.deletion_requested;
    ui.abusive.hidden = !summary.abusive;
    ui.participants.textContent = participantsLine(chat, open, inside);

    const show = (name, visible, enabled = true, why = "") => {
      const button = actions.get(name);
      button.hidden = !visible;
      button.disabled = !enabled;
      button.title = enabled ? "" : why;
    };
    const staffing = open && inside;
    // Pause and Resume follow the recording state everyone sees (R11a): once the chat
    // will not be recorded (deleted, R12b; vetoed, R12a; discarded, R12c) there is
    // nothing to pause.  A flag (R13) keeps the recordings, so they cannot be deleted.
    // Awaiting consent may still be recorded: a pause then keeps its text out all the same.
    const recorded = summary.recording !== "not_recorded";
    const notRecorded = chat.deletePressed
      ? "Nothing to pause: the recording was deleted, so this chat will not be recorded."
      : "Nothing to pause: this chat will not be recorded.";
    const kept = "Flagged abusive: its recordings are kept whatever else happens, so they " +
      "cannot be deleted (R13).";
    show("join", supervisor && open && !inside);
    show("pause", staffing && !chat.paused, recorded, notRecorded);
    show("resume", staffing && chat.paused, recorded, notRecorded);
    show("delete_recording", staffing, !chat.deletePressed && !summary.abusive,
      summary.abusive ? kept : "The recording is already deleted.");
    show("flag_abusive", staffing, !summary.abusive);
    show("transfer", staffing);
    show("leave", staffing);
    show("end", staffing);
    show("dismiss", !open);
    showWrapUp(chat, staffing);
    const notes = [];
    if (staffing && !recorded) notes.push(notRecorded);
    if (staffing && summary.abusive) notes.push(kept);
    ui.actionsNote.textContent = notes.join(" ");
    ui.actionsNote.hidden = notes.length === 0;
    const writable = staffing && socket !== null;
    ui.message.disabled = !writable;
    ui.composer.querySelector("button[type=submit]").disabled = !writable;
    ui.composer.setAttribute("aria-disabled", String(!writable));
    ui.typing.hidden = !chat.typing;
    ui.typing.textContent = chat.typing ? typingText(chat.typing) : "";
  }

  // -- the chat's wrap-up code (R23): the company's list, chosen while in the chat -------

  let wrapUpCodes = [];
  async function loadWrapUpCodes() {
    try {
      const answer = await chatrec.api("GET", "/api/wrap-up-codes", undefined, { toLogin: false });
      wrapUpCodes = answer.codes;
      render();
    } catch (_) {
      wrapUpCodes = []; // the choice is offered again at the next connection
    }
  }

  function showWrapUp(chat, staffing) {
    const summary = chat.summary;
    const codes = [...wrapUpCodes];
    if (summary.wrap_up && !codes.includes(summary.wrap_up)) codes.unshift(summary.wrap_up);
    ui.wrapUp.hidden = !staffing || codes.length === 0;
    if (ui.wrapUp.hidden) return;
    const shown = [...ui.wrapUpCode.options].map((o) => o.value).join("\n");
    const wanted = ["", ...codes].join("\n");
    if (shown !== wanted) {
      const none = h("option", {}, "Choose…");
      none.value = "";
      ui.wrapUpCode.replaceChildren(none, ...codes.map((code) => h("option", { value: code }, code)));
    }
    ui.wrapUpCode.value = summary.wrap_up || "";
    ui.wrapUpHint.textContent = summary.wrap_up_required && !summary.wrap_up
      ? "Required before you end the chat."
      : "";
    if (summary.wrap_up_required && !summary.wrap_up) {
      const end = actions.get("end");
      end.disabled = true;
      end.title = "Choose a wrap-up code first: your company requires one.";
    }
  }

  ui.wrapUpCode.addEventListener("change", () => {
    if (selected && ui.wrapUpCode.value) {
      send({ type: "wrap_up", chat_id: selected, code: ui.wrapUpCode.value });
    }
  });

  function participantsLine(chat, open, inside) {
    if (chat.gone) return chat.gone;
    if (!open) return "This chat has ended.";
    const people = (chat.summary.participants || []).map(
      (p) => `${p.user_id === me.id ? "You" : p.name} (${p.role})`,
    );
    const line = people.length ? `In the chat: ${people.join(", ")}.` : "No agent in the chat yet.";
    return supervisor && !inside ? `${line} Join to write and to use the recording controls.` : line;
  }

  function who(by) {
    if (by.user_id && by.user_id === me.id) return "You";
    return by.name;
  }

  function clock(at) {
    return new Date(at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function time(at) {
    const node = h("time");
    node.dateTime = at;
    node.textContent = clock(at);
    return node;
  }

  function systemText(event) {
    const name = who(event.by);
    switch (event.type) {
      case "started":
        return ["", `Chat started on ${event.service}`];
      case "joined":
        if (event.by.role === "supervisor") return ["", `${name} (supervisor) joined`];
        if (event.by_transfer) return ["", `${name} took the chat by transfer`];
        return ["", `${name} joined${event.queue ? ` from the ${event.queue} queue` : ""}`];
      case "left":
        return ["", `${name} left`];
      case "transferred":
        return [
          "",
          event.to_agent
            ? `${name} transferred the chat to ${who(event.to_agent)}`
            : `${name} transferred the chat to the ${event.to_queue || "next"} queue`,
        ];
      case "consent_answered":
        return ["", `The customer ${event.granted ? "agreed to" : "declined"} recording`];
      case "paused":
        return ["pause", `Recording paused by ${name}: nothing from here on is recorded`];
      case "resumed":
        return ["pause", `Recording resumed by ${name}`];
      case "deletion_requested":
        return ["deletion", "The customer asked to delete the recording"];
      case "delete_pressed":
        return ["deletion", `${name} deleted the recording`];
      case "flagged_abusive":
        return ["", `${name} flagged the chat as abusive`];
      case "recording_requested":
        return ["", `The chat flow requested a recording (${event.reason})`];
      case "discarded":
        return ["", "The chat flow discarded the recordings"];
      case "ended":
        return ["", `Chat ended (${event.reason})`];
      case "wrap_up":
        return ["", `${name} chose the wrap-up code ${event.code}`];
      default:
        return ["", event.type];
    }
  }

  function appendLine(event, live) {
    let li;
    if (event.type === "note") {
      // Between staff only (R23): set apart, so nobody takes it for what the customer read.
      li = h("li", { class: `msg note${event.by.user_id === me.id ? " from-me" : ""}` });
      const label = event.with_transfer ? "Internal note for the transfer" : "Internal note";
      const meta = h("span", { class: "meta" }, `${label} · ${who(event.by)} · `);
      meta.append(time(event.at));
      li.append(meta, h("span", { class: "text" }, event.text));
    } else if (event.type === "attachment") {
      // A file sent in the chat (R23), an image shown as its preview; a file sent while
      // paused is marked as in no recording (R8).
      const from = event.by.role === "customer" ? "customer" : "staff";
      li = h("li", { class: `msg from-${from} attachment-line${event.by.user_id === me.id ? " from-me" : ""}` });
      const meta = h("span", { class: "meta" }, `${who(event.by)} · `);
      meta.append(time(event.at));
      if (event.paused) meta.append(" · not recorded (sent while paused)");
      const url = `/api/chats/${encodeURIComponent(selected)}/attachments/${encodeURIComponent(event.attachment_id)}`;
      li.append(meta, chatrec.attachmentView(event, () => Promise.resolve(url)));
    } else if (event.type === "message" || event.type === "consent_asked") {
      const role = event.by.role;
      const from = role === "customer" ? "customer" : role === "flow" || role === "system" ? "flow" : "staff";
      li = h("li", { class: `msg from-${from}${event.by.user_id === me.id ? " from-me" : ""}` });
      const meta = h("span", { class: "meta" }, `${who(event.by)} · `);
      meta.append(time(event.at));
      li.append(meta, h("span", { class: "text" }, event.type === "message" ? event.text : event.question));
    } else {
      const [kind, text] = systemText(event);
      li = h("li", { class: `system ${kind}`.trim() }, `${text} · `);
      li.append(time(event.at));
    }
    ui.messages.append(li);
    if (!live) return; // a whole chat drawn at once: select() scrolls when done
    if (stuckToEnd) {
      scrollToEnd();
    } else {
      unseen += 1;
      showUnseen();
    }
  }

  // -- the selected chat's scroll position ----------------------------------------------
  // It opens at the newest line and follows new ones, unless the agent scrolled up to
  // read: then a marker counts what arrived below and takes them there.

  function atEnd() {
    return ui.messages.scrollHeight - ui.messages.scrollTop - ui.messages.clientHeight < 40;
  }

  function scrollToEnd() {
    ui.messages.scrollTop = ui.messages.scrollHeight;
    stuckToEnd = true;
    unseen = 0;
    showUnseen();
  }

  function showUnseen() {
    ui.newMessages.hidden = unseen === 0;
    ui.newMessages.textContent = `↓ New messages (${unseen})`;
  }

  ui.messages.addEventListener("scroll", () => {
    stuckToEnd = atEnd();
    if (stuckToEnd && unseen) {
      unseen = 0;
      showUnseen();
    }
  });
  // The list changes height as the actions wrap, the composer grows or the window turns.
  new ResizeObserver(() => {
    if (stuckToEnd) ui.messages.scrollTop = ui.messages.scrollHeight;
  }).observe(ui.messages);
  ui.newMessages.addEventListener("click", scrollToEnd);

  function say(text) {
    ui.announce.textContent = text;
  }

  function showError(text) {
    ui.errorText.textContent = text;
    ui.error.hidden = false;
    clearTimeout(errorTimer);
    errorTimer = setTimeout(() => {
      ui.error.hidden = true;
    }, 12000);
  }

  // -- what the user does -------------------------------------------------------------

  $("sign-in-again").addEventListener("click", () => location.assign("/login"));

  $("error-dismiss").addEventListener("click", () => {
    ui.error.hidden = true;
  });

  $("logout").addEventListener("click", async () => {
    try {
      await chatrec.api("POST", "/api/logout", undefined, { toLogin: false });
    } catch (_) {
      // Gone already, or the server is down: either way the login page is next.
    }
    location.assign("/login");
  });

  if (!supervisor) {
    for (const radio of [ui.available, ui.away]) {
      radio.addEventListener("change", () => {
        if (!radio.checked) return;
        const available = radio === ui.available;
        const frame = { type: "presence", available };
        if (!available && ui.awayReason.value) frame.reason = ui.awayReason.value;
        if (!send(frame)) showPresence(!available);
      });
    }
    // A reason chosen while Away (it is disabled while Available) says why at once.
    ui.awayReason.addEventListener("change", () => {
      const frame = { type: "presence", available: false };
      if (ui.awayReason.value) frame.reason = ui.awayReason.value;
      send(frame);
    });
  }

  ui.message.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      ui.composer.requestSubmit();
    }
  });

  // A file for the selected chat (R23): its bytes as they are; the server reads the type.
  ui.attach.addEventListener("click", () => ui.attachFile.click());
  ui.attachFile.addEventListener("change", async () => {
    const file = ui.attachFile.files[0];
    const chatId = selected;
    ui.attachFile.value = "";
    if (!file || !chatId) return;
    const path = `/api/chats/${encodeURIComponent(chatId)}/attachments?name=${encodeURIComponent(file.name)}`;
    try {
      await chatrec.api("POST", path, file);
    } catch (error) {
      showError(`${file.name} was not sent: ${error.message}`);
    }
  });

  ui.composer.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = ui.message.value.trim();
    if (!text || !selected) return;
    const type = ui.noteMode.checked ? "note" : "message";
    if (send({ type, chat_id: selected, text })) {
      ui.message.value = "";
      typing.stop();
    }
  });

  // The agent's typing indicator, for the chat it was typed in (R23); not acknowledged.
  let typingChat = null;
  let typingRef = 0;
  const typing = chatrec.typingSender((active) => {
    const chatId = active ? selected : typingChat;
    if (!chatId || !socket || socket.readyState !== WebSocket.OPEN) return false;
    const ref = `t${(typingRef += 1)}`;
    socket.send(JSON.stringify({ type: "typing", chat_id: chatId, active, ref }));
    typingChat = active ? chatId : null;
    return true;
  });
  ui.message.addEventListener("input", () => {
    // A note is for staff: the customer is not told that anyone is typing it.
    typing.typed(Boolean(ui.message.value.trim()) && !ui.message.disabled && !ui.noteMode.checked);
  });
  ui.noteMode.addEventListener("change", () => {
    if (ui.noteMode.checked) typing.stop();
    ui.composer.classList.toggle("noting", ui.noteMode.checked);
    ui.sendButton.textContent = ui.noteMode.checked ? "Add note" : "Send";
  });

  function ask(kind) {
    const copy = CONFIRM[kind];
    ui.confirmTitle.textContent = copy.title;
    ui.confirmText.textContent = copy.text;
    ui.confirmOk.textContent = copy.ok;
    return new Promise((resolve) => {
      ui.confirmDialog.addEventListener(
        "close",
        () => resolve(ui.confirmDialog.returnValue === "confirm"),
        { once: true },
      );
      ui.confirmDialog.returnValue = "";
      ui.confirmDialog.showModal();
    });
  }

  async function chooseTransferTarget() {
    let directory;
    try {
      directory = await chatrec.api("GET", "/api/directory", undefined, { toLogin: false });
    } catch (_) {
      showError("The list of agents and queues cannot be loaded; try again.");
      return null;
    }
    const agents = h("optgroup");
    agents.label = "Agents";
    const chat = chats.get(selected);
    const present = new Set(((chat && chat.summary.participants) || []).map((p) => p.user_id));
    for (const agent of directory.agents) {
      if (agent.user_id === me.id) continue;
      // Who cannot take the chat is listed, disabled, with the reason; who can, with room.
      let state = `${agent.free_slots} of ${agent.capacity} slots free`;
      if (present.has(agent.user_id)) state = "already in this chat";
      else if (agent.reason === "full") state = `full: ${agent.open_chats} of ${agent.capacity} chats`;
      else if (agent.reason) state = UNAVAILABLE[agent.reason] || agent.reason;
      const option = h("option", {}, `${agent.name} (${state})`);
      option.value = `agent:${agent.user_id}`;
      option.disabled = Boolean(agent.reason) || present.has(agent.user_id);
      agents.append(option);
    }
    const queues = h("optgroup");
    queues.label = "Queues";
    for (const queue of directory.queues) {
      const option = h("option", {}, `${queue.name} queue`);
      option.value = `queue:${queue.queue_id}`;
      queues.append(option);
    }
    const placeholder = h("option", {}, "Choose an agent or a queue");
    placeholder.value = "";
    ui.transferTarget.replaceChildren(placeholder, agents, queues);
    return new Promise((resolve) => {
      ui.transferDialog.addEventListener(
        "close",
        () => {
          const confirmed = ui.transferDialog.returnValue === "confirm";
          resolve(confirmed && ui.transferTarget.value ? ui.transferTarget.value : null);
        },
        { once: true },
      );
      ui.transferDialog.returnValue = "";
      ui.transferDialog.showModal();
      ui.transferTarget.focus();
    });
  }

  for (const [name, button] of actions) {
    button.addEventListener("click", async () => {
      const chatId = selected;
      if (!chatId) return;
      if (name === "dismiss") {
        chats.delete(chatId);
        selected = null;
        announceSelected();
        render();
        return;
      }
      if (name === "transfer") {
        const target = await chooseTransferTarget();
        if (!target) return;
        const [kind, id] = target.split(/:(.*)/s);
        const frame = { type: "transfer", chat_id: chatId, [kind === "agent" ? "to_agent" : "to_queue"]: id };
        const note = ui.transferNote.value.trim();
        if (note) frame.note = note; // internal, for whoever takes the chat (R23)
        if (send(frame)) ui.transferNote.value = "";
        return;
      }
      if (CONFIRM[name] && !(await ask(name))) return;
      send({ type: name, chat_id: chatId });
    });
  }

  for (const type of ["keydown", "pointerdown", "pointermove", "wheel", "touchstart"]) {
    document.addEventListener(type, noteActivity, { capture: true, passive: true });
  }

  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && selected && chats.get(selected)) {
      chats.get(selected).unread = 0;
      render();
    }
  });

  render();
  loadWrapUpCodes();
  connect();
})();
