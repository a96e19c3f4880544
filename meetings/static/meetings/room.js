// The meeting room: the frozen documents, the page viewer, the notes, attendance.
// The briefing (briefings/) attaches to #briefing-controls; it drives this page with a
// "meeting:show" event ({item, part, page}) on #meeting-room, and hears "meeting:view" when
// the person here shows another page.
import { announce, api, data, el, format } from "../frontend/common.js";
import { localTimes } from "./list.js";
import { NotesPanel } from "./notes.js";
import { ItemViewer } from "./viewer.js";

const config = data("meeting-room-config");
const t = config.strings;
const meeting = config.meeting;
const room = document.getElementById("meeting-room");
const status = document.getElementById("room-status");
const items = meeting.items.filter((i) => i.readable);
const byId = new Map(items.map((i) => [i.id, i]));

const title = document.getElementById("viewer-title");
const bar = document.getElementById("viewer-bar");
const partSelect = document.getElementById("part-select");
const pageNumber = document.getElementById("page-number");
const newer = document.getElementById("viewer-newer");
const download = document.getElementById("item-download");
const stage = document.getElementById("page-stage");
const penButton = document.getElementById("ink-toggle");

const viewer = new ItemViewer({
  stage,
  canvas: document.getElementById("page-canvas"),
  ink: document.getElementById("ink-layer"),
  pdfjs: config.pdfjs,
  worker: config.pdfjsWorker,
  onPage: (view) => {
    const item = byId.get(view.item);
    pageNumber.textContent = format(t.pageOf, { page: view.page, pages: item.pages });
    partSelect.value = view.part;
    notes.onInk(allInk);
    const index = meeting.items.findIndex((i) => i.id === view.item);
    room.dispatchEvent(new CustomEvent("meeting:view", { detail: { ...view, index } }));
  },
});

let allInk = [];
const notes = new NotesPanel({
  url: config.notes,
  list: document.getElementById("note-list"),
  status: document.getElementById("notes-status"),
  strings: t.notes,
  items: meeting.items,
  onGo: (note) => open(note.item, note.page || 1),
  onInk: (strokes) => {
    allInk = strokes;
    viewer.setStrokes(strokes.filter((s) => viewer.item && s.item === viewer.item.id));
  },
});

async function open(itemId, page = 1) {
  const item = byId.get(itemId);
  if (!item) {
    return;
  }
  for (const button of document.querySelectorAll("[data-item]")) {
    button.setAttribute("aria-pressed", String(Number(button.dataset.item) === itemId));
  }
  title.textContent = `${item.position}. ${item.title}` + (item.number ? `（${item.number}）` : "") + " " + format(t.version, { n: item.version });
  newer.hidden = !item.newer_version;
  bar.hidden = false;
  download.href = item.file;
  partSelect.replaceChildren(
    ...item.parts.map((p) => el("option", { value: p.key, text: `${p.label}（${p.first}〜${p.first + p.count - 1}）` })),
  );
  try {
    if (viewer.item && viewer.item.id === itemId) {
      await viewer.show(page);
    } else {
      await viewer.open(item, page);
    }
  } catch (error) {
    announce(status, t.cannotOpen, "error");
  }
}

document.getElementById("item-list").addEventListener("click", (event) => {
  const button = event.target.closest("[data-item]");
  if (button) {
    open(Number(button.dataset.item));
  }
});
partSelect.addEventListener("change", () => {
  const part = viewer.item.parts.find((p) => p.key === partSelect.value);
  if (part) {
    viewer.show(part.first);
  }
});
document.getElementById("page-prev").addEventListener("click", () => viewer.show(viewer.page - 1));
document.getElementById("page-next").addEventListener("click", () => viewer.show(viewer.page + 1));
stage.addEventListener("keydown", (event) => {
  const step = { ArrowRight: 1, ArrowDown: 1, PageDown: 1, " ": 1, ArrowLeft: -1, ArrowUp: -1, PageUp: -1 }[event.key];
  if (step && viewer.item) {
    event.preventDefault();
    viewer.show(viewer.page + step);
  }
});
// {item: id} or {index: n} (0-based, in the set's order), and the page in the item's record.
room.addEventListener("meeting:show", (event) => {
  const { item, index, page } = event.detail || {};
  const chosen = item !== undefined ? Number(item) : (meeting.items[Number(index)] || {}).id;
  open(chosen, Number(page) || 1);
});

// --- the chair's pen -------------------------------------------------------------------------

if (penButton) {
  penButton.addEventListener("click", () => {
    const on = penButton.getAttribute("aria-pressed") !== "true";
    penButton.setAttribute("aria-pressed", String(on));
    viewer.setPen(on);
  });
  viewer.onStroke = async (points) => {
    const part = viewer.partOf(viewer.page);
    try {
      await notes.create({
        layer: "ink",
        item: viewer.item.id,
        part: part ? part.key : "",
        page: viewer.page,
        strokes: [points],
        color: "#c00000",
      });
    } catch (error) {
      announce(status, error.message, "error");
    }
  };
}

// --- notes -----------------------------------------------------------------------------------

const noteForm = document.getElementById("note-form");
noteForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = noteForm.querySelector("#note-text");
  if (!text.value.trim()) {
    announce(document.getElementById("notes-status"), t.notes.empty, "error");
    text.focus();
    return;
  }
  const body = { layer: noteForm.layer.value, text: text.value };
  if (document.getElementById("note-anchor").checked && viewer.item) {
    const part = viewer.partOf(viewer.page);
    Object.assign(body, { item: viewer.item.id, part: part ? part.key : "", page: viewer.page });
  }
  try {
    await notes.create(body);
    text.value = "";
    announce(document.getElementById("notes-status"), body.layer === "shared" ? t.notes.addedShared : t.notes.addedPrivate, "ok");
  } catch (error) {
    announce(document.getElementById("notes-status"), error.message, "error");
  }
});

// --- the meeting's state and attendance ------------------------------------------------------

for (const [id, action] of [["start-meeting", "start"], ["close-meeting", "close"]]) {
  const button = document.getElementById(id);
  if (button) {
    button.addEventListener("click", async () => {
      try {
        await api("POST", `${config.api}/${action}`);
        window.location.reload();
      } catch (error) {
        announce(status, error.message, "error");
      }
    });
  }
}

if (meeting.state !== "closed") {
  api("POST", config.attendance, { present: true }).catch((error) => announce(status, error.message, "error"));
  window.addEventListener("pagehide", () => {
    fetch(config.attendance, {
      method: "POST",
      keepalive: true,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify({ present: false }),
    });
  });
}

function csrf() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  return match ? decodeURIComponent(match[1]) : input ? input.value : "";
}

// Shared notes and ink of others appear without reloading.
setInterval(() => {
  if (!document.hidden) {
    notes.load();
  }
}, 20000);

localTimes(room);
notes.load();
if (items.length) {
  open(items[0].id);
}
