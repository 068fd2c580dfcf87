// Entry point of every page (a module script, so it runs after the document is parsed).
// Each part finds its own elements through data-* attributes and does nothing without them.

import { initCopyButtons } from "./copy.js";
import { initForms } from "./forms.js";
import { initGraphs } from "./graph.js";
import { initLiveStatus, startLive } from "./live.js";
import { initMenus } from "./menu.js";
import { initNotifications } from "./notifications.js";
import { initServiceLive } from "./service-live.js";
import { initThemeToggle } from "./theme.js";

initThemeToggle();
initMenus();
initForms();
initCopyButtons();
initGraphs();

const connection = startLive();
initLiveStatus();
initNotifications();
// Page modules subscribe before the connection opens, so their streams go in the hello.
initServiceLive();
connection?.start();
