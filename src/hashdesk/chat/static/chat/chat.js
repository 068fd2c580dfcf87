// Chat's pages (docs/chat.md, "The live client"). Each part finds its own element and does
// nothing without it:
// - a room ([data-chat-room]): room.js;
// - my rooms ([data-chat-index]): unread badges, my-rooms.js;
// - the desk's queue ([data-chat-queue]): queue.js.

import { initMyRooms } from "./my-rooms.js";
import { initQueue } from "./queue.js";
import { ChatRoom } from "./room.js";

const room = document.querySelector("[data-chat-room]");
if (room) new ChatRoom(room).start();
const index = document.querySelector("[data-chat-index]");
if (index) initMyRooms(index);
const queue = document.querySelector("[data-chat-queue]");
if (queue) initQueue(queue);
