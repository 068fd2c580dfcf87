// A chat room, live (docs/chat.md, "The live client"). The server renders the newest page of
// messages; messages then arrive as `chat_message` events on the room's stream and are put in
// id order, each exactly once (deduplicated by message id; the sender's own message, shown at
// once as "sending…", is matched by its client_key and replaced by the stored one). The
// composer sends over the WebSocket (`send`, answered by `ack` or `error`: live.js request()),
// keeps every message in a localStorage outbox until acknowledged, and sends the outbox again
// on reconnect with the same client_keys, so nothing typed is lost or doubled. Only when the
// socket has been down for a while (FALLBACK_AFTER_MS) does it post the same message over REST
// instead. Typing indicators, presence dots and read markers ride on the same connection.

import { live } from "../web/live.js";
import { Outbox } from "./outbox.js";
import { renderMessage, renderPending, updateBody } from "./render.js";

// The socket must have been down this long before a message goes over REST instead.
const FALLBACK_AFTER_MS = 8000;
// "Ana is typing…" is sent at most this often, and shown this long after the last frame.
const TYPING_EVERY_MS = 2000;
const TYPING_SHOWN_MS = 5000;

function messageId(node) {
  const value = Number.parseInt(node?.dataset.messageId ?? "", 10);
  return Number.isSafeInteger(value) ? value : null;
}

async function problemDetail(response) {
  try {
    const problem = await response.json();
    return problem.detail || problem.title || `Refused (${response.status})`;
  } catch (error) {
    return `Refused (${response.status})`;
  }
}

export class ChatRoom {
  constructor(section) {
    this.section = section;
    this.roomId = Number.parseInt(section.dataset.roomId, 10);
    this.userId = Number.parseInt(section.dataset.userId, 10);
    this.userName = section.dataset.userName || "You";
    this.csrf = section.dataset.csrf || "";
    this.api = section.dataset.messagesApi;
    this.isMember = Boolean(section.dataset.liveStreams);
    this.list = section.querySelector("[data-chat-messages]");
    this.form = section.querySelector("[data-chat-composer]");
    this.input = this.form?.querySelector("[data-chat-input]") ?? null;
    this.typingLine = section.querySelector("[data-chat-typing]");
    this.outboxLine = section.querySelector("[data-chat-outbox]");
    this.outbox = new Outbox(this.userId, this.roomId);
    this.connection = live();
    // Since when the socket has been down (null: up), for the REST fallback.
    this.downSince = this.connection?.greeted ? null : Date.now();
    this.lastTypingSent = 0;
    this.typists = new Map();
    this.readSent = 0;
    this.othersRead = Number.parseInt(section.dataset.othersRead || "0", 10) || 0;
    this.fallbackTimer = null;
  }

