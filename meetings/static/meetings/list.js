// Times written by the server in ISO 8601 are shown in the reader's own format and zone.
export function localTimes(root = document) {
  const lang = document.documentElement.lang || "ja";
  for (const node of root.querySelectorAll("time[data-local]")) {
    const when = new Date(node.getAttribute("datetime"));
    if (!Number.isNaN(when.getTime())) {
      node.textContent = when.toLocaleString(lang, {
        year: "numeric",
        month: "short",
        day: "numeric",
        weekday: "short",
        hour: "2-digit",
        minute: "2-digit",
      });
    }
  }
}

localTimes();
