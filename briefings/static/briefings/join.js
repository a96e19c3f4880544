// Joining by code: the six characters go to POST /api/v1/briefings/join; the briefing's page
// opens on success, and the API's message (unknown code, not allowed to read) shows otherwise.
import { announce, api, data } from "../frontend/common.js";

const config = data("join-config");
const form = document.getElementById("join-form");
const input = document.getElementById("join-code");
const status = document.getElementById("join-status");

async function join(code) {
  try {
    const briefing = await api("POST", config.join, { code });
    window.location.assign(briefing.url);
  } catch (error) {
    announce(status, error.message, "error");
    input.focus();
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  join(input.value.trim());
});

if (config.code) {
  input.value = config.code;
  join(config.code);
} else {
  input.focus();
}
