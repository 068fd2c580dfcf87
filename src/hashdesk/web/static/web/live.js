// The browser's client of the event server (protocol: docs/realtime.md).
//
// One connection per page. It says hello with the id of the last event the page already
// reflects, so the server sends everything after it, in order; each received event is
// re-dispatched on document as a "hashdesk:event" CustomEvent for page modules to handle.
// The page renders with the newest event id at render time (body[data-last-event-id]): the
// page *is* the state up to that id, so resuming from it misses nothing and repeats nothing.
// The last id seen is also kept in sessionStorage, for pages rendered without one.
// Dropped connections reconnect with exponential back-off and jitter, and resume.
// A "reset" frame (the server no longer has the events after our id) is re-dispatched as
// "hashdesk:reset": page modules reload their data from the server.
// request(frame) sends a frame that the server answers (chat's "send": an "ack" or an "error"
// naming the frame's client_key) and returns a Promise of that answer. Requests made while the
// connection is down wait and go out after the next "welcome"; a request whose answer was lost
// with the connection goes out again, which is safe because the server treats a client_key it
// has seen as the same request.

const STORAGE_KEY = "hashdesk:last-event-id";
const BACKOFF_BASE_MS = 1000;
const BACKOFF_MAX_MS = 30000;
const PING_EVERY_MS = 25000;
// No frame at all for this long (not even a pong) means the connection is dead.
const SILENCE_LIMIT_MS = 60000;
// Requests waiting for a connection go out in a burst this big, then this many a second: the
// server closes connections that send more than 30 at once or 10 a second for long.
const REQUEST_BURST = 20;
const REQUEST_PER_SECOND = 8;

function storedEventId() {
  try {
    const value = Number.parseInt(window.sessionStorage.getItem(STORAGE_KEY) ?? "", 10);
    return Number.isSafeInteger(value) && value >= 0 ? value : null;
  } catch (error) {
    return null;
  }
}

function storeEventId(id) {
  try {
    window.sessionStorage.setItem(STORAGE_KEY, String(id));
  } catch (error) {
    // Storage disabled: resuming still works within this page.
  }
}

export class LiveConnection {
  constructor(url, { lastEventId } = {}) {
    this.url = url;
    this.lastEventId = lastEventId === undefined ? storedEventId() : lastEventId;
    this.streams = new Set();
    this.socket = null;
    this.attempts = 0;
    this.reconnectTimer = null;
    this.pingTimer = null;
    this.lastFrameAt = 0;
    this.stopped = false;
    // Answered frames by client_key: { frame, resolve, reject }, in the order asked.
    this.pending = new Map();
    // True between the server's "welcome" and the connection's end: requests go out directly.
    this.greeted = false;
  }

