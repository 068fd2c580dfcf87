// The wall's composer: a character counter, and "Is it just me?" while the person types.
//
// 300 ms after the last keystroke the draft goes to wall:suggestions (wall.similar), and the
// panel below the composer shows the service the draft is about, its open incidents (each with
// the incident's own "Me too", a plain form posting to incidents:me-too), similar recent posts
// and how many reports the service had in the last hour against its usual rate. Without
// JavaScript none of this appears and the composer works the same.

const DEBOUNCE_MS = 300;
const MIN_LENGTH = 3;

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  // Text only: what comes back are people's words and must never become markup.
  for (const child of children) node.append(child);
  return node;
}

function meTooForm(incident, csrfToken) {
  const form = element("form", { method: "post", action: incident.me_too_url });
  form.append(
    element("input", { type: "hidden", name: "csrfmiddlewaretoken", value: csrfToken }),
    element("input", { type: "hidden", name: "affected", value: "yes" }),
    element(
      "button",
      { type: "submit", class: "button button--small", "aria-label": `Me too on ${incident.number}` },
      "Me too",
    ),
  );
  return form;
}

/** The panel's content for one answer of wall:suggestions; empty when there is nothing to say. */
export function renderSuggestions(data, csrfToken) {
  const parts = [];
  if (data.service) {
    const heading = element("p", { class: "wall-suggestions__service" }, "About ");
    heading.append(element("a", { href: data.service.url }, data.service.name));
    if (data.rate) heading.append(` · ${data.rate}`);
    parts.push(heading);
  }
  if (data.incidents?.length) {
    parts.push(element("h3", {}, "Is it just you? Open incidents"));
    const list = element("ul", { class: "plain-list wall-suggestions__list" });
    for (const incident of data.incidents) {
      const item = element("li", {});
      item.append(
        element("a", { href: incident.url }, incident.number),
        ` ${incident.title} (${incident.state}) `,
        meTooForm(incident, csrfToken),
      );
      list.append(item);
    }
    parts.push(list);
  }
  if (data.similar?.length) {
    parts.push(element("h3", {}, "Similar posts"));
    const list = element("ul", { class: "plain-list wall-suggestions__list" });
    for (const post of data.similar) {
      const item = element("li", {});
      item.append(element("a", { href: post.url }, post.author), `: ${post.text}`);
      list.append(item);
    }
    parts.push(list);
  }
  return parts;
}

function counterText(length, max) {
  const left = max - length;
  return left >= 0 ? `${left} characters left` : `${-left} characters too many`;
}

export function initComposer(root = document) {
  const composer = root.querySelector("[data-wall-composer]");
  const body = composer?.querySelector("[data-post-body]");
  if (!composer || !body) return;
  const counter = composer.querySelector("[data-counter]");
  const panel = composer.querySelector("[data-suggestions]");
  const csrfToken = composer.querySelector("[name='csrfmiddlewaretoken']")?.value ?? "";
  const max = Number.parseInt(body.dataset.max, 10) || 2000;
  let timer = null;
  let pending = null;
  let lastAsked = "";

  const updateCounter = () => {
    if (!counter) return;
    counter.hidden = false;
    counter.textContent = counterText(body.value.length, max);
  };

  const ask = async () => {
    const text = body.value.trim();
    if (text === lastAsked) return;
    lastAsked = text;
    pending?.abort();
    if (text.length < MIN_LENGTH) {
      panel.replaceChildren();
      panel.hidden = true;
      return;
    }
    pending = new AbortController();
    const url = new URL(composer.dataset.suggestionsUrl, window.location.href);
    url.searchParams.set("text", text);
    try {
      const response = await fetch(url, {
        credentials: "same-origin",
        signal: pending.signal,
        headers: { Accept: "application/json" },
      });
      if (!response.ok || response.redirected) return;
      const parts = renderSuggestions(await response.json(), csrfToken);
      panel.replaceChildren(...parts);
      panel.hidden = parts.length === 0;
    } catch (error) {
      // Aborted by newer typing, or offline: the panel stays as it was.
    }
  };

  body.addEventListener("input", () => {
    updateCounter();
    if (!panel) return;
    window.clearTimeout(timer);
    timer = window.setTimeout(ask, DEBOUNCE_MS);
  });
  updateCounter();
}

initComposer();
