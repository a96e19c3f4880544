// The briefing page (説明モード), for the presenter and every follower.
// Presenter: PageDown/PageUp, arrows or a clicker turn the pages, + / − / 0 zoom; every change goes
// to the followers (briefing.view), and the mouse over the page is their pointer (briefing.pointer).
// Follower: shows what the presenter shows; browsing on one's own stops following until
// 「説明者に戻る」 (or b / Esc). The server decides who presents: its frames set the role.
import { announce, api, data, format } from "../frontend/common.js";
import { peoplePicker } from "../frontend/people-picker.js";
import { Link } from "./link.js";
import { Stage } from "./stage.js";

const config = data("briefing-config");
const t = config.strings;
const root = document.getElementById("briefing");
const $ = (id) => document.getElementById(id);
const status = $("bf-status");
const alertBox = $("bf-alert");
const ZOOM_STEP = 1.25;
const MIN_ZOOM = 0.5;
const MAX_ZOOM = 6;

const stage = new Stage({ stage: $("bf-stage"), page: $("bf-page"), pointer: $("bf-pointer") }, config);
const parts = config.parts;

let role = "connecting"; // presenter, follower, ended, refused
let following = true;
let presenterView = { part: "", page: 1, zoom: 1 };
let shown = { page: 1, zoom: 1 };

function partOf(page) {
  return parts.find((p) => page >= p.first && page < p.first + p.count) || parts[0];
}

const partSelect = $("bf-part");
for (const [i, part] of parts.entries()) {
  partSelect.append(new Option(part.label, String(i)));
}

function setRole(next) {
  role = next;
  root.dataset.role = next;
  const presenting = next === "presenter";
  for (const node of document.querySelectorAll(".bf-presenter-only")) {
    node.hidden = !presenting;
  }
  updateReturn();
}

function updateReturn() {
  const browsing = role === "follower" && !following;
  $("bf-return").hidden = !browsing;
  root.classList.toggle("browsing", browsing);
  $("bf-role").textContent = browsing ? t.roles.browsing : t.roles[role] || "";
}

function display(page, zoom, { say = true } = {}) {
  const changed = page !== shown.page;
  shown = { page, zoom };
  stage.show(page, zoom);
  const part = partOf(page);
  const inPart = page - part.first + 1;
  $("bf-pageno").textContent = format(t.pageNumber, { n: inPart, total: part.count });
  $("bf-page").dataset.page = String(page);
  partSelect.value = String(parts.indexOf(part));
  $("bf-zoom").textContent = `${Math.round(zoom * 100)}%`;
  $("bf-prev").disabled = page <= 1;
  $("bf-next").disabled = page >= stage.pages;
  if (say && changed) {
    announce(status, format(t.pageAnnounce, { n: inPart, total: part.count, part: part.label }));
  }
}

// --- moving: the presenter's moves go to everyone; a follower's own are theirs only ---------

function moveTo(page, zoom) {
  page = Math.max(1, Math.min(stage.pages, page));
  zoom = Math.max(MIN_ZOOM, Math.min(MAX_ZOOM, zoom));
  if (role === "presenter") {
    presenterView = { part: partOf(page).key, page, zoom };
    link.send({ type: "briefing.view", ...presenterView });
  } else if (role === "follower" && following) {
    following = false;
    updateReturn();
    announce(status, t.browsing);
  }
  display(page, zoom);
}

function backToPresenter() {
  following = true;
  updateReturn();
  display(presenterView.page, presenterView.zoom, { say: false });
  announce(status, format(t.following, { n: presenterView.page }));
  $("bf-stage").focus();
}

$("bf-prev").addEventListener("click", () => moveTo(shown.page - 1, shown.zoom));
$("bf-next").addEventListener("click", () => moveTo(shown.page + 1, shown.zoom));
$("bf-zoom-in").addEventListener("click", () => moveTo(shown.page, shown.zoom * ZOOM_STEP));
$("bf-zoom-out").addEventListener("click", () => moveTo(shown.page, shown.zoom / ZOOM_STEP));
$("bf-fit").addEventListener("click", () => moveTo(shown.page, 1));
$("bf-return").addEventListener("click", backToPresenter);
partSelect.addEventListener("change", () => moveTo(parts[Number(partSelect.value)].first, 1));

const NEXT = new Set(["PageDown", "ArrowRight", "ArrowDown", " ", "j", "n", "Enter"]);
const PREVIOUS = new Set(["PageUp", "ArrowLeft", "ArrowUp", "k", "p", "Backspace"]);

document.addEventListener("keydown", (event) => {
  const target = event.target;
  if (event.ctrlKey || event.altKey || event.metaKey || target.closest("input, select, textarea, summary, details, dialog")) {
    return;
  }
  if (target.closest("button, a") && (event.key === " " || event.key === "Enter")) {
    return; // a focused button is pressed, not the page turned
  }
  let handled = true;
  if (NEXT.has(event.key)) {
    moveTo(shown.page + 1, shown.zoom);
  } else if (PREVIOUS.has(event.key)) {
    moveTo(shown.page - 1, shown.zoom);
  } else if (event.key === "Home") {
    moveTo(1, shown.zoom);
  } else if (event.key === "End") {
    moveTo(stage.pages, shown.zoom);
  } else if (event.key === "+" || event.key === "=") {
    moveTo(shown.page, shown.zoom * ZOOM_STEP);
  } else if (event.key === "-") {
    moveTo(shown.page, shown.zoom / ZOOM_STEP);
  } else if (event.key === "0") {
    moveTo(shown.page, 1);
  } else if ((event.key === "b" || event.key === "Escape") && role === "follower" && !following) {
    backToPresenter();
  } else if (event.key === "f") {
    toggleFullscreen();
  } else {
    handled = false;
  }
  if (handled) {
    event.preventDefault();
  }
});

