// Small progressive enhancements; every page works without this file.
document.documentElement.classList.add("js");

// On a phone the main navigation is one row that scrolls sideways (app.css): show the current
// page's link rather than leaving it out of sight at the end of the row.
{
  const current = document.querySelector(".nav [aria-current=page]");
  const row = current?.closest("nav");
  if (row && row.scrollWidth > row.clientWidth) {
    row.scrollLeft += current.getBoundingClientRect().left - row.getBoundingClientRect().left - 24;
  }
}

document.addEventListener("change", (event) => {
  const select = event.target.closest("select[data-autosubmit]");
  if (select) select.form.requestSubmit();
});

// After htmx swaps new content in, move focus to a fresh entry or the first field in error,
// so keyboard and screen-reader users land where the change happened.
document.addEventListener("htmx:afterSettle", (event) => {
  const target = event.detail.elt;
  // A queue action removes the row whose button had focus: land on the status line instead.
  const focusable = target.querySelector?.(
    ".has-error input, .has-error select, .has-error textarea, .is-new, .queue-status .message"
  );
  if (focusable) {
    if (!focusable.hasAttribute("tabindex") && !focusable.matches("input, select, textarea")) {
      focusable.setAttribute("tabindex", "-1");
    }
    focusable.focus();
  }
});

// A form that sends or creates carries a one-time token (csworkbench.idempotency): the server
// makes a second sending of it write nothing. As a courtesy its submit buttons also disable
// themselves once it is sent. Not in the submit handler itself: a disabled button would drop
// its own name and value from what is sent, and htmx reads the form on that same event.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!form.querySelector?.('input[name="form_token"]')) return;
  setTimeout(() => {
    for (const button of form.querySelectorAll('button[type="submit"], button:not([type]), input[type="submit"]')) {
      button.disabled = true;
      button.dataset.sent = "";
    }
  }, 0);
});

// The buttons come back when an htmx request fails and leaves the form in place (a network
// error, a 5xx), and when the browser shows a page again from its back-forward cache.
function enableSentButtons(root) {
  for (const button of root.querySelectorAll("[data-sent]")) {
    button.disabled = false;
    delete button.dataset.sent;
  }
}
document.addEventListener("htmx:afterRequest", (event) => {
  if (!event.detail.successful && event.detail.elt?.isConnected) enableSentButtons(event.detail.elt);
});
window.addEventListener("pageshow", (event) => {
  if (event.persisted) enableSentButtons(document);
});
