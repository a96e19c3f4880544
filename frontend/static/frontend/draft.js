// Drafting: save the fields (POST /api/v1/documents, then PATCH), upload each attachment on its
// own with a progress bar and its own error in words (an encrypted PDF asks for its password and
// is sent again with it), choose the route and add approvers and readers, preview the route with
// them, submit.
import { announce, api, confirmDialog, data, el, format, upload } from "./common.js";
import { peoplePicker } from "./people-picker.js";

const config = data("draft-config");
const t = config.strings;
const form = document.getElementById("draft-form");
const status = document.getElementById("draft-status");
const list = document.getElementById("file-list");
const dropzone = document.getElementById("dropzone");
const fileInput = document.getElementById("f-files");
const submitButton = document.getElementById("submit-doc");
const routeSelect = document.getElementById("f-route");
// The editable fields and their labels, from the server (documents.describe).
const FIELDS = Object.keys(config.fields);

let documentId = config.document;
let pending = []; // {file, item} waiting for the draft to exist
let uploading = 0;
let retentionTouched = Boolean(documentId);
let previewTicket = 0;
let passwordSerial = 0;

const field = (name) => form.elements.namedItem(name);
const documentUrl = () => `${config.api}/${documentId}`;

function meta() {
  const values = {};
  for (const name of FIELDS) {
    const value = field(name).value.trim();
    if (name === "amount") {
      values.amount = value === "" ? null : Number(value);
    } else if (name === "transaction_date") {
      values.transaction_date = value || null;
    } else if (name === "retention_years") {
      values.retention_years = Number(value);
    } else {
      values[name] = value;
    }
  }
  return values;
}

function clearErrors() {
  for (const node of form.querySelectorAll(".field-error")) {
    node.textContent = "";
  }
  for (const node of form.querySelectorAll("[aria-invalid]")) {
    node.removeAttribute("aria-invalid");
  }
}

function showErrors(error) {
  const fields = error.fields || {};
  let first = null;
  for (const [name, messages] of Object.entries(fields)) {
    const slot = document.getElementById("err-" + name);
    const input = field(name);
    if (slot && input) {
      slot.textContent = [].concat(messages).join(" ");
      input.setAttribute("aria-invalid", "true");
      first = first || input;
    }
  }
  const extra = Object.entries(fields)
    .filter(([name]) => !document.getElementById("err-" + name))
    .map(([name, m]) => `${config.fields[name] || name}: ${[].concat(m).join(" ")}`);
  announce(status, [error.message, ...extra].join(" "), "error");
  if (first) {
    first.focus();
  }
}

function markTransactionFields() {
  const transaction = config.transactionTypes.includes(field("doc_type").value);
  form.classList.toggle("is-transaction", transaction);
  for (const name of ["amount", "counterparty", "transaction_date"]) {
    field(name).required = transaction;
  }
  if (!retentionTouched) {
    const years = config.defaultRetention[field("doc_type").value];
    if (years !== undefined) {
      field("retention_years").value = String(years);
    }
  }
}

// --- attachments ---------------------------------------------------------------------------

function sizeText(bytes) {
  if (bytes < 1024) {
    return bytes + " B";
  }
  if (bytes < 1024 * 1024) {
    return (bytes / 1024).toFixed(1) + " KB";
  }
  return (bytes / 1024 / 1024).toFixed(1) + " MB";
}

function fileItem(file) {
  const progress = el("progress", { max: 100, value: 0, "aria-label": format(t.progressOf, { name: file.name }) });
  const state = el("span", { class: "file-status", text: documentId ? t.waiting : t.waitingForSave });
  const remove = el("button", { type: "button", class: "link remove", text: t.cancelFile });
  const item = el(
    "li",
    { class: "file pending" },
    el("span", { class: "file-name", text: file.name }),
    el("span", { class: "muted", text: sizeText(file.size) }),
    progress,
    state,
    remove,
  );
  remove.addEventListener("click", () => {
    pending = pending.filter((p) => p.item !== item);
    item.remove();
  });
  return { item, progress, state, remove };
}

