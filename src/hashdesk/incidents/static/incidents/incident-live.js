// The incident page, live. The page subscribes its connection to incident:<id> (public changes
// of this incident, for whoever may see it; staff also receive work notes on their staff
// stream). When an event about this incident arrives, or the stream was reset, the page fetches
// its live parts again from the server (incidents:timeline, same visibility rules as the page)
// and swaps each region in: the timeline, the header, the details and the controls.
//
// Nothing the person is typing is ever wiped: a region holding a changed field or a form with
// errors is kept as it is, and says that the incident changed meanwhile. Forms that change the
// record carry the version they were rendered with, so saving a kept stale form is refused with
// the Conflict message rather than overwriting someone else's change.
//
// Also here: the transition form shows the hold reason and resolution fields only for the states
// that need them (without JavaScript they are always shown, each saying when it is needed).

// The same module URL as app.js's "./live.js", so this is the page's one connection. The page's
// template loads this module after app.js (module scripts run in document order): by then the
// connection exists, and a stream subscribed before it opens goes in its hello.
import { live } from "../web/live.js";

// Events often come in small bursts (a transition and its timeline entry): fetch once for
// them. The random part spreads the fetches of everyone watching a major incident.
const REFRESH_DELAY_MS = 150;
const REFRESH_JITTER_MS = 350;
// Which transition fields each target state needs (incidents/lifecycle.py).
const NEEDED_FOR = {
  hold_reason: ["on_hold"],
  resolution_code: ["resolved"],
  resolution_notes: ["resolved", "cancelled"],
};

function selectChanged(select) {
  if (select.multiple) {
    return [...select.options].some((option) => option.selected !== option.defaultSelected);
  }
  // Without a `selected` attribute the browser shows the first option: that is the default.
  const defaultIndex = [...select.options].findIndex((option) => option.defaultSelected);
  return select.selectedIndex !== Math.max(defaultIndex, 0);
}

function fieldChanged(field) {
  switch (field.type) {
    case "hidden":
    case "submit":
    case "button":
    case "reset":
      return false;
    case "checkbox":
    case "radio":
      return field.checked !== field.defaultChecked;
    case "file":
      return Boolean(field.files && field.files.length);
    default:
      if (field.tagName === "SELECT") return selectChanged(field);
      return field.value !== field.defaultValue;
  }
}

/** Whether swapping this region would lose something of the person's: input or errors. */
export function hasUnsavedWork(region) {
  if (region.querySelector("[data-error-summary], [aria-invalid='true']")) return true;
  return [...region.querySelectorAll("input, textarea, select")].some(fieldChanged);
}

export function showNeededFields(form) {
  const target = form.querySelector("[name$='to_state']");
  if (!target || target.type === "hidden") return;
  for (const [name, states] of Object.entries(NEEDED_FOR)) {
    const field = form.querySelector(`[name$='-${name}']`)?.closest(".field");
    if (field) field.hidden = !states.includes(target.value);
  }
}

function initTransitionForms(root) {
  for (const form of root.querySelectorAll("[data-transition-form]")) showNeededFields(form);
}

/** Put the fresh regions in place of the page's; returns the timeline entries that are new. */
function swapRegions(page, fresh) {
  const seen = new Set([...page.querySelectorAll("[data-entry-id]")].map((e) => e.dataset.entryId));
  const focused = document.activeElement;
  const focusId = focused && page.contains(focused) ? focused.id : "";
  for (const next of fresh.querySelectorAll("[data-live-region]")) {
    const name = next.dataset.liveRegion;
    const current = page.querySelector(`[data-live-region="${CSS.escape(name)}"]`);
    if (!current) continue;
    if (hasUnsavedWork(current)) {
      for (const note of current.querySelectorAll("[data-live-stale-note]")) note.hidden = false;
      continue;
    }
    // An opened disclosure (the edit form) stays open.
    for (const details of current.querySelectorAll("details[id][open]")) {
      next.querySelector(`#${CSS.escape(details.id)}`)?.setAttribute("open", "");
    }
    current.replaceWith(next);
  }
  initTransitionForms(page);
  if (focusId && document.activeElement !== document.getElementById(focusId)) {
    document.getElementById(focusId)?.focus({ preventScroll: true });
  }
  const added = [...page.querySelectorAll("[data-entry-id]")].filter(
    (entry) => !seen.has(entry.dataset.entryId),
  );
  for (const entry of added) entry.classList.add("timeline__entry--new");
  return added;
}

