// A chat message as the page shows it, built from its snapshot (chat.actions.message_snapshot)
// with the same markup as templates/chat/includes/message.html, for messages that arrive live
// or with "Earlier messages". body_html is the server's sanitised rendering of the redacted
// text (core.markup), the same HTML the template prints.

const EMOJI = [
  ["+1", "👍", "Thumbs up"],
  ["thanks", "🙏", "Thanks"],
  ["eyes", "👀", "Looking"],
  ["done", "✅", "Done"],
  ["sad", "😢", "Sad"],
];

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child);
  }
  return node;
}

function hidden(text) {
  return element("span", { class: "visually-hidden" }, text);
}

function postForm(action, csrf, fields, button) {
  const form = element("form", { method: "post", action });
  form.append(element("input", { type: "hidden", name: "csrfmiddlewaretoken", value: csrf }));
  for (const [name, value] of Object.entries(fields)) {
    form.append(element("input", { type: "hidden", name, value }));
  }
  form.append(button);
  return form;
}

/** "28 Nov, 21:43" in the person's time zone, as the server renders it ("j M, H:i"). */
function shortTime(iso, timeZone) {
  const when = new Date(iso);
  if (Number.isNaN(when.getTime())) return "";
  const zone = timeZone ? { timeZone } : {};
  try {
    const day = when.toLocaleDateString("en-GB", { day: "numeric", month: "short", ...zone });
    const time = when.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", ...zone });
    return `${day}, ${time}`;
  } catch (error) {
    return when.toISOString().slice(0, 16).replace("T", " ");
  }
}

export function replyLabel(count) {
  if (!count) return "Reply in thread";
  return `${count} ${count === 1 ? "reply" : "replies"}`;
}

function bodyNode(message) {
  if (message.deleted) {
    return element(
      "p",
      { class: "chat-message__body chat-message__body--deleted muted", "data-chat-body": true },
      "This message was deleted.",
    );
  }
  const body = element("div", { class: "chat-message__body prose", "data-chat-body": true });
  body.innerHTML = message.body_html;
  return body;
}

/** Replace a rendered message's text (an edit or a delete) without touching its controls. */
export function updateBody(node, message) {
  const old = node.querySelector("[data-chat-body]");
  if (old) old.replaceWith(bodyNode(message));
  if (message.deleted) node.querySelector(".chat-message__foot")?.remove();
  if (message.edited_at && !message.deleted && !node.querySelector(".chat-message__edited")) {
    node
      .querySelector(".chat-message__head")
      ?.append(element("span", { class: "muted chat-message__edited" }, "(edited)"));
  }
  // Only reactions someone gave are shown; the "React" menu offers them all.
  for (const chip of node.querySelectorAll("[data-reaction]")) {
    const count = message.reactions?.[chip.dataset.reaction] ?? 0;
    chip.hidden = !count;
    const counter = chip.querySelector("[data-count]");
    if (counter) counter.textContent = String(count);
  }
  const replies = node.querySelector("[data-chat-replies]");
  if (replies && Number.isSafeInteger(message.reply_count)) {
    replies.textContent = replyLabel(message.reply_count);
  }
}

function reactionForm(message, context, emoji, sign, label, count) {
  const button = element(
    "button",
    { type: "submit", class: "chat-reaction", "aria-pressed": "false" },
    element("span", { "aria-hidden": "true" }, sign),
    ` ${label}`,
  );
  if (count !== null) {
    button.append(
      " ",
      element("span", { class: "chat-reaction__count", "data-count": emoji }, String(count)),
    );
  }
  return postForm(
    `/chat/messages/${message.id}/react/`,
    context.csrf,
    { next: context.here, emoji, on: "yes" },
    button,
  );
}

