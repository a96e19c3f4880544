// Drafting: save the fields (POST /api/v1/documents, then PATCH), upload each attachment on its
// own with a progress bar and its own error in words, preview the route, submit.
import { announce, api, confirmDialog, data, el, format, upload } from "./common.js";

const config = data("draft-config");
const t = config.strings;
const form = document.getElementById("draft-form");
const status = document.getElementById("draft-status");
const list = document.getElementById("file-list");
const dropzone = document.getElementById("dropzone");
const fileInput = document.getElementById("f-files");
const submitButton = document.getElementById("submit-doc");
const FIELDS = [
  "title",
  "doc_type",
  "body",
  "amount",
  "counterparty",
  "transaction_date",
  "retention_years",
  "disclosure",
  "secrecy",
];

let documentId = config.document;
let pending = []; // {file, item} waiting for the draft to exist
let uploading = 0;
let retentionTouched = Boolean(documentId);

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
    .map(([name, m]) => `${name}: ${[].concat(m).join(" ")}`);
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

async function uploadOne(entry) {
  const { file, item, progress, state, remove } = entry;
  item.className = "file uploading";
  state.textContent = t.uploading;
  remove.hidden = true;
  const body = new FormData();
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
    return false;
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

async function previewRoute() {
  const target = document.getElementById("route-preview");
  if (!documentId) {
    return;
  }
  try {
    const plan = await api("GET", `${documentUrl()}/route-preview`);
    const steps = el("ol", { class: "route-steps" });
    for (const stage of plan.stages) {
      steps.append(
        el(
          "li",
          {},
          el("strong", { text: stage.name }),
          " ",
          el("span", { class: "muted", text: t.modes[stage.mode] || stage.mode }),
          el("ul", {}, stage.slots.map((s) => el("li", { text: personText(s) }))),
        ),
      );
    }
    target.replaceChildren(
      el("p", { class: "muted", text: plan.template_name ? format(t.routeName, { name: plan.template_name }) : "" }),
      steps,
    );
  } catch (error) {
    target.replaceChildren(el("p", { class: "error", text: error.message }));
  }
}

async function submitDocument() {
  if (!(await save())) {
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
    await api("POST", `${documentUrl()}/submit`, {});
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
field("doc_type").addEventListener("change", markTransactionFields);
field("retention_years").addEventListener("change", () => {
  retentionTouched = true;
});
markTransactionFields();
if (documentId) {
  previewRoute();
}
