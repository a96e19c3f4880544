// Acting on the document: approve (with the comment), send back (to whom, why), reject, withdraw,
// ask a question (質疑) and answer one, reassign someone's task (administrators, superiors).
// Each asks first, saying what will happen; the result and the new route show at once.
import { announce, api, confirmDialog, format } from "../common.js";

export class Actions {
  constructor(workspace) {
    this.ws = workspace;
    this.t = workspace.t;
    this.config = workspace.config;
    document.addEventListener("click", (event) => {
      const button = event.target.closest("[data-action]");
      if (button && document.getElementById("route-panel").contains(button)) {
        this.run(button.dataset.action, button);
      }
    });
  }

  get status() {
    return document.getElementById("action-status");
  }

  approveButton() {
    return document.querySelector('#route-panel [data-action="approve"]');
  }

  async run(action, button) {
    const t = this.t;
    const title = this.ws.title;
    const task = button && button.dataset.task;
    let request = null;
    if (action === "approve") {
      const comment = (document.getElementById("act-comment") || { value: "" }).value.trim();
      const kind = button.dataset.kind;
      const answer = await confirmDialog({
        title: t.approveTitle[kind] || t.approveTitle.approve,
        message:
          format(t.approveMessage[kind] || t.approveMessage.approve, { title }) +
          (button.dataset.final ? " " + t.decidesMessage : "") +
          (comment ? " " + format(t.withComment, { comment }) : ""),
        confirm: button.textContent.trim(),
        cancel: t.cancel,
      });
      if (answer) {
        request = [`/api/v1/tasks/${task}/approve`, { comment }, t.approved[kind] || t.approved.approve];
      }
    } else if (action === "send-back") {
      const template = document.getElementById("send-back-targets");
      const options = [...template.content.querySelectorAll("option")].map((o) => [o.value, o.textContent]);
      const answer = await confirmDialog({
        title: t.sendBackTitle,
        message: format(t.sendBackMessage, { title }),
        confirm: t.sendBack,
        cancel: t.cancel,
        fields: [
          { name: "to", label: t.sendBackTo, type: "select", options },
          { name: "reason", label: t.reason, type: "textarea", required: true },
        ],
      });
      if (answer) {
        request = [`/api/v1/tasks/${task}/send-back`, { to: answer.to, reason: answer.reason }, t.sentBack];
      }
    } else if (action === "reject") {
      const answer = await confirmDialog({
        title: t.rejectTitle,
        message: format(t.rejectMessage, { title }),
        confirm: t.reject,
        cancel: t.cancel,
        danger: true,
        fields: [{ name: "reason", label: t.reason, type: "textarea", required: true }],
      });
      if (answer) {
        request = [`/api/v1/tasks/${task}/reject`, { reason: answer.reason }, t.rejected];
      }
    } else if (action === "ask") {
      const options = [...document.getElementById("ask-targets").content.querySelectorAll("option")].map(
        (o) => [o.value, o.textContent],
      );
      const answer = await confirmDialog({
        title: t.askTitle,
        message: t.askMessage,
        confirm: t.ask,
        cancel: t.cancel,
        fields: [
          { name: "to", label: t.askTo, type: "select", options },
          { name: "text", label: t.question, type: "textarea", required: true },
        ],
      });
      if (answer) {
        request = [`/api/v1/tasks/${task}/ask`, { to: answer.to, text: answer.text }, t.asked];
      }
    } else if (action === "answer") {
      const text = (document.getElementById("answer-text") || { value: "" }).value.trim();
      if (!text) {
        announce(this.status, t.answerEmpty, "error");
        document.getElementById("answer-text").focus();
        return;
      }
      request = [`/api/v1/tasks/${task}/answer`, { text }, t.answered];
    } else if (action === "reassign") {
      const template = document.getElementById(`reassign-targets-${task}`);
      const options = [...template.content.querySelectorAll("option")].map((o) => [o.value, o.textContent]);
      const answer = await confirmDialog({
        title: t.reassignTitle,
        message: format(t.reassignMessage, { name: button.dataset.name }),
        confirm: t.reassign,
        cancel: t.cancel,
        fields: [
          { name: "to", label: t.reassignTo, type: "select", options },
          { name: "reason", label: t.reason, type: "textarea", required: true },
        ],
      });
      if (answer) {
        request = [`/api/v1/tasks/${task}/reassign`, { to: answer.to, reason: answer.reason }, t.reassigned];
      }
    } else if (action === "withdraw") {
      const answer = await confirmDialog({
        title: t.withdrawTitle,
        message: format(t.withdrawMessage, { title }),
        confirm: t.withdraw,
        cancel: t.cancel,
        danger: true,
        fields: [{ name: "reason", label: t.reason, type: "textarea" }],
      });
      if (answer) {
        request = [`/api/v1/documents/${this.config.document}/withdraw`, { reason: answer.reason }, t.withdrawn];
      }
    }
    if (!request) {
      return;
    }
    const [url, body, done] = request;
    for (const b of document.querySelectorAll("#route-panel [data-action]")) {
      b.disabled = true;
    }
    announce(this.status, t.working);
    try {
      await api("POST", url, body, { fallback: t.failed });
    } catch (error) {
      // Refused: say why, and show the document as it is now (someone may have acted first).
      await this.refresh(error.message, "error");
      return;
    }
    await this.refresh(done, "ok");
  }

  // Re-reads the document's status and the route panel (route, history, what I may do now)
  // without reloading the record, and says what happened at the top of the panel.
  async refresh(message, kind) {
    try {
      const response = await fetch(this.config.routePanel, { credentials: "same-origin" });
      const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
      for (const id of ["doc-head", "route-panel"]) {
        const node = fresh.getElementById(id);
        if (node) {
          document.getElementById(id).replaceWith(node);
        }
      }
    } catch (error) {
      // The action itself succeeded; only the panel could not be re-read.
    }
    const banner = document.getElementById("action-done");
    if (banner) {
      announce(banner, message, kind);
      banner.classList.toggle("done-banner", kind === "ok");
      banner.classList.toggle("error-banner", kind === "error");
      banner.focus();
    } else {
      announce(this.status, message, kind);
    }
    const panel = document.getElementById("route-panel");
    if (!panel.dataset.task) {
      this.ws.marks.closeTask();
    }
    if (this.ws.reloadRecord) {
      this.ws.reloadRecord(panel.dataset.record);
    }
    this.ws.verification.reset();
  }
}
