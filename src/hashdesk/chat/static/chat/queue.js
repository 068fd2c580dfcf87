// The desk's live-help queue (/chat/queue/), live: it reloads itself (the server decides what
// is waiting and for whom) on `chat_conversation` events, and keeps the waiting times current.

const WAITING_TICK_MS = 15000;
const QUEUE_RELOAD_DELAY_MS = 150;

function waitingText(since) {
  const minutes = Math.max(0, Math.floor((Date.now() - since.getTime()) / 60000));
  if (minutes < 1) return "less than a minute";
  if (minutes < 60) return `${minutes} ${minutes === 1 ? "minute" : "minutes"}`;
  const hours = Math.floor(minutes / 60);
  return `${hours} h ${minutes % 60} min`;
}

function tickWaiting(root) {
  for (const node of root.querySelectorAll("[data-chat-waiting]")) {
    const since = new Date(node.getAttribute("datetime"));
    if (!Number.isNaN(since.getTime())) node.textContent = waitingText(since);
  }
}

export function initQueue(root) {
  let timer = null;
  const reload = async () => {
    timer = null;
    const response = await fetch(window.location.pathname, {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "text/html" },
    });
    if (!response.ok || response.redirected) return;
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = page.querySelector("[data-chat-queue]");
    if (!fresh) return;
    // Keep the focus where it was when the row survives the reload.
    const focused =
      document.activeElement?.closest("[data-conversation-id]")?.dataset.conversationId;
    const before = root.querySelectorAll("tr[data-conversation-id]").length;
    root.replaceChildren(...fresh.childNodes);
    tickWaiting(root);
    const after = root.querySelectorAll("tr[data-conversation-id]").length;
    const news = root.querySelector("[data-chat-queue-news]");
    if (news && after !== before) news.textContent = `${after} waiting`;
    if (focused) {
      root.querySelector(`[data-conversation-id="${CSS.escape(focused)}"] button`)?.focus();
    }
  };
  document.addEventListener("hashdesk:event", (event) => {
    if (event.detail.type !== "chat_conversation" || timer !== null) return;
    timer = window.setTimeout(reload, QUEUE_RELOAD_DELAY_MS);
  });
  document.addEventListener("hashdesk:reset", () => reload());
  tickWaiting(root);
  window.setInterval(() => tickWaiting(root), WAITING_TICK_MS);
}
