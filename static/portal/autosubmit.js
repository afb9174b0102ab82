// Pages that hand the browser on to a provider (Join session): the form marked
// data-autosubmit is sent as soon as the page is ready; its Continue button does the same by
// hand where scripts do not run. Scripts may only come from this site (Content-Security-Policy),
// so this lives in a file rather than inline.
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form[data-autosubmit]");
  if (form) form.submit();
});
