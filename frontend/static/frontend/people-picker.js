// A people picker: a combobox (ARIA 1.2 pattern, list autocomplete) over GET /api/v1/people,
// and the list of people chosen, each with its own remove button. Keyboard: type to search,
// ↓/↑ to move through the matches, Enter to choose, Escape to close the list (or clear the text).
import { announce, api, el, format } from "./common.js";

const DELAY = 200;

export function peoplePicker(root, { url, strings: t, exclude, onChange }) {
  const input = root.querySelector("input[role=combobox]");
  const listbox = root.querySelector("[role=listbox]");
  const live = root.querySelector("[aria-live]");
  const chosenList = root.querySelector(".chosen");
  const chosen = new Map(); // username → person
  let matches = [];
  let active = -1;
  let timer = null;
  let asked = 0;

  const optionId = (index) => `${listbox.id}-${index}`;

  function describe(person) {
    return [person.position, person.department].filter(Boolean).join("・");
  }

  function close() {
    matches = [];
    listbox.replaceChildren();
    listbox.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function highlight(index) {
    active = index;
    for (const [i, node] of [...listbox.children].entries()) {
      node.setAttribute("aria-selected", String(i === index));
    }
    if (index >= 0) {
      input.setAttribute("aria-activedescendant", optionId(index));
      listbox.children[index].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function show(found, truncated) {
    matches = found;
    listbox.replaceChildren(
      ...found.map((person, index) =>
        el(
          "li",
          { id: optionId(index), role: "option", "aria-selected": "false", "data-index": index },
          el("span", { class: "who", text: person.display_name }),
          " ",
          el("span", { class: "muted", text: describe(person) }),
        ),
      ),
    );
    listbox.hidden = found.length === 0;
    input.setAttribute("aria-expanded", String(found.length > 0));
    active = -1;
    input.removeAttribute("aria-activedescendant");
    let message = found.length ? format(t.found, { n: found.length }) : t.noneFound;
    if (truncated) {
      message += " " + t.moreFound;
    }
    announce(live, message);
  }

  async function search() {
    const query = input.value.trim();
    if (!query) {
      close();
      announce(live, "");
      return;
    }
    const ticket = ++asked;
    try {
      const answer = await api("GET", `${url}?${new URLSearchParams({ q: query, limit: 10 })}`);
      if (ticket !== asked) {
        return; // a later search is on its way
      }
      const skip = exclude();
      show(
        answer.results.filter((p) => !skip.has(p.username)),
        answer.truncated,
      );
    } catch (error) {
      if (ticket === asked) {
        close();
        announce(live, error.message, "error");
      }
    }
  }

  function renderChosen(focusAfter) {
    chosenList.replaceChildren(
      ...[...chosen.values()].map((person) =>
        el(
          "li",
          { "data-username": person.username },
          el("span", { class: "who", text: person.display_name }),
          " ",
          el("span", { class: "muted", text: describe(person) }),
          " ",
          el(
            "button",
            { type: "button", class: "link", "data-unpick": person.username },
            t.remove,
            el("span", { class: "visually-hidden", text: " " + person.display_name }),
          ),
        ),
      ),
    );
    chosenList.hidden = chosen.size === 0;
    if (focusAfter !== undefined) {
      const buttons = chosenList.querySelectorAll("[data-unpick]");
      (buttons[Math.min(focusAfter, buttons.length - 1)] || input).focus();
    }
  }

  function pick(index) {
    const person = matches[index];
    if (!person) {
      return;
    }
    chosen.set(person.username, person);
    input.value = "";
    close();
    renderChosen();
    announce(live, format(t.added, { name: person.display_name }));
    input.focus();
    onChange();
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(search, DELAY);
  });
  input.addEventListener("keydown", (event) => {
    const open = !listbox.hidden && matches.length > 0;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!open) {
        search();
        return;
      }
      const step = event.key === "ArrowDown" ? 1 : -1;
      highlight((active + step + matches.length) % matches.length);
    } else if (event.key === "Enter") {
      // Never submits the draft form from here.
      event.preventDefault();
      if (open) {
        pick(active >= 0 ? active : matches.length === 1 ? 0 : -1);
      }
    } else if (event.key === "Escape") {
      if (open) {
        event.preventDefault();
        close();
      } else if (input.value) {
        event.preventDefault();
        input.value = "";
      }
    }
  });
  input.addEventListener("blur", () => setTimeout(close, 150));
  // mousedown: choosing with the pointer keeps the focus in the input.
  listbox.addEventListener("mousedown", (event) => event.preventDefault());
  listbox.addEventListener("click", (event) => {
    const option = event.target.closest("[role=option]");
    if (option) {
      pick(Number(option.dataset.index));
    }
  });
  chosenList.addEventListener("click", (event) => {
    const button = event.target.closest("[data-unpick]");
    if (!button) {
      return;
    }
    const index = [...chosenList.querySelectorAll("[data-unpick]")].indexOf(button);
    const person = chosen.get(button.dataset.unpick);
    chosen.delete(button.dataset.unpick);
    renderChosen(index);
    announce(live, format(t.removedPerson, { name: person ? person.display_name : "" }));
    onChange();
  });

  return {
    usernames: () => [...chosen.keys()],
  };
}
