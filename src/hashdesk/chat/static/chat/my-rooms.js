// "My rooms" (/chat/), live: each room's unread badge rises with messages of others (its
// `chat_message` events) and clears when I read the room elsewhere (`chat_read` on my stream).

import { live } from "../web/live.js";

export function initMyRooms(root) {
  const userId = Number.parseInt(root.dataset.userId, 10);
  const connection = live();
  if (connection && root.dataset.liveStreams) {
    connection.subscribe(root.dataset.liveStreams.split(" ").filter(Boolean));
  }
  const item = (roomId) =>
    root.querySelector(`.chat-room-item[data-room-id="${CSS.escape(String(roomId))}"]`);
  document.addEventListener("hashdesk:event", (event) => {
    const detail = event.detail;
    if (detail.type === "chat_message" && detail.op === "create") {
      const row = item(detail.message.room_id);
      if (!row) return;
      row.dataset.lastMessageId = String(detail.message.id);
      const activity = row.querySelector("[data-chat-activity]");
      if (activity) activity.textContent = "Just now";
      if (detail.message.author?.id === userId) return;
      const badge = row.querySelector("[data-chat-unread]");
      const count = (Number.parseInt(badge.firstChild?.textContent ?? "0", 10) || 0) + 1;
      badge.firstChild.textContent = String(count);
      badge.hidden = false;
    } else if (detail.type === "chat_read" && detail.user_id === userId) {
      const row = item(detail.room_id);
      const last = Number.parseInt(row?.dataset.lastMessageId ?? "0", 10);
      if (row && detail.last_read_message_id >= last) {
        const badge = row.querySelector("[data-chat-unread]");
        badge.firstChild.textContent = "0";
        badge.hidden = true;
      }
    }
  });
}