class IncidentPage {
  constructor(page) {
    this.page = page;
    this.id = Number.parseInt(page.dataset.incidentId, 10);
    this.url = page.dataset.timelineUrl;
    this.announcer = page.querySelector("[data-live-announcer]");
    this.notice = page.querySelector("[data-live-notice]");
    this.timer = null;
    this.loading = false;
    this.again = false;
  }

  concerns(event) {
    // Incident events and any other event about this incident (its id in the payload).
    return event?.incident?.id === this.id;
  }

  schedule() {
    if (this.timer !== null) return;
    this.timer = window.setTimeout(() => {
      this.timer = null;
      this.refresh();
    }, REFRESH_DELAY_MS + Math.random() * REFRESH_JITTER_MS);
  }

  announce(message) {
    if (!this.announcer) return;
    // Cleared first, so the same words twice in a row are announced twice.
    this.announcer.textContent = "";
    window.setTimeout(() => {
      this.announcer.textContent = message;
    }, 50);
  }

  showNotice(message) {
    if (!this.notice) return;
    const text = this.notice.querySelector("[data-live-notice-text]");
    if (text) text.textContent = message;
    this.notice.hidden = false;
  }

  async refresh() {
    if (this.loading) {
      this.again = true;
      return;
    }
    this.loading = true;
    try {
      const response = await fetch(this.url, {
        credentials: "same-origin",
        cache: "no-store",
        headers: { Accept: "text/html" },
      });
      if (response.status === 404) {
        this.showNotice("You can no longer see this incident.");
        return;
      }
      // A redirect means the session ended (sign-in page): leave the page as it is.
      if (!response.ok || response.redirected) return;
      const template = document.createElement("template");
      template.innerHTML = await response.text();
      const fresh = template.content.querySelector("[data-live-fragment]");
      if (!fresh || Number.parseInt(fresh.dataset.incidentId, 10) !== this.id) return;
      const added = swapRegions(this.page, fresh);
      this.page.dataset.incidentVersion = fresh.dataset.incidentVersion ?? "";
      if (added.length) this.announce(added.length === 1 ? "New update" : `${added.length} new updates`);
    } catch (error) {
      // Offline or the server restarted: the next event, or the reset after reconnecting,
      // fetches again.
    } finally {
      this.loading = false;
      if (this.again) {
        this.again = false;
        this.schedule();
      }
    }
  }

  start(connection) {
    connection.subscribe([`incident:${this.id}`]);
    document.addEventListener("hashdesk:event", (event) => {
      if (this.concerns(event.detail)) this.schedule();
    });
    document.addEventListener("hashdesk:reset", () => this.schedule());
  }
}

export function initIncidentPage(root = document) {
  const page = root.querySelector("[data-incident-page]");
  if (!page) return null;
  initTransitionForms(page);
  page.addEventListener("change", (event) => {
    if (event.target.matches("[data-transition-form] [name$='to_state']")) {
      showNeededFields(event.target.form);
    }
  });
  const connection = live();
  const id = Number.parseInt(page.dataset.incidentId, 10);
  if (!connection || !Number.isSafeInteger(id) || !page.dataset.timelineUrl) return null;
  const incidentPage = new IncidentPage(page);
  incidentPage.start(connection);
  return incidentPage;
}

initIncidentPage();