  start() {
    window.addEventListener("online", () => this.reconnectNow());
    // A socket open when the network goes may linger half-dead for a long time (and some
    // emulated offline modes leave it working): close it, so requests wait in the queue.
    window.addEventListener("offline", () => this.socket?.close());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && !this.isOpen()) this.reconnectNow();
    });
    this.connect();
    return this;
  }

  isOpen() {
    return this.socket !== null && this.socket.readyState === WebSocket.OPEN;
  }

  /** Ask for more streams (e.g. "service:12"); kept across reconnects. */
  subscribe(streams) {
    const added = streams.filter((name) => !this.streams.has(name));
    for (const name of added) this.streams.add(name);
    if (added.length && this.isOpen()) this.send({ type: "subscribe", streams: added });
  }

  unsubscribe(streams) {
    const removed = streams.filter((name) => this.streams.delete(name));
    if (removed.length && this.isOpen()) this.send({ type: "unsubscribe", streams: removed });
  }

  send(message) {
    if (this.isOpen()) this.socket.send(JSON.stringify(message));
  }

  /**
   * Send a frame the server answers, e.g. chat's {"type": "send", "client_key": …}. Resolves
   * with the matching "ack" frame, rejects with an Error carrying the "error" frame's code and
   * detail. Made while disconnected, it waits for the next "welcome"; it is sent again after a
   * reconnect until answered (the client_key makes a repeat harmless).
   */
  request(frame) {
    const request = { ...frame };
    if (!request.client_key) request.client_key = crypto.randomUUID();
    const key = request.client_key;
    return new Promise((resolve, reject) => {
      this.pending.get(key)?.reject(new RequestSuperseded(key));
      this.pending.set(key, { frame: request, resolve, reject });
      if (this.greeted) this.send(request);
    });
  }

  /** Stop waiting for an answer to ``clientKey`` (it was settled another way). */
  forget(clientKey) {
    this.pending.delete(clientKey);
  }

  sendPending() {
    // A newer welcome starts its own round; an older round stops.
    const round = (this.sendRound = (this.sendRound ?? 0) + 1);
    const waiting = [...this.pending.values()].map((entry) => entry.frame);
    const paced = (frames) => {
      for (const frame of frames) {
        // Answered meanwhile (or settled another way): nothing to send.
        if (this.pending.get(frame.client_key)?.frame === frame) this.send(frame);
      }
    };
    paced(waiting.splice(0, REQUEST_BURST));
    const next = () => {
      if (!waiting.length || !this.greeted || round !== this.sendRound) return;
      paced(waiting.splice(0, REQUEST_PER_SECOND));
      window.setTimeout(next, 1000);
    };
    window.setTimeout(next, 1000);
  }

  answer(frame) {
    const entry = this.pending.get(frame.client_key);
    if (!entry) return false;
    this.pending.delete(frame.client_key);
    if (frame.type === "ack") entry.resolve(frame);
    else entry.reject(new RequestRefused(frame));
    return true;
  }

  setStatus(status) {
    document.dispatchEvent(new CustomEvent("hashdesk:live-status", { detail: { status } }));
  }

  connect() {
    window.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.setStatus(this.attempts ? "reconnecting" : "connecting");
    let socket;
    try {
      socket = new WebSocket(this.url);
    } catch (error) {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.lastFrameAt = Date.now();
      const hello = { type: "hello", last_event_id: this.lastEventId };
      if (this.streams.size) hello.streams = [...this.streams];
      socket.send(JSON.stringify(hello));
      this.startPings();
    });
    socket.addEventListener("message", (message) => this.receive(message.data));
    socket.addEventListener("close", () => {
      if (this.socket !== socket) return;
      this.greeted = false;
      this.stopPings();
      this.socket = null;
      if (!this.stopped) this.scheduleReconnect();
    });
  }

  receive(data) {
    this.lastFrameAt = Date.now();
    let frame;
    try {
      frame = JSON.parse(data);
    } catch (error) {
      return;
    }
    switch (frame.type) {
      case "welcome":
        this.attempts = 0;
        if (this.lastEventId === null && Number.isSafeInteger(frame.last_event_id)) {
          this.remember(frame.last_event_id);
        }
        this.greeted = true;
        this.setStatus("live");
        document.dispatchEvent(new CustomEvent("hashdesk:connected", { detail: frame }));
        this.sendPending();
        break;
      case "ack":
        this.answer(frame);
        break;
      case "typing":
      case "presence":
      case "presence_state":
        // Ephemeral chat frames (never stored, never replayed): "hashdesk:typing" and so on.
        document.dispatchEvent(new CustomEvent(`hashdesk:${frame.type}`, { detail: frame }));
        break;
      case "event":
        this.deliver(frame.event);
        break;
      case "reset":
        if (Number.isSafeInteger(frame.last_event_id)) this.remember(frame.last_event_id);
        document.dispatchEvent(new CustomEvent("hashdesk:reset", { detail: frame }));
        break;
      case "error":
        // A refused request goes to whoever made it; anything else (a stream we may not see,
        // a malformed frame) is only worth a warning.
        if (frame.client_key && this.answer(frame)) break;
        console.warn(`Live updates: ${frame.code}: ${frame.detail}`);
        break;
      default:
        // "pong", "subscribed": liveness only.
        break;
    }
  }

  deliver(event) {
    if (!event || !Number.isSafeInteger(event.id)) return;
    // The server never repeats an event; this guards against a replay racing a live event.
    if (this.lastEventId !== null && event.id <= this.lastEventId) return;
    this.remember(event.id);
    document.dispatchEvent(new CustomEvent("hashdesk:event", { detail: event }));
  }

  remember(id) {
    this.lastEventId = id;
    storeEventId(id);
  }

  startPings() {
    this.stopPings();
    this.pingTimer = window.setInterval(() => {
      if (Date.now() - this.lastFrameAt > SILENCE_LIMIT_MS) {
        this.socket?.close();
        return;
      }
      this.send({ type: "ping" });
    }, PING_EVERY_MS);
  }

  stopPings() {
    window.clearInterval(this.pingTimer);
    this.pingTimer = null;
  }

  scheduleReconnect() {
    if (this.reconnectTimer !== null) return;
    this.setStatus("reconnecting");
    // Offline, a try can only fail: the "online" event reconnects at once instead.
    if (navigator.onLine === false) return;
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** this.attempts);
    // "Equal jitter": half fixed, half random, so a server restart is not met by every
    // browser reconnecting in the same instant.
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.attempts += 1;
    this.reconnectTimer = window.setTimeout(() => this.connect(), delay);
  }

  reconnectNow() {
    if (this.isOpen() || this.stopped) return;
    this.attempts = 0;
    window.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.connect();
  }
}

