// Shared by the page scripts: calling the REST API with the session cookie and CSRF token,
// reading the page's JSON data (json_script), confirmations and announcements.

export function data(id) {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent) : null;
}

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  if (match) {
    return decodeURIComponent(match[1]);
  }
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

export class ApiError extends Error {
  constructor(status, code, message, fields) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = fields || null;
  }
}

// The API's errors are {"error": {"code", "message", ...}}; anything else gets a plain message.
export async function errorOf(response, fallback) {
  let body = null;
  try {
    body = await response.json();
  } catch (e) {
    body = null;
  }
  const error = body && body.error ? body.error : {};
  return new ApiError(
    response.status,
    error.code || "http_" + response.status,
    error.message || fallback || response.statusText,
    error.fields || error.details || error.problems || null,
  );
}

export async function api(method, url, body, { fallback } = {}) {
  const options = {
    method,
    credentials: "same-origin",
    headers: { Accept: "application/json" },
  };
  if (method !== "GET" && method !== "HEAD") {
    options.headers["X-CSRFToken"] = csrfToken();
  }
  if (body instanceof FormData) {
    options.body = body;
  } else if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, options);
  } catch (e) {
    throw new ApiError(0, "network", fallback || String(e));
  }
  if (!response.ok) {
    throw await errorOf(response, fallback);
  }
  if (response.status === 204) {
    return null;
  }
  return response.json();
}

// Upload with progress (fetch cannot report upload progress). Resolves with the parsed JSON.
export function upload(url, formData, onProgress, { fallback } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    xhr.withCredentials = true;
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable && onProgress) {
        onProgress(event.loaded / event.total);
      }
    });
    xhr.addEventListener("load", () => {
      let body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch (e) {
        body = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve(body);
      } else {
        const error = body && body.error ? body.error : {};
        reject(
          new ApiError(
            xhr.status,
            error.code || "http_" + xhr.status,
            error.message || fallback || xhr.statusText,
            error.fields || null,
          ),
        );
      }
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, "network", fallback || "")));
    xhr.addEventListener("abort", () => reject(new ApiError(0, "aborted", fallback || "")));
    xhr.send(formData);
  });
}

export function format(template, values) {
  return template.replace(/%\((\w+)\)s/g, (_, key) =>
    values[key] === undefined || values[key] === null ? "" : String(values[key]),
  );
}

export function el(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) {
    if (value === null || value === undefined || value === false) {
      continue;
    }
    if (key === "class") {
      node.className = value;
    } else if (key === "text") {
      node.textContent = value;
    } else if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else {
      node.setAttribute(key, value === true ? "" : String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) {
      continue;
    }
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function announce(region, message, kind) {
  if (!region) {
    return;
  }
  region.textContent = message;
  region.classList.toggle("error", kind === "error");
  region.classList.toggle("ok", kind === "ok");
}

// A modal confirmation that says what will happen. Resolves with the form's values, or null.
// `fields` are [{name, label, type: "textarea"|"select"|"text", required, options}].
export function confirmDialog({ title, message, confirm, cancel, fields = [], danger = false }) {
  return new Promise((resolve) => {
    const dialog = el("dialog", { class: "confirm", "aria-labelledby": "confirm-title" });
    const form = el("form", { method: "dialog" });
    form.append(el("h2", { id: "confirm-title", text: title }));
    if (message) {
      form.append(el("p", { text: message }));
    }
    const inputs = {};
    for (const field of fields) {
      const id = "confirm-" + field.name;
      let input;
      if (field.type === "select") {
        input = el("select", { id, name: field.name });
        for (const [value, label] of field.options) {
          input.append(el("option", { value, text: label }));
        }
      } else if (field.type === "textarea") {
        input = el("textarea", { id, name: field.name, rows: 4, maxlength: 2000 });
      } else {
        input = el("input", { id, name: field.name, type: "text", maxlength: 2000 });
      }
      if (field.required) {
        input.required = true;
      }
      if (field.value) {
        input.value = field.value;
      }
      inputs[field.name] = input;
      form.append(el("p", {}, el("label", { for: id, text: field.label }), input));
    }
    const ok = el("button", { type: "submit", class: danger ? "danger" : "primary", value: "ok", text: confirm });
    const no = el("button", { type: "button", text: cancel });
    form.append(el("div", { class: "dialog-buttons" }, ok, no));
    dialog.append(form);
    document.body.append(dialog);
    const close = (result) => {
      dialog.close();
      dialog.remove();
      resolve(result);
    };
    no.addEventListener("click", () => close(null));
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      close(null);
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!form.reportValidity()) {
        return;
      }
      const values = {};
      for (const [name, input] of Object.entries(inputs)) {
        values[name] = input.value.trim();
      }
      close(values);
    });
    dialog.showModal();
    const first = fields.length ? inputs[fields[0].name] : ok;
    first.focus();
  });
}