function addFiles(files) {
  for (const file of files) {
    const view = fileItem(file);
    list.append(view.item);
    pending.push({ file, ...view });
  }
  if (documentId) {
    uploadPending();
  } else {
    announce(status, t.saveToUpload);
  }
}

async function uploadOne(entry, password) {
  const { file, item, state, remove } = entry;
  if (!entry.progress.isConnected) {
    entry.progress.value = 0;
    state.before(entry.progress);
  }
  const progress = entry.progress;
  item.className = "file uploading";
  state.textContent = t.uploading;
  state.className = "file-status";
  state.removeAttribute("role");
  remove.hidden = true;
  const body = new FormData();
  if (password) {
    body.append("meta", JSON.stringify({ passwords: { [file.name]: password } }));
  }
  body.append("attachments", file, file.name);
  try {
    const doc = await upload(
      `${documentUrl()}/attachments`,
      body,
      (fraction) => {
        progress.value = Math.round(fraction * 100);
      },
      { fallback: t.uploadFailed },
    );
    progress.value = 100;
    if (entry.unlock) {
      entry.unlock.remove();
      entry.unlock = null;
    }
    const added = [...doc.attachments].reverse().find((a) => a.filename === file.name);
    item.className = "file done";
    state.textContent = t.uploaded;
    state.className = "file-status ok";
    if (added) {
      item.dataset.attachment = added.id;
      remove.textContent = t.remove;
      remove.dataset.remove = added.id;
      remove.hidden = false;
    } else {
      remove.remove();
    }
    return true;
  } catch (error) {
    item.className = "file failed";
    progress.remove();
    state.textContent = error.message || t.uploadFailed;
    state.className = "file-status error";
    state.setAttribute("role", "alert");
    remove.textContent = t.dismiss;
    remove.hidden = false;
    if (error.code === "encrypted_pdf" || error.code === "wrong_password") {
      askForPassword(entry, error.code === "wrong_password");
    } else if (entry.unlock) {
      // Refused for another reason after a password was given: the row goes, the focus stays near.
      entry.unlock.remove();
      entry.unlock = null;
      remove.focus();
    }
    return false;
  }
}

// An encrypted PDF: a password field under the file, and a button that sends the file again
// with it. The server opens it with the password and keeps a decrypted copy for the approvers.
function askForPassword(entry, wrong) {
  entry.item.classList.add("needs-password");
  if (!entry.unlock) {
    const id = `pw-${++passwordSerial}`;
    entry.state.id = `${id}-state`;
    const input = el("input", {
      type: "password",
      id,
      autocomplete: "off",
      "aria-describedby": `${id}-state ${id}-help`,
    });
    const button = el("button", { type: "button", class: "unlock", text: t.unlock });
    const row = el(
      "div",
      { class: "password-row" },
      el("label", { for: id, text: format(t.passwordFor, { name: entry.file.name }) }),
      el("span", { class: "muted small", id: `${id}-help`, text: t.passwordHelp }),
      el("span", { class: "password-inputs" }, input, button),
    );
    const send = () => {
      if (!input.value) {
        input.setAttribute("aria-invalid", "true");
        input.focus();
        return;
      }
      retryWithPassword(entry, input.value);
    };
    button.addEventListener("click", send);
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault(); // not the draft form's submission
        send();
      }
    });
    entry.state.after(row);
    entry.unlock = row;
    entry.passwordInput = input;
  }
  const input = entry.passwordInput;
  input.value = "";
  if (wrong) {
    input.setAttribute("aria-invalid", "true");
  } else {
    input.removeAttribute("aria-invalid");
  }
  entry.unlock.hidden = false;
  // Only when the person is not busy in another field: their typing must not land here.
  const busy = document.activeElement;
  if (wrong || !busy || busy === document.body || !busy.matches("input, textarea, select")) {
    input.focus();
  }
}

