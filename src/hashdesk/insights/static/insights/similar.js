// The similar-items panel (insights.similar_views): shown while someone types, wherever a page
// includes insights/similar_slot.html (the wall's composer, the incident form, live help, the
// triage panel).
//
// 300 ms after the last keystroke in the watched fields, their text (and the chosen service)
// goes to insights:similar, and the server-rendered fragment replaces the slot's content (an
// aria-live="polite" region, so screen readers hear that suggestions arrived without losing
// their place). "This solved it for me" records a deflection (no ticket is filed), clears the
// draft and thanks the person.

const DEBOUNCE_MS = 300;
const MIN_LENGTH = 3;

function fields(selector) {
  if (!selector) return [];
  try {
    return [...document.querySelectorAll(selector)];
  } catch (error) {
    return []; // not a selector: nothing to watch
  }
}

export function initSimilar(slot) {
  if (slot.dataset.similarReady) return;
  slot.dataset.similarReady = "1";
  const sources = fields(slot.dataset.similarSource);
  const [service = null] = fields(slot.dataset.similarService);
  let timer = null;
  let pending = null;
  let lastAsked = "";

  const currentText = () =>
    [slot.dataset.similarText ?? "", ...sources.map((field) => field.value)].join("\n").trim();

  const ask = async () => {
    const text = currentText();
    const key = `${text}\u0000${service?.value ?? ""}`;
    if (key === lastAsked) return;
    lastAsked = key;
    pending?.abort();
    if (text.length < MIN_LENGTH) {
      slot.replaceChildren();
      slot.hidden = true;
      return;
    }
    pending = new AbortController();
    const url = new URL(slot.dataset.similarUrl, window.location.href);
    url.searchParams.set("text", text.slice(0, 5000));
    url.searchParams.set("context", slot.dataset.similarContext || "incident");
    if (service?.value) url.searchParams.set("service", service.value);
    if (slot.dataset.similarExclude) url.searchParams.set("exclude", slot.dataset.similarExclude);
    try {
      const response = await fetch(url, {
        credentials: "same-origin",
        signal: pending.signal,
        headers: { Accept: "text/html" },
      });
      if (!response.ok || response.redirected) return;
      // The fragment is rendered by Django templates: people's words arrive escaped.
      const html = (await response.text()).trim();
      slot.innerHTML = html;
      slot.hidden = html === "";
    } catch (error) {
      // Aborted by newer typing, or offline: the panel stays as it was.
    }
  };

  const schedule = () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(ask, DEBOUNCE_MS);
  };
  for (const field of sources) field.addEventListener("input", schedule);
  service?.addEventListener("change", schedule);
  const say = (message, className = "similar-panel__thanks") => {
    const note = document.createElement("p");
    note.className = className;
    note.textContent = message;
    slot.replaceChildren(note);
    slot.hidden = false;
  };

  // "This solved it for me": a deflection is recorded (insights.deflection_views.solved), no
  // ticket is filed, and the person's draft is cleared with a friendly confirmation.
  slot.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-similar-solved]");
    if (!button) return;
    const panel = button.closest("[data-similar-panel]");
    const text = currentText();
    if (!panel?.dataset.solvedUrl) {
      say("Glad that helped. Nothing was filed; you can leave this page.");
      return;
    }
    button.disabled = true;
    const body = new FormData();
    body.set("context", slot.dataset.similarContext || "incident");
    body.set("kind", button.dataset.kind || "");
    body.set("id", button.dataset.id || "");
    const serviceId = service?.value || button.dataset.service || "";
    if (serviceId) body.set("service", serviceId);
    body.set("text", text.slice(0, 5000));
    try {
      const response = await fetch(panel.dataset.solvedUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": panel.dataset.csrf || "" },
        body,
      });
      const answer = await response.json().catch(() => ({}));
      if (!response.ok) {
        button.disabled = false;
        say(answer.detail || "That could not be recorded. Please try again.", "similar-panel__error");
        return;
      }
      window.clearTimeout(timer);
      pending?.abort();
      for (const field of sources) field.value = "";
      delete slot.dataset.similarText;
      lastAsked = `\u0000${service?.value ?? ""}`;
      say(answer.message || "Glad that helped. Nothing was filed.");
    } catch (error) {
      button.disabled = false;
      say("That could not be recorded (offline?). Please try again.", "similar-panel__error");
    }
  });
  if (currentText().length >= MIN_LENGTH) ask();
}

for (const slot of document.querySelectorAll("[data-similar]")) initSimilar(slot);