/** The reactions given (shown only when someone gave them) and the "React" menu. */
function reactionControls(message, context) {
  const given = element("ul", { class: "chat-reactions", "aria-label": "Reactions" });
  const menu = element("ul", { class: "chat-react__choices" });
  for (const [emoji, sign, label] of EMOJI) {
    const count = message.reactions?.[emoji] ?? 0;
    given.append(
      element(
        "li",
        { "data-reaction": emoji, hidden: !count },
        reactionForm(message, context, emoji, sign, label, count),
      ),
    );
    menu.append(element("li", {}, reactionForm(message, context, emoji, sign, label, null)));
  }
  const author = message.author?.name ?? "Hashdesk";
  const react = element(
    "details",
    { class: "chat-react" },
    element("summary", {}, "React", hidden(` to the message by ${author}`)),
    menu,
  );
  return [given, react];
}

/**
 * The <li> of a stored message. ``context``: { userId, csrf, here, mayModerate, timeZone }.
 */
export function renderMessage(message, context) {
  const mine = message.author?.id === context.userId;
  const classes = ["chat-message"];
  if (message.kind !== "message") classes.push(`chat-message--${message.kind}`);
  if (mine) classes.push("chat-message--mine");
  const node = element("li", {
    class: classes.join(" "),
    id: `message-${message.id}`,
    "data-message-id": message.id,
    "data-client-key": mine && message.client_key ? message.client_key : null,
    "data-author-id": message.author?.id ?? null,
  });
  const head = element(
    "div",
    { class: "chat-message__head" },
    element("span", { class: "chat-message__author" }, message.author?.name ?? "Hashdesk"),
  );
  if (message.kind === "official") {
    head.append(element("span", { class: "chat-badge chat-badge--official" }, "Official update"));
  }
  head.append(
    element(
      "a",
      { class: "chat-message__time muted", href: `#message-${message.id}` },
      element(
        "time",
        { datetime: message.created_at },
        shortTime(message.created_at, context.timeZone),
      ),
    ),
  );
  if (message.edited_at && !message.deleted) {
    head.append(element("span", { class: "muted chat-message__edited" }, "(edited)"));
  }
  node.append(head, bodyNode(message));
  if (!message.deleted && message.attachments?.length) {
    const files = element("ul", { class: "chat-files", "aria-label": "Files" });
    for (const file of message.attachments) {
      files.append(element("li", {}, element("a", { href: file.url }, file.filename)));
    }
    node.append(files);
  }
  if (message.deleted || message.kind === "system") return node;

  const foot = element("div", { class: "chat-message__foot" });
  const thread = message.thread_root_id
    ? element(
        "a",
        {
          class: "chat-message__thread",
          href: `/chat/messages/${message.thread_root_id}/thread/#message-${message.id}`,
        },
        "In a thread",
      )
    : element(
        "a",
        {
          class: "chat-message__thread",
          href: `/chat/messages/${message.id}/thread/`,
          "data-chat-replies": true,
        },
        replyLabel(message.reply_count),
      );
  foot.append(thread);
  foot.append(...reactionControls(message, context));
  if (mine || context.mayModerate) {
    const tools = element("div", { class: "chat-message__tools" });
    if (mine) {
      tools.append(
        element(
          "a",
          { class: "link-button", href: `/chat/messages/${message.id}/edit/` },
          "Edit",
          hidden(" your message"),
        ),
      );
    }
    tools.append(
      postForm(
        `/chat/messages/${message.id}/delete/`,
        context.csrf,
        { next: context.here },
        element(
          "button",
          { type: "submit", class: "link-button" },
          "Delete",
          hidden(` the message by ${message.author?.name ?? "Hashdesk"}`),
        ),
      ),
    );
    foot.append(tools);
  }
  node.append(foot);
  return node;
}

/** The <li> of a message typed here and not yet stored: its text, and its state. */
export function renderPending(item, authorName) {
  const node = element("li", {
    class: "chat-message chat-message--mine",
    "data-client-key": item.client_key,
    "data-author-id": null,
    "data-pending": true,
  });
  const body = element("div", { class: "chat-message__body prose", "data-chat-body": true });
  // The person's own text, shown as typed (never as HTML) until the server's rendering comes.
  body.append(element("p", { class: "chat-message__plain" }, item.body));
  node.append(
    element(
      "div",
      { class: "chat-message__head" },
      element("span", { class: "chat-message__author" }, authorName),
    ),
    body,
    element("p", { class: "chat-message__status muted", "data-chat-status": true }),
  );
  return node;
}