  start() {
    if (this.isMember && this.connection) {
      this.connection.subscribe(this.section.dataset.liveStreams.split(" ").filter(Boolean));
    }
    document.addEventListener("hashdesk:event", (event) => this.onEvent(event.detail));
    document.addEventListener("hashdesk:reset", () => this.catchUp());
    document.addEventListener("hashdesk:typing", (event) => this.onTyping(event.detail));
    document.addEventListener("hashdesk:presence", (event) => this.onPresence([event.detail]));
    document.addEventListener("hashdesk:presence_state", (event) =>
      this.onPresence(event.detail.users ?? []),
    );
    document.addEventListener("hashdesk:connected", () => this.onConnected());
    // This module may run after the connection said hello (it loads after app.js): events
    // delivered before it listened went unseen, so it asks for the messages after the newest
    // one rendered. The room's stream was in the hello (data-live-streams), so whatever is
    // stored after this answer arrives as an event: nothing falls in between.
    if (this.connection?.greeted) {
      this.onConnected();
      if (this.isMember && !window.location.search) this.catchUp();
    }
    document.addEventListener("hashdesk:live-status", (event) =>
      this.onStatus(event.detail.status),
    );
    document.addEventListener("visibilitychange", () => this.onVisibility());
    this.section.querySelector("[data-chat-earlier]")?.addEventListener("click", (event) => {
      event.preventDefault();
      this.loadEarlier(event.currentTarget);
    });
    if (this.form && this.input && this.connection) {
      this.form.addEventListener("submit", (event) => {
        event.preventDefault();
        this.compose();
      });
      this.input.addEventListener("keydown", (event) => {
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
          event.preventDefault();
          this.compose();
        }
      });
      this.input.addEventListener("input", () => this.typed());
      const described = this.input.getAttribute("aria-describedby");
      this.input.setAttribute(
        "aria-describedby",
        described ? `${described} composer-help` : "composer-help",
      );
    }
    this.observeNewest();
    this.showReadMarker();
    this.resumeOutbox();
    // A conversation reads from its newest message, just above the composer (unless the
    // address names a message, or this is an earlier page).
    if (!window.location.hash && this.isMember && !window.location.search) this.scrollToNewest();
  }

  scrollToNewest() {
    (this.form ?? this.list.lastElementChild)?.scrollIntoView({ block: "end" });
  }

  /** Whether the reader is at the newest messages (then new ones keep them in view). */
  atNewest() {
    const last = this.list.lastElementChild;
    if (!last) return true;
    return last.getBoundingClientRect().top <= window.innerHeight;
  }

  // --- Placing messages ------------------------------------------------------------------------

  context() {
    return {
      userId: this.userId,
      csrf: this.csrf,
      here: window.location.pathname,
      mayModerate: this.section.dataset.moderator === "true",
      timeZone: this.section.dataset.timeZone || undefined,
    };
  }

  byId(id) {
    return this.list.querySelector(`[data-message-id="${CSS.escape(String(id))}"]`);
  }

  pendingNode(clientKey) {
    return this.list.querySelector(
      `[data-pending][data-client-key="${CSS.escape(String(clientKey))}"]`,
    );
  }

  /** Put ``node`` (with a message id) in id order: after every smaller id, before messages
   * still waiting for theirs (which will be newer). */
  place(node) {
    const id = messageId(node);
    let before = null;
    for (const child of this.list.children) {
      if (child === node) continue;
      const other = messageId(child);
      if (other === null || other > id) {
        before = child;
        break;
      }
    }
    this.list.insertBefore(node, before);
    this.section.querySelector("[data-chat-empty]")?.remove();
  }

  /** A stored message, from an event or a page of history: shown once, in its place. */
  upsert(message) {
    if (message.room_id !== this.roomId) return;
    const existing = this.byId(message.id);
    if (existing && !existing.hasAttribute("data-pending")) {
      updateBody(existing, message);
      return;
    }
    const following = this.atNewest();
    const fresh = renderMessage(message, this.context());
    const optimistic =
      existing ??
      (message.author?.id === this.userId && message.client_key
        ? this.pendingNode(message.client_key)
        : null);
    if (optimistic) optimistic.remove();
    this.place(fresh);
    if (following && fresh === this.list.lastElementChild) this.scrollToNewest();
    this.observeNewest();
    this.showReadMarker();
  }

  onEvent(event) {
    if (event.type === "chat_message" && event.message?.room_id === this.roomId) {
      this.upsert(event.message);
      if (event.op === "create") this.stopTyping(event.message.author?.id);
    } else if (event.type === "chat_read" && event.room_id === this.roomId) {
      if (event.user_id !== this.userId && event.last_read_message_id > this.othersRead) {
        this.othersRead = event.last_read_message_id;
        this.showReadMarker();
      }
    } else if (event.type === "chat_conversation" && event.conversation?.room_id === this.roomId) {
      this.refreshState();
    }
  }

  /** After a "reset" the server could not replay what we missed: ask for it. */
  async catchUp() {
    const ids = [...this.list.querySelectorAll("[data-message-id]")].map(messageId);
    let after = ids.length ? Math.max(...ids) : 0;
    for (let page = 0; page < 20; page += 1) {
      const url = new URL(this.api, window.location.href);
      // An empty room has no id to start after: its newest page is everything.
      if (after) url.searchParams.set("after", String(after));
      url.searchParams.set("limit", "100");
      const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
      if (!response.ok) return;
      const data = await response.json();
      for (const message of data.items ?? []) this.upsert(message);
      if (!data.next_cursor) return;
      after = data.next_cursor;
    }
  }

  async loadEarlier(link) {
    const first = messageId(this.list.querySelector("[data-message-id]"));
    if (first === null) return;
    const url = new URL(this.api, window.location.href);
    url.searchParams.set("before", String(first));
    link.setAttribute("aria-busy", "true");
    // A page of old messages is not news: the live region stays quiet while they go in.
    this.list.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
      if (!response.ok) {
        window.location.href = link.href;
        return;
      }
      const data = await response.json();
      let firstNew = null;
      for (const message of data.items ?? []) {
        if (this.byId(message.id)) continue;
        const node = renderMessage(message, this.context());
        this.place(node);
        firstNew ??= node;
      }
      if (data.prev_cursor) {
        link.href = `${window.location.pathname}?before=${data.prev_cursor}`;
      } else {
        link.closest(".chat-earlier")?.remove();
      }
      if (firstNew) {
        firstNew.tabIndex = -1;
        firstNew.focus();
      }
    } finally {
      link.removeAttribute("aria-busy");
      this.list.removeAttribute("aria-busy");
    }
  }

  // --- Sending ---------------------------------------------------------------------------------

  compose() {
    const body = this.input.value;
    if (!body.trim()) {
      this.input.focus();
      return;
    }
    const item = {
      client_key: crypto.randomUUID(),
      body,
      thread_root_id: null,
      queued_at: Date.now(),
      failed: null,
    };
    this.outbox.put(item);
    this.input.value = "";
    this.lastTypingSent = 0;
    this.showPending(item);
    this.dispatch(item);
    this.input.focus();
  }

  showPending(item) {
    let node = this.pendingNode(item.client_key);
    if (!node) {
      node = renderPending(item, this.userName);
      this.list.append(node);
      this.section.querySelector("[data-chat-empty]")?.remove();
      this.scrollToNewest();
    }
    this.markState(node, item.failed ? "failed" : "sending", item);
    return node;
  }

  markState(node, state, item) {
    node.dataset.state = state;
    const status = node.querySelector("[data-chat-status]");
    if (!status) return;
    status.replaceChildren();
    if (state === "sending") {
      status.textContent = this.isLive() ? "Sending…" : "Waiting for the connection…";
    } else if (state === "failed") {
      const reason = document.createElement("span");
      reason.textContent = `Not sent: ${item.failed}`;
      const retry = document.createElement("button");
      retry.type = "button";
      retry.className = "button button--small";
      retry.textContent = "Retry";
      retry.addEventListener("click", () => this.retry(item.client_key));
      const discard = document.createElement("button");
      discard.type = "button";
      discard.className = "link-button";
      discard.textContent = "Discard";
      discard.addEventListener("click", () => {
        this.outbox.remove(item.client_key);
        node.remove();
        this.input?.focus();
      });
      status.append(reason, " ", retry, " ", discard);
    }
  }

  isLive() {
    return this.downSince === null && Boolean(this.connection?.greeted);
  }

  dispatch(item) {
    this.connection
      .request({
        type: "send",
        room_id: this.roomId,
        body: item.body,
        client_key: item.client_key,
        ...(item.thread_root_id ? { thread_root_id: item.thread_root_id } : {}),
      })
      .then(
        (ack) => this.settle(item.client_key, ack.message_id),
        (error) => {
          if (error?.name === "RequestSuperseded") return;
          this.refuse(item.client_key, error?.detail || error?.message || "refused");
        },
      );
    this.scheduleFallback();
    this.showOutbox();
  }

  /** Stored: the optimistic message takes its id (the event brings the stored text). */
  settle(clientKey, id) {
    this.outbox.remove(clientKey);
    this.connection?.forget(clientKey);
    const node = this.pendingNode(clientKey);
    if (node) {
      if (this.byId(id) && this.byId(id) !== node) {
        node.remove();
      } else {
        node.dataset.messageId = String(id);
        node.id = `message-${id}`;
        node.dataset.state = "sent";
        node.querySelector("[data-chat-status]")?.replaceChildren();
        this.place(node);
      }
    }
    this.showOutbox();
    this.observeNewest();
  }

  refuse(clientKey, detail) {
    const item = this.outbox.get(clientKey);
    if (!item) return;
    item.failed = detail;
    this.outbox.put(item);
    this.connection?.forget(clientKey);
    this.showPending(item);
    // Said in the status line rather than by moving the focus away from the composer.
    this.showOutbox(`A message was not sent: ${detail}`);
  }

  retry(clientKey) {
    const item = this.outbox.get(clientKey);
    if (!item) return;
    item.failed = null;
    this.outbox.put(item);
    this.showPending(item);
    this.dispatch(item);
  }

  /** Messages left from before (a dropped connection, a closed tab) go out again, unless the
   * page already shows them stored. */
  resumeOutbox() {
    if (!this.form || !this.connection) return;
    for (const item of this.outbox.items()) {
      const stored = this.list.querySelector(
        `[data-message-id][data-client-key="${CSS.escape(item.client_key)}"]:not([data-pending])`,
      );
      if (stored) {
        this.outbox.remove(item.client_key);
        continue;
      }
      this.showPending(item);
      if (!item.failed) this.dispatch(item);
    }
  }

  onStatus(status) {
    if (status === "live") {
      this.downSince = null;
    } else if (this.downSince === null) {
      this.downSince = Date.now();
    }
    for (const item of this.outbox.waiting()) {
      const node = this.pendingNode(item.client_key);
      if (node) this.markState(node, "sending", item);
    }
    this.showOutbox();
    if (this.downSince !== null) this.scheduleFallback();
  }

  showOutbox(news = "") {
    if (!this.outboxLine) return;
    const count = this.outbox.waiting().length;
    if (news) {
      this.outboxLine.hidden = false;
      this.outboxLine.textContent = news;
      return;
    }
    if (!count || this.isLive()) {
      this.outboxLine.hidden = true;
      this.outboxLine.textContent = "";
      return;
    }
    this.outboxLine.hidden = false;
    const messages = count === 1 ? "message" : "messages";
    this.outboxLine.textContent = `Offline: ${count} ${messages} will be sent when the connection is back.`;
  }

  scheduleFallback() {
    if (this.fallbackTimer !== null) return;
    this.fallbackTimer = window.setTimeout(() => {
      this.fallbackTimer = null;
      this.fallback();
    }, FALLBACK_AFTER_MS);
  }

  /** The socket has been down for long, but HTTP may work (a proxy that drops WebSockets):
   * post the waiting messages over REST, with the same client_keys. */
  async fallback() {
    const waiting = this.outbox.waiting();
    if (!waiting.length || this.downSince === null) return;
    if (Date.now() - this.downSince < FALLBACK_AFTER_MS || navigator.onLine === false) {
      this.scheduleFallback();
      return;
    }
    for (const item of waiting) {
      let response;
      try {
        response = await fetch(this.api, {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRFToken": this.csrf },
          body: JSON.stringify({
            body: item.body,
            client_key: item.client_key,
            ...(item.thread_root_id ? { thread_root_id: item.thread_root_id } : {}),
          }),
        });
      } catch (error) {
        this.scheduleFallback();
        return;
      }
      if (response.ok) {
        const message = await response.json();
        this.settle(item.client_key, message.id);
        this.upsert(message);
      } else if (response.status >= 400 && response.status < 500 && response.status !== 429) {
        this.refuse(item.client_key, await problemDetail(response));
      } else {
        this.scheduleFallback();
        return;
      }
    }
  }

  // --- Typing, presence, read markers ---------------------------------------------------------

  typed() {
    if (!this.input.value.trim() || !this.connection?.greeted) return;
    const now = Date.now();
    if (now - this.lastTypingSent < TYPING_EVERY_MS) return;
    this.lastTypingSent = now;
    this.connection.send({ type: "typing", room_id: this.roomId });
  }

  onTyping(frame) {
    if (frame.room_id !== this.roomId || frame.user_id === this.userId) return;
    window.clearTimeout(this.typists.get(frame.user_id)?.timer);
    const timer = window.setTimeout(() => this.stopTyping(frame.user_id), TYPING_SHOWN_MS);
    this.typists.set(frame.user_id, { name: frame.name, timer });
    this.showTyping();
  }

  stopTyping(userId) {
    const typist = this.typists.get(userId);
    if (!typist) return;
    window.clearTimeout(typist.timer);
    this.typists.delete(userId);
    this.showTyping();
  }

  showTyping() {
    if (!this.typingLine) return;
    const names = [...this.typists.values()].map((typist) => typist.name);
    let text = "";
    if (names.length === 1) text = `${names[0]} is typing…`;
    else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
    else if (names.length > 2) text = "Several people are typing…";
    if (this.typingLine.textContent !== text) this.typingLine.textContent = text;
  }

  onConnected() {
    const ids = [...this.section.ownerDocument.querySelectorAll(".chat-member[data-user-id]")]
      .map((node) => Number.parseInt(node.dataset.userId, 10))
      .filter(Number.isSafeInteger);
    if (ids.length) this.connection.send({ type: "presence_query", user_ids: ids.slice(0, 200) });
    this.connection.send({
      type: "presence",
      status: document.visibilityState === "visible" ? "active" : "away",
    });
    this.markRead();
  }

  onPresence(users) {
    for (const { user_id: userId, status } of users) {
      const member = document.querySelector(
        `.chat-member[data-user-id="${CSS.escape(String(userId))}"]`,
      );
      if (!member) continue;
      member.querySelector("[data-presence]")?.setAttribute("data-presence", status);
      const text = member.querySelector("[data-presence-text]");
      if (text) text.textContent = status;
    }
  }

  onVisibility() {
    if (this.connection?.greeted) {
      this.connection.send({
        type: "presence",
        status: document.visibilityState === "visible" ? "active" : "away",
      });
    }
    this.markRead();
  }

  newestStored() {
    const ids = [...this.list.querySelectorAll("[data-message-id]")].map(messageId);
    return ids.length ? Math.max(...ids) : 0;
  }

  observeNewest() {
    if (!this.isMember || !("IntersectionObserver" in window)) return;
    this.observer ??= new IntersectionObserver((entries) => {
      if (entries.some((entry) => entry.isIntersecting)) this.markRead();
    });
    this.observer.disconnect();
    const newest = this.byId(this.newestStored());
    if (newest) this.observer.observe(newest);
  }

  /** The newest message is on screen in a visible tab: tell the server we read it. */
  markRead() {
    if (!this.isMember || document.visibilityState !== "visible") return;
    const newest = this.newestStored();
    const node = this.byId(newest);
    if (!newest || newest <= this.readSent || !node) return;
    const box = node.getBoundingClientRect();
    if (box.top > window.innerHeight || box.bottom < 0) return;
    this.readSent = newest;
    if (this.connection?.greeted) {
      this.connection.send({ type: "read", room_id: this.roomId, message_id: newest });
    } else {
      fetch(`/api/v1/chat/rooms/${this.roomId}/read`, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": this.csrf },
        body: JSON.stringify({ message_id: newest }),
      }).catch(() => {
        this.readSent = 0;
      });
    }
  }

  /** Live help: "Read" under my newest message the other side has read. */
  showReadMarker() {
    if (this.section.dataset.roomKind !== "help") return;
    for (const old of this.list.querySelectorAll("[data-chat-read]")) old.remove();
    if (!this.othersRead) return;
    const mine = [
      ...this.list.querySelectorAll(`[data-message-id][data-author-id="${this.userId}"]`),
    ]
      .filter((node) => messageId(node) <= this.othersRead)
      .pop();
    if (!mine) return;
    const marker = document.createElement("p");
    marker.className = "chat-message__read muted";
    marker.dataset.chatRead = "";
    marker.textContent = "Read";
    mine.append(marker);
  }

  /** A help conversation changed (picked up, transferred, closed): refresh its state line. */
  async refreshState() {
    const line = document.querySelector("[data-chat-state]");
    if (!line) return;
    const response = await fetch(window.location.pathname, {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "text/html" },
    });
    if (!response.ok) return;
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = page.querySelector("[data-chat-state]");
    if (fresh) line.replaceChildren(...fresh.childNodes);
  }
}
