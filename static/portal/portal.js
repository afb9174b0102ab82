// Copy buttons: <button class="copy" data-copy="text">.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button.copy");
  if (!button) return;
  navigator.clipboard.writeText(button.dataset.copy).then(() => {
    const label = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = label; }, 1500);
  });
});
// Forms marked data-sending-label (Send, Resend) wait for the provider, up to its timeout:
// once submitted, the pressed button says so and no button of the form sends it again.
document.addEventListener("submit", (event) => {
  const form = event.target;
  const label = form.dataset.sendingLabel;
  if (!label || event.defaultPrevented) return;
  if (form.dataset.sending) {
    event.preventDefault();
    return;
  }
  form.dataset.sending = "true";
  const buttons = Array.from(form.querySelectorAll("button[type=submit]:not([disabled])"));
  // Enter presses a hidden button (the channel "auto"): then the visible ones say it.
  const shown = event.submitter && event.submitter.offsetParent !== null
    ? [event.submitter]
    : buttons.filter((button) => button.offsetParent !== null);
  for (const button of buttons) {
    button.setAttribute("aria-disabled", "true");
    button.dataset.sendingDisabled = "true";
  }
  for (const button of shown) {
    button.dataset.label = button.textContent;
    button.textContent = label;
  }
  // Disabled only after this event: the form's data is read when it is over, and a
  // disabled button's name and value (the channel) would be left out.
  setTimeout(() => {
    for (const button of buttons) button.disabled = true;
  }, 0);
});
// Back to a page whose form was sent (the browser kept it): its buttons work again.
window.addEventListener("pageshow", (event) => {
  if (!event.persisted) return;
  for (const form of document.querySelectorAll("form[data-sending]")) {
    delete form.dataset.sending;
    for (const button of form.querySelectorAll("button[data-sending-disabled]")) {
      delete button.dataset.sendingDisabled;
      button.disabled = false;
      button.removeAttribute("aria-disabled");
      if (button.dataset.label) button.textContent = button.dataset.label;
    }
  }
});
