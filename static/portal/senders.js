// "Sending with": each sender link (a[data-sender]) carries what the invite form holds, so
// switching the sender keeps what was typed. The server writes the links as the page opens;
// this keeps them current while the agent types. Field name -> deep-link parameter, as
// invitations/web/senders.py CARRIED.
(() => {
  const CARRIED = {
    destination: "destination",
    name: "name",
    ticket_reference: "ticket",
    language: "language",
    session_type: "session_type",
  };
  const form = document.querySelector("form.invite-form");
  if (!form) return;
  const update = () => {
    for (const link of document.querySelectorAll("a[data-sender]")) {
      const url = new URL(link.href, window.location.href);
      for (const [field, carriedAs] of Object.entries(CARRIED)) {
        const input = form.elements.namedItem(field);
        if (!input) continue;
        const value = input.value.trim();
        let parameter = carriedAs;
        // A link offering a sender for an address the chosen one cannot use puts that
        // address in the form; what is typed goes along as a number or an e-mail address.
        if (field === "destination" && link.dataset.sender === "address") {
          if (!value) continue;
          parameter = value.includes("@") ? "email" : "phone";
        }
        if (value) url.searchParams.set(parameter, value);
        else url.searchParams.delete(parameter);
      }
      link.href = url.pathname + url.search;
    }
  };
  form.addEventListener("input", update);
  form.addEventListener("change", update);
  // A browser restoring the fields (Back) fills them before this runs.
  update();
})();
