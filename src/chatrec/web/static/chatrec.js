// What the page scripts share, as `window.chatrec`: finding and building elements,
// reading a cookie, calling the HTTP API, and typing indicators.
//
// A classic script, loaded deferred before each page's own script (the CSP allows
// scripts from chatrec's origin only), so the pages need no module loader.  Unsafe
// requests carry the `chatrec_csrf` cookie back as `X-CSRF-Token` (double submit).
// Text from the server only ever enters the page as text nodes, never as HTML.  The
// widget's loader (widget.js) runs on foreign pages and stays self-contained.
"use strict";
window.chatrec = (() => {
  const $ = (id) => document.getElementById(id);
  const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

  /** A cookie's value, or "" when there is none. */
  function cookie(name) {
    for (const part of document.cookie.split(";")) {
      const at = part.indexOf("=");
      if (at > 0 && part.slice(0, at).trim() === name) {
        return decodeURIComponent(part.slice(at + 1).trim());
      }
    }
    return "";
  }

  /** "the queue is full" -> "The queue is full." */
  function sentence(text) {
    const trimmed = String(text || "").trim();
    if (!trimmed) return "";
    const first = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
    return /[.!?)]$/.test(first) ? first : `${first}.`;
  }

  /** A refusal of the API: its message as a sentence, its code, and the raw detail. */
  class ApiError extends Error {
    constructor(status, error) {
      super(sentence(error.message) || `The server answered ${status}.`);
      this.status = status;
      this.code = error.code || "";
      this.detail = error.message || "";
      this.problems = error.problems || [];
      this.position = error.position;
    }
  }

  /**
   * Call the API; resolves to the JSON answer (null for none), rejects with an ApiError.
   * A 401 sends a signed-in page to the login page, unless `toLogin` is false.
   */
  async function api(method, path, data, { toLogin = true, headers: more = {} } = {}) {
    // A Blob (a file sent in a chat, R23) goes as it is: the server reads its type from its bytes.
    const raw = data instanceof Blob;
    const headers = { Accept: "application/json", ...more };
    if (data !== undefined) headers["Content-Type"] = raw ? "application/octet-stream" : "application/json";
    if (UNSAFE.has(method)) headers["X-CSRF-Token"] = cookie("chatrec_csrf");
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        credentials: "same-origin",
        body: data === undefined || raw ? data : JSON.stringify(data),
      });
    } catch (_) {
      throw new ApiError(0, {
        code: "offline",
        message: "the server cannot be reached. Check your connection and try again",
      });
    }
    if (response.status === 401 && toLogin) {
      location.assign("/login");
      throw new ApiError(401, { code: "unauthenticated", message: "your session has ended" });
    }
    if (response.status === 204) return null;
    const payload = await response.json().catch(() => null);
    if (!response.ok) throw new ApiError(response.status, (payload && payload.error) || {});
    return payload;
  }

  /**
   * h("a", {href: "/x", class: "y", on: {click: f}}, "text", child): an element.
   * Keys other than class/text/on/dataset set attributes; booleans set or drop them.
   */
  function h(tag, props, ...children) {
    const element = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") element.className = value;
      else if (key === "text") element.textContent = value;
      else if (key === "on") {
        for (const [name, handler] of Object.entries(value)) element.addEventListener(name, handler);
      } else if (key === "dataset") Object.assign(element.dataset, value);
      else if (key === "checked" || key === "value" || key === "selected") element[key] = value;
      else element.setAttribute(key, value === true ? "" : String(value));
    }
    append(element, children);
    return element;
  }

  function append(element, children) {
    for (const child of children.flat(Infinity)) {
      if (child === undefined || child === null || child === false) continue;
      element.append(child instanceof Node ? child : String(child));
    }
    return element;
  }

  function fill(element, ...children) {
    element.replaceChildren();
    return append(element, children);
  }

  /**
   * Typing indicators (R23, docs/protocol.md): `typed(hasText)` on every change of the
   * composer, `stop()` when it is sent or left.  `send(active)` goes out when typing
   * starts, again every `renewMs` while it goes on (the other side drops an indicator
   * not renewed within TYPING_TTL_MS), and a stop after `idleMs` without a keystroke.
   * With `trailing`, the last change within `renewMs` goes out too (a draft preview).
   * `renewMs` may be a function, read at each change.
   */
  const TYPING_TTL_MS = 6000;
  function typingSender(send, { renewMs = 3000, idleMs = 4000, trailing = () => false } = {}) {
    let active = false;
    let sentAt = 0;
    let idle = null;
    let trail = null;
    const renew = typeof renewMs === "function" ? renewMs : () => renewMs;
    const go = (on) => {
      clearTimeout(trail);
      trail = null;
      if (send(on) !== false) {
        active = on;
        sentAt = Date.now();
      }
    };
    const stop = () => {
      clearTimeout(idle);
      clearTimeout(trail);
      if (active) go(false);
    };
    const typed = (hasText) => {
      clearTimeout(idle);
      if (!hasText) return stop();
      const since = Date.now() - sentAt;
      if (!active || since >= renew()) go(true);
      else if (trailing() && trail === null) trail = setTimeout(() => go(true), renew() - since);
      idle = setTimeout(stop, idleMs);
      return undefined;
    };
    return { typed, stop };
  }

  /** Shows "… is typing" through `show(frame | null)` until a stop or the TTL. */
  function typingShown(show) {
    let expiry = null;
    return (frame) => {
      clearTimeout(expiry);
      if (frame && frame.active) {
        show(frame);
        expiry = setTimeout(() => show(null), TYPING_TTL_MS);
      } else {
        show(null);
      }
    };
  }

  // -- files sent in a chat (R23) ------------------------------------------------------

  const IMAGE_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);

  function fileSize(bytes) {
    if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
    if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
    return `${bytes} B`;
  }

  /**
   * A file of an `attachment` event: a link that downloads it and, for an image, its
   * preview.  `load()` resolves to the URL to show it from (the API's own, or a data URL
   * fetched with the customer's token); until then the link names the file only.
   */
  function attachmentView(event, load) {
    const link = h("a", { class: "file", download: event.name, text: `${event.name} (${fileSize(event.size)})` });
    const view = h("span", { class: "attachment" }, link);
    load().then(
      (url) => {
        link.href = url;
        if (IMAGE_TYPES.has(event.media_type)) {
          view.prepend(h("img", { class: "preview", src: url, alt: event.name }));
        }
      },
      () => view.classList.add("unavailable"),
    );
    return view;
  }

  /** A moment as staff read it in lists of chats: date and time, in their locale. */
  function dateTime(at) {
    return new Date(at).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
  }

  /** A fetched file as a data URL: pages that may show `data:` images but no others. */
  async function dataUrl(response) {
    if (!response.ok) throw new Error(`the server answered ${response.status}`);
    const blob = await response.blob();
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(reader.result);
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(blob);
    });
  }

  return {
    $,
    api,
    ApiError,
    append,
    attachmentView,
    cookie,
    dataUrl,
    dateTime,
    fill,
    h,
    sentence,
    typingSender,
    typingShown,
  };
})();