/** The server refused a request: ``code`` and ``detail`` are the error frame's. */
export class RequestRefused extends Error {
  constructor(frame) {
    super(frame.detail || frame.code || "Refused");
    this.name = "RequestRefused";
    this.code = frame.code;
    this.detail = frame.detail;
    this.frame = frame;
  }
}

/** The same client_key was requested again before the first request was answered. */
export class RequestSuperseded extends Error {
  constructor(clientKey) {
    super(`Requested again: ${clientKey}`);
    this.name = "RequestSuperseded";
  }
}

let connection = null;

/** The page's connection, or null on pages without live updates (signed out). */
export function live() {
  return connection;
}

export function startLive(body = document.body) {
  const url = body.dataset.eventsUrl;
  if (!url || connection) return connection;
  // Rendered pages carry the id they reflect ("" when the log is empty: start from now);
  // only a page without the attribute falls back to the id kept in sessionStorage.
  let lastEventId;
  if ("lastEventId" in body.dataset) {
    const rendered = Number.parseInt(body.dataset.lastEventId, 10);
    lastEventId = Number.isSafeInteger(rendered) ? rendered : null;
  }
  connection = new LiveConnection(url, { lastEventId });
  // Streams the page names in its HTML go in the hello, so events after the rendered id reach
  // it even when the module that shows them loads after the connection opened.
  for (const node of document.querySelectorAll("[data-live-streams]")) {
    connection.subscribe(node.dataset.liveStreams.split(" ").filter(Boolean));
  }
  return connection;
}

/** Shows the connection state in the header's live indicator. */
export function initLiveStatus(root = document) {
  const indicator = root.querySelector("[data-live-status]");
  if (!indicator) return;
  const text = indicator.querySelector("[data-live-status-text]");
  const labels = {
    connecting: "Live updates: connecting",
    live: "Live updates: on",
    reconnecting: "Live updates: reconnecting",
  };
  document.addEventListener("hashdesk:live-status", (event) => {
    const status = event.detail.status;
    indicator.dataset.liveStatus = status;
    indicator.title = labels[status] ?? "";
    if (text) text.textContent = labels[status] ?? "";
  });
}
