// Live notifications: connects to /ws/notifications/ with the session cookie, asks for what it
// missed since the last id it saw (kept in localStorage), reconnects with exponential backoff
// (1 s to 30 s, with jitter) and keeps the unread count in #notification-badge.
// Other scripts may listen for the "ekessai:notification" event on document.
(function () {
  "use strict";

  var badge = document.getElementById("notification-badge");
  if (!badge || !("WebSocket" in window)) {
    return;
  }
  var label = badge.getAttribute("data-label") || "";
  var storageKey = "ekessai.notifications.last-id." + (badge.getAttribute("data-user") || "");
  var CONTROL = { ready: 1, pong: 1, read: 1, error: 1 };
  var MIN_DELAY = 1000;
  var MAX_DELAY = 30000;
  var PING_EVERY = 30000;
  var attempt = 0;
  var unread = 0;
  var socket = null;
  var pinger = null;

  function lastId() {
    try {
      var value = window.localStorage.getItem(storageKey);
      return value && /^\d+$/.test(value) ? value : null;
    } catch (e) {
      return null;
    }
  }

  function remember(id) {
    var known = lastId();
    if (known === null || Number(id) > Number(known)) {
      try {
        window.localStorage.setItem(storageKey, String(id));
      } catch (e) {
        // Private mode or storage full: the next connection replays nothing, that is all.
      }
    }
  }

  function forget() {
    try {
      window.localStorage.removeItem(storageKey);
    } catch (e) {}
  }

  function show(count) {
    unread = Math.max(0, count | 0);
    badge.textContent = label + " " + unread;
    badge.setAttribute("aria-label", label + ": " + unread);
    badge.classList.toggle("has-unread", unread > 0);
  }

  function retryLater(minimum) {
    var delay = Math.min(MAX_DELAY, MIN_DELAY * Math.pow(2, attempt));
    delay = Math.max(minimum || 0, delay / 2 + Math.random() * (delay / 2));
    attempt += 1;
    window.setTimeout(connect, delay);
  }

  function onMessage(event) {
    var frame;
    try {
      frame = JSON.parse(event.data);
    } catch (e) {
      return;
    }
    if (!frame || typeof frame.type !== "string") {
      return;
    }
    if (frame.type === "ready") {
      attempt = 0;
      if (frame.last_id !== null && frame.last_id !== undefined) {
        remember(frame.last_id);
      }
      show(frame.unread);
    } else if (frame.type === "read") {
      show(frame.unread);
    } else if (!CONTROL[frame.type] && typeof frame.id === "number") {
      remember(frame.id);
      if (!frame.read) {
        show(unread + 1);
      }
      document.dispatchEvent(new CustomEvent("ekessai:notification", { detail: frame }));
    }
  }

  function onClose(event) {
    window.clearInterval(pinger);
    socket = null;
    if (event.code === 4401) {
      return; // signed out or deactivated: the next page load signs in again
    }
    if (event.code === 4400) {
      forget(); // a stored id the server refuses: start afresh
    }
    retryLater(event.code === 4429 ? MAX_DELAY : 0);
  }

  function connect() {
    if (socket) {
      return;
    }
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var since = lastId();
    var url = scheme + window.location.host + "/ws/notifications/";
    if (since !== null) {
      url += "?since=" + encodeURIComponent(since);
    }
    try {
      socket = new WebSocket(url);
    } catch (e) {
      socket = null;
      retryLater(0);
      return;
    }
    socket.addEventListener("message", onMessage);
    socket.addEventListener("close", onClose);
    socket.addEventListener("open", function () {
      pinger = window.setInterval(function () {
        if (socket && socket.readyState === WebSocket.OPEN) {
          socket.send(JSON.stringify({ type: "ping" }));
        }
      }, PING_EVERY);
    });
  }

  // Other scripts mark notifications read through the open connection.
  window.ekessaiNotifications = {
    markRead: function (upTo) {
      if (socket && socket.readyState === WebSocket.OPEN) {
        socket.send(JSON.stringify({ type: "read", up_to: upTo }));
      }
    },
  };

  connect();
})();
