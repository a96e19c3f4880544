// Planning or changing a meeting: its fields, the attendees (the people picker over
// /api/v1/people) and the documents (found through /api/v1/documents, frozen when added).
// A new meeting is one POST; on an existing one each change of attendees or documents is its
// own request, so that a refusal (someone who may not read a document) names what went wrong.
import { announce, api, data, el, format } from "../frontend/common.js";
import { peoplePicker } from "../frontend/people-picker.js";

const config = data("meeting-form-config");
const t = config.strings;
const meeting = config.meeting;
const form = document.getElementById("meeting-form");
const status = document.getElementById("form-status");
const chairSelect = document.getElementById("m-chair");
const attendeeList = document.getElementById("current-attendees");
const documentList = document.getElementById("chosen-documents");
const search = document.getElementById("doc-search");
const results = document.getElementById("doc-results");

let attendees = meeting ? meeting.attendees : [];
let items = meeting ? meeting.items : [];
const pending = new Map(); // a new meeting's documents: id → {id, title, number}

function pad(n) {
  return String(n).padStart(2, "0");
}

function fillWhen() {
  const start = meeting ? new Date(meeting.starts_at) : null;
  const end = meeting && meeting.ends_at ? new Date(meeting.ends_at) : null;
  if (start) {
    form.date.value = `${start.getFullYear()}-${pad(start.getMonth() + 1)}-${pad(start.getDate())}`;
    form.start.value = `${pad(start.getHours())}:${pad(start.getMinutes())}`;
  }
  if (end) {
    form.end.value = `${pad(end.getHours())}:${pad(end.getMinutes())}`;
  }
}

function isoAt(date, time) {
  return time ? new Date(`${date}T${time}`).toISOString() : null;
}

// --- attendees -------------------------------------------------------------------------------

const picker = peoplePicker(document.querySelector("[data-picker=attendees]"), {
  url: config.urls.people,
  strings: t.picker,
  exclude: () => new Set([config.me, ...attendees.map((a) => a.username)]),
  onChange: renderChair,
});

function renderAttendees() {
  attendeeList.replaceChildren(
    ...attendees.map((a) => {
      const fixed = a.roles && a.roles.length;
      return el(
        "li",
        {},
        el("span", { text: a.display_name }),
        " ",
        fixed ? el("span", { class: "role", text: a.roles.map((r) => t.roles[r]).join("・") }) : null,
        meeting && !fixed
          ? el(
              "button",
              { type: "button", class: "link", "data-remove-attendee": a.username },
              t.remove,
              el("span", { class: "visually-hidden", text: " " + a.display_name }),
            )
          : null,
      );
    }),
  );
  renderChair();
}

function renderChair() {
  const current = chairSelect.value || (meeting ? meeting.chair.username : config.me);
  const people = new Map();
  if (!meeting) {
    people.set(config.me, t.me);
  }
  for (const a of attendees) {
    people.set(a.username, a.display_name);
  }
  for (const username of picker.usernames()) {
    const chosen = document.querySelector(`#pick-attendees-chosen [data-username="${CSS.escape(username)}"] .who`);
    people.set(username, chosen ? chosen.textContent : username);
  }
  chairSelect.replaceChildren(
    ...[...people].map(([username, name]) => el("option", { value: username, text: name })),
  );
  chairSelect.value = people.has(current) ? current : [...people.keys()][0] || "";
}

attendeeList.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-remove-attendee]");
  if (!button) {
    return;
  }
  const username = button.dataset.removeAttendee;
  try {
    await api("DELETE", `${config.api}/attendees/${encodeURIComponent(username)}`);
    attendees = attendees.filter((a) => a.username !== username);
    renderAttendees();
    announce(status, t.attendeeRemoved, "ok");
    (attendeeList.querySelector("button") || search).focus();
  } catch (error) {
    announce(status, error.message, "error");
  }
});

// --- documents -------------------------------------------------------------------------------

