// Runs before the first paint (a classic, blocking script in <head>, so no inline script is
// needed): marks that scripts run, and applies the theme the person chose, if any.
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.add("js");
  try {
    var theme = window.localStorage.getItem("hashdesk:theme");
    if (theme === "light" || theme === "dark") {
      root.setAttribute("data-theme", theme);
    }
  } catch (error) {
    // Storage disabled: follow the system's preference.
  }
})();
