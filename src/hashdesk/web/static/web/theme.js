// The light/dark toggle. The choice is kept in localStorage and applied as html[data-theme]
// (theme-init.js applies it on the next page before first paint). Without a choice the page
// follows the system's prefers-color-scheme.

const KEY = "hashdesk:theme";
const darkQuery = window.matchMedia("(prefers-color-scheme: dark)");

export function currentTheme() {
  const chosen = document.documentElement.dataset.theme;
  if (chosen === "light" || chosen === "dark") return chosen;
  return darkQuery.matches ? "dark" : "light";
}

function remember(theme) {
  try {
    window.localStorage.setItem(KEY, theme);
  } catch (error) {
    // Storage disabled: the choice lasts for this page only.
  }
}

function refresh(buttons) {
  const dark = currentTheme() === "dark";
  for (const button of buttons) {
    button.setAttribute("aria-pressed", String(dark));
    button.title = dark ? "Switch to light mode" : "Switch to dark mode";
  }
}

export function initThemeToggle(root = document) {
  const buttons = [...root.querySelectorAll("[data-theme-toggle]")];
  if (!buttons.length) return;
  refresh(buttons);
  for (const button of buttons) {
    button.addEventListener("click", () => {
      const next = currentTheme() === "dark" ? "light" : "dark";
      document.documentElement.dataset.theme = next;
      remember(next);
      refresh(buttons);
    });
  }
  darkQuery.addEventListener("change", () => refresh(buttons));
}
