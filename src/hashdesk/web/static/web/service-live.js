// A service's page listens to its stream (service:<id>) and, when the service, its
// dependencies or its configuration items change, offers a reload instead of silently going
// stale. After a stream reset it says the same: something may have changed meanwhile.

import { live } from "./live.js";

function concerns(event, serviceId) {
  if (event.type === "service") return event.service?.id === serviceId;
  if (event.type === "configuration_item") return event.configuration_item?.service_id === serviceId;
  return false;
}

export function initServiceLive(root = document) {
  const banner = root.querySelector("[data-live-service]");
  const connection = live();
  if (!banner || !connection) return;
  const serviceId = Number.parseInt(banner.dataset.liveService, 10);
  if (!Number.isSafeInteger(serviceId)) return;
  const text = banner.querySelector("[data-live-banner-text]");
  const show = (message) => {
    if (text) text.textContent = message;
    banner.hidden = false;
  };
  connection.subscribe([`service:${serviceId}`]);
  document.addEventListener("hashdesk:event", (event) => {
    if (!concerns(event.detail, serviceId)) return;
    show(
      event.detail.type === "configuration_item"
        ? "This service's configuration items changed since you opened the page."
        : "This service changed since you opened the page.",
    );
  });
  document.addEventListener("hashdesk:reset", () => {
    show("Live updates were interrupted; this page may be out of date.");
  });
}
