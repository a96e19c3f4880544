// 「説明を開始」 in the review workspace: starts a briefing of this document and opens its page,
// where the presenter finds the code and the link for the followers.
import { api } from "../frontend/common.js";

const button = document.getElementById("start-briefing");
if (button) {
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const briefing = await api("POST", button.dataset.api, {
        document: Number(button.dataset.document),
      });
      window.location.assign(briefing.url);
    } catch (error) {
      button.disabled = false;
      window.alert(error.message);
    }
  });
}
