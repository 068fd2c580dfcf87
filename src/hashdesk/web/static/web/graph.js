// Dependency graphs wider than their frame scroll sideways (phones); start with the service
// itself in view instead of the far left of what it depends on.

export function initGraphs(root = document) {
  for (const scroller of root.querySelectorAll("[data-graph-scroller]")) {
    if (scroller.scrollWidth <= scroller.clientWidth) continue;
    const current = scroller.querySelector(".graph__node--current .graph__box");
    if (!current) continue;
    const frame = scroller.getBoundingClientRect();
    const box = current.getBoundingClientRect();
    scroller.scrollLeft += box.left + box.width / 2 - (frame.left + frame.width / 2);
  }
}
