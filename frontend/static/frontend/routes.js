// The route designer (/routes/, /routes/<code>/): stages left to right, reordered by dragging
// (SortableJS) or with each stage's arrow buttons; the draft saved and published through the API
// (workflow.designer_api); simulation and the check of every route.
import Sortable from "./vendor/sortablejs/sortable.esm.js";
import { announce, api, data, el, format } from "./common.js";

const config = data("routes-config");
const t = config.t;
const choices = config.choices;

function options(select, pairs, value, { empty } = {}) {
  select.replaceChildren(
    ...(empty !== undefined ? [el("option", { value: "" }, empty)] : []),
    ...pairs.map(([v, label]) => el("option", { value: v, selected: v === value }, label)),
  );
  return select;
}

let uid = 0;
function field(label, control) {
  const id = `f${++uid}`;
  control.id = id;
  return el("p", { class: "field" }, el("label", { for: id }, label), control);
}

// --- The designer ------------------------------------------------------------------------------

function ruleEditor(rule) {
  const item = el("li", { class: "rule" });
  const kind = options(el("select", { "data-k": "kind" }), choices.kinds, rule.kind || "relative");
  const level = options(el("select", { "data-k": "level" }), choices.levels, rule.level || "own");
  const position = options(el("select", { "data-k": "position" }), choices.positions, rule.position, {
    empty: t.any,
  });
  const department = options(
    el("select", { "data-k": "department" }),
    choices.departments,
    rule.department,
    { empty: t.any },
  );
  const user = el("input", { "data-k": "user", value: rule.user || "", autocomplete: "off" });
  const group = el("input", { "data-k": "group", value: rule.group || "" });
  const parts = {
    level: field(t.level, level),
    position: field(t.position, position),
    department: field(t.department, department),
    user: field(t.user, user),
    group: field(t.group, group),
  };
  const shown = {
    relative: ["level", "position"],
    department_position: ["department", "position"],
    user: ["user"],
    group: ["group"],
  };
  const update = () => {
    for (const [name, node] of Object.entries(parts)) {
      node.hidden = !(shown[kind.value] || []).includes(name);
    }
  };
  kind.addEventListener("change", update);
  const remove = el("button", { type: "button", class: "link", "aria-label": t.removeRule }, "×");
  remove.addEventListener("click", () => item.remove());
  item.append(field(t.kind, kind), ...Object.values(parts), remove);
  update();
  return item;
}

function readRule(item) {
  const value = (k) => item.querySelector(`[data-k=${k}]`).value.trim();
  const kind = value("kind");
  const rule = { kind };
  if (kind === "relative") Object.assign(rule, { level: value("level"), position: value("position") });
  if (kind === "department_position")
    Object.assign(rule, { department: value("department"), position: value("position") });
  if (kind === "user") rule.user = value("user");
  if (kind === "group") rule.group = value("group");
  return rule;
}

