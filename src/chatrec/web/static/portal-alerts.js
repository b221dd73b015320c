// Alerts on the desk (issue 15): a short sound and, once the browser allows it, a desktop
// notification for a new chat of the agent's and for a message in a chat that is not on
// screen (another chat selected, or the page hidden) of a chat they are in.  portal.js tells what happened
// since the page opened ("chatrec:event"); nothing a reload replays rings again.
// The sound is made by the page (WebAudio), so it needs no file and no network; the
// choice of sound and whether permission was asked are kept in this browser.
"use strict";
(() => {
  const { $ } = chatrec;
  const me = document.body.dataset.userId;
  const soundBox = $("alert-sound");
  const desktopButton = $("alert-desktop");
  if (!soundBox || !desktopButton) return;
  const SOUND_KEY = "chatrec.alerts.sound";
  const ASKED_KEY = "chatrec.alerts.asked";
  const canNotify = "Notification" in window;

  soundBox.checked = localStorage.getItem(SOUND_KEY) !== "off";
  soundBox.addEventListener("change", () => localStorage.setItem(SOUND_KEY, soundBox.checked ? "on" : "off"));

  // Permission is asked once, when the agent asks for it: never on a page load.
  function showDesktopButton() {
    desktopButton.hidden = !canNotify || Notification.permission !== "default";
    if (canNotify && Notification.permission === "default" && localStorage.getItem(ASKED_KEY)) {
      desktopButton.textContent = "Desktop notifications (not allowed yet)…";
    }
  }
  desktopButton.addEventListener("click", async () => {
    localStorage.setItem(ASKED_KEY, "yes");
    await Notification.requestPermission();
    showDesktopButton();
  });
  showDesktopButton();

  let audio = null;
  function ring() {
    if (!soundBox.checked) return;
    try {
      audio = audio || new AudioContext();
      const tone = audio.createOscillator();
      const gain = audio.createGain();
      tone.frequency.value = 880;
      gain.gain.setValueAtTime(0.15, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.35);
      tone.connect(gain).connect(audio.destination);
      tone.start();
      tone.stop(audio.currentTime + 0.35);
    } catch (_) {
      // No sound device, or the browser wants a click first: the notification still shows.
    }
  }

  function notify(title, body, chatId) {
    ring();
    document.body.dataset.alerts = String(Number(document.body.dataset.alerts || 0) + 1);
    if (!canNotify || Notification.permission !== "granted") return;
    const shown = new Notification(title, { body, tag: `chatrec-${chatId}` });
    shown.addEventListener("click", () => {
      window.focus();
      const item = document.querySelector(`.chat-item[data-chat-id="${CSS.escape(chatId)}"]`);
      if (item) item.click();
      shown.close();
    });
  }

  window.addEventListener("chatrec:event", ({ detail }) => {
    const { chatId, event, onScreen, mine, service } = detail;
    const person = event.by.role === "customer" || (event.by.user_id && event.by.user_id !== me);
    if (event.type === "joined" && event.by.user_id === me && event.by.role === "agent") {
      notify("New chat", `${service || "A chat"} is yours now.`, chatId);
    } else if (event.type === "message" && mine && person && !onScreen) {
      // What someone wrote in a chat the staff member is in: not the flow's lines, and
      // not what the chat held before they joined (the "New chat" alert covers it).
      const from = event.by.role === "customer" ? "The customer" : event.by.name;
      notify(`${from} (${service || "chat"})`, event.text.slice(0, 140), chatId);
    }
  });
})();
