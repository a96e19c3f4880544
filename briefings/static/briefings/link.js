// The briefing's connection: the notification socket (/ws/notifications/, the session cookie),
// joined to one briefing, reconnecting with backoff (1 s to 30 s, with jitter) and joining again,
// so a monitor that loses the network for a while comes back to the presenter's page by itself.

const MIN_DELAY = 1000;
const MAX_DELAY = 30000;
const PING_EVERY = 30000;
const SIGNED_OUT = 4401;

export class Link {
  constructor(path, join, { onFrame, onState }) {
    this.url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
    this.join = join;
    this.onFrame = onFrame;
    this.onState = onState;
    this.socket = null;
    this.attempt = 0;
    this.pinger = null;
    this.stopped = false;
  }

  connect() {
    if (this.stopped) {
      return;
    }
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.attempt = 0;
      this.send(this.join);
      this.pinger = window.setInterval(() => this.send({ type: "ping" }), PING_EVERY);
      this.onState("open");
    });
    socket.addEventListener("message", (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      if (frame && typeof frame.type === "string") {
        this.onFrame(frame);
      }
    });
    socket.addEventListener("close", (event) => {
      window.clearInterval(this.pinger);
      this.socket = null;
      if (this.stopped) {
        return;
      }
      if (event.code === SIGNED_OUT) {
        this.onState("signed-out");
        return;
      }
      this.onState("reconnecting");
      const delay = Math.min(MAX_DELAY, MIN_DELAY * 2 ** this.attempt);
      this.attempt += 1;
      window.setTimeout(() => this.connect(), delay / 2 + Math.random() * (delay / 2));
    });
  }

  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify(message));
      return true;
    }
    return false;
  }

  stop() {
    this.stopped = true;
    if (this.socket) {
      this.socket.close(1000);
    }
  }
}
