// Small progressive enhancements; every page works without this file.
document.documentElement.classList.add("js");

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
