// The web app's one script: every page works without it; with it, action forms submit in
// the background and update the post in place, the compose box counts characters and keeps
// a draft, and new posts and notifications arrive through the streaming API (SSE).
// No framework, no build step: served as written, under its content hash.

const live = document.createElement("div");
live.className = "visually-hidden";
live.setAttribute("role", "status");
live.setAttribute("aria-live", "polite");

function say(text) {
  if (!live.isConnected) document.body.append(live);
  live.textContent = text;
}

// Action forms: POST in the background, then take the same element from the page the
// server redirects to (the one the person is on) and swap it in.
async function submitInPlace(form, submitter) {
  const holder = form.closest("[id]");
  // Which of the holder's forms this is: focus returns to the same place afterwards.
  const index = holder ? Array.from(holder.querySelectorAll("form[data-action]")).indexOf(form) : -1;
  const data = new FormData(form, submitter);
  const buttons = form.querySelectorAll("button");
  buttons.forEach((b) => { b.disabled = true; });
  try {
    const response = await fetch(form.action, {
      method: "POST", body: data, credentials: "same-origin", headers: { Accept: "text/html" },
    });
    if (!response.ok) throw new Error(String(response.status));
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const notice = page.querySelector("main [role=status]");
    if (holder) {
      const fresh = page.getElementById(holder.id);
      if (fresh) {
        const copy = document.importNode(fresh, true);
        holder.replaceWith(copy);
        const again = copy.querySelectorAll("form[data-action] button")[index];
        if (again) again.focus();
      } else {
        holder.remove();
      }
    }
    say(notice ? notice.textContent : "Done.");
  } catch (error) {
    // Something failed: let the browser submit it the ordinary way (and show why).
    form.removeAttribute("data-action");
    form.submit();
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
  }
}

document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-action")) return;
  event.preventDefault();
  submitInPlace(form, event.submitter);
});

// Compose: a live character count and a draft kept in localStorage until it is posted.
function countOf(text) {
  // As the server counts: a link is 23 characters, a mention counts its local part only.
  return Array.from(
    text.replace(/https?:\/\/\S+/g, "x".repeat(23)).replace(/@(\w+)@[\w.-]+\w/g, "@$1"),
  ).length;
}

function setUpCompose(form) {
  const box = form.querySelector("textarea[name=status]");
  const warning = form.querySelector("input[name=spoiler_text]");
  const counter = form.querySelector(".count");
  if (!box || !counter) return;
  const max = Number(counter.dataset.max || "500");
  const key = `wb-draft:${form.dataset.draft || "new"}`;
  const update = () => {
    const left = max - countOf(box.value) - Array.from(warning ? warning.value : "").length;
    counter.textContent = `${left} characters left`;
    counter.classList.toggle("error", left < 0);
  };
  let saved = null;
  try { saved = JSON.parse(localStorage.getItem(key) || "null"); } catch (e) { saved = null; }
  if (saved && !box.value.trim() && saved.status) {
    box.value = saved.status;
    if (warning && saved.spoiler_text) warning.value = saved.spoiler_text;
    say("Your unsent draft is back.");
  }
  const keep = () => {
    update();
    try {
      if (box.value.trim() || (warning && warning.value.trim())) {
        localStorage.setItem(key, JSON.stringify({ status: box.value, spoiler_text: warning ? warning.value : "" }));
      } else {
        localStorage.removeItem(key);
      }
    } catch (e) { /* storage full or off: the draft is simply not kept */ }
  };
  // A reminder, not a refusal: files chosen without a description for each.
  const files = form.querySelector("input[type=file]");
  const hint = form.querySelector("#media-alt-hint");
  const advice = hint ? hint.textContent : "";
  const remind = () => {
    if (!files || !hint) return;
    const missing = Array.from(files.files).filter((_, i) => {
      const alt = form.querySelector(`[name=alt_${i}]`);
      return !alt || !alt.value.trim();
    }).length;
    hint.classList.toggle("error", missing > 0);
    hint.textContent = missing > 0
      ? `${missing} file${missing === 1 ? " has" : "s have"} no description yet: describe ${missing === 1 ? "it" : "them"} below.`
      : advice;
  };
  if (files) {
    files.addEventListener("change", remind);
    form.querySelectorAll("[name^=alt_]").forEach((alt) => alt.addEventListener("input", remind));
  }
  box.addEventListener("input", keep);
  if (warning) warning.addEventListener("input", keep);
  form.addEventListener("submit", () => {
    try { localStorage.removeItem(key); } catch (e) { /* nothing kept */ }
  });
  update();
}