// The presenter's pointer: at most one message a frame (the server passes 20 a second on).
let pointerFrame = 0;
let pointerAt = null;
function sendPointer() {
  pointerFrame = 0;
  const [x, y] = pointerAt || [null, null];
  link.send({ type: "briefing.pointer", page: shown.page, x, y });
}
$("bf-page").addEventListener("pointermove", (event) => {
  if (role !== "presenter") {
    return;
  }
  pointerAt = stage.toPdf(event);
  if (!pointerFrame) {
    pointerFrame = requestAnimationFrame(sendPointer);
  }
});
$("bf-page").addEventListener("pointerleave", () => {
  if (role === "presenter") {
    pointerAt = null;
    if (!pointerFrame) {
      pointerFrame = requestAnimationFrame(sendPointer);
    }
  }
});

// --- full screen, sharing, hand-over, end ---------------------------------------------------

function toggleFullscreen() {
  if (document.fullscreenElement) {
    document.exitFullscreen();
  } else if (root.requestFullscreen) {
    root.requestFullscreen().catch(() => announce(status, t.noFullscreen));
  }
}
$("bf-fullscreen").addEventListener("click", toggleFullscreen);
document.addEventListener("fullscreenchange", () => {
  $("bf-fullscreen").setAttribute("aria-pressed", String(Boolean(document.fullscreenElement)));
});

$("bf-copy").addEventListener("click", async () => {
  try {
    await navigator.clipboard.writeText(config.joinLink);
    announce(status, t.copied);
  } catch (e) {
    window.prompt(t.copyPrompt, config.joinLink);
  }
});

const picker = peoplePicker(document.querySelector("[data-picker=handover]"), {
  url: config.people,
  strings: t.picker,
  exclude: () => [],
  onChange: () => {},
});
$("bf-handover").addEventListener("click", async () => {
  const [to] = picker.usernames();
  if (!to) {
    showAlert(t.chooseFirst);
    return;
  }
  try {
    await api("POST", `${config.api}/handover`, { to }, { fallback: t.failed });
  } catch (error) {
    showAlert(error.message);
  }
});
$("bf-end").addEventListener("click", async () => {
  if (!window.confirm(t.confirmEnd)) {
    return;
  }
  try {
    await api("POST", `${config.api}/end`, undefined, { fallback: t.failed });
  } catch (error) {
    showAlert(error.message);
  }
});

function showAlert(message) {
  alertBox.textContent = message;
  alertBox.hidden = !message;
}

// --- what the server says -------------------------------------------------------------------

function onFrame(frame) {
  switch (frame.type) {
    case "briefing.state": {
      showAlert("");
      presenterView = { zoom: 1, ...frame.view, page: frame.view.page || 1 };
      setRole(frame.role);
      $("bf-followers").textContent = format(t.followers, { n: frame.followers });
      if (role === "presenter" && (presenterView.page !== shown.page || presenterView.zoom !== shown.zoom) && connectedOnce) {
        // Back after a lost connection: this screen is what the presenter shows.
        moveTo(shown.page, shown.zoom);
      } else if (role === "presenter" || following) {
        display(presenterView.page, presenterView.zoom);
      }
      connectedOnce = true;
      break;
    }
    case "briefing.view":
      presenterView = { part: frame.part, page: frame.page, zoom: frame.zoom };
      if (role === "follower" && following) {
        display(frame.page, frame.zoom);
      }
      break;
    case "briefing.pointer":
      if (role === "follower" && following) {
        stage.point(frame.page, frame.x, frame.y);
      }
      break;
    case "briefing.followers":
      $("bf-followers").textContent = format(t.followers, { n: frame.count });
      break;
    case "briefing.presenter": {
      const mine = frame.presenter.id === config.me;
      following = true;
      setRole(mine ? "presenter" : "follower");
      announce(status, format(mine ? t.youPresent : t.nowPresenting, { name: frame.presenter.name }));
      if (mine) {
        moveTo(shown.page, shown.zoom);
      }
      break;
    }
    case "briefing.ended":
      setRole("ended");
      stage.point(0, null, null);
      showAlert(frame.reason === "timeout" ? t.endedTimeout : t.ended);
      link.stop();
      break;
    case "error":
      if (frame.about === "briefing.join") {
        setRole("refused");
        showAlert(frame.message);
        link.stop();
      } else if (frame.about && frame.about.startsWith("briefing.")) {
        announce(status, frame.message, "error");
      }
      break;
    default:
      break;
  }
}

let connectedOnce = false;
const link = new Link(config.socket, { type: "briefing.join", briefing: config.briefing }, {
  onFrame,
  onState: (state) => {
    if (state === "reconnecting") {
      $("bf-role").textContent = t.reconnecting;
    } else if (state === "signed-out") {
      showAlert(t.signedOut);
    }
  },
});
setRole("connecting");
display(1, 1, { say: false });
if (config.live) {
  link.connect();
} else {
  setRole("ended");
  showAlert(t.ended);
}
$("bf-stage").focus();
