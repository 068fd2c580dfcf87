// Disclosure buttons: [data-disclosure] with aria-controls naming its panel. Used for the
// phone navigation (panel toggled with data-open, since wide screens always show it) and the
// notification and account menus (panels toggled with the hidden attribute).
// Escape closes the open panel and returns focus to its button; a click elsewhere closes it.

const openButtons = new Set();

function panelOf(button) {
  return document.getElementById(button.getAttribute("aria-controls"));
}

function usesHidden(panel) {
  return panel.dataset.toggle === "hidden";
}

function setOpen(button, open) {
  const panel = panelOf(button);
  if (!panel) return;
  button.setAttribute("aria-expanded", String(open));
  if (usesHidden(panel)) {
    panel.hidden = !open;
  } else if (open) {
    panel.setAttribute("data-open", "");
  } else {
    panel.removeAttribute("data-open");
  }
  if (open) openButtons.add(button);
  else openButtons.delete(button);
}

export function closeAll(except = null) {
  for (const button of [...openButtons]) {
    if (button !== except) setOpen(button, false);
  }
}

export function initMenus(root = document) {
  for (const button of root.querySelectorAll("[data-disclosure]")) {
    const panel = panelOf(button);
    if (!panel) continue;
    // Panels that start hidden are toggled with hidden; the others with data-open.
    panel.dataset.toggle = panel.hidden ? "hidden" : "open";
    button.addEventListener("click", (event) => {
      event.stopPropagation();
      const open = button.getAttribute("aria-expanded") !== "true";
      closeAll(button);
      setOpen(button, open);
    });
  }
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape" || !openButtons.size) return;
    const last = [...openButtons].pop();
    closeAll();
    last.focus();
  });
  document.addEventListener("click", (event) => {
    for (const button of [...openButtons]) {
      const panel = panelOf(button);
      if (panel && !panel.contains(event.target)) setOpen(button, false);
    }
  });
}
