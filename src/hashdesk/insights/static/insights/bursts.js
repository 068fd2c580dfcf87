// The probable incidents page (insights/bursts.html), live: on each "probable_incident" event
// (staff receive them on the staff stream; docs/realtime.md) it reloads its list from the
// server, which decides what is open and which reports this agent may see, and announces a new
// one to screen readers. Without JavaScript the page still works: reload it.

const RELOAD_DELAY_MS = 150;

function initBursts(root) {
  const news = root.querySelector("[data-bursts-news]");
  let timer = null;
  let announce = [];

  const reload = async () => {
    timer = null;
    const response = await fetch(window.location.pathname, {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "text/html" },
    });
    if (!response.ok || response.redirected) return;
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = page.querySelector("[data-bursts-list]");
    const list = root.querySelector("[data-bursts-list]");
    if (!fresh || !list) return;
    const focused = document.activeElement?.closest("[data-probable-id]")?.dataset.probableId;
    list.replaceWith(fresh);
    if (news && announce.length) news.textContent = announce.join(" ");
    announce = [];
    if (focused) {
      root.querySelector(`[data-probable-id="${CSS.escape(focused)}"] button`)?.focus();
    }
  };

  document.addEventListener("hashdesk:event", (event) => {
    const detail = event.detail;
    if (detail?.type !== "probable_incident") return;
    if (detail.op === "create" && detail.probable?.title) {
      announce.push(`New probable incident: ${detail.probable.title}.`);
    }
    if (timer === null) timer = window.setTimeout(reload, RELOAD_DELAY_MS);
  });
  document.addEventListener("hashdesk:reset", () => reload());
}

const root = document.querySelector("[data-bursts]");
if (root) initBursts(root);
