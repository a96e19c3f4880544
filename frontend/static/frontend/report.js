// A verification report (GET …/verification, POST /api/v1/verify) in plain words.
import { el, format } from "./common.js";

function when(value) {
  if (!value) {
    return null;
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) {
    return value;
  }
  return date.toLocaleString(document.documentElement.lang || undefined, {
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
}

function verdict(ok, yes, no, unknown) {
  if (ok === null || ok === undefined) {
    return el("span", { class: "verdict unknown", text: unknown });
  }
  return el("span", { class: ok ? "verdict good" : "verdict bad", text: ok ? yes : no });
}

export function renderReport(container, report, t) {
  const items = [];
  const signatures = report.signatures || [];
  const summary = signatures.length
    ? report.valid
      ? format(t.allGood, { n: signatures.length })
      : t.notAllGood
    : t.unsigned;
  items.push(
    el("p", { class: report.valid ? "summary good" : "summary bad" }, el("strong", { text: summary })),
  );
  if (report.problem) {
    items.push(el("p", { class: "muted", text: format(t.problemDetail, { problem: report.problem }) }));
  }
  const list = el("ol", { class: "signatures" });
  for (const s of signatures) {
    const who = [s.signer, s.role && s.role !== s.signer ? s.role : null, s.section, s.organisation]
      .filter(Boolean)
      .join(" · ");
    const heading =
      s.kind === "document_timestamp"
        ? t.documentTimestamp
        : format(t.signedBy, { who: who || t.unknownSigner });
    const facts = el("dl", {});
    const add = (label, value) => {
      if (value !== null && value !== undefined && value !== "") {
        facts.append(el("dt", { text: label }), el("dd", {}, value));
      }
    };
    add(t.reason, s.reason);
    add(t.signedAt, when(s.signed_at));
    const ts = s.timestamp || {};
    if (ts.time) {
      add(
        t.timestamp,
        el(
          "span",
          {},
          format(t.timestampText, { time: when(ts.time), tsa: ts.tsa || "—" }),
          " ",
          verdict(ts.valid, t.timestampValid, t.timestampInvalid, t.unknown),
        ),
      );
    } else {
      add(t.timestamp, t.noTimestamp);
    }
    add(t.intact, verdict(s.intact, t.intactYes, t.intactNo, t.unknown));
    add(t.trusted, verdict(s.trusted, t.trustedYes, t.trustedNo, t.unknown));
    if (s.revoked) {
      add(t.revoked, el("span", { class: "verdict bad", text: t.revokedYes }));
    }
    const changes = t.modification[s.modification] || s.modification;
    add(t.laterChanges, changes);
    if (s.changes && s.changes.length) {
      add(t.details, el("ul", {}, s.changes.map((c) => el("li", { text: c }))));
    }
    if (s.problem) {
      add(t.problem, s.problem);
    }
    list.append(
      el(
        "li",
        { class: s.valid ? "signature good" : "signature bad" },
        el("h3", {}, heading, " ", verdict(s.valid, t.valid, t.invalid, t.unknown)),
        facts,
      ),
    );
  }
  if (signatures.length) {
    items.push(list);
  }
  container.replaceChildren(...items);
}
