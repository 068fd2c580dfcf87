// The agent queue (incidents/queue.html). Everything here is an enhancement: the filters, the
// bulk form, "select all on this page" and the links all work without it.
//
// - Keyboard: j / k move the row focus, x toggles the row's selection, o or Enter opens it,
//   / focuses the search, ? opens the shortcuts dialog. Never while typing in a field, and
//   never with Ctrl, Alt or Meta held (those belong to the browser).
// - Selection: the header box selects the whole page; the count of selected rows is announced.
// - The bulk "Change state" panel shows the hold reason and resolution fields only when the
//   chosen state needs them.
// - Live: each "incident" event (docs/realtime.md; staff receive every incident's on the staff
//   stream) counts towards "N incidents changed — refresh". Rows are not re-rendered here:
//   the server decides what belongs in a queue, so the agent reloads when ready.

const TYPING = new Set(["INPUT", "TEXTAREA", "SELECT"]);

function isTyping(target) {
  if (!(target instanceof Element)) return false;
  return TYPING.has(target.tagName) || target.isContentEditable;
}

function initSelection(root) {
  const all = root.querySelector("[data-queue-select-all]");
  const checks = Array.from(root.querySelectorAll("[data-queue-check]"));
  const status = root.querySelector("[data-queue-selected]");
  const idle = status ? status.textContent : "";

  const update = () => {
    const chosen = checks.filter((check) => check.checked).length;
    if (all) {
      all.checked = chosen > 0 && chosen === checks.length;
      all.indeterminate = chosen > 0 && chosen < checks.length;
    }
    for (const check of checks) {
      check.closest("[data-queue-row]")?.classList.toggle("queue-row--selected", check.checked);
    }
    if (status) {
      status.textContent =
        chosen === 0 ? idle : `${chosen} incident${chosen === 1 ? "" : "s"} selected:`;
    }
  };

  all?.addEventListener("change", () => {
    for (const check of checks) check.checked = all.checked;
    update();
  });
  for (const check of checks) check.addEventListener("change", update);
  update();
}

function initTransitionFields(root) {
  const select = root.querySelector("[data-queue-to-state]");
  if (!select) return;
  const fields = Array.from(root.querySelectorAll("[data-queue-needs]"));
  const update = () => {
    for (const field of fields) {
      field.hidden = !field.dataset.queueNeeds.split(" ").includes(select.value);
    }
  };
  select.addEventListener("change", update);
  update();
}

function initKeyboard(root) {
  const rows = () => Array.from(root.querySelectorAll("[data-queue-row]"));
  const dialog = root.querySelector("[data-queue-shortcuts]");
  const helpButton = root.querySelector("[data-queue-help]");
  const search = root.querySelector("[data-queue-search]");
  let current = -1;

  const focusRow = (index) => {
    const list = rows();
    if (!list.length) return;
    current = Math.max(0, Math.min(index, list.length - 1));
    for (const [position, row] of list.entries()) {
      row.classList.toggle("queue-row--current", position === current);
    }
    list[current].focus();
  };

  const currentRow = () => {
    const list = rows();
    const focused = document.activeElement?.closest?.("[data-queue-row]");
    if (focused) current = list.indexOf(focused);
    return current >= 0 ? list[current] : null;
  };

  const showHelp = () => {
    if (dialog && !dialog.open) dialog.showModal();
  };

  if (helpButton && dialog) {
    helpButton.hidden = false;
    helpButton.addEventListener("click", showHelp);
  }

  // A click in a row makes it the current one, so j / k continue from there.
  root.addEventListener("focusin", (event) => {
    const row = event.target.closest?.("[data-queue-row]");
    if (!row) return;
    current = rows().indexOf(row);
    for (const item of rows()) item.classList.toggle("queue-row--current", item === row);
  });

  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      // Escape closes an open bulk panel and returns to its button, like the shell's menus.
      const open = root.querySelector(".queue-bulk__action[open]");
      if (open && !dialog?.open) {
        open.open = false;
        open.querySelector("summary")?.focus();
      }
      return;
    }
    if (event.defaultPrevented || event.ctrlKey || event.altKey || event.metaKey) return;
    if (dialog?.open || isTyping(event.target)) return;
    switch (event.key) {
      case "j":
        event.preventDefault();
        focusRow(currentRow() ? current + 1 : 0);
        break;
      case "k":
        event.preventDefault();
        focusRow(currentRow() ? current - 1 : 0);
        break;
      case "x": {
        const check = currentRow()?.querySelector("[data-queue-check]");
        if (!check) return;
        event.preventDefault();
        check.click();
        break;
      }
      case "o":
      case "Enter": {
        const row = currentRow();
        // Enter on a link or a button already does its own thing.
        if (!row || (event.key === "Enter" && event.target !== row)) return;
        const link = row.querySelector("[data-queue-open]");
        if (!link) return;
        event.preventDefault();
        link.click();
        break;
      }
      case "/":
        if (!search) return;
        event.preventDefault();
        search.focus();
        search.select();
        break;
      case "?":
        if (!dialog) return;
        event.preventDefault();
        showHelp();
        break;
      default:
    }
  });
}

function initLiveNotice(root) {
  const banner = root.querySelector("[data-queue-live]");
  if (!banner) return;
  const text = banner.querySelector("[data-queue-live-text]");
  const changed = new Set();
  const show = (message) => {
    if (text) text.textContent = message;
    banner.hidden = false;
  };
  document.addEventListener("hashdesk:event", (event) => {
    const detail = event.detail;
    if (detail?.type !== "incident" || detail.incident?.id === undefined) return;
    changed.add(detail.incident.id);
    const count = changed.size;
    show(`${count} incident${count === 1 ? "" : "s"} changed since you opened the queue — refresh to see ${count === 1 ? "it" : "them"}.`);
  });
  document.addEventListener("hashdesk:reset", () => {
    show("Live updates were interrupted; the queue may be out of date — refresh it.");
  });
}

const root = document.querySelector("[data-queue]");
if (root) {
  initSelection(root);
  initTransitionFields(root);
  initKeyboard(root);
  initLiveNotice(root);
}
