// The session page (templates/invitations/session_detail.html). Scripts may only come from
// this site (Content-Security-Policy), so this lives in a file rather than inline.

// The live part asks for itself with the version it shows; 304 Not Modified means nothing
// changed, and htmx would otherwise swap its empty body in. Leaving the page as it is keeps
// focus, text selection and open <details> where they are.
document.addEventListener("htmx:beforeSwap", (event) => {
  if (event.detail.xhr.status === 304) event.detail.shouldSwap = false;
});

// A customer who joins is announced (politely, without a sound) once, when their row turns
// to joined; rows already joined when the page opened are not.
const joinedRows = () =>
  new Set(Array.from(document.querySelectorAll("#invitee-rows tr[data-joined]"), (row) => row.id));
let joined = new Set();
document.addEventListener("DOMContentLoaded", () => {
  joined = joinedRows();
});
document.addEventListener("htmx:afterSettle", () => {
  const news = Array.from(document.querySelectorAll("#invitee-rows tr[data-joined]"))
    .filter((row) => !joined.has(row.id))
    .map((row) => row.dataset.joined);
  joined = joinedRows();
  const announcer = document.getElementById("join-announcer");
  if (news.length && announcer) announcer.textContent = news.join(" ");
});

// End session asks first: its button shows the question and "Yes, end it", which posts;
// "Keep it" puts the button back.
document.addEventListener("click", (event) => {
  const ask = event.target.closest("[data-end-ask]");
  const cancel = event.target.closest("[data-end-cancel]");
  const form = (ask || cancel)?.closest("form[data-end-session]");
  if (!form) return;
  event.preventDefault();
  const confirm = form.querySelector("[data-end-confirm]");
  const button = form.querySelector("[data-end-ask]");
  confirm.hidden = Boolean(cancel);
  button.hidden = Boolean(ask);
  (ask ? form.querySelector("[data-end-yes]") : button).focus();
});
