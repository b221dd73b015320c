// The chatrec customer widget's loader.  Embed the widget with
//
//   <script src="https://chat.example.com/static/widget.js" data-service="SERVICE-ID" defer></script>
//
// and, to choose the widget's language rather than leave it to the customer's browser,
// data-lang="de" (a language the widget does not speak is English).
//
// This script only puts a frame on the page: the widget itself runs inside it, served by
// chatrec (/widget/frame/SERVICE-ID, widget-frame.js).  The chat, and the token that
// opens it, stay in that frame, on chatrec's origin, where no script of this page can
// read them (R18); this page's styles and the widget's never mix.  The page must allow
// the frame (Content-Security-Policy frame-src, if it has one), and chatrec must allow
// the page to show it (CHATREC_WIDGET_ORIGINS, its frame-ancestors).
//
// Between page and frame pass only sizes and this page's address: this script tells the
// frame how large the page's window is and which page the customer is on (kept with the
// chat as the page it started on, R23), and sizes and places the frame as the frame asks —
// the launcher in the corner, the open chat above it, or the whole window on a small
// screen.
"use strict";
(() => {
  const script =
    document.currentScript || document.querySelector('script[src*="widget.js"][data-service]');
  if (!script || !script.dataset.service) {
    console.warn("chatrec widget: add data-service=\"SERVICE-ID\" to its script tag");
    return;
  }
  const serviceId = script.dataset.service;
  const origin = new URL(script.src, location.href).origin;
  const index = document.querySelectorAll("iframe[data-chatrec-widget]").length;
  const STACK = 64; // px between the launchers of several widgets on one page

  const frame = document.createElement("iframe");
  const lang = script.dataset.lang ? `?lang=${encodeURIComponent(script.dataset.lang)}` : "";
  frame.src = `${origin}/widget/frame/${encodeURIComponent(serviceId)}${lang}`;
  frame.title = "Chat";
  frame.setAttribute("data-chatrec-widget", serviceId);

  // Important, so that the page's own rules for frames do not move or frame the widget.
  function set(styles) {
    for (const [name, value] of Object.entries(styles)) {
      frame.style.setProperty(name, value, "important");
    }
  }
  set({
    display: "none", // until the frame says how much room it needs
    position: "fixed",
    border: "0",
    margin: "0",
    padding: "0",
    background: "transparent",
    "color-scheme": "light", // as the frame's: else the browser paints the frame opaque
    "z-index": "2147483000",
    "max-width": "none",
    "max-height": "none",
  });

  function place(room) {
    const width = Number(room.width);
    const height = Number(room.height);
    if (room.full) {
      set({ display: "block", inset: "0", width: "100%", height: "100%" });
    } else if (width > 0 && height > 0) {
      set({
        display: "block",
        top: "auto",
        left: "auto",
        right: "0",
        bottom: `calc(${index * STACK}px + env(safe-area-inset-bottom, 0px))`,
        width: `${Math.min(width, innerWidth)}px`,
        height: `${Math.min(height, innerHeight)}px`,
      });
    }
  }

  function tellSize() {
    if (frame.contentWindow) {
      const page = location.href.slice(0, 2000); // the server keeps at most this much
      frame.contentWindow.postMessage({ chatrec: "host", width: innerWidth, height: innerHeight, page }, origin);
    }
  }

  window.addEventListener("message", (event) => {
    const data = event.data;
    if (event.source !== frame.contentWindow || event.origin !== origin) return;
    if (data && data.chatrec === "widget") place(data);
  });
  frame.addEventListener("load", tellSize);
  window.addEventListener("resize", tellSize);

  function boot() {
    document.body.append(frame);
  }

  if (document.body) boot();
  else document.addEventListener("DOMContentLoaded", boot);
})();
