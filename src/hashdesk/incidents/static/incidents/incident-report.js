// "Is it just me?" on the report form: when the person picks a service, the open incidents on
// it that they may see are fetched (the same list the server renders for ?service=<slug>) and
// shown right below the field, each with "Me too", before they write a duplicate; the device
// choices follow the service. Without JavaScript the "Check for open incidents first" button
// does the same with a round trip.

// The device (configuration item) choices are those of the chosen service.
function replaceItemChoices(form, fresh) {
  const select = form.querySelector("select[name='configuration_item']");
  if (!select || !fresh) return;
  const chosen = select.value;
  select.replaceChildren(...fresh.options);
  const still = [...select.options].some((option) => option.value === chosen);
  select.value = still ? chosen : "";
}

export function initReportForm(root = document) {
  const form = root.querySelector("[data-report-form]");
  const select = form?.querySelector("select[name='service']");
  const region = form?.querySelector("[data-open-incidents]");
  if (!form || !select || !region) return;
  form.querySelector("[data-report-check]")?.setAttribute("hidden", "");
  let pending = null;
  select.addEventListener("change", async () => {
    pending?.abort();
    if (!select.value) {
      region.replaceChildren();
      return;
    }
    pending = new AbortController();
    const url = new URL(form.dataset.openIncidentsUrl, window.location.href);
    url.searchParams.set("service", select.value);
    url.searchParams.set("part", "open-incidents");
    try {
      const response = await fetch(url, {
        credentials: "same-origin",
        signal: pending.signal,
        headers: { Accept: "text/html" },
      });
      if (!response.ok || response.redirected) return;
      const template = document.createElement("template");
      template.innerHTML = await response.text();
      const fresh = template.content.querySelector("[data-open-incidents]");
      if (!fresh) return;
      const items = fresh.querySelector("template[data-item-options]");
      if (items) {
        items.remove();
        replaceItemChoices(form, items.content.querySelector("select"));
      }
      // The region itself stays (it is the polite live region); only its content changes.
      region.replaceChildren(...fresh.childNodes);
    } catch (error) {
      // Aborted by a newer choice, or offline: the list simply stays as it was.
    }
  });
}

initReportForm();
