// The briefing of a meeting, in the meeting room (meetings/templates/meetings/room.html loads it;
// it attaches to #briefing-controls). The chair presses 「説明を開始」 and presents: every page the
// room shows ("meeting:view" on #meeting-room) goes to the others as briefing.view with the item's
// index in the set. Everyone else follows: the presenter's page is shown through "meeting:show";
// turning a page oneself stops following until 「説明者に戻る」.
import { announce, data, el } from "../frontend/common.js";
import { Link } from "./link.js";

const STRINGS = {
  ja: {
    start: "説明を開始",
    back: "説明者に戻る",
    presenting: "あなたが説明中",
    following: "説明者に追従中",
    browsing: "自分で閲覧中",
    waiting: "議長の説明開始を待っています",
    ended: "説明は終了しました",
    reconnecting: "再接続中…",
  },
  en: {
    start: "Start a briefing",
    back: "Back to the presenter",
    presenting: "You are presenting",
    following: "Following the presenter",
    browsing: "Browsing on your own",
    waiting: "Waiting for the chair to start presenting",
    ended: "The briefing has ended",
    reconnecting: "Reconnecting…",
  },
};
const RETRY_WAITING = 10000;

const controls = document.getElementById("briefing-controls");
const room = document.getElementById("meeting-room");
if (controls && room) {
  const t = STRINGS[(document.documentElement.lang || "ja").slice(0, 2)] || STRINGS.ja;
  const config = data("meeting-room-config");
  const items = [...config.meeting.items].sort((a, b) => a.position - b.position);
  const chair = config.meeting.chair && config.meeting.chair.username === config.me;
  const state = el("span", { class: "briefing-state", role: "status", "aria-live": "polite" });
  const back = el("button", { type: "button", class: "primary", text: t.back, hidden: true });
  const start = el("button", { type: "button", class: "primary", text: t.start, hidden: !chair });
  controls.append(start, back, state);

  let role = "none";
  let following = true;
  let presenterView = null;
  let link = null;

  const same = (a, b) => a && b && a.item === b.item && a.page === b.page;
  const indexOf = (itemId) => items.findIndex((i) => i.id === itemId);

  function show(view) {
    const item = items[view.item];
    if (item) {
      room.dispatchEvent(
        new CustomEvent("meeting:show", { detail: { item: item.id, part: view.part, page: view.page } }),
      );
    }
  }

  function setRole(next) {
    role = next;
    const browsing = role === "follower" && !following;
    back.hidden = !browsing;
    start.hidden = !chair || role === "presenter";
    announce(state, browsing ? t.browsing : t[role] || "");
  }

  room.addEventListener("meeting:view", (event) => {
    const detail = event.detail || {};
    const view = { item: indexOf(detail.item), part: detail.part || "", page: detail.page || 1 };
    if (role === "presenter" && view.item >= 0) {
      presenterView = view;
      link.send({ type: "briefing.view", ...view, zoom: 1 });
    } else if (role === "follower" && following && !same(view, presenterView)) {
      following = false;
      setRole("follower");
    }
  });
  back.addEventListener("click", () => {
    following = true;
    setRole("follower");
    if (presenterView) {
      show(presenterView);
    }
  });

  function onFrame(frame) {
    if (frame.type === "briefing.state") {
      presenterView = { item: frame.view.item || 0, part: frame.view.part, page: frame.view.page };
      setRole(frame.role);
      if (frame.role === "follower" && following) {
        show(presenterView);
      }
    } else if (frame.type === "briefing.view") {
      presenterView = { item: frame.item || 0, part: frame.part, page: frame.page };
      if (role === "follower" && following) {
        show(presenterView);
      }
    } else if (frame.type === "briefing.presenter") {
      following = true;
      setRole(frame.presenter.username === config.me ? "presenter" : "follower");
    } else if (frame.type === "briefing.ended") {
      setRole("ended");
      link.stop();
      link = null;
    } else if (frame.type === "error" && frame.about === "briefing.join") {
      link.stop();
      link = null;
      if (frame.code === "not_started") {
        setRole("waiting");
        window.setTimeout(connect, RETRY_WAITING);
      } else {
        announce(state, frame.message, "error");
      }
    }
  }

  function connect() {
    if (link) {
      return;
    }
    link = new Link("/ws/notifications/", { type: "briefing.join", meeting: config.meeting.id }, {
      onFrame,
      onState: (s) => s === "reconnecting" && announce(state, t.reconnecting),
    });
    link.connect();
  }

  start.addEventListener("click", connect);
  if (!chair) {
    connect(); // a briefing already running is followed at once
  }
}
