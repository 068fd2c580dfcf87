// After a failed submission, move focus to the error summary so keyboard and screen reader
// users land on the list of problems; its links jump to each field. [data-autofocus] does the
// same for other just-appeared content (the new API token).

export function initForms(root = document) {
  const target = root.querySelector("[data-error-summary], [data-autofocus]");
  if (target) target.focus();
}
