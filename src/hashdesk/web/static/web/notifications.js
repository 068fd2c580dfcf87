// The bell: keeps the unread count and the menu's list current from "notification" events
// (payload: notification, unread_count — see hashdesk/notify/events.py), marks everything read
// without leaving the page, and reloads the menu from the server after a stream reset.

const MENU_SIZE = 8;

function setUnread(count) {
  const badge = document.querySelector("[data-unread-badge]");
  if (badge) {
    badge.hidden = count <= 0;
    badge.firstChild.textContent = String(count);
  }
  const markAll = document.querySelector("[data-mark-all-read]");
  if (markAll) markAll.hidden = count <= 0;
}

function isInternal(url) {
  return typeof url === "string" && url.startsWith("/") && !url.startsWith("//") && !url.includes("\\");
}

function itemFor(notification) {
  // Built with textContent only: notification text is never parsed as HTML.
  const item = document.createElement("li");
  item.className = "notification";
  item.dataset.notificationId = String(notification.id);
  if (!notification.read) item.classList.add("notification--unread");
  const title = document.createElement(isInternal(notification.url) ? "a" : "span");
  title.className = "notification__title";
  title.textContent = notification.title;
  if (title.tagName === "A") title.href = notification.url;
  item.append(title);
  if (notification.body) {
    const body = document.createElement("span");
    body.className = "notification__body";
    body.textContent = notification.body;
    item.append(body);
  }
  const time = document.createElement("time");
  time.className = "notification__time";
  time.dateTime = notification.created_at;
  time.textContent = "just now";
  item.append(time);
  return item;
}

function markItemsRead(ids) {
  const items = document.querySelectorAll("[data-notification-list] .notification--unread");
  for (const item of items) {
    if (ids === "all" || ids.includes(Number(item.dataset.notificationId))) {
      item.classList.remove("notification--unread");
      item.querySelector(".visually-hidden")?.remove();
    }
  }
}

function onNotification(event) {
  const list = document.querySelector("[data-notification-list]");
  if (event.op === "create" && list && event.notification) {
    list.querySelector("[data-notifications-empty]")?.remove();
    list.prepend(itemFor(event.notification));
    while (list.children.length > MENU_SIZE) list.lastElementChild.remove();
  } else if (event.op === "read" && event.notification) {
    markItemsRead(event.notification.ids);
  }
  if (Number.isInteger(event.unread_count)) setUnread(event.unread_count);
}

async function reloadMenu(url) {
  const menu = document.querySelector("[data-notifications-menu]");
  if (!menu) return;
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
  if (!response.ok) return;
  const template = document.createElement("template");
  template.innerHTML = await response.text();
  const fresh = template.content.querySelector("[data-notifications-menu]");
  if (!fresh) return;
  menu.replaceWith(fresh);
  bindMarkAllRead(fresh);
  setUnread(Number.parseInt(fresh.dataset.unreadCount ?? "0", 10) || 0);
}

function bindMarkAllRead(root) {
  const form = root.querySelector("[data-mark-all-read]");
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    // The redirect after the POST is not followed: the outcome is all we need.
    const response = await fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      redirect: "manual",
    });
    if (response.type === "opaqueredirect" || response.ok) {
      markItemsRead("all");
      setUnread(0);
    }
  });
}

export function initNotifications(root = document) {
  const menu = root.querySelector("[data-notifications-menu]");
  if (!menu) return;
  const fragmentUrl = menu.dataset.fragmentUrl;
  bindMarkAllRead(menu);
  document.addEventListener("hashdesk:event", (event) => {
    if (event.detail.type === "notification") onNotification(event.detail);
  });
  document.addEventListener("hashdesk:reset", () => {
    reloadMenu(fragmentUrl).catch(() => {});
  });
}
