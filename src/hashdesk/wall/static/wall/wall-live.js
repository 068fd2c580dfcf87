// The wall, live. Public posts arrive on the members stream, which every signed-in connection
// has; team posts on their team's stream, which the page asks for (data-streams: the viewer's
// teams; staff hear every post on the staff stream). See docs/realtime.md.
//
// A new post never jumps in under the reader: on a `wall_post` event with op `create`, the page
// asks the server for its timeline's posts newer than the newest one shown (wall:fragment, the
// same timeline and visibility as the page, so the server decides what belongs here) and, when
// there are any, shows a polite bar "N new posts — show". Pressing it puts them on top and
// moves the focus to the first of them. A conversation (data-order="oldest", its last page)
// reads oldest first: "N new replies — show" puts them below, in the order written. Reaction
// events change the counts in place.

import { live } from "../web/live.js";

const FETCH_DELAY_MS = 200;

function newestPostId(list) {
  const ids = [...list.querySelectorAll("[data-post-id]")].map((post) =>
    Number.parseInt(post.dataset.postId, 10),
  );
  return ids.length ? Math.max(...ids) : 0;
}

function announcement(count, oldestFirst) {
  const [one, many] = oldestFirst ? ["reply", "replies"] : ["post", "posts"];
  return `${count} new ${count === 1 ? one : many} — show`;
}

export function updateCounts(root, post) {
  if (!post?.id || !post.counts) return;
  for (const node of root.querySelectorAll(`[data-post-id="${CSS.escape(String(post.id))}"]`)) {
    for (const [kind, count] of Object.entries(post.counts)) {
      const counter = node.querySelector(`[data-count="${CSS.escape(kind)}"]`);
      if (counter) counter.textContent = String(count);
    }
  }
}

class WallTimeline {
  constructor(section) {
    this.section = section;
    this.list = section.querySelector("[data-wall-list]");
    this.button = section.querySelector("[data-wall-new-button]");
    this.url = section.dataset.fragmentUrl;
    this.here = section.dataset.here || window.location.pathname;
    this.oldestFirst = section.dataset.order === "oldest";
    this.waiting = null;
    this.timer = null;
    this.loading = false;
    this.again = false;
  }

  schedule() {
    if (this.timer !== null) return;
    this.timer = window.setTimeout(() => {
      this.timer = null;
      this.check();
    }, FETCH_DELAY_MS);
  }

  async check() {
    if (this.loading) {
      this.again = true;
      return;
    }
    this.loading = true;
    try {
      const url = new URL(this.url, window.location.href);
      url.searchParams.set("since", String(newestPostId(this.list)));
      url.searchParams.set("here", this.here);
      const response = await fetch(url, {
        credentials: "same-origin",
        cache: "no-store",
        headers: { Accept: "text/html" },
      });
      if (!response.ok || response.redirected) return;
      const template = document.createElement("template");
      template.innerHTML = await response.text();
      const fresh = template.content.querySelector("[data-wall-fragment]");
      const count = fresh ? fresh.querySelectorAll("[data-post-id]").length : 0;
      if (!count) return;
      this.waiting = fresh;
      this.button.textContent = announcement(count, this.oldestFirst);
      this.button.hidden = false;
    } catch (error) {
      // Offline or the server restarted: the next event asks again.
    } finally {
      this.loading = false;
      if (this.again) {
        this.again = false;
        this.schedule();
      }
    }
  }

  show() {
    if (!this.waiting) return;
    const shown = new Set(
      [...this.list.querySelectorAll("[data-post-id]")].map((post) => post.dataset.postId),
    );
    const added = [...this.waiting.children].filter((post) => !shown.has(post.dataset.postId));
    for (const post of added) post.classList.add("wall-post--new");
    if (this.oldestFirst) this.list.append(...added);
    else this.list.prepend(...added);
    this.waiting = null;
    this.button.hidden = true;
    this.section.querySelector("[data-wall-empty]")?.remove();
    const first = added[0]?.querySelector("article");
    if (first) {
      first.setAttribute("tabindex", "-1");
      first.focus();
    }
  }

  start(connection) {
    // Team posts travel on their team's stream, which is not a default one.
    const streams = (this.section.dataset.streams ?? "").split(" ").filter(Boolean);
    if (streams.length) connection.subscribe(streams);
    this.button.addEventListener("click", () => this.show());
    document.addEventListener("hashdesk:event", (event) => {
      const detail = event.detail;
      if (detail?.type !== "wall_post") return;
      if (detail.op === "reaction" || detail.op === "vote") updateCounts(this.section, detail.post);
      else if (detail.op === "create") this.schedule();
    });
    document.addEventListener("hashdesk:reset", () => this.schedule());
  }
}

export function initWall(root = document) {
  const section = root.querySelector("[data-wall-timeline]");
  if (!section) return null;
  const connection = live();
  if (!connection) return null;
  if (!section.dataset.fragmentUrl || !section.querySelector("[data-wall-list]")) {
    // An older page (of a timeline or a long thread): no new-post bar, but counts stay current.
    document.addEventListener("hashdesk:event", (event) => {
      if (event.detail?.type === "wall_post" && ["reaction", "vote"].includes(event.detail.op)) {
        updateCounts(section, event.detail.post);
      }
    });
    return null;
  }
  const timeline = new WallTimeline(section);
  timeline.start(connection);
  return timeline;
}

initWall();
