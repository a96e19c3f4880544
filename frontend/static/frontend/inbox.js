// The inbox: approve the selected tasks at once (一括承認), with a result per task.
import { announce, api, confirmDialog, data, format } from "./common.js";

const form = document.getElementById("bulk-form");
const t = data("inbox-strings") || {};
const news = document.getElementById("inbox-news");

// A task assigned while the page is open (notifications.js): say so, with a way to see it.
const FRESH = new Set(["task.assigned", "document.sent_back", "document.decided", "document.rejected"]);
document.addEventListener("ekessai:notification", (event) => {
  if (!news || !FRESH.has(event.detail.type)) {
    return;
  }
  const link = document.createElement("a");
  link.href = window.location.pathname;
  link.textContent = t.refresh;
  news.replaceChildren(document.createTextNode(t.newItems + " "), link);
  news.hidden = false;
});

if (form) {
  const button = document.getElementById("bulk-approve");
  const status = document.getElementById("bulk-status");
  const selectAll = document.getElementById("select-all");
  const boxes = () => [...form.querySelectorAll("input[name=task]")];
  const chosen = () => boxes().filter((b) => b.checked && !b.disabled);

  const refresh = () => {
    const n = chosen().length;
    button.disabled = n === 0;
    button.textContent = n ? format(t.approveN, { n }) : t.approveSelected;
    const all = boxes().filter((b) => !b.disabled);
    selectAll.checked = all.length > 0 && n === all.length;
    selectAll.indeterminate = n > 0 && n < all.length;
  };

  form.addEventListener("change", (event) => {
    if (event.target === selectAll) {
      for (const box of boxes()) {
        if (!box.disabled) {
          box.checked = selectAll.checked;
        }
      }
    }
    refresh();
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const ids = chosen().map((b) => Number(b.value));
    if (!ids.length) {
      return;
    }
    const titles = chosen().map((b) => b.closest("tr").querySelector("a").textContent.trim());
    const answer = await confirmDialog({
      title: format(t.confirmTitle, { n: ids.length }),
      message: t.confirmMessage + "\n" + titles.join("、"),
      confirm: format(t.approveN, { n: ids.length }),
      cancel: t.cancel,
    });
    if (!answer) {
      return;
    }
    button.disabled = true;
    announce(status, t.working);
    try {
      const body = await api("POST", form.dataset.api || "/api/v1/tasks/bulk-approve", {
        task_ids: ids,
        comment: document.getElementById("bulk-comment").value.trim(),
      });
      let ok = 0;
      for (const result of body.results) {
        const row = form.querySelector(`tr[data-task="${result.task_id}"]`);
        if (!row) {
          continue;
        }
        const cell = row.querySelector("[data-result]");
        const box = row.querySelector("input[name=task]");
        if (result.ok) {
          ok += 1;
          cell.textContent = t.approved;
          cell.className = "result ok";
          row.classList.add("done");
          box.checked = false;
          box.disabled = true;
        } else {
          cell.textContent = result.error.message;
          cell.className = "result error";
        }
      }
      const failed = body.results.length - ok;
      announce(
        status,
        format(failed ? t.summaryWithErrors : t.summary, { ok, failed }),
        failed ? "error" : "ok",
      );
    } catch (error) {
      announce(status, error.message, "error");
    }
    refresh();
  });
  refresh();
}
