// Messages typed but not yet acknowledged, kept in localStorage per person and room, so that
// neither a dropped connection nor a closed tab loses them: they are sent again on the next
// "welcome" (or the next visit), with the same client_key, which the server recognises —
// a message whose first try was stored but whose acknowledgement was lost is not stored twice.
//
// Each item: { client_key, body, thread_root_id, queued_at, failed } where ``failed`` is the
// server's refusal (the item then waits for the person's Retry instead of being resent).

const PREFIX = "hashdesk:chat-outbox";

export class Outbox {
  constructor(userId, roomId) {
    this.key = `${PREFIX}:${userId}:${roomId}`;
    // Without storage (private mode, quota) the queue still holds for this page's lifetime.
    this.memory = null;
  }

  items() {
    if (this.memory !== null) return this.memory;
    try {
      const parsed = JSON.parse(window.localStorage.getItem(this.key) ?? "[]");
      return Array.isArray(parsed) ? parsed.filter((item) => item && item.client_key) : [];
    } catch (error) {
      return [];
    }
  }

  save(items) {
    try {
      if (items.length) window.localStorage.setItem(this.key, JSON.stringify(items));
      else window.localStorage.removeItem(this.key);
      this.memory = null;
    } catch (error) {
      this.memory = items;
    }
  }

  put(item) {
    const items = this.items().filter((other) => other.client_key !== item.client_key);
    items.push(item);
    this.save(items);
  }

  remove(clientKey) {
    this.save(this.items().filter((item) => item.client_key !== clientKey));
  }

  get(clientKey) {
    return this.items().find((item) => item.client_key === clientKey) ?? null;
  }

  waiting() {
    return this.items().filter((item) => !item.failed);
  }
}
