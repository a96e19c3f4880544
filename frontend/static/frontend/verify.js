// The verification page: any PDF → POST /api/v1/verify → the report in plain words.
import { announce, api, data, el } from "./common.js";
import { renderReport } from "./report.js";

const config = data("verify-config");
const t = config.strings;
const form = document.getElementById("verify-form");
const input = document.getElementById("verify-file");
const target = document.getElementById("verify-report");

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const file = input.files[0];
  if (!file) {
    announce(target, t.chooseFile, "error");
    input.focus();
    return;
  }
  const body = new FormData();
  body.append("file", file, file.name);
  target.replaceChildren(el("p", { class: "muted", text: t.checking }));
  try {
    const report = await api("POST", config.api, body);
    renderReport(target, report, t.report);
    target.prepend(el("p", { class: "muted", text: file.name }));
  } catch (error) {
    target.replaceChildren(el("p", { class: "error", role: "alert", text: error.message }));
  }
});
