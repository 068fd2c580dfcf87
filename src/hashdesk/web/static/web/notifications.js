// The bell: keeps the unread count and the menu's list current from "notification" events
// (payload: notification, unread_count — see hashdesk/notify/events.py), marks one or everything
// read without leaving the page, and reloads the menu from the server after a stream reset.
// On the notifications page it also says, in a polite live region, that new ones arrived.

const MENU_SIZE = 8;

let unreadNow = 0;
let arrived = 0;

function setUnread(count) {
  unreadNow = count;
  const summary = document.querySelector("[data-unread-summary]");
  if (summary) summary.textContent = count > 0 ? `${count} unread.` : "Nothing unread.";
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

function csrfToken() {
  return document.querySelector("[data-notifications-menu] input[name=csrfmiddlewaretoken]")?.value ?? "";
}

function markReadForm(notification) {
  const form = document.createElement("form");
  form.method = "post";
  form.action = document.querySelector("[data-mark-all-read]")?.getAttribute("action") ?? "";
  form.className = "notification__read";
  form.dataset.markRead = "";
  for (const [name, value] of [["csrfmiddlewaretoken", csrfToken()], ["notification", String(notification.id)]]) {
    const input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = value;
    form.append(input);
  }
  const button = document.createElement("button");
  button.type = "submit";
  button.className = "link-button";
  button.textContent = "Mark read";
  const hidden = document.createElement("span");
  hidden.className = "visually-hidden";
  hidden.textContent = `: ${notification.title}`;
  button.append(hidden);
  form.append(button);
  return form;
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
  if (!notification.read) {
    const label = document.createElement("span");
    label.className = "visually-hidden";
    label.dataset.unreadLabel = "";
    label.textContent = "(unread)";
    item.append(label, markReadForm(notification));
  }
  return item;
}

function markItemsRead(ids) {
  const items = document.querySelectorAll("[data-notification-list] .notification--unread");
  for (const item of items) {
    if (ids === "all" || ids.includes(Number(item.dataset.notificationId))) {
      item.classList.remove("notification--unread");
      item.querySelector("[data-unread-label]")?.remove();
      item.querySelector("[data-mark-read]")?.remove();
    }
  }
}

function onNotification(event) {
  const list = document.querySelector("[data-notification-list]");
  if (event.op === "create" && list && event.notification) {
    list.querySelector("[data-notifications-empty]")?.remove();
    list.prepend(itemFor(event.notification));
    while (list.children.length > MENU_SIZE) list.lastElementChild.remove();
  }
  if (event.op === "create" && event.notification) {
    announceOnPage();
  } else if (event.op === "read" && event.notification) {
    markItemsRead(event.notification.ids);
  }
  if (Number.isInteger(event.unread_count)) setUnread(event.unread_count);
}

function announceOnPage() {
  // The notifications page itself is not rewritten under the reader: it offers to show them.
  const region = document.querySelector("[data-notifications-page]");
  if (!region) return;
  arrived += 1;
  const link = document.createElement("a");
  link.href = region.dataset.reloadUrl || window.location.pathname;
  link.textContent = arrived === 1 ? "1 new notification: show it" : `${arrived} new notifications: show them`;
  region.replaceChildren(link);
}

async function postForm(form) {
  // The redirect after the POST is not followed: the outcome is all we need.
  const response = await fetch(form.action, {
    method: "POST",
    body: new FormData(form),
    credentials: "same-origin",
    redirect: "manual",
  });
  return response.type === "opaqueredirect" || response.ok;
}

function bindMarkOneRead(root) {
  root.addEventListener("submit", async (event) => {
    const form = event.target.closest?.("[data-mark-read]");
    if (!form || !root.contains(form)) return;
    event.preventDefault();
    const id = Number(new FormData(form).get("notification"));
    if (await postForm(form)) {
      // Focus would be lost with the form; keep it in the menu, on the item's title.
      const item = form.closest("[data-notification-id]");
      markItemsRead([id]);
      item?.querySelector(".notification__title")?.focus?.();
      setUnread(Math.max(0, unreadNow - 1));
    }
  });
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
  bindMarkOneRead(fresh);
  setUnread(Number.parseInt(fresh.dataset.unreadCount ?? "0", 10) || 0);
}

function bindMarkAllRead(root) {
  const form = root.querySelector("[data-mark-all-read]");
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (await postForm(form)) {
      markItemsRead("all");
      setUnread(0);
    }
  });
}

export function initNotifications(root = document) {
  const menu = root.querySelector("[data-notifications-menu]");
  if (!menu) return;
  const fragmentUrl = menu.dataset.fragmentUrl;
  unreadNow = Number.parseInt(menu.dataset.unreadCount ?? "0", 10) || 0;
  bindMarkAllRead(menu);
  bindMarkOneRead(menu);
  document.addEventListener("hashdesk:event", (event) => {
    if (event.detail.type === "notification") onNotification(event.detail);
  });
  document.addEventListener("hashdesk:reset", () => {
    reloadMenu(fragmentUrl).catch(() => {});
  });
}