function renderDocuments() {
  const rows = meeting ? items : [...pending.values()];
  documentList.replaceChildren(
    ...rows.map((row, index) =>
      el(
        "li",
        { "data-id": row.id },
        el("span", { class: "item-title", text: row.title || t.unreadable }),
        row.number ? el("span", { class: "muted small", text: " " + row.number }) : null,
        row.version ? el("span", { class: "muted small", text: " " + format(t.version, { n: row.version }) }) : null,
        row.newer_version ? el("span", { class: "newer", text: t.newer }) : null,
        " ",
        meeting && index > 0
          ? el("button", { type: "button", class: "link", "data-move": row.id, "data-step": -1 }, t.up, el("span", { class: "visually-hidden", text: " " + (row.title || "") }))
          : null,
        meeting && index < rows.length - 1
          ? el("button", { type: "button", class: "link", "data-move": row.id, "data-step": 1 }, t.down, el("span", { class: "visually-hidden", text: " " + (row.title || "") }))
          : null,
        el("button", { type: "button", class: "link", "data-remove-doc": row.id }, t.remove, el("span", { class: "visually-hidden", text: " " + (row.title || "") })),
      ),
    ),
  );
}

documentList.addEventListener("click", async (event) => {
  const move = event.target.closest("[data-move]");
  const remove = event.target.closest("[data-remove-doc]");
  try {
    if (move) {
      const id = Number(move.dataset.move);
      const order = items.map((i) => i.id);
      const from = order.indexOf(id);
      const to = from + Number(move.dataset.step);
      [order[from], order[to]] = [order[to], order[from]];
      items = await api("PUT", `${config.api}/documents`, { order });
      renderDocuments();
      announce(status, t.moved, "ok");
      const again = documentList.querySelector(`[data-id="${id}"] [data-move]`);
      (again || search).focus();
    } else if (remove) {
      const id = Number(remove.dataset.removeDoc);
      if (meeting) {
        await api("DELETE", `${config.api}/documents/${id}`);
        items = items.filter((i) => i.id !== id);
      } else {
        pending.delete(id);
      }
      renderDocuments();
      announce(status, t.documentRemoved, "ok");
      search.focus();
    }
  } catch (error) {
    announce(status, error.message, "error");
  }
});

let timer = null;
search.addEventListener("input", () => {
  clearTimeout(timer);
  timer = setTimeout(findDocuments, 250);
});

async function findDocuments() {
  const q = search.value.trim();
  if (!q) {
    results.replaceChildren();
    return;
  }
  try {
    const found = await api("GET", `${config.urls.documents}?${new URLSearchParams({ q, page_size: 10 })}`);
    const rows = found.results.filter((d) => !d.gone);
    results.replaceChildren(
      ...(rows.length
        ? rows.map((d) =>
            el(
              "li",
              {},
              el("span", { text: d.title }),
              d.number ? el("span", { class: "muted small", text: " " + d.number }) : null,
              " ",
              el("button", { type: "button", class: "link", "data-add-doc": d.id, "data-title": d.title, "data-number": d.number || "" }, t.add, el("span", { class: "visually-hidden", text: " " + d.title })),
            ),
          )
        : [el("li", { class: "muted", text: t.noDocuments })]),
    );
  } catch (error) {
    announce(status, error.message, "error");
  }
}

results.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-add-doc]");
  if (!button) {
    return;
  }
  const id = Number(button.dataset.addDoc);
  try {
    if (meeting) {
      const item = await api("POST", `${config.api}/documents`, { document: id });
      items.push(item);
    } else {
      pending.set(id, { id, title: button.dataset.title, number: button.dataset.number });
    }
    renderDocuments();
    announce(status, format(t.documentAdded, { title: button.dataset.title }), "ok");
  } catch (error) {
    announce(status, error.message, "error");
  }
});

// --- saving ----------------------------------------------------------------------------------

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!form.title.value.trim() || !form.date.value || !form.start.value) {
    announce(status, t.required, "error");
    (form.title.value.trim() ? form.date : form.title).focus();
    return;
  }
  const fields = {
    title: form.title.value.trim(),
    kind: form.kind.value,
    starts_at: isoAt(form.date.value, form.start.value),
    ends_at: isoAt(form.date.value, form.end.value),
    place: form.place.value.trim(),
    web_meeting: form.web_meeting.value.trim(),
  };
  try {
    if (!meeting) {
      const created = await api("POST", config.urls.meetings, {
        ...fields,
        chair: chairSelect.value || config.me,
        attendees: picker.usernames(),
        documents: [...pending.keys()],
      });
      window.location.assign(created.url);
      return;
    }
    // New attendees first (the chair may be one of them), then the fields.
    for (const username of picker.usernames()) {
      await api("POST", `${config.api}/attendees`, { username });
    }
    if (meeting.permissions.edit) {
      await api("PATCH", config.api, { ...fields, chair: chairSelect.value });
    }
    window.location.assign(meeting.url);
  } catch (error) {
    announce(status, error.message, "error");
  }
});

fillWhen();
renderAttendees();
renderDocuments();