async function retryWithPassword(entry, password) {
  entry.unlock.hidden = true;
  uploading += 1;
  submitButton.disabled = true;
  const ok = await uploadOne(entry, password);
  uploading -= 1;
  submitButton.disabled = uploading > 0 || !documentId;
  if (ok) {
    entry.item.classList.remove("needs-password");
    announce(status, format(t.unlocked, { name: entry.file.name }), "ok");
    entry.remove.focus();
    previewRoute();
  }
}

async function uploadPending() {
  const batch = pending;
  pending = [];
  uploading += batch.length;
  submitButton.disabled = true;
  let failed = 0;
  for (const entry of batch) {
    if (!(await uploadOne(entry))) {
      failed += 1;
    }
    uploading -= 1;
  }
  submitButton.disabled = uploading > 0 || !documentId;
  if (batch.length) {
    announce(
      status,
      failed ? format(t.someFailed, { n: failed }) : format(t.allUploaded, { n: batch.length }),
      failed ? "error" : "ok",
    );
    previewRoute();
  }
}

list.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-remove]");
  if (!button || !documentId) {
    if (button && !documentId) {
      button.closest("li").remove();
    }
    return;
  }
  const item = button.closest("li");
  const name = item.querySelector(".file-name").textContent;
  try {
    await api("DELETE", `${documentUrl()}/attachments/${button.dataset.remove}`);
    item.remove();
    announce(status, format(t.removed, { name }), "ok");
    previewRoute();
  } catch (error) {
    announce(status, error.message, "error");
  }
});

for (const name of ["dragenter", "dragover"]) {
  dropzone.addEventListener(name, (event) => {
    event.preventDefault();
    dropzone.classList.add("over");
  });
}
for (const name of ["dragleave", "drop"]) {
  dropzone.addEventListener(name, () => dropzone.classList.remove("over"));
}
dropzone.addEventListener("drop", (event) => {
  event.preventDefault();
  if (event.dataTransfer && event.dataTransfer.files.length) {
    addFiles([...event.dataTransfer.files]);
  }
});
fileInput.addEventListener("change", () => {
  addFiles([...fileInput.files]);
  fileInput.value = "";
});

// --- saving, route preview, submission -------------------------------------------------------

async function save() {
  clearErrors();
  announce(status, t.saving);
  const values = meta();
  try {
    if (documentId) {
      await api("PATCH", documentUrl(), values);
    } else {
      const body = new FormData();
      body.append("meta", JSON.stringify(values));
      const doc = await upload(config.api, body, null, { fallback: t.saveFailed });
      documentId = doc.id;
      history.replaceState(null, "", config.edit.replace("/0/", `/${documentId}/`));
      for (const entry of pending) {
        entry.state.textContent = t.waiting;
      }
    }
    announce(status, t.saved, "ok");
    submitButton.disabled = uploading > 0;
    if (pending.length) {
      await uploadPending();
    } else {
      previewRoute();
    }
    return true;
  } catch (error) {
    showErrors(error);
    return false;
  }
}

function personText(slot) {
  let text = slot.assignee ? slot.assignee.name : "—";
  if (slot.position) {
    text += `（${slot.position}）`;
  }
  if (slot.on_behalf_of) {
    text += " " + format(t.onBehalfOf, { name: slot.on_behalf_of.name });
  }
  return text;
}

// --- route choice, added people, preview -----------------------------------------------------

const pickerOptions = (kind) => ({
  url: config.people,
  strings: t.picker,
  exclude: () => new Set([config.me, ...chosenPeople().approvers, ...chosenPeople().readers]),
  onChange: previewRoute,
  kind,
});
const pickers = {};
for (const root of document.querySelectorAll("[data-picker]")) {
  pickers[root.dataset.picker] = peoplePicker(root, pickerOptions(root.dataset.picker));
}

