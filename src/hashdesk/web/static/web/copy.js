// Copy buttons: [data-copy-target] names the element whose text is copied.

async function copyText(text, element) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return true;
  }
  // Plain-HTTP deployments have no Clipboard API: select the text for a manual copy instead.
  const range = document.createRange();
  range.selectNodeContents(element);
  const selection = window.getSelection();
  selection.removeAllRanges();
  selection.addRange(range);
  return false;
}

export function initCopyButtons(root = document) {
  for (const button of root.querySelectorAll("[data-copy-target]")) {
    const source = document.getElementById(button.dataset.copyTarget);
    const label = button.querySelector("[data-copy-label]");
    if (!source || !label) continue;
    const original = label.textContent;
    button.addEventListener("click", async () => {
      let copied = false;
      try {
        copied = await copyText(source.textContent.trim(), source);
      } catch (error) {
        copied = false;
      }
      label.textContent = copied ? button.dataset.copiedLabel || "Copied" : "Selected — press Ctrl+C";
      window.setTimeout(() => {
        label.textContent = original;
      }, 2500);
    });
  }
}