function stageEditor(stage) {
  const card = el("li", { class: "stage-card" });
  const name = el("input", { "data-s": "name", value: stage.name || "", required: true, maxlength: 100 });
  const mode = options(el("select", { "data-s": "mode" }), choices.modes, stage.mode || "sequential");
  const quorum = el("input", {
    "data-s": "quorum",
    type: "number",
    min: 1,
    value: stage.quorum || "",
  });
  const role = options(el("select", { "data-s": "role" }), choices.roles, stage.role || "approve");
  const skippable = el("input", { "data-s": "skippable", type: "checkbox", checked: !!stage.skippable });
  const same = el("input", {
    "data-s": "same_person_again",
    type: "checkbox",
    checked: !!stage.same_person_again,
  });
  const amountMin = el("input", { "data-s": "amount_min", type: "number", min: 0, value: stage.amount_min ?? "" });
  const amountMax = el("input", { "data-s": "amount_max", type: "number", min: 0, value: stage.amount_max ?? "" });
  const types = el("select", { "data-s": "doc_types", multiple: true, size: 3 });
  options(types, choices.docTypes);
  for (const option of types.options) {
    option.selected = (stage.doc_types || []).includes(option.value);
  }
  const departments = el("select", { "data-s": "departments", multiple: true, size: 4 });
  options(departments, choices.departments);
  for (const option of departments.options) {
    option.selected = (stage.departments || []).includes(option.value);
  }
  const percent = el("input", { "data-s": "quorum_percent", type: "checkbox", checked: !!stage.quorum_percent });
  const quorumField = field(t.quorum, quorum);
  const percentField = field(t.quorumPercent, percent);
  const showQuorum = () => {
    quorumField.hidden = mode.value !== "quorum";
    percentField.hidden = mode.value !== "quorum";
  };
  mode.addEventListener("change", showQuorum);
  const rules = el("ol", { class: "rules" }, ...(stage.rules || []).map(ruleEditor));
  const addRule = el("button", { type: "button", "data-add-rule": "" }, t.addRule);
  addRule.addEventListener("click", () => {
    rules.append(ruleEditor({ kind: "relative" }));
    rules.lastElementChild.querySelector("select").focus();
  });
  const handle = el("span", { class: "drag", title: t.drag, "aria-hidden": "true" }, "⠿");
  const left = el("button", { type: "button", "data-move": "-1", "aria-label": t.moveLeft }, "←");
  const right = el("button", { type: "button", "data-move": "1", "aria-label": t.moveRight }, "→");
  const remove = el("button", { type: "button", class: "danger", "aria-label": t.removeStage }, "×");
  remove.addEventListener("click", () => {
    const label = name.value;
    card.remove();
    say(format(t.removed, { name: label }));
  });
  card.append(
    el("div", { class: "stage-tools" }, handle, left, right, remove),
    field(t.stageName, name),
    field(t.mode, mode),
    quorumField,
    percentField,
    field(t.role, role),
    el("fieldset", {}, el("legend", {}, t.who), rules, addRule),
    el(
      "details",
      {},
      el("summary", {}, t.docTypes),
      field(t.docTypes, types),
      field(t.departments, departments),
      field(t.amountMin, amountMin),
      field(t.amountMax, amountMax),
      field(t.skippable, skippable),
      field(t.samePerson, same),
    ),
  );
  showQuorum();
  return card;
}

function readStage(card) {
  const get = (k) => card.querySelector(`[data-s=${k}]`);
  const number = (k) => (get(k).value === "" ? null : Number(get(k).value));
  return {
    name: get("name").value.trim(),
    mode: get("mode").value,
    quorum: get("mode").value === "quorum" ? number("quorum") : null,
    quorum_percent: get("mode").value === "quorum" && get("quorum_percent").checked,
    role: get("role").value,
    skippable: get("skippable").checked,
    same_person_again: get("same_person_again").checked,
    amount_min: number("amount_min"),
    amount_max: number("amount_max"),
    doc_types: [...get("doc_types").selectedOptions].map((o) => o.value),
    departments: [...get("departments").selectedOptions].map((o) => o.value),
    rules: [...card.querySelectorAll(".rule")].map(readRule),
  };
}

function say(message, kind) {
  announce(document.getElementById("designer-status"), message, kind);
}

function problemsList(error) {
  const problems = Array.isArray(error.fields) ? error.fields : [];
  return el("ul", { class: "problems" }, ...problems.map((p) => el("li", {}, p)));
}

function designer() {
  const list = document.getElementById("stages");
  if (!list) return;
  const draft = config.draft;
  list.append(...draft.stages.map(stageEditor));
  options(document.getElementById("after-send-back"), choices.after, draft.after_send_back);
  Sortable.create(list, { handle: ".drag", animation: 150, onEnd: (e) => moved(e.item) });
  const moved = (card) => {
    const position = [...list.children].indexOf(card) + 1;
    say(format(t.moved, { name: card.querySelector("[data-s=name]").value, n: position }));
  };
  list.addEventListener("click", (event) => {
    const button = event.target.closest("[data-move]");
    if (!button) return;
    const card = button.closest(".stage-card");
    const step = Number(button.dataset.move);
    const other = step < 0 ? card.previousElementSibling : card.nextElementSibling;
    if (!other) return;
    if (step < 0) other.before(card);
    else other.after(card);
    button.focus();
    moved(card);
  });
  document.getElementById("add-stage").addEventListener("click", () => {
    list.append(stageEditor({ name: t.newStage, rules: [{ kind: "relative", level: "own" }] }));
    list.lastElementChild.querySelector("[data-s=name]").focus();
    say(t.added);
  });
  document.getElementById("save-draft").addEventListener("click", async () => {
    const definition = {
      code: config.code,
      after_send_back: document.getElementById("after-send-back").value,
      stages: [...list.children].map(readStage),
    };
    const status = document.getElementById("designer-status");
    try {
      await api("PUT", `/api/v1/routes/${config.code}/draft`, { definition }, { fallback: t.failed });
      announce(status, t.saved, "ok");
    } catch (error) {
      announce(status, `${t.problems} ${error.message}`, "error");
      status.append(problemsList(error));
    }
  });
  document.getElementById("publish-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const status = document.getElementById("publish-status");
    const body = { valid_from: form.valid_from.value, note: form.note.value };
    try {
      const version = await api("POST", `/api/v1/routes/${config.code}/publish`, body, {
        fallback: t.failed,
      });
      announce(status, format(t.published, { date: version.valid_from }), "ok");
    } catch (error) {
      announce(status, error.message, "error");
    }
  });
}