// Unread notifications in the title, and "N new posts" from the streaming API.
const baseTitle = document.title.replace(/^\(\d+\) /, "");
let unread = Number(document.body.dataset.unread || "0");

function showUnread() {
  document.title = unread > 0 ? `(${unread}) ${baseTitle}` : baseTitle;
}

function listen(stream) {
  if (!("EventSource" in window)) return;
  const source = new EventSource(`/api/v1/streaming/${stream}`, { withCredentials: true });
  const bar = document.querySelector(".new-posts");
  const button = document.getElementById("new-posts");
  const onNotifications = location.pathname === "/notifications";
  let fresh = 0;
  const offer = (what) => {
    fresh += 1;
    if (!bar || !button) return;
    button.textContent = `${fresh} new ${what}${fresh === 1 ? "" : "s"}: show`;
    bar.hidden = false;
  };
  if (button) button.addEventListener("click", () => location.reload());
  // Marked on the page, so a test (or a stylesheet) can tell the stream is connected.
  source.addEventListener("open", () => { document.body.dataset.live = "open"; });
  source.addEventListener("update", () => {
    if (!onNotifications && location.search === "") offer("post");
  });
  source.addEventListener("notification", () => {
    if (onNotifications) { offer("notification"); return; }
    unread += 1;
    showUnread();
  });
}

// Imports on the settings page: a running import's counts are polled from its progress
// endpoint and updated in place; once it ends the imports table is taken from the page
// again (with what failed). Without this script the page reloads itself (<noscript>).
const POLL_MS = 2000;

function watchImport(row) {
  const cells = ["state", "done", "failed", "left"];
  const poll = async () => {
    if (!row.isConnected) return;  // the table was replaced: its new row is watched
    let progress;
    try {
      const response = await fetch(row.dataset.progress, {
        credentials: "same-origin", headers: { Accept: "application/json" },
      });
      if (!response.ok) return;  // gone, or signed out: the page says so on reload
      progress = await response.json();
    } catch (error) {
      setTimeout(poll, POLL_MS * 5);  // offline for a moment
      return;
    }
    for (const name of cells) {
      const cell = row.querySelector(`.${name}`);
      if (cell) cell.textContent = String(progress[name]);
    }
    document.body.dataset.importPolled = String(Number(document.body.dataset.importPolled || 0) + 1);
    if (progress.state === "running") {
      setTimeout(poll, POLL_MS);
      return;
    }
    say(`Import ${progress.state}: ${progress.done} done, ${progress.failed} failed.`);
    try {
      const response = await fetch(location.pathname, {
        credentials: "same-origin", headers: { Accept: "text/html" },
      });
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      const fresh = page.querySelector("table.imports");
      const table = document.querySelector("table.imports");
      if (fresh && table) {
        table.replaceWith(document.importNode(fresh, true));
        watchImports();
      }
    } catch (error) {
      // The counts are right already; what failed shows on the next visit.
    }
  };
  setTimeout(poll, POLL_MS);
}

function watchImports() {
  document.querySelectorAll("tr[data-progress]").forEach(watchImport);
}

// A file past the import's limit is refused before it is sent, with the server's words.
function checkFileSize(input) {
  input.addEventListener("change", () => {
    const file = input.files && input.files[0];
    const tooLarge = file && file.size > Number(input.dataset.maxBytes);
    input.setCustomValidity(tooLarge ? input.dataset.tooLarge || "File is too large" : "");
  });
}

function start() {
  document.querySelectorAll("form.compose").forEach(setUpCompose);
  watchImports();
  document.querySelectorAll("input[type=file][data-max-bytes]").forEach(checkFileSize);
  showUnread();
  const stream = document.body.dataset.stream;
  if (stream) listen(stream);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
