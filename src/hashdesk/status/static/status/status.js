// The status page, live (docs/status.md, "Live updates").
//
// The server sends one "status" event per audience (tier) whose page changed, on the stream
// every connection of that tier has (public, members, staff). On one for this page's tier the
// page asks the server for its live part again (?fragment=services, the same cached rendering
// the page was made of) and swaps it in, then says what changed in a polite live region. A
// signed-out visitor has no connection from the shell, so this module opens one itself: the
// event server lets anonymous connections listen to the public stream. When the connection
// opens (or resumes after a reset) the part is fetched once, in case something changed in
// between; a fetch that finds the same digest changes nothing.

import { LiveConnection, live } from "../web/live.js";

const FETCH_DELAY_MS = 150;

class StatusPage {
  constructor(region) {
    this.region = region;
    this.url = region.dataset.fragmentUrl;
    this.tier = region.dataset.statusTier;
    this.announcer = document.querySelector("[data-status-announcer]");
    this.timer = null;
    this.loading = false;
    this.again = false;
  }

  digest() {
    return this.region.querySelector("[data-status-digest]")?.dataset.statusDigest ?? "";
  }

  schedule() {
    if (this.timer !== null) return;
    this.timer = window.setTimeout(() => {
      this.timer = null;
      this.refresh();
    }, FETCH_DELAY_MS);
  }

  async refresh() {
    if (this.loading) {
      this.again = true;
      return;
    }
    this.loading = true;
    try {
      // no-cache: the browser may keep the public page for a few seconds; ask the server
      // (a 304 when nothing changed).
      const response = await fetch(this.url, {
        cache: "no-cache",
        credentials: "same-origin",
        headers: { Accept: "text/html" },
      });
      if (!response.ok) return;
      const html = await response.text();
      const template = document.createElement("template");
      template.innerHTML = html;
      const fresh = template.content.querySelector("[data-status-digest]");
      if (!fresh || fresh.dataset.statusDigest === this.digest()) return;
      this.region.replaceChildren(template.content);
      this.announce(fresh.dataset.statusHeadline ?? "");
    } catch (error) {
      // Offline for a moment: the next event or reconnection fetches again.
    } finally {
      this.loading = false;
      if (this.again) {
        this.again = false;
        this.schedule();
      }
    }
  }

  announce(headline) {
    if (!this.announcer) return;
    this.announcer.textContent = `Status updated: ${headline}.`;
  }

  listen() {
    document.addEventListener("hashdesk:event", (event) => {
      const detail = event.detail;
      if (detail.type !== "status" || detail.tier !== this.tier) return;
      if (detail.digest === this.digest()) return;
      this.schedule();
    });
    document.addEventListener("hashdesk:reset", () => this.schedule());
    document.addEventListener("hashdesk:connected", () => {
      this.region.dataset.statusConnected = "true";
      this.schedule();
    });
  }
}

export function initStatusPage(root = document) {
  const region = root.querySelector("[data-status-live]");
  if (!region) return;
  const page = new StatusPage(region);
  page.listen();
  if (live()) return;
  const url = region.dataset.statusEventsUrl;
  if (!url) return;
  // Signed out: listen on the public stream (a default stream of every connection).
  region.dataset.statusConnection = "anonymous";
  new LiveConnection(url, { lastEventId: null }).start();
}

initStatusPage();
