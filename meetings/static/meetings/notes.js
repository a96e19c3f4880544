// The notes panel: what GET …/notes returns to this person (shared notes, the presenter's ink,
// their own private notes; the server never sends another person's private note), with their
// own notes' buttons: private ↔ shared, and delete.
import { announce, api, el, format } from "../frontend/common.js";

export class NotesPanel {
  constructor({ url, list, status, strings, items, onGo, onInk }) {
    this.url = url;
    this.list = list;
    this.status = status;
    this.t = strings;
    this.items = new Map(items.map((i) => [i.id, i]));
    this.onGo = onGo;
    this.onInk = onInk;
    this.notes = [];
    list.addEventListener("click", (event) => this.#click(event));
  }

  async load() {
    try {
      const answer = await api("GET", this.url);
      this.notes = answer.results;
      this.render();
    } catch (error) {
      announce(this.status, error.message, "error");
    }
  }

  async create(body) {
    const note = await api("POST", this.url, body);
    this.notes.push(note);
    this.render();
    return note;
  }

  where(note) {
    const item = this.items.get(note.item);
    if (!item) {
      return "";
    }
    return note.page
      ? format(this.t.wherePage, { n: item.position, page: note.page })
      : format(this.t.whereItem, { n: item.position });
  }

  render() {
    this.onInk(
      this.notes
        .filter((n) => n.layer === "ink")
        .flatMap((n) => n.strokes.map((points) => ({ item: n.item, page: n.page, points, color: n.color }))),
    );
    this.list.replaceChildren(
      ...this.notes.map((note) => {
        const where = this.where(note);
        return el(
          "li",
          { class: `note note-${note.layer}`, "data-note": note.id },
          el(
            "p",
            { class: "note-head" },
            el("span", { class: `layer layer-${note.layer}`, text: this.t.layers[note.layer] }),
            " ",
            el("span", { class: "who", text: note.author.display_name }),
            " ",
            where
              ? el("button", { type: "button", class: "link", "data-go": note.id }, where)
              : null,
          ),
          note.layer === "ink"
            ? el("p", { class: "muted small", text: this.t.inkNote })
            : el("p", { class: "note-text", text: note.text }),
          note.mine
            ? el(
                "p",
                { class: "note-actions" },
                note.layer !== "ink"
                  ? el(
                      "button",
                      { type: "button", class: "link", "data-toggle": note.id },
                      note.layer === "private" ? this.t.share : this.t.makePrivate,
                    )
                  : null,
                " ",
                el("button", { type: "button", class: "link", "data-delete": note.id }, this.t.delete),
              )
            : null,
        );
      }),
    );
    if (!this.notes.length) {
      this.list.append(el("li", { class: "muted", text: this.t.noNotes }));
    }
  }

  async #click(event) {
    const go = event.target.closest("[data-go]");
    const toggle = event.target.closest("[data-toggle]");
    const remove = event.target.closest("[data-delete]");
    try {
      if (go) {
        const note = this.notes.find((n) => n.id === Number(go.dataset.go));
        this.onGo(note);
      } else if (toggle) {
        const id = Number(toggle.dataset.toggle);
        const note = this.notes.find((n) => n.id === id);
        const layer = note.layer === "private" ? "shared" : "private";
        const changed = await api("PATCH", `${this.url}/${id}`, { layer });
        this.notes = this.notes.map((n) => (n.id === id ? changed : n));
        this.render();
        announce(this.status, layer === "shared" ? this.t.nowShared : this.t.nowPrivate, "ok");
        const again = this.list.querySelector(`[data-toggle="${id}"]`);
        if (again) {
          again.focus();
        }
      } else if (remove) {
        const id = Number(remove.dataset.delete);
        await api("DELETE", `${this.url}/${id}`);
        this.notes = this.notes.filter((n) => n.id !== id);
        this.render();
        announce(this.status, this.t.deleted, "ok");
      }
    } catch (error) {
      announce(this.status, error.message, "error");
    }
  }
}