// --- Simulation ----------------------------------------------------------------------------------

function simulation() {
  const form = document.getElementById("simulate-form");
  if (!form) return;
  options(form.doc_type, choices.docTypes);
  options(form.department, choices.departments);
  const out = document.getElementById("simulation");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {
      doc_type: form.doc_type.value,
      department: form.department.value,
      amount: form.amount.value === "" ? null : Number(form.amount.value),
      date: form.date.value || null,
    };
    try {
      const result = await api("POST", "/api/v1/routes/simulate", body, { fallback: t.failed });
      out.replaceChildren(...drawSimulation(result, body.date));
    } catch (error) {
      out.replaceChildren(el("p", { class: "status error" }, error.message));
    }
  });
}

function drawSimulation(result, date) {
  const head = el(
    "p",
    {},
    format(t.rule, { rule: result.rule, route: result.template_name || "", version: result.version ?? "" }),
  );
  if (!result.ok) {
    return [
      head,
      el("p", { class: "status error" }, t.unresolved),
      el("ul", { class: "problems" }, ...result.problems.map((p) => el("li", {}, `${p.stage ? p.stage + ": " : ""}${p.message}`))),
    ];
  }
  const stages = result.route.stages.map((stage) =>
    el(
      "li",
      {},
      el("strong", {}, stage.name),
      " ",
      stage.slots
        .map(
          (slot) =>
            slot.assignee.name +
            (slot.on_behalf_of ? `（${format(t.forPerson, { name: slot.on_behalf_of.name })}）` : ""),
        )
        .join("、"),
    ),
  );
  return [
    head,
    el("p", { class: "muted" }, format(t.simulated, { date: date || new Date().toISOString().slice(0, 10) })),
    el("ol", { class: "stage-strip simulated" }, ...stages),
  ];
}

// --- The rules table and the check ---------------------------------------------------------------

function rulesImport() {
  const form = document.getElementById("rules-import");
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const status = document.getElementById("rules-status");
    const body = new FormData(form);
    try {
      const version = await api("POST", "/api/v1/rules/import", body, { fallback: t.failed });
      announce(status, format(t.published, { date: version.valid_from }), "ok");
    } catch (error) {
      announce(status, error.message, "error");
      status.append(problemsList(error));
    }
  });
}

function check() {
  const form = document.getElementById("check-form");
  if (!form) return;
  const out = document.getElementById("check-report");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    announce(out, t.working);
    const query = form.date.value ? `?date=${encodeURIComponent(form.date.value)}` : "";
    try {
      const report = await api("GET", `/api/v1/routes/check${query}`, undefined, { fallback: t.failed });
      const rows = report.results.map((line) =>
        el(
          "tr",
          {},
          el("td", {}, line.department.name),
          el("td", {}, line.doc_type_name),
          el("td", {}, line.amount === null ? "—" : String(line.amount)),
          el("td", {}, line.template || ""),
          el("td", {}, line.problems.map((p) => p.message).join(" ")),
        ),
      );
      const running = report.running.map((b) =>
        el("li", {}, el("a", { href: `/documents/${b.document}/` }, b.title), ` — ${b.stage}: ${b.post}`),
      );
      out.replaceChildren(
        el("p", {}, format(t.runningCount, { n: report.running.length, date: report.date })),
        el("ul", { class: "problems" }, ...running),
        el("p", {}, format(t.checkCount, { n: report.results.length, date: report.date })),
        el(
          "table",
          { class: "check-table" },
          el("thead", {}, el("tr", {}, ...t.checkColumns.map((c) => el("th", { scope: "col" }, c)))),
          el("tbody", {}, ...rows),
        ),
      );
    } catch (error) {
      announce(out, error.message, "error");
    }
  });
}

designer();
simulation();
rulesImport();
check();
