// Pages that hand the browser on to a provider (Join session): the form marked
// data-autosubmit is sent, or the link marked data-autofollow followed (replacing this page in
// the history), as soon as the page is ready; their Continue button does the same by hand where
// scripts do not run. Scripts may only come from this site (Content-Security-Policy),
// so this lives in a file rather than inline.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form[data-autosubmit]");
  if (form) form.submit();
  const link = document.querySelector("a[data-autofollow]");
  if (link) window.location.replace(link.href);
});
