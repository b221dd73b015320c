// One chat: why each recording was produced or suppressed (R14), and its journal, in
// which purged messages show no text (R17). A rule is named in plain words with its id as
// a tag, linked to the rules page; the names come with the page, from the domain's table.
"use strict";
(() => {
  const c = window.chatrecConsole;
  const { $, h } = c;
  const chatId = c.recordId;
  const path = encodeURIComponent(chatId);
  const ruleNames = JSON.parse($("rule-names").textContent);

  function rule(id) {
    const name = ruleNames[id];
    if (!name) return h("code", {}, id);
    return [
      h("a", { href: `${c.link("/console/rules")}#${encodeURIComponent(id)}` }, name),
      " ",
      h("span", { class: "rule-id" }, `(${id})`),
    ];
  }

  function settings(s) {
    return (
      `Permit Recordings ${s.permit_recordings ? "on" : "off"}, record chats ` +
      `${s.record_chats ? "on" : "off"}, record percentage ${s.record_percentage} %`
    );
  }

  function describe(event, purged) {
    switch (event.type) {
      case "chat_started":
        return `started the chat on service ${event.service}` +
          (event.flow_id ? `, flow ${event.flow_id} version ${event.flow_version}` : "");
      case "message_posted":
        return event.text
          ? h("q", { class: "message-text" }, event.text)
          : h("em", { class: "purged" }, purged ? "message text purged (R17)" : "empty message");
      case "note_added": {
        const label = event.with_transfer ? "internal note for the transfer: " : "internal note: ";
        const body = event.text
          ? h("q", { class: "message-text" }, event.text)
          : h("em", { class: "purged" }, purged ? "note text purged (R17)" : "empty note");
        return h("span", {}, label, body);
      }
      case "agent_assigned":
        return `took the chat${event.by_transfer ? " by transfer" : event.queue ? ` from queue ${event.queue}` : ""} (${settings(event.settings)})`;
      case "transferred":
        return `transferred the chat to ${event.to_agent ? event.to_agent.name : `queue ${event.to_queue}`}`;
      case "supervisor_joined":
        return `joined as supervisor (${settings(event.settings)})`;
      case "participant_left":
        return "left";
      case "recording_requested":
        return `requested a flow recording (step ${event.step_id}, reason ${event.reason}, template ${event.template || "company default"})`;
      case "consent_asked":
        return `asked for consent: ${event.question}`;
      case "consent_answered":
        return `${event.granted ? "gave" : "refused"} consent`;
      case "discarded":
        return "discarded every recording of the chat (R12c)";
      case "recording_paused":
        return "paused the recording";
      case "recording_resumed":
        return "resumed the recording";
      case "deletion_requested":
        return "asked that the recording be deleted";
      case "delete_pressed":
        return "pressed Delete recording (R12b)";
      case "flagged_abusive":
        return "flagged the chat abusive (R13)";
      case "chat_ended":
        return `ended the chat (${event.reason})`;
      default:
        return event.type;
    }
  }

  function showJournal(journal) {
    const chat = journal.chat;
    const status = $("chat-status");
    status.dataset.status = chat.status;
    status.textContent = chat.status;
    c.fill(
      $("chat-facts"),
      "Service ",
      h("code", {}, chat.service_id),
      chat.flow_id ? [", flow ", h("code", {}, chat.flow_id), ` version ${chat.flow_version}`] : "",
      "; started ",
      c.time(chat.started_at),
      chat.ended_at ? [", ended ", c.time(chat.ended_at)] : "",
      chat.purged ? ". Message text has been purged (R17)." : ".",
    );
    c.fill(
      $("journal"),
      journal.events.map((event) =>
        h(
          "li",
          { class: `event event-${event.type}` },
          h("span", { class: "seq" }, `#${event.seq}`),
          c.time(event.at),
          h("span", { class: "actor" }, event.actor.name, h("span", { class: "hint" }, ` ${event.actor.role}`)),
          h("span", { class: "what" }, describe(event, chat.purged)),
        ),
      ),
    );
  }

  function showExplanation(found) {
    const recordings = found.recordings.length
      ? h(
          "div",
          { class: "table-wrap" },
          h(
            "table",
            { class: "data" },
            h("caption", { class: "visually-hidden" }, "Recordings of the chat"),
            h(
              "thead",
              {},
              h("tr", {}, ["Recording", "Origin", "Reason", "Outcome", "Rule", "Files"].map((t) => h("th", { scope: "col" }, t))),
            ),
            h(
              "tbody",
              {},
              found.recordings.map((r) =>
                h(
                  "tr",
                  {},
                  h("th", { scope: "row" }, h("code", {}, r.recording_id)),
                  h("td", {}, r.origin),
                  h("td", {}, r.reason),
                  h("td", {}, h("span", { class: "pill", dataset: { outcome: r.outcome } }, r.outcome)),
                  h("td", { title: r.explanation }, rule(r.rule)),
                  h("td", {}, r.files.length ? h("ul", { class: "files" }, r.files.map((f) => h("li", {}, h("code", {}, f)))) : "—"),
                ),
              ),
            ),
          ),
        )
      : h("p", { class: "hint" }, "The chat has no recordings.");
    c.fill(
      $("explanation"),
      found.sentences.length
        ? h("ul", { class: "sentences" }, found.sentences.map((s) => h("li", {}, s)))
        : h("p", { class: "hint" }, "Nothing is decided until the chat ends."),
      recordings,
    );
  }

  c.api("GET", `/api/chats/${path}/journal`).then(showJournal, c.showError);
  c.api("GET", `/api/chats/${path}/explanation`).then(showExplanation, (error) => {
    c.fill($("explanation"), h("p", { class: "hint" }, error.message));
  });
})();