function chosenPeople() {
  return {
    approvers: pickers.approvers ? pickers.approvers.usernames() : [],
    readers: pickers.readers ? pickers.readers.usernames() : [],
  };
}

function submitOptions() {
  const people = chosenPeople();
  return {
    route: routeSelect ? routeSelect.value : "",
    add_approvers: people.approvers,
    add_readers: people.readers,
  };
}

function previewQuery() {
  const options = submitOptions();
  const query = new URLSearchParams();
  if (options.route) {
    query.append("route", options.route);
  }
  for (const name of options.add_approvers) {
    query.append("add_approvers", name);
  }
  for (const name of options.add_readers) {
    query.append("add_readers", name);
  }
  return query.toString();
}

function addedMark() {
  return el("span", { class: "badge added", text: t.addedByYou });
}

function routeNote(plan) {
  if (!plan.template_name) {
    return "";
  }
  if (!plan.chosen) {
    return format(t.routeByRules, { name: plan.template_name });
  }
  if (plan.rules_template && plan.rules_template !== plan.template) {
    return format(t.routeChosenInstead, { name: plan.template_name, rules: plan.rules_template_name });
  }
  return format(t.routeChosen, { name: plan.template_name });
}

async function previewRoute() {
  const target = document.getElementById("route-preview");
  if (!documentId) {
    return;
  }
  const ticket = ++previewTicket;
  target.setAttribute("aria-busy", "true");
  try {
    const query = previewQuery();
    const url = config.preview.replace("/0/", `/${documentId}/`) + (query ? `?${query}` : "");
    const plan = await api("GET", url);
    if (ticket !== previewTicket) {
      return; // a newer preview is on its way
    }
    const steps = el("ol", { class: "route-steps" });
    for (const stage of plan.stages) {
      steps.append(
        el(
          "li",
          { class: stage.added ? "added" : null },
          el("strong", { text: stage.name }),
          " ",
          el("span", { class: "muted", text: t.modes[stage.mode] || stage.mode }),
          stage.added ? [" ", addedMark()] : null,
          el(
            "ul",
            {},
            stage.slots.map((s) =>
              el("li", {}, personText(s), s.added && !stage.added ? [" ", addedMark()] : null),
            ),
          ),
        ),
      );
    }
    const auto = document.getElementById("route-auto");
    if (auto && plan.rules_template_name) {
      auto.textContent = format(t.autoRoute, { name: plan.rules_template_name });
    }
    target.replaceChildren(el("p", { class: "muted", text: routeNote(plan) }), steps);
  } catch (error) {
    if (ticket === previewTicket) {
      target.replaceChildren(el("p", { class: "error", text: error.message }));
    }
  } finally {
    if (ticket === previewTicket) {
      target.removeAttribute("aria-busy");
    }
  }
}

async function submitDocument() {
  if (!(await save())) {
    return;
  }
  const locked = list.querySelector(".file.needs-password input[type=password]");
  if (uploading === 0 && locked) {
    announce(status, t.givePasswordsFirst, "error");
    locked.focus();
    return;
  }
  if (uploading > 0 || list.querySelector(".file.failed")) {
    announce(status, t.fixFilesFirst, "error");
    return;
  }
  const answer = await confirmDialog({
    title: t.submitTitle,
    message: t.submitMessage,
    confirm: t.submit,
    cancel: t.cancel,
  });
  if (!answer) {
    return;
  }
  announce(status, t.submitting);
  try {
    await api("POST", `${documentUrl()}/submit`, submitOptions());
    window.location.assign(config.workspace.replace("/0/", `/${documentId}/`));
  } catch (error) {
    announce(status, error.message, "error");
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  save();
});
submitButton.addEventListener("click", submitDocument);
if (routeSelect) {
  routeSelect.addEventListener("change", previewRoute);
}
field("doc_type").addEventListener("change", markTransactionFields);
field("retention_years").addEventListener("change", () => {
  retentionTouched = true;
});
markTransactionFields();
if (documentId) {
  previewRoute();
}
